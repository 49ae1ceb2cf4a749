package dev.hourglass.tasks.image;

import java.util.Objects;

import dev.hourglass.ops.Resize;

/**
 * DPT's image preprocessing, from either of its two sources, and the resize of the predicted depth back to the
 * photo.
 *
 * <ul>
 *   <li>{@link Source#MONODEPTH}: isl-org/DPT's {@code run_monodepth.py}. The photo as float64 RGB / 255.0;
 *       {@code Resize(net_w, net_h, keep_aspect_ratio=True, ensure_multiple_of=32, resize_method="minimal",
 *       cv2.INTER_CUBIC)}: both sides scaled by whichever of {@code net_h / h}, {@code net_w / w} is closer to 1
 *       (ties: the height's), each rounded to a multiple of 32 ({@link #constrainToMultipleOf}), then resized with
 *       {@link OpenCvCubicResize} in double; {@code (x - mean) / std} in double; cast to float32, CHW. DPT-Large and
 *       DPT-Hybrid use net 384 x 384 (the KITTI model 1216 x 352, NYU 640 x 480).
 *   <li>{@link Source#HUGGING_FACE}: transformers' {@code DPTImageProcessor}. Size from
 *       {@code get_resize_output_image_size} (with {@code keep_aspect_ratio} the same 'minimal' rule, else each
 *       side scaled to the target; then each rounded to {@code ensure_multiple_of}); Pillow's bicubic resize of the
 *       8-bit image ({@link PilResize}); {@code (float) (v * (1 / 255.0))}; {@code (x - mean) / std} in float32.
 *       Defaults (and what the conversion scripts of {@code Intel/dpt-large} / {@code dpt-hybrid-midas} set): 384 x
 *       384, no aspect ratio kept, multiple 1, i.e. the photo is stretched to a square.
 * </ul>
 * The result reproduces the originals' float32 network input bit for bit (golden tests in
 * {@code golden/dpt/}). Immutable and thread-safe.
 */
public final class DptPreprocessing {

    /** Where the preprocessing rule comes from. */
    public enum Source { MONODEPTH, HUGGING_FACE }

    /** A preprocessed image: {@code [3, height, width]} float32 (batch 1), and the photo's own size. */
    public record Prepared(float[] pixels, int height, int width, int imageHeight, int imageWidth) {
        public Prepared {
            Objects.requireNonNull(pixels, "pixels");
            if (pixels.length != 3L * height * width) {
                throw new IllegalArgumentException("pixels has " + pixels.length + " values, expected 3 x "
                        + height + " x " + width);
            }
        }
    }

    private static final double[] HALF = {0.5, 0.5, 0.5};

    private final Source source;
    private final int targetWidth;
    private final int targetHeight;
    private final boolean keepAspectRatio;
    private final int multiple;
    private final double[] mean;
    private final double[] std;

    private DptPreprocessing(Source source, int targetWidth, int targetHeight, boolean keepAspectRatio,
                             int multiple, double[] mean, double[] std) {
        if (targetWidth <= 0 || targetHeight <= 0 || multiple <= 0) {
            throw new IllegalArgumentException("target size and multiple must be positive: " + targetWidth + "x"
                    + targetHeight + ", multiple " + multiple);
        }
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values each");
        }
        this.source = source;
        this.targetWidth = targetWidth;
        this.targetHeight = targetHeight;
        this.keepAspectRatio = keepAspectRatio;
        this.multiple = multiple;
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /** run_monodepth.py at net {@code netWidth x netHeight} (384 x 384 for DPT-Large/Hybrid), mean = std = 0.5
     * (used in double, as numpy does with DPT's Python lists). */
    public static DptPreprocessing monodepth(int netWidth, int netHeight) {
        return new DptPreprocessing(Source.MONODEPTH, netWidth, netHeight, true, 32, HALF, HALF);
    }

    /**
     * DPTImageProcessor with {@code size = {height, width}}, {@code keep_aspect_ratio}, {@code ensure_multiple_of},
     * bicubic, rescale 1/255 and the given mean/std ({@code preprocessor_config.json}'s fields; used as float32).
     */
    public static DptPreprocessing huggingFace(int width, int height, boolean keepAspectRatio, int ensureMultipleOf,
                                               double[] mean, double[] std) {
        return new DptPreprocessing(Source.HUGGING_FACE, width, height, keepAspectRatio, ensureMultipleOf, mean, std);
    }

    /** DPTImageProcessor's defaults at {@code size x size} (384 for the released models): stretch, mean = std = 0.5. */
    public static DptPreprocessing huggingFace(int size) {
        return huggingFace(size, size, false, 1, HALF, HALF);
    }

    public Source source() {
        return source;
    }

    /** The network width it resizes towards (run_monodepth's {@code net_w}, the processor's {@code size.width}). */
    public int targetWidth() {
        return targetWidth;
    }

    /** The network height it resizes towards. */
    public int targetHeight() {
        return targetHeight;
    }

    /** The per-channel mean subtracted after scaling to [0, 1] (R, G, B; a copy). */
    public double[] mean() {
        return mean.clone();
    }

    /** The per-channel standard deviation divided by (R, G, B; a copy). */
    public double[] std() {
        return std.clone();
    }

    /**
     * DPT's {@code constrain_to_multiple_of} (and transformers' copy of it) without bounds: {@code x / multiple}
     * rounded half to even ({@code np.round}, Python's {@code round}), times {@code multiple}.
     */
    public static int constrainToMultipleOf(double x, int multiple) {
        return Math.toIntExact((long) (Math.rint(x / multiple) * multiple));
    }

    /** The network input size {@code {width, height}} for a photo of {@code width x height}. */
    public int[] outputSize(int width, int height) {
        double scaleHeight = (double) targetHeight / height;
        double scaleWidth = (double) targetWidth / width;
        if (keepAspectRatio) {
            // "minimal": scale as little as possible; the height's scale wins ties.
            if (Math.abs(1 - scaleWidth) < Math.abs(1 - scaleHeight)) {
                scaleHeight = scaleWidth;
            } else {
                scaleWidth = scaleHeight;
            }
        }
        int w = constrainToMultipleOf(scaleWidth * width, multiple);
        int h = constrainToMultipleOf(scaleHeight * height, multiple);
        if (w <= 0 || h <= 0) {
            throw new IllegalArgumentException("a " + width + "x" + height + " image resizes to " + w + "x" + h
                    + " at target " + targetWidth + "x" + targetHeight + ", multiple " + multiple);
        }
        return new int[] {w, h};
    }

    /** The network input for {@code image}. */
    public Prepared apply(RgbImage image) {
        Objects.requireNonNull(image, "image");
        int[] size = outputSize(image.width(), image.height());
        float[] pixels = source == Source.MONODEPTH ? monodepthPixels(image, size[0], size[1])
                : huggingFacePixels(image, size[0], size[1]);
        return new Prepared(pixels, size[1], size[0], image.height(), image.width());
    }

    private float[] monodepthPixels(RgbImage image, int w, int h) {
        byte[] rgb = image.pixels();
        double[] unit = new double[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            unit[i] = (rgb[i] & 0xFF) / 255.0;
        }
        double[] resized = OpenCvCubicResize.resize(unit, image.height(), image.width(), 3, h, w);
        float[] out = new float[3 * h * w];
        int plane = h * w;
        for (int c = 0; c < 3; c++) {
            double m = mean[c];
            double s = std[c];
            for (int p = 0; p < plane; p++) {
                out[c * plane + p] = (float) ((resized[p * 3 + c] - m) / s);
            }
        }
        return out;
    }

    private float[] huggingFacePixels(RgbImage image, int w, int h) {
        byte[] rgb = PilResize.resize(image, w, h, Filter.BICUBIC).pixels();
        double rescale = 1 / 255.0;
        float[] out = new float[3 * h * w];
        int plane = h * w;
        for (int c = 0; c < 3; c++) {
            float m = (float) mean[c];   // np.array(mean, dtype=float32)
            float s = (float) std[c];
            for (int p = 0; p < plane; p++) {
                float v = (float) ((rgb[p * 3 + c] & 0xFF) * rescale);
                out[c * plane + p] = (v - m) / s;
            }
        }
        return out;
    }

    /**
     * The predicted depth {@code [height, width]} resized to the photo, as run_monodepth.py and
     * {@code DPTImageProcessor.post_process_depth_estimation} do: {@code F.interpolate(mode="bicubic",
     * align_corners=False)} (a = -0.75, clamped borders, no antialias), through {@link Resize}.
     */
    public static float[] depthToImage(float[] depth, int height, int width, int imageHeight, int imageWidth) {
        return Resize.resize(depth, 1, height, width, imageHeight, imageWidth, Resize.Mode.BICUBIC, false);
    }
}
