package dev.hourglass.tasks.depth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;

import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.tasks.LoadedModel;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * Monocular depth with DPT: a photo in, depth out at the photo's size ({@link #quantity()}: relative inverse depth,
 * or metric depth in metres for isl-org's KITTI and NYU checkpoints converted with their metric output), optionally
 * with a token reduction in the encoder (Expedit, as Expedit-DPT applies it; ToMe). The photo is prepared as the
 * model's source prepares it ({@link DptPreprocessing}): isl-org/DPT's {@code run_monodepth.py} for an original
 * {@code .pt} (keep the aspect ratio, a multiple of 32 near the trained size, or near the model's {@code net_width} x
 * {@code net_height} where its preprocessing block gives one: KITTI's 1216x352, NYU's 640x480; OpenCV's bicubic),
 * Hugging Face's {@code DPTImageProcessor} for a Hugging Face folder; either can be asked for.
 *
 * <p>Thread-safe: concurrent calls keep their activations to themselves and share the compute threads. Close it to
 * free the weights and the threads; {@link #close()} may come from any thread, waits for the calls in progress, and
 * makes later calls fail with an {@link IllegalStateException} naming the model.
 */
public final class DepthEstimator implements AutoCloseable {
    /** The model families this class runs, and how it refuses the others. */
    private static final LoadedModel.Task TASK = new LoadedModel.Task("DepthEstimator", EnumSet.of(ModelFamily.DPT),
            "depth estimation runs DPT models");

    private final LoadedModel loaded;
    private final DptModel model;
    private final DptPreprocessing preprocessing;

    private final DptPreprocessing monodepth;

    private DepthEstimator(LoadedModel loaded, DptModel model, DptPreprocessing preprocessing,
                           DptPreprocessing monodepth) {
        this.loaded = loaded;
        this.model = model;
        this.preprocessing = preprocessing;
        this.monodepth = monodepth;
    }

    /** Loads a DPT with one thread per processor on the best backend here. */
    public static DepthEstimator load(Path model) throws IOException {
        return load(model, ModelOptions.defaults());
    }

    /**
     * Loads a DPT: an Hourglass model file, isl-org/DPT's {@code .pt} (give the heads, which it does not record), or a
     * Hugging Face {@code DPTForDepthEstimation} folder (a plain ViT or a DPT-Hybrid's BiT); originals are converted in
     * memory, nothing is written.
     *
     * @throws IOException naming the file and what is wrong with it, or its family if it is not a DPT
     */
    public static DepthEstimator load(Path model, ModelOptions options) throws IOException {
        return LoadedModel.load(model, options, TASK, DepthEstimator::create);
    }

    /** Loads a model from the class path ({@link LoadedModel#loadResource}). */
    public static DepthEstimator loadResource(String resource, ModelOptions options) throws IOException {
        return LoadedModel.loadResource(resource, options, TASK, DepthEstimator::create);
    }

    /** Loads a model from streams ({@link LoadedModel#load(InputStream, InputStream, String, ModelOptions,
     * LoadedModel.Task, LoadedModel.Builder)}). */
    public static DepthEstimator load(InputStream safetensors, InputStream configJson, String name,
                                      ModelOptions options) throws IOException {
        return LoadedModel.load(safetensors, configJson, name, options, TASK, DepthEstimator::create);
    }

    private static DepthEstimator create(LoadedModel loaded) throws IOException {
        ModelConfig config = loaded.config();
        DptConfig dpt = config.decoder(DptConfig.class);
        DptModel model = loaded.own(DptModel.create(config.encoder(), dpt, loaded.weights(), loaded.backend()));
        DptPreprocessing own = defaultPreprocessing(config, loaded.name());
        DptPreprocessing monodepth = own.source() == DptPreprocessing.Source.MONODEPTH ? own
                : monodepth(config, loaded.name());
        return new DepthEstimator(loaded, model, own, monodepth);
    }

    /**
     * The preprocessing of the model's source at its trained size: Hugging Face's image processor for a model
     * converted from a Hugging Face folder (with its {@code keep_aspect_ratio}, {@code ensure_multiple_of}, mean and
     * std; a mean or std the file does not give is DPTImageProcessor's default, 0.5), {@code run_monodepth.py}'s
     * otherwise, at the preprocessing block's {@code net_width} x {@code net_height} if it gives them (the converter's
     * KITTI and NYU outputs), else at the encoder's trained size.
     *
     * @throws IOException naming {@code name} and the field if a mean or std is not 3 numbers (a std not positive)
     */
    static DptPreprocessing defaultPreprocessing(ModelConfig config, String name) throws IOException {
        VitConfig e = config.encoder();
        if ("hf-dpt".equals(config.source().path("layout").asText())) {
            var p = config.preprocessing();
            return DptPreprocessing.huggingFace(e.imageWidth(), e.imageHeight(),
                    p.path("keep_aspect_ratio").asBoolean(false), Math.max(1, p.path("ensure_multiple_of").asInt(1)),
                    channels(config, "mean", name), channels(config, "std", name));
        }
        return monodepth(config, name);
    }

    /**
     * run_monodepth.py's preprocessing at its network size: the preprocessing block's {@code net_width} and
     * {@code net_height}, or the encoder's trained size when it gives neither.
     *
     * @throws IOException naming {@code name} and the field if only one is given, or one is not a positive integer
     */
    private static DptPreprocessing monodepth(ModelConfig config, String name) throws IOException {
        VitConfig e = config.encoder();
        var w = config.preprocessing().get("net_width");
        var h = config.preprocessing().get("net_height");
        if (w == null && h == null) {
            return DptPreprocessing.monodepth(e.imageWidth(), e.imageHeight());
        }
        for (var node : new com.fasterxml.jackson.databind.JsonNode[] {w, h}) {
            if (node == null || !node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 1) {
                throw new IOException(name + ": preprocessing.net_width and net_height must both be positive"
                        + " integers, got " + w + " and " + h);
            }
        }
        return DptPreprocessing.monodepth(w.asInt(), h.asInt());
    }

    private static double[] channels(ModelConfig config, String field, String name) throws IOException {
        var node = config.preprocessing().get(field);
        if (node == null || node.isNull()) {
            return new double[] {0.5, 0.5, 0.5};
        }
        boolean wellFormed = node.isArray() && node.size() == 3;
        double[] values = new double[3];
        for (int i = 0; wellFormed && i < 3; i++) {
            values[i] = node.get(i).asDouble();
            wellFormed = node.get(i).isNumber() && (!field.equals("std") || values[i] > 0);
        }
        if (!wellFormed) {
            throw new IOException(name + ": preprocessing." + field + " must be 3 numbers" + (field.equals("std")
                    ? ", all positive" : "") + ", got " + node);
        }
        return values;
    }

    /** {@link DptPreprocessing} of the model's own source (see the class comment). */
    public DptPreprocessing preprocessing() {
        return preprocessing;
    }

    /**
     * The preprocessing of {@code source} at the model's trained size (run_monodepth.py's: at its network size, see
     * {@link #defaultPreprocessing}).
     */
    public DptPreprocessing preprocessing(DptPreprocessing.Source source) {
        VitConfig e = model.encoderConfig();
        return switch (Objects.requireNonNull(source, "source")) {
            case MONODEPTH -> monodepth;
            case HUGGING_FACE -> preprocessing.source() == DptPreprocessing.Source.HUGGING_FACE ? preprocessing
                    : DptPreprocessing.huggingFace(e.imageWidth(), e.imageHeight(), false, 1,
                    new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
        };
    }

    /** The depth of a photo, prepared as the model's source prepares it. */
    public Depth estimate(RgbImage image) {
        return estimate(image, preprocessing, null);
    }

    /**
     * The depth of a photo prepared by {@code preprocessing}, with a token reduction (null: none).
     *
     * @throws IllegalArgumentException if the reduction cannot run on this model at the photo's network size
     */
    public Depth estimate(RgbImage image, DptPreprocessing preprocessing, ReductionMethod reduction) {
        DptPreprocessing.Prepared p = preprocessing.apply(image);
        Depth net = estimate(Tensor.ofFloats(p.pixels(), 1, 3, p.height(), p.width()), reduction);
        float[] full = DptPreprocessing.depthToImage(net.network(), p.height(), p.width(), p.imageHeight(),
                p.imageWidth());
        return new Depth(net.network(), p.height(), p.width(), full, p.imageHeight(), p.imageWidth(),
                net.tokensAfterBlock(), net.gflops(), net.unreducedGflops(), net.quantity());
    }

    /**
     * The depth of an already normalised tensor ({@code [1, 3, H, W]} or {@code [3, H, W]}, H and W multiples of
     * twice the patch size) at its own size, with a token reduction (null: none).
     */
    public Depth estimate(Tensor input, ReductionMethod reduction) {
        Shape s = input.shape();
        if (s.rank() == 3) {
            input = input.reshape(1, s.dim(0), s.dim(1), s.dim(2));
            s = input.shape();
        }
        if (s.rank() != 4 || s.dim(0) != 1 || s.dim(1) != 3) {
            throw new IllegalArgumentException("expected a tensor [1, 3, H, W] or [3, H, W], got " + s);
        }
        int h = s.intDim(2);
        int w = s.intDim(3);
        VitConfig e = model.encoderConfig();
        loaded.enter();
        try (TokenReducer reducer = reduction == null ? TokenReducer.NONE : model.reducer(reduction, h, w);
             ReductionTrace trace = new ReductionTrace(reducer, e.depth())) {
            float[] depth = model.depth(input, trace).toFloatArray();
            int[] tokens = trace.tokensAfterBlock();
            double neck = model.neckFlops(h, w) / 1e9;
            int[] full = new int[e.depth()];
            int perImage = e.prefixTokens() + (h / e.patchSize()) * (w / e.patchSize());
            for (int i = 0; i <= model.lastBlock(); i++) {
                full[i] = perImage;
            }
            // The blocks as they ran, plus the embedding (a hybrid's ResNet stem included) and the neck and head.
            double fixed = neck + model.embeddingFlops(h, w) / 1e9;
            double unreduced = ReductionTrace.blockGflops(e, full, full) + fixed;
            double reduced = ReductionTrace.blockGflops(e, trace.attentionTokens(), trace.queryTokens(),
                    trace.mlpTokens()) + fixed;
            return new Depth(depth, h, w, depth, h, w, tokens, reduced, unreduced, quantity());
        } finally {
            loaded.exit();
        }
    }

    /** Refuses, before any image runs, a reduction that cannot apply at a network input of {@code w x h}. */
    public void checkReduction(ReductionMethod reduction, int width, int height) {
        VitConfig e = model.encoderConfig();
        reduction.checkDense(e, height / e.patchSize(), width / e.patchSize());
    }

    public VitConfig encoderConfig() {
        return model.encoderConfig();
    }

    public DptConfig config() {
        return model.config();
    }

    /** What this model's depth maps hold: relative inverse depth, or metric depth in metres. */
    public DepthQuantity quantity() {
        return DepthQuantity.of(model.config());
    }

    /** The backend in words, e.g. {@code "CPU, 2 threads, Vector API 512-bit"}. */
    public String backendDescription() {
        return loaded.backend().description();
    }

    /** One line saying which backend and device run the model, and why a better one was not chosen. */
    public String backendSummary() {
        return loaded.backendSummary();
    }

    /** The model in words, e.g. {@code "dpt_large.pt: DPT depth on a ViT (24 blocks, width 1024, ..."}. */
    public String describe() {
        VitConfig e = model.encoderConfig();
        DptConfig d = model.config();
        String backbone = d.backbone() == DptConfig.Backbone.HYBRID ? "a ResNet + ViT hybrid" : "a ViT";
        return String.format(Locale.ROOT, "%s: DPT depth on %s (%d blocks, width %d, %d heads, patch %d, taps %s,"
                        + " readout %s, fusion width %d), trained at %dx%d; output %s%s", loaded.name(), backbone,
                e.depth(), e.embedDim(), e.numHeads(), e.patchSize(), java.util.Arrays.toString(d.hooks()),
                d.readout().name().toLowerCase(Locale.ROOT), d.fusionFeatures(), e.imageWidth(), e.imageHeight(),
                quantity().describe(), d.metric() == null ? "" : String.format(Locale.ROOT, " (1 / (%s x + %s))",
                        d.metric().scale(), d.metric().shift()));
    }

    @Override
    public void close() {
        loaded.close();
    }

    @Override
    public String toString() {
        return "DepthEstimator[" + loaded.name() + "]";
    }
}
