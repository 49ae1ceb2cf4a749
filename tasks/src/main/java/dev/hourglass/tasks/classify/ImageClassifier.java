package dev.hourglass.tasks.classify;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;

import dev.hourglass.backend.Backend;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.cfvit.CfVit;
import dev.hourglass.reduce.cfvit.CfVitSettings;
import dev.hourglass.reduce.cfvit.CfVitThreshold;
import dev.hourglass.tasks.LoadedModel;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.EvalPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Image classification with a ViT or DeiT: an Hourglass model file, a timm hub folder ({@code model.safetensors}, or a
 * sharded {@code model.safetensors.index.json}, and {@code config.json} with its {@code pretrained_cfg}), a Hugging
 * Face ViT/DeiT folder or a DeiT {@code .pth}. Images are preprocessed as the model's configuration says, exactly as
 * timm does at eval time (see {@link EvalPreprocessing}), so results match timm on the same file.
 *
 * <pre>{@code
 * try (ImageClassifier classifier = ImageClassifier.load(Path.of("models/vit_base_patch16_224"))) {
 *     for (Prediction p : classifier.classify(Path.of("cat.jpg"), 5)) {
 *         System.out.printf("%.3f %s%n", p.score(), p.label());
 *     }
 * }
 * }</pre>
 *
 * <p>Thread-safe: one classifier may serve many threads at once; each call keeps its state to itself, so concurrent
 * calls give the same bits as the same calls one after another. Concurrent calls share the compute threads: one call's
 * parallel loop runs on the pool while the others run theirs on their own threads, so no call waits for another. The
 * weights are read once at load (converted and prepared for the backend: packed for the CPU kernels), after
 * which the files are no longer needed.
 *
 * <p>Close the classifier to free the weights and stop its compute threads. {@link #close()} may be called from any
 * thread, also while other threads are classifying: it refuses new calls, waits for the calls in progress to finish
 * (they return their normal results), then frees. A call made once closing has begun throws an
 * {@link IllegalStateException} naming the model. Closing twice does nothing. What {@link #encoder()} and
 * {@link #coarseToFine()} return is outside this protection: do not close the classifier while using them.
 */
public final class ImageClassifier implements AutoCloseable {
    /** The model families this class runs, and how it refuses the others. */
    private static final LoadedModel.Task TASK = new LoadedModel.Task("ImageClassifier",
            EnumSet.of(ModelFamily.VIT, ModelFamily.DEIT, ModelFamily.CFVIT, ModelFamily.LVVIT),
            "classification runs ViT, DeiT and CF-ViT classifiers");

    /** The model file's contents on the backend, the backend and the gate every call passes. */
    private final LoadedModel loaded;
    private final String name;
    private final Backend backend;
    private final VisionTransformer model;
    /** The two-stage model when the checkpoint is a CF-ViT (its {@link CfVit#model()} is {@link #model}); or null. */
    private final CfVit cfvit;
    private final EvalPreprocessing preprocessing;
    private final List<String> labels;

    private ImageClassifier(LoadedModel loaded, VisionTransformer model, CfVit cfvit, EvalPreprocessing preprocessing,
                            List<String> labels) {
        this.loaded = loaded;
        this.name = loaded.name();
        this.backend = loaded.backend();
        this.model = model;
        this.cfvit = cfvit;
        this.preprocessing = preprocessing;
        this.labels = labels;
    }

    /** Loads a model with one thread per processor on the best backend here. */
    public static ImageClassifier load(Path model) throws IOException {
        return load(model, ModelOptions.defaults());
    }

    /**
     * Loads a model in any form the converter reads: an Hourglass model file, a timm hub folder (or its
     * {@code model.safetensors} with {@code config.json} beside it), a Hugging Face ViT/DeiT folder, a DeiT or CF-ViT
     * {@code .pth}. Original checkpoints are read through the converter in memory (with {@code options.conversion()}:
     * heads, layout, normalisation the checkpoint does not say); nothing is written.
     *
     * @throws IOException naming the file and what is wrong with it
     * @throws dev.hourglass.backend.BackendUnavailableException if the backend named cannot run here
     */
    public static ImageClassifier load(Path model, ModelOptions options) throws IOException {
        return LoadedModel.load(model, options, TASK, ImageClassifier::create);
    }

    /**
     * Loads a model from the class path: {@code resource + "/model.safetensors"}, with {@code resource +
     * "/config.json"} beside it unless the weights are an Hourglass model file (so a model can ship inside an
     * application's jar).
     */
    public static ImageClassifier loadResource(String resource, ModelOptions options) throws IOException {
        return LoadedModel.loadResource(resource, options, TASK, ImageClassifier::create);
    }

    /**
     * Loads a model from streams: a safetensors file and its {@code config.json} (null for an Hourglass model file,
     * which carries its configuration). They are spooled to a temporary folder (deleted before this returns),
     * because weights are memory-mapped while being read.
     *
     * @param name how error messages and {@link #toString()} call the model
     */
    public static ImageClassifier load(InputStream safetensors, InputStream configJson, String name,
                                       ModelOptions options) throws IOException {
        return LoadedModel.load(safetensors, configJson, name, options, TASK, ImageClassifier::create);
    }

    private static ImageClassifier create(LoadedModel loaded) throws IOException {
        String name = loaded.name();
        ModelConfig config = loaded.config();
        VitConfig vit = config.encoder();
        if (vit.numClasses() == 0 || !vit.classToken()) {
            throw new IOException(name + ": the model has no classifier head on a class token");
        }
        EvalPreprocessing preprocessing;
        try {
            preprocessing = EvalPreprocessing.fromPretrainedCfg(config.preprocessing());
        } catch (IllegalArgumentException e) {
            throw new IOException(name + ": preprocessing: " + e.getMessage(), e);
        }
        List<String> labels = Labels.of(config.labels(), vit.numClasses(), name);
        if (config.family().isCfVit()) {
            CfVit cf = loaded.own(CfVit.create(vit, config.decoder(CfVitSettings.class), loaded.weights(),
                    loaded.backend()));
            return new ImageClassifier(loaded, cf.model(), cf, preprocessing, labels);
        }
        VisionTransformer model = loaded.own(VisionTransformer.create(vit, loaded.weights(), loaded.backend()));
        return new ImageClassifier(loaded, model, null, preprocessing, labels);
    }

    // ------------------------------------------------------------------ classification

    /** The top {@code k} classes for an image file (any format ImageIO reads). */
    public List<Prediction> classify(Path image, int k) throws IOException {
        return classify(RgbImage.read(image), k);
    }

    /** The top {@code k} classes for an image. */
    public List<Prediction> classify(BufferedImage image, int k) {
        return classify(RgbImage.from(image), k);
    }

    /** The top {@code k} classes for an image. */
    public List<Prediction> classify(RgbImage image, int k) {
        return classify(preprocess(image), k).get(0);
    }

    /**
     * The top {@code k} classes of each image of an already preprocessed batch ({@code [batch, 3, height, width]},
     * normalised as {@link #preprocessing()} does).
     */
    public List<List<Prediction>> classify(Tensor batch, int k) {
        return topK(logits(batch), k);
    }

    /**
     * Raw logits {@code [batch, classes]} of a preprocessed batch (a CF-ViT at its default threshold).
     *
     * @throws IllegalStateException if the classifier is closed
     */
    public Tensor logits(Tensor batch) {
        loaded.enter();
        try {
            return cfvit != null ? cfvit.classify(batch, CfVitThreshold.DEFAULT).logits() : model.classify(batch);
        } finally {
            loaded.exit();
        }
    }

    /**
     * The transformer this classifier runs (for a CF-ViT checkpoint, its fine model), owned by the classifier: for
     * work on its blocks such as a token-mask search ({@code SlimSearch}). Valid until the classifier is closed.
     */
    public VisionTransformer encoder() {
        return model;
    }

    /** The CF-ViT model when this classifier runs a CF-ViT checkpoint (coarse to fine), or null. */
    public CfVit coarseToFine() {
        return cfvit;
    }

    /**
     * What a forward pass with a token reduction gave: the logits, the token count leaving each block (one entry per
     * block, prefix tokens included) and the encoder's GFLOPs per image at those counts ({@link ReductionTrace#gflops})
     * and without the reduction. For a CF-ViT checkpoint, {@code coarseToFine} holds what each image did (its stage,
     * its coarse maximum probability, the tokens re-split, its GFLOPs; {@code gflops} is then the batch's average and
     * {@code tokensAfterBlock} the fine stage's count, or the coarse one when every image exited); otherwise null.
     */
    public record Reduced(Tensor logits, int[] tokensAfterBlock, double gflops, double unreducedGflops,
                          CfVit.Result coarseToFine) {
    }

    /**
     * Raw logits of a preprocessed batch with a token reduction (null: none); the class token is read at the end
     * (Expedit clusters without reconstructing, as its SWAG integration does; ToMe never merges the class token).
     *
     * @throws IllegalArgumentException if the reduction's settings cannot apply to this model at this input size
     * @throws IllegalStateException    if the classifier is closed
     */
    public Reduced logits(Tensor batch, ReductionMethod reduction) {
        loaded.enter();
        try {
            return reducedLogits(batch, reduction);
        } finally {
            loaded.exit();
        }
    }

    private Reduced reducedLogits(Tensor batch, ReductionMethod reduction) {
        VitConfig config = model.config();
        if (cfvit != null) {
            return coarseToFine(batch, reduction);
        }
        if (reduction instanceof CfVitThreshold) {
            throw new IllegalArgumentException("cfvit: " + name + " is not a CF-ViT checkpoint (a " + config.depth()
                    + "-block ViT); cfvit runs CF-ViT's own checkpoints");
        }
        int gh = batch.shape().intDim(2) / config.patchSize();
        int gw = batch.shape().intDim(3) / config.patchSize();
        if (reduction != null) {
            reduction.check(config, gh, gw);
        }
        TokenReducer reducer = reduction == null ? TokenReducer.NONE : reduction.newReducer(model.backend(), config);
        try (ReductionTrace trace = new ReductionTrace(reducer, config.depth())) {
            Tensor logits = model.classify(batch, trace);
            int[] plain = new int[config.depth()];
            java.util.Arrays.fill(plain, config.prefixTokens() + gh * gw);
            return new Reduced(logits, trace.tokensAfterBlock(), trace.gflops(config),
                    ReductionTrace.encoderGflops(config, plain, plain), null);
        }
    }

    private Reduced coarseToFine(Tensor batch, ReductionMethod reduction) {
        if (reduction != null && !(reduction instanceof CfVitThreshold)) {
            throw new IllegalArgumentException(reduction.name() + ": " + name + " is a CF-ViT checkpoint, which runs"
                    + " coarse to fine; --reduce takes only cfvit:threshold=T for it");
        }
        double threshold = reduction == null ? CfVitThreshold.DEFAULT : ((CfVitThreshold) reduction).threshold();
        CfVit.Result r = cfvit.classify(batch, threshold);
        VitConfig config = model.config();
        CfVitSettings s = cfvit.settings();
        int k = s.splitTokens();
        int nc = s.coarseGrid() * s.coarseGrid();
        boolean anyFine = false;
        for (boolean f : r.fine()) {
            anyFine |= f;
        }
        int[] tokens = new int[config.depth()];
        java.util.Arrays.fill(tokens, anyFine ? 1 + 4 * k + (nc - k) : 1 + nc);
        double sum = 0;
        for (double g : r.gflops()) {
            sum += g;
        }
        return new Reduced(r.logits(), tokens, sum / r.gflops().length, cfvit.plainFineGflops(), r);
    }

    /** An image as the model's input: {@code [1, 3, height, width]}. */
    public Tensor preprocess(RgbImage image) {
        float[] chw = preprocessing.apply(image);
        return Tensor.ofFloats(chw, 1, 3, preprocessing.height(), preprocessing.width());
    }

    /** The highest {@code k} classes of each row of {@code logits}, with softmax scores. */
    public List<List<Prediction>> topK(Tensor logits, int k) {
        Shape s = logits.shape();
        if (s.rank() != 2 || s.dim(1) != labels.size()) {
            throw new IllegalArgumentException("logits must be [batch, " + labels.size() + "], got " + s);
        }
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        int classes = labels.size();
        float[] all = logits.toFloatArray();
        List<List<Prediction>> out = new ArrayList<>();
        for (int b = 0; b < s.dim(0); b++) {
            float[] row = Arrays.copyOfRange(all, b * classes, (b + 1) * classes);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : row) {
                sum += Math.exp(v - max);
            }
            double norm = sum;
            double shift = max;
            List<Integer> order = new ArrayList<>(classes);
            for (int i = 0; i < classes; i++) {
                order.add(i);
            }
            order.sort(Comparator.<Integer>comparingDouble(i -> -row[i]).thenComparingInt(i -> i));
            List<Prediction> top = new ArrayList<>();
            for (int i = 0; i < Math.min(k, classes); i++) {
                int c = order.get(i);
                top.add(new Prediction(c, labels.get(c), (float) (Math.exp(row[c] - shift) / norm), row[c]));
            }
            out.add(List.copyOf(top));
        }
        return List.copyOf(out);
    }

    // ------------------------------------------------------------------ description

    public List<String> labels() {
        return labels;
    }

    public EvalPreprocessing preprocessing() {
        return preprocessing;
    }

    public VitConfig config() {
        return model.config();
    }

    /** Where the model computes, e.g. {@code "CPU, 2 threads, Vector API, 512-bit (16 floats per vector)"}. */
    public String backendDescription() {
        return backend.description();
    }

    /**
     * One line saying which backend and device were chosen, and why a better one was not (e.g. {@code backend: cpu
     * (CPU, 2 threads, Vector API 512-bit); tornado not used: ...}): what a command line prints once.
     */
    public String backendSummary() {
        return loaded.backendSummary();
    }

    /** One line about the model: name, architecture, input size, classes. */
    public String describe() {
        VitConfig c = model.config();
        return String.format("%s: %s, %d blocks, width %d, %d heads, patch %d, %dx%d input, %d classes", name,
                c.distilled() ? "DeiT (distilled)" : "ViT", c.depth(), c.embedDim(), c.numHeads(), c.patchSize(),
                preprocessing.height(), preprocessing.width(), c.numClasses());
    }

    public String name() {
        return name;
    }

    /**
     * Frees the weights and stops the compute threads, once the calls in progress have returned; calls from then on
     * throw {@link IllegalStateException}. Safe from any thread and more than once (later calls do nothing); not from
     * inside a call of this classifier.
     */
    @Override
    public void close() {
        loaded.close();
    }

    @Override
    public String toString() {
        return "ImageClassifier[" + describe() + "]";
    }
}
