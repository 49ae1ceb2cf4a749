package dev.hourglass.convert;

import java.util.List;

/**
 * What the user says that a checkpoint does not: every field may be null (then it is read or inferred).
 *
 * @param layout       the source layout, overriding detection (see {@link Layouts#NAMES})
 * @param heads        the encoder's attention heads
 * @param decoderHeads the decoder's attention heads (Segmenter's mask transformer)
 * @param labels       class names, one per class (Segmenter checkpoints carry none), replacing the checkpoint's
 * @param mean         the normalisation's mean, R, G, B (with {@code std}, or both null), replacing what the
 *                     checkpoint gives or its layout would assume
 * @param std          the normalisation's standard deviation, R, G, B, each above 0
 * @param dptOutput    what a DPT depth model outputs (isl-org's {@code .pt} files do not say): relative inverse depth,
 *                     or metric depth as {@code run_monodepth.py} runs the KITTI or NYU checkpoint; refused for
 *                     every other model
 */
public record ConvertOptions(String layout, Integer heads, Integer decoderHeads, List<String> labels,
                             List<Double> mean, List<Double> std, DptOutput dptOutput) {
    public static final ConvertOptions NONE = new ConvertOptions(null, null, null);

    /** The names {@link #layout} accepts, in the order the help lists them. */
    public static List<String> layouts() {
        return Layouts.NAMES;
    }

    public ConvertOptions(String layout, Integer heads, Integer decoderHeads) {
        this(layout, heads, decoderHeads, null);
    }

    public ConvertOptions(String layout, Integer heads, Integer decoderHeads, List<String> labels) {
        this(layout, heads, decoderHeads, labels, null, null);
    }

    public ConvertOptions(String layout, Integer heads, Integer decoderHeads, List<String> labels, List<Double> mean,
                          List<Double> std) {
        this(layout, heads, decoderHeads, labels, mean, std, null);
    }

    /**
     * @throws IllegalArgumentException for a head count below 1, a mean without a std or the reverse, or a mean or
     *                                  std that is not three finite numbers (std above 0)
     */
    public ConvertOptions {
        labels = labels == null ? null : List.copyOf(labels);
        if (heads != null && heads < 1) {
            throw new IllegalArgumentException("heads must be at least 1, got " + heads);
        }
        if (decoderHeads != null && decoderHeads < 1) {
            throw new IllegalArgumentException("decoder heads must be at least 1, got " + decoderHeads);
        }
        if ((mean == null) != (std == null)) {
            throw new IllegalArgumentException("mean and std are given together or not at all; got only the "
                    + (mean == null ? "std" : "mean"));
        }
        mean = mean == null ? null : channels("mean", mean, false);
        std = std == null ? null : channels("std", std, true);
    }

    /** These options with the normalisation given (both null: none given). */
    public ConvertOptions withNormalisation(List<Double> mean, List<Double> std) {
        return new ConvertOptions(layout, heads, decoderHeads, labels, mean, std, dptOutput);
    }

    /** These options with a DPT's output given (null: not given, the model's default). */
    public ConvertOptions withDptOutput(DptOutput output) {
        return new ConvertOptions(layout, heads, decoderHeads, labels, mean, std, output);
    }

    /** Whether the normalisation is given ({@link #mean} and {@link #std}). */
    public boolean normalisationGiven() {
        return mean != null;
    }

    private static List<Double> channels(String name, List<Double> values, boolean positive) {
        if (values.size() != 3) {
            throw new IllegalArgumentException(name + " must be 3 numbers (R, G, B), got " + values.size());
        }
        for (Double v : values) {
            if (v == null || !Double.isFinite(v) || (positive && v <= 0)) {
                throw new IllegalArgumentException(name + " must be 3 finite numbers (R, G, B)"
                        + (positive ? " above 0" : "") + ", got " + values);
            }
        }
        return List.copyOf(values);
    }
}
