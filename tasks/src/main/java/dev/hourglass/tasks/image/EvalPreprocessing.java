package dev.hourglass.tasks.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.Objects;

/**
 * timm's eval-time transform for a model ({@code crop_mode 'center'}, or {@code 'squash'}: see {@link CropMode}):
 * what timm's {@code create_transform(...,
 * is_training=False)} builds from a {@code pretrained_cfg}, run on a Pillow image with torchvision 0.14:
 * <ol>
 *   <li>{@code scale = floor(size / crop_pct)} per axis;</li>
 *   <li>{@code transforms.Resize}: for a square target the shorter side becomes {@code scale} (the longer one
 *       {@code int(scale * long / short)}); for a non-square one, whose two scales differ, the image becomes exactly
 *       {@code scale_w x scale_h}; Pillow resampling with {@link #interpolation()} ({@link PilResize});</li>
 *   <li>{@code transforms.CenterCrop((height, width))}, zero-padding an image smaller than the crop;</li>
 *   <li>{@code ToTensor} ({@code uint8 / 255} in float32, channels first) and {@code Normalize}
 *       ({@code (x - mean) / std} in float32).</li>
 * </ol>
 * The non-square rule is timm 0.6's; timm 0.9 and later resize a non-square target keeping the aspect ratio
 * ({@code ResizeKeepRatio}), which this does not reproduce.
 *
 * <p>Immutable: the arrays are copied in and out, so an instance may be shared between threads.
 *
 * @param height        the model's input height ({@code input_size[1]})
 * @param width         the model's input width ({@code input_size[2]})
 * @param cropPct       the fraction of the resized image the crop keeps ({@code crop_pct}), positive
 * @param interpolation the Pillow filter of the resize ({@code interpolation})
 * @param mean          per-channel mean, R, G, B, in the 0..1 scale of {@code ToTensor}
 * @param std           per-channel standard deviation, R, G, B; non-zero in float32
 * @param cropMode      how the image is resized before the crop
 */
public record EvalPreprocessing(int height, int width, double cropPct, Filter interpolation, float[] mean,
                                float[] std, CropMode cropMode) {

    /** How the image is resized before the crop. */
    public enum CropMode {
        /** timm's {@code "center"}: a square target resizes the shorter side, keeping the aspect ratio. */
        CENTER,
        /**
         * timm's {@code "squash"}: resize to exactly {@code floor(height / crop_pct) x floor(width / crop_pct)},
         * ignoring the aspect ratio (what Hugging Face's image processors do with {@code crop_pct} 1).
         */
        SQUASH
    }

    /** The usual {@code "center"} crop mode. */
    public EvalPreprocessing(int height, int width, double cropPct, Filter interpolation, float[] mean, float[] std) {
        this(height, width, cropPct, interpolation, mean, std, CropMode.CENTER);
    }

    /** timm's {@code DEFAULT_CROP_PCT}, used when a {@code pretrained_cfg} has no {@code crop_pct}. */
    public static final double DEFAULT_CROP_PCT = 0.875;

    private static final float[] IMAGENET_DEFAULT_MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] IMAGENET_DEFAULT_STD = {0.229f, 0.224f, 0.225f};

    /**
     * Checks and copies the parameters.
     *
     * @throws IllegalArgumentException for a non-positive size, a crop_pct that is not a positive finite number or
     *     leaves nothing to crop from, or a mean or std that is not three finite numbers (std non-zero)
     */
    public EvalPreprocessing {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("input size must be at least 1x1, got height " + height + ", width "
                    + width);
        }
        if (!(cropPct > 0) || Double.isInfinite(cropPct)) {
            throw new IllegalArgumentException("crop_pct must be a positive number, got " + cropPct);
        }
        if (Math.floor(Math.min(height, width) / cropPct) < 1) {
            throw new IllegalArgumentException("crop_pct " + cropPct + " resizes a " + height + "x" + width
                    + " input to less than one pixel");
        }
        Objects.requireNonNull(interpolation, "interpolation");
        Objects.requireNonNull(cropMode, "cropMode");
        mean = checkedChannels("mean", mean, false);
        std = checkedChannels("std", std, true);
    }

    /**
     * The transform for a timm {@code pretrained_cfg} object (the {@code "pretrained_cfg"} of a timm
     * {@code config.json}). Keys read, with timm's defaults for the absent ones: {@code input_size}
     * ({@code [3, height, width]}, required), {@code crop_pct} (0.875), {@code interpolation}
     * ({@code "bicubic"}; or {@code "bilinear"}), {@code crop_mode} ({@code "center"}, the only mode supported),
     * {@code mean} and {@code std} (ImageNet's: 0.485, 0.456, 0.406 and 0.229, 0.224, 0.225). A JSON
     * {@code null} counts as absent. Other keys are ignored.
     *
     * @param cfg the {@code pretrained_cfg} object
     * @return the transform it describes
     * @throws IllegalArgumentException naming the key and its value when a value is missing, malformed or
     *     unsupported
     */
    public static EvalPreprocessing fromPretrainedCfg(JsonNode cfg) {
        return PretrainedCfgReader.read(cfg);
    }

    /** The mean, R, G, B (a copy). */
    @Override
    public float[] mean() {
        return mean.clone();
    }

    /** The standard deviation, R, G, B (a copy). */
    @Override
    public float[] std() {
        return std.clone();
    }

    /**
     * The model input for {@code image}: {@code 3 * height * width} floats, channel-major (C, H, W), exactly
     * what timm's eval transform gives for the same decoded pixels.
     */
    public float[] apply(RgbImage image) {
        return normalize(resizeAndCrop(image));
    }

    /** Steps 1 to 3 only: the {@code width x height} RGB image the model sees, before normalisation. */
    public RgbImage resizeAndCrop(RgbImage image) {
        Objects.requireNonNull(image, "image");
        ResizeTarget target = resizeTarget(image.width(), image.height());
        RgbImage resized = PilResize.resize(image, target.width(), target.height(), interpolation);
        return CenterCrop.apply(resized, height, width);
    }

    /** Where {@code transforms.Resize(scale_size)} takes an image of the given size (step 2). */
    ResizeTarget resizeTarget(int imageWidth, int imageHeight) {
        int scaleHeight = (int) Math.floor(height / cropPct);
        int scaleWidth = (int) Math.floor(width / cropPct);
        if (scaleHeight == scaleWidth && cropMode == CropMode.CENTER) {
            return ResizeTarget.shorterSide(imageWidth, imageHeight, scaleHeight);
        }
        return new ResizeTarget(scaleWidth, scaleHeight);
    }

    /** ToTensor then Normalize, each in float32 as torch computes them. */
    private float[] normalize(RgbImage image) {
        byte[] rgb = image.rgb();
        int plane = height * width;
        float[] out = new float[3 * plane];
        for (int c = 0; c < 3; c++) {
            float m = mean[c];
            float s = std[c];
            for (int i = 0, p = c; i < plane; i++, p += 3) {
                float x = (rgb[p] & 0xFF) / 255f;
                out[c * plane + i] = (x - m) / s;
            }
        }
        return out;
    }

    /** ImageNet's mean, timm's {@code IMAGENET_DEFAULT_MEAN} (a copy). */
    public static float[] imagenetDefaultMean() {
        return IMAGENET_DEFAULT_MEAN.clone();
    }

    /** ImageNet's standard deviation, timm's {@code IMAGENET_DEFAULT_STD} (a copy). */
    public static float[] imagenetDefaultStd() {
        return IMAGENET_DEFAULT_STD.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EvalPreprocessing that && height == that.height && width == that.width
                && Double.compare(cropPct, that.cropPct) == 0 && interpolation == that.interpolation
                && Arrays.equals(mean, that.mean) && Arrays.equals(std, that.std) && cropMode == that.cropMode;
    }

    @Override
    public int hashCode() {
        return Objects.hash(height, width, cropPct, interpolation, Arrays.hashCode(mean), Arrays.hashCode(std),
                cropMode);
    }

    @Override
    public String toString() {
        return "EvalPreprocessing[height=" + height + ", width=" + width + ", cropPct=" + cropPct
                + ", interpolation=" + interpolation.timmName() + ", mean=" + Arrays.toString(mean) + ", std="
                + Arrays.toString(std) + ", crop_mode=" + cropMode.name().toLowerCase(java.util.Locale.ROOT) + "]";
    }

    private static float[] checkedChannels(String key, float[] values, boolean nonZero) {
        Objects.requireNonNull(values, key);
        if (values.length != 3) {
            throw new IllegalArgumentException(key + " must have 3 values (R, G, B), got "
                    + Arrays.toString(values));
        }
        for (float v : values) {
            if (!Float.isFinite(v) || nonZero && v == 0f) {
                throw new IllegalArgumentException(key + " must be 3 finite" + (nonZero ? ", non-zero" : "")
                        + " numbers, got " + Arrays.toString(values));
            }
        }
        return values.clone();
    }
}
