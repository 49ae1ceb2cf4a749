package dev.hourglass.tasks.segment;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.expedit.ExpeditPass;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.segmenter.SegmenterDecoder;
import dev.hourglass.tasks.LoadedModel;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TransformerBlock;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Semantic segmentation with a Segmenter (Strudel et al., 2021): a ViT encoder and a mask-transformer or linear
 * decoder ({@link SegmenterDecoder}, model code in the engine), run over sliding windows exactly as Segmenter's own inference does (see {@link SlidingWindows}), optionally
 * with a token reduction ({@link ReductionMethod}): Expedit's token clustering and reconstruction ({@link
 * ExpeditSettings}), which speeds the encoder and decoder up with the same weights, or ToMe (merged in the encoder,
 * unmerged by its source map before the decoder, the baseline of Expedit's paper).
 *
 * <pre>{@code
 * try (SemanticSegmenter segmenter = SemanticSegmenter.load(Path.of("seg_large_mask_640/checkpoint.pth"),
 *         new ModelOptions(4))) {
 *     Segmentation s = segmenter.segment(RgbImage.read(Path.of("street.jpg")), ExpeditSettings.SEGMENTER_ADE20K,
 *             false);
 * }
 * }</pre>
 *
 * <p>Takes an Hourglass model file or Segmenter's own {@code checkpoint.pth} (with {@code variant.yml} beside it), or
 * Expedit's mmseg-renamed checkpoint.
 *
 * <p>Thread-safe: one segmenter may serve many threads at once; each call keeps its state to itself, so concurrent
 * calls give the same bits as the same calls one after another (they share the compute threads).
 *
 * <p>Close it to free the weights and stop the compute threads. {@link #close()} may be called from any thread, also
 * while other threads are segmenting: it refuses new calls, waits for the calls in progress to finish (they return
 * their normal results), then frees. A call made once closing has begun throws an {@link IllegalStateException}
 * naming the model. Closing twice does nothing.
 */
public final class SemanticSegmenter implements AutoCloseable {
    /** The model families this class runs, and how it refuses the others. */
    private static final LoadedModel.Task TASK = new LoadedModel.Task("SemanticSegmenter",
            EnumSet.of(ModelFamily.SEGMENTER), "segmentation runs Segmenter models");

    /** The model file's contents on the backend, the backend and the gate every call passes. */
    private final LoadedModel loaded;
    private final String name;
    private final Backend backend;
    private final VisionTransformer encoder;
    private final SegmenterDecoder decoder;
    private final SegmenterDecoderConfig settings;
    private final List<String> classNames;
    private final int window;
    private final int stride;
    private final float[] mean;
    private final float[] std;
    /** The host's share of the work (resizing the class masks), on as many threads as the backend computes with. */
    private final ComputePool hostPool;

    private SemanticSegmenter(LoadedModel loaded, VisionTransformer encoder, SegmenterDecoder decoder,
                              SegmenterDecoderConfig settings, List<String> classNames, float[] mean, float[] std,
                              ComputePool hostPool) {
        this.loaded = loaded;
        this.name = loaded.name();
        this.backend = loaded.backend();
        this.encoder = encoder;
        this.decoder = decoder;
        this.settings = settings;
        this.classNames = classNames;
        this.window = settings.windowSize();
        this.stride = settings.windowStride();
        this.mean = mean;
        this.std = std;
        this.hostPool = hostPool;
    }

    /** Loads a Segmenter with one thread per processor on the best backend here. */
    public static SemanticSegmenter load(Path model) throws IOException {
        return load(model, ModelOptions.defaults());
    }

    /**
     * Loads a Segmenter: an Hourglass model file, Segmenter's {@code checkpoint.pth} with its {@code variant.yml}, or
     * Expedit's mmseg checkpoint. Original checkpoints are converted in memory (with {@code options.conversion()});
     * nothing is written.
     *
     * @throws IOException naming the file and what is wrong with it
     * @throws dev.hourglass.backend.BackendUnavailableException if the backend named cannot run here
     */
    public static SemanticSegmenter load(Path model, ModelOptions options) throws IOException {
        return LoadedModel.load(model, options, TASK, SemanticSegmenter::create);
    }

    /**
     * Loads a Segmenter from the class path: {@code resource + "/model.safetensors"} (an Hourglass model file, or
     * weights with {@code resource + "/config.json"} beside them), spooled to a temporary file deleted before this
     * returns.
     */
    public static SemanticSegmenter loadResource(String resource, ModelOptions options) throws IOException {
        return LoadedModel.loadResource(resource, options, TASK, SemanticSegmenter::create);
    }

    /**
     * Loads a Segmenter from streams: a safetensors file and its {@code config.json} (null for an Hourglass model
     * file, which carries its configuration). They are spooled to a temporary folder (deleted before this returns),
     * because weights are memory-mapped while being read.
     *
     * @param name how error messages and {@link #toString()} call the model
     */
    public static SemanticSegmenter load(InputStream safetensors, InputStream configJson, String name,
                                         ModelOptions options) throws IOException {
        return LoadedModel.load(safetensors, configJson, name, options, TASK, SemanticSegmenter::create);
    }

    private static SemanticSegmenter create(LoadedModel loaded) throws IOException {
        String name = loaded.name();
        ModelConfig config = loaded.config();
        VitConfig vit = config.encoder();
        SegmenterDecoderConfig d = config.decoder(SegmenterDecoderConfig.class);
        List<String> classNames = classNames(config.labels(), d.classes(), name);
        float[] mean = channels(config.preprocessing(), "mean", name);
        float[] std = channels(config.preprocessing(), "std", name);
        ComputePool hostPool = loaded.own(ComputePool.of(loaded.options().threads()));
        Backend backend = loaded.backend();
        VisionTransformer encoder = loaded.own(VisionTransformer.create(vit, loaded.weights(), backend));
        WeightStore store = loaded.own(backend.newWeightStore());
        SegmenterDecoder decoder = SegmenterDecoder.load(store, loaded.weights(), vit.embedDim(), d);
        return new SemanticSegmenter(loaded, encoder, decoder, d, classNames, mean, std, hostPool);
    }

    private static float[] channels(ObjectNode preprocessing, String field, String name) throws IOException {
        JsonNode v = preprocessing.get(field);
        if (v == null || !v.isArray() || v.size() != 3) {
            throw new IOException(name + ": preprocessing." + field + " must be 3 numbers, got " + v);
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            out[i] = (float) v.get(i).asDouble();
        }
        if (field.equals("std") && (out[0] <= 0 || out[1] <= 0 || out[2] <= 0)) {
            throw new IOException(name + ": preprocessing.std must be positive, got " + v);
        }
        return out;
    }

    private static List<String> classNames(List<String> labels, int classes, String name) throws IOException {
        if (!labels.isEmpty()) {
            if (labels.size() != classes) {
                throw new IOException(name + ": " + labels.size() + " labels for " + classes + " classes");
            }
            return List.copyOf(labels);
        }
        List<String> out = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) {
            out.add("class " + i);
        }
        return List.copyOf(out);
    }

    // ------------------------------------------------------------------ accessors

    public List<String> classNames() {
        return classNames;
    }

    public int windowSize() {
        return window;
    }

    public int windowStride() {
        return stride;
    }

    public VitConfig encoderConfig() {
        return encoder.config();
    }

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

    // ------------------------------------------------------------------ checks before running

    /**
     * Refuses a token reduction that cannot apply to this model's windows: {@link ReductionMethod#check} on a window's
     * token grid ({@code window / patch}, rounded up), the check every {@code segment} and {@code logits} call makes
     * first. A caller with many images makes it once, before any runs.
     *
     * @param reduction the settings, or null (nothing to check)
     * @throws IllegalArgumentException saying why the settings cannot apply (an {@code alpha} beyond the depth, a
     *     cluster grid not smaller than the token grid, ...)
     */
    public void checkReduction(ReductionMethod reduction) {
        if (reduction != null) {
            int grid = windowTokenGrid();
            reduction.checkDense(encoder.config(), grid, grid);
        }
    }

    /**
     * Why an image of {@code width x height} pixels cannot be segmented by this model, in one line, or null when it
     * can: the windows' class scores are merged at the image's size (scaled up to a window when smaller), {@code
     * classes x height x width} floats, which must fit in one Java array and in this JVM's heap. {@code segment} and
     * {@code logits} refuse such an image with this line (an {@link IllegalArgumentException}) before any window runs;
     * from an image file's header ({@link RgbImage#readHeader}), a caller can refuse it before decoding it.
     *
     * @throws IllegalArgumentException if a side is not positive
     */
    public String sizeProblem(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image size must be at least 1x1, got " + width + "x" + height);
        }
        int[] scaled = SlidingWindows.scaledSize(height, width, window);
        return mergeTooLarge(height, width, scaled[0], scaled[1], classNames.size(), Runtime.getRuntime().maxMemory());
    }

    /** The token grid of one window: the window padded with zeros to a multiple of the patch, in patches. */
    private int windowTokenGrid() {
        int patch = encoder.config().patchSize();
        return (window + patch - 1) / patch;
    }

    // ------------------------------------------------------------------ segmentation

    /**
     * Segments an image.
     *
     * @param reduction    a token reduction ({@code Reductions.parse("expedit:...")}, an {@link ExpeditSettings}), or
     *                     null for the plain model
     * @param clusterMap   with Expedit, also return each pixel's cluster ({@link Segmentation#clusters()}); costs a
     *                     dense distance pass per window
     */
    public Segmentation segment(RgbImage image, ReductionMethod reduction, boolean clusterMap) {
        return segment(normalize(image), reduction, clusterMap);
    }

    /** Segments an already normalised image {@code [1, 3, height, width]} (see {@link #normalize}). */
    public Segmentation segment(Tensor image, ReductionMethod reduction) {
        return segment(image, reduction, false);
    }

    /**
     * {@link #segment(Tensor, ReductionMethod)}, with the cluster map if {@code clusterMap} and Expedit is on.
     *
     * @throws IllegalStateException if the segmenter is closed
     */
    public Segmentation segment(Tensor image, ReductionMethod reduction, boolean clusterMap) {
        checkImage(image);
        loaded.enter();
        try {
            return segmentChecked(image, reduction, clusterMap);
        } finally {
            loaded.exit();
        }
    }

    private Segmentation segmentChecked(Tensor image, ReductionMethod reduction, boolean clusterMap) {
        int h = image.shape().intDim(2);
        int w = image.shape().intDim(3);
        Result r = run(image, reduction, clusterMap && reduction instanceof ExpeditSettings);
        // The labels of the merged logits resized to the image, found row by row: the resized logits of every class
        // at the photo's size (150 x 12 MP x 4 bytes = 7 GB) never exist. Same bits as resizing, then argmax.
        int[] labels = Resize.argmax(r.merged, classNames.size(), r.height, r.width, h, w, Resize.Mode.BILINEAR,
                false, hostPool);
        return new Segmentation(w, h, classNames, labels, r.clusters, r.windows, r.forwardNanos, r.tokensAfterBlock);
    }

    private static void checkImage(Tensor image) {
        Shape s = image.shape();
        if (s.rank() != 4 || s.dim(0) != 1 || s.dim(1) != 3 || s.dim(2) < 1 || s.dim(3) < 1) {
            throw new IllegalArgumentException("the image must be [1, 3, height, width], got " + s);
        }
    }

    /**
     * Segmenter's merged logits for an already normalised image {@code [1, 3, height, width]}: the windows' class
     * scores averaged where they overlap and resized back to the image, before the softmax;
     * {@code [classes, height, width]}: {@code 4 x classes x height x width} bytes, which {@link #segment} never
     * holds.
     *
     * @throws IllegalStateException if the segmenter is closed
     */
    public Tensor logits(Tensor image, ReductionMethod reduction) {
        checkImage(image);
        loaded.enter();
        try {
            return logitsChecked(image, reduction);
        } finally {
            loaded.exit();
        }
    }

    private Tensor logitsChecked(Tensor image, ReductionMethod reduction) {
        Shape s = image.shape();
        int h = s.intDim(2);
        int w = s.intDim(3);
        Result r = run(image, reduction, false);
        // Segmenter resizes the merged logits to the image size even when they already are (an exact copy then).
        float[] logits = r.height == h && r.width == w ? r.merged : Resize.resize(r.merged, classNames.size(),
                r.height, r.width, h, w, Resize.Mode.BILINEAR, false, hostPool);
        return Tensor.ofFloats(logits, classNames.size(), h, w);
    }

    /** An image as Segmenter feeds it: {@code [1, 3, height, width]}, {@code (x / 255 - mean) / std}. */
    public Tensor normalize(RgbImage image) {
        int w = image.width();
        int h = image.height();
        byte[] rgb = image.pixels();
        float[] out = new float[3 * w * h];
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < w * h; p++) {
                out[c * w * h + p] = ((rgb[p * 3 + c] & 0xFF) / 255f - mean[c]) / std[c];
            }
        }
        return Tensor.ofFloats(out, 1, 3, h, w);
    }

    /**
     * The windows' class scores merged at the scaled size ({@code [classes, height, width]}, {@code height x width}
     * being {@link SlidingWindows#scaledSize}), before the resize to the image.
     */
    private record Result(float[] merged, int height, int width, int[] clusters, int windows, long forwardNanos,
                          int[] tokensAfterBlock) {
    }

    private Result run(Tensor image, ReductionMethod reduction, boolean keepClusters) {
        int patch = encoder.config().patchSize();
        checkReduction(reduction);
        int[] tokensAfterBlock = null;
        int h = image.shape().intDim(2);
        int w = image.shape().intDim(3);
        // Refused before the image is copied and scaled, and before any window runs.
        String tooLarge = sizeProblem(w, h);
        if (tooLarge != null) {
            throw new IllegalArgumentException(tooLarge);
        }
        int classes = classNames.size();
        float[] pixels = image.toFloatArray();
        int[] scaled = SlidingWindows.scaledSize(h, w, window);
        int sh = scaled[0];
        int sw = scaled[1];
        if (sh != h || sw != w) {
            pixels = Resize.resize(pixels, 3, h, w, sh, sw, Resize.Mode.BILINEAR, false, hostPool);
        }
        int[] rows = SlidingWindows.anchors(sh, window, stride);
        int[] cols = SlidingWindows.anchors(sw, window, stride);
        // One window covering the whole image (the usual case at the model's own size) is its own average.
        boolean single = rows.length == 1 && cols.length == 1 && sh == window && sw == window;
        float[] sum = single ? null : new float[classes * sh * sw];
        int[] count = single ? null : new int[sh * sw];
        int[] clusterMap = keepClusters ? new int[sh * sw] : null;
        long nanos = 0;
        int index = 0;
        for (int ha : rows) {
            for (int wa : cols) {
                long t0 = System.nanoTime();
                WindowOutput out = window(crop(pixels, sh, sw, ha, wa), reduction, keepClusters);
                tokensAfterBlock = out.tokensAfterBlock;
                nanos += System.nanoTime() - t0;
                if (single) {
                    sum = upsampled(out);
                } else {
                    accumulate(out, sum, sh, sw, ha, wa);
                }
                for (int y = 0; y < window && !single; y++) {
                    for (int x = 0; x < window; x++) {
                        count[(ha + y) * sw + wa + x]++;
                    }
                }
                if (clusterMap != null) {
                    int m = ((ExpeditSettings) reduction).clusters();
                    for (int y = 0; y < window; y++) {
                        for (int x = 0; x < window; x++) {
                            clusterMap[(ha + y) * sw + wa + x] = index * m
                                    + out.hardLabels[(y / patch) * out.grid + x / patch];
                        }
                    }
                }
                index++;
            }
        }
        int plane = sh * sw;
        for (int c = 0; c < classes && !single; c++) {
            for (int p = 0; p < plane; p++) {
                sum[c * plane + p] /= count[p];
            }
        }
        int[] clusters = null;
        if (clusterMap != null) {
            clusters = new int[h * w];
            for (int y = 0; y < h; y++) {
                int sy = (int) ((long) y * sh / h);
                for (int x = 0; x < w; x++) {
                    clusters[y * w + x] = clusterMap[sy * sw + (int) ((long) x * sw / w)];
                }
            }
        }
        return new Result(sum, sh, sw, clusters, index, nanos, tokensAfterBlock);
    }

    /** Why merging a {@code w x h} image (windows run at {@code sw x sh}) cannot fit {@code heap} bytes, or null. */
    static String mergeTooLarge(int h, int w, int sh, int sw, int classes, long heap) {
        long values = (long) classes * sh * sw;
        long bytes = 4 * (values + 2L * sh * sw);
        boolean array = values > Integer.MAX_VALUE - 8;
        if (!array && bytes <= heap) {
            return null;
        }
        return String.format(java.util.Locale.ROOT, "a %dx%d image needs %.1f GB for the merged scores of %d classes"
                        + " (Segmenter merges its windows at the image's full size); %s: segment a smaller copy of the"
                        + " image%s", w, h, bytes / 1e9, classes,
                array ? "a Java array holds at most 2^31 values" : String.format(java.util.Locale.ROOT,
                        "this JVM may use %.1f GB", heap / 1e9),
                array ? "" : " or give Java more memory (-Xmx)");
    }

    private float[] crop(float[] pixels, int h, int w, int top, int left) {
        float[] out = new float[3 * window * window];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < window; y++) {
                System.arraycopy(pixels, (c * h + top + y) * w + left, out, (c * window + y) * window, window);
            }
        }
        return out;
    }

    /**
     * One window's class masks on its token grid ({@code [classes, grid, grid]}), before Segmenter upsamples them to
     * the padded window ({@code grid x patch} square) and crops that to the window.
     */
    private record WindowOutput(float[] planes, int grid, int padded, int[] hardLabels, int[] tokensAfterBlock) {
    }

    /** A window's masks upsampled to the padded window and cropped to the window: {@code [classes, window, window]}. */
    private float[] upsampled(WindowOutput out) {
        int classes = classNames.size();
        float[] up = Resize.resize(out.planes, classes, out.grid, out.grid, out.padded, out.padded,
                Resize.Mode.BILINEAR, false, hostPool);
        if (out.padded == window) {
            return up;
        }
        float[] cropped = new float[classes * window * window];
        for (int c = 0; c < classes; c++) {
            for (int y = 0; y < window; y++) {
                System.arraycopy(up, (c * out.padded + y) * out.padded, cropped, (c * window + y) * window, window);
            }
        }
        return cropped;
    }

    /**
     * Adds a window's upsampled masks into the merged sum at {@code (top, left)}, one class at a time over the host
     * threads (each class its own plane of the sum): one upsampled plane per thread at a time instead of all classes of
     * the window (245 MB for 150 classes at 640). Each value is the one {@link #upsampled} gives, added once, in
     * window order: the same bits.
     */
    private void accumulate(WindowOutput out, float[] sum, int sh, int sw, int top, int left) {
        int n = out.grid * out.grid;
        hostPool.parallelFor(classNames.size(), (c, worker) -> {
            float[] up = Resize.resize(java.util.Arrays.copyOfRange(out.planes, c * n, (c + 1) * n), 1, out.grid,
                    out.grid, out.padded, out.padded, Resize.Mode.BILINEAR, false);
            for (int y = 0; y < window; y++) {
                int dst = (c * sh + top + y) * sw + left;
                int src = y * out.padded;
                for (int x = 0; x < window; x++) {
                    sum[dst + x] += up[src + x];
                }
            }
        });
    }

    /**
     * One window through Segmenter's {@code forward}: padded to the patch size with zeros, encoded with the reduction
     * (clustered after block α with Expedit; merged in every block and unmerged at the end with ToMe), decoded,
     * reconstructed to the full token grid with Expedit: the class masks on the token grid ({@link WindowOutput}),
     * which {@link #upsampled} or {@link #accumulate} take up to the window as Segmenter does (bilinearly to the padded
     * size, cropped back).
     */
    private WindowOutput window(float[] crop, ReductionMethod reduction, boolean keepLabels) {
        int patch = encoder.config().patchSize();
        int padded = windowTokenGrid() * patch;
        float[] input = crop;
        if (padded != window) {
            input = new float[3 * padded * padded];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < window; y++) {
                    System.arraycopy(crop, (c * window + y) * window, input, (c * padded + y) * padded, window);
                }
            }
        }
        int grid = padded / patch;
        int n = grid * grid;
        int classes = classNames.size();
        float[] tokenMasks = new float[n * classes];
        int[] labels = null;
        TokenReducer reducer;
        if (reduction == null) {
            reducer = TokenReducer.NONE;
        } else if (keepLabels && reduction instanceof ExpeditSettings expedit) {
            reducer = new ExpeditPass(backend, expedit, true);
        } else {
            reducer = reduction.newReducer(backend, encoder.config());
        }
        int[] tokensAfterBlock;
        try (ReductionTrace trace = new ReductionTrace(reducer, encoder.config().depth());
             TransformerBlock.Scratch scratch = new TransformerBlock.Scratch(backend);
             VisionTransformer.Encoded encoded = encoder.encode(Tensor.ofFloats(input, 1, 3, padded, padded), trace);
             Buffer masks = decoder.decode(backend, encoded.tokens(), scratch)) {
            if (encoded.tokens().patchTokens() != n) {
                // Decoded on fewer tokens (Expedit's clusters): the reducer maps the masks back to the token grid.
                try (Buffer full = trace.restore(encoded.state(), masks, 0, classes)) {
                    backend.download(full, 0, tokenMasks, 0, tokenMasks.length);
                }
            } else {
                backend.download(masks, 0, tokenMasks, 0, tokenMasks.length);
            }
            if (reducer instanceof ExpeditPass pass && keepLabels) {
                labels = pass.hardLabels();
            }
            tokensAfterBlock = trace.tokensAfterBlock();
        }
        // [tokens, classes] -> [classes, grid, grid], then up to the padded window.
        float[] planes = new float[classes * n];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < classes; c++) {
                planes[c * n + t] = tokenMasks[t * classes + c];
            }
        }
        return new WindowOutput(planes, grid, padded, labels, tokensAfterBlock);
    }

    /**
     * Frees the weights and stops the compute threads, once the calls in progress have returned; calls from then on
     * throw {@link IllegalStateException}. Safe from any thread and more than once (later calls do nothing); not from
     * inside a call of this segmenter.
     */
    @Override
    public void close() {
        loaded.close();
    }

    /**
     * The model in one line, for people: {@code checkpoint.pth: Segmenter, ViT encoder of 12 blocks, width 192, 3
     * heads, patch 16; mask-transformer decoder (2 blocks, width 192); 10 classes; 256x256 windows, stride 256}.
     */
    public String describe() {
        VitConfig c = encoder.config();
        return String.format(java.util.Locale.ROOT, "%s: Segmenter, ViT encoder of %d blocks, width %d, %d heads, patch"
                + " %d; %s; %d classes; %dx%d windows, stride %d", name, c.depth(), c.embedDim(), c.numHeads(),
                c.patchSize(), settings.describe(), classNames.size(), window, window, stride);
    }

    @Override
    public String toString() {
        return "SemanticSegmenter[" + name + ", " + classNames.size() + " classes, window " + window + "/" + stride
                + ", " + backend.description() + "]";
    }
}
