package dev.hourglass.convert;

/**
 * What the user says that a checkpoint does not: every field may be null (then it is read or inferred).
 *
 * @param layout       the source layout, overriding detection (see {@link Layouts#NAMES})
 * @param heads        the encoder's attention heads
 * @param decoderHeads the decoder's attention heads (Segmenter's mask transformer)
 * @param labels       class names, one per class (Segmenter checkpoints carry none), replacing the checkpoint's
 */
public record ConvertOptions(String layout, Integer heads, Integer decoderHeads, java.util.List<String> labels) {
    public static final ConvertOptions NONE = new ConvertOptions(null, null, null);

    /** The names {@link #layout} accepts, in the order the help lists them. */
    public static java.util.List<String> layouts() {
        return Layouts.NAMES;
    }

    public ConvertOptions(String layout, Integer heads, Integer decoderHeads) {
        this(layout, heads, decoderHeads, null);
    }

    public ConvertOptions {
        labels = labels == null ? null : java.util.List.copyOf(labels);
        if (heads != null && heads < 1) {
            throw new IllegalArgumentException("heads must be at least 1, got " + heads);
        }
        if (decoderHeads != null && decoderHeads < 1) {
            throw new IllegalArgumentException("decoder heads must be at least 1, got " + decoderHeads);
        }
    }
}
