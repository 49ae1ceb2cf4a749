package dev.hourglass.tasks.depth;

import dev.hourglass.model.DptConfig;

/** What a DPT's depth map holds: its head's relative inverse depth, or metric depth ({@link DptConfig#metric()}). */
public enum DepthQuantity {
    /** DPT's head output as it is: relative inverse depth, no unit, larger is nearer (every DPT by default). */
    RELATIVE_INVERSE("relative inverse depth", null, false),
    /** Metric depth in metres, larger is farther (isl-org's KITTI and NYU checkpoints as run_monodepth.py runs them). */
    METRIC("metric depth", "m", true);

    private final String words;
    private final String unit;
    private final boolean largerIsFarther;

    DepthQuantity(String words, String unit, boolean largerIsFarther) {
        this.words = words;
        this.unit = unit;
        this.largerIsFarther = largerIsFarther;
    }

    /** The quantity of a DPT with this configuration. */
    public static DepthQuantity of(DptConfig config) {
        return config.metric() == null ? RELATIVE_INVERSE : METRIC;
    }

    /** In words: {@code "relative inverse depth"}, {@code "metric depth"}. */
    public String words() {
        return words;
    }

    /** The unit's symbol ({@code "m"}), or null for a relative quantity. */
    public String unit() {
        return unit;
    }

    /** Whether a larger value is farther from the camera (metric depth) rather than nearer. */
    public boolean largerIsFarther() {
        return largerIsFarther;
    }

    /** One phrase for reports: {@code "metric depth in metres, larger is farther"}. */
    public String describe() {
        return words + (unit != null ? " in metres" : "") + ", larger is " + (largerIsFarther ? "farther" : "nearer");
    }
}
