package dev.hourglass.convert;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.hourglass.model.DptConfig;

/**
 * What a DPT depth model's output is, which isl-org's {@code .pt} files do not record: {@code run_monodepth.py}
 * builds {@code dpt_hybrid_kitti} and {@code dpt_hybrid_nyu} as {@code DPTDepthModel(scale, shift, invert=True)}
 * (metric depth in metres) at their own network sizes, every other DPT as relative inverse depth at 384x384.
 */
public enum DptOutput {
    /** The head's output as it is: relative inverse depth, larger is nearer (every DPT's default). */
    RELATIVE(null, 0, 0, null),
    /** {@code dpt_hybrid_kitti-cb926ef4.pt}: scale 0.00006016, shift 0.00579, net 1216x352. */
    KITTI(new DptConfig.Metric(0.00006016, 0.00579), 1216, 352, "dpt_hybrid_kitti"),
    /** {@code dpt_hybrid_nyu-2ce69ec7.pt}: scale 0.000305, shift 0.1378, net 640x480. */
    NYU(new DptConfig.Metric(0.000305, 0.1378), 640, 480, "dpt_hybrid_nyu");

    /**
     * How the converter's note begins when an isl-org file name suggests a metric checkpoint but no output was given
     * (a guess: {@link ConvertedModel#guesses()} lists it).
     */
    public static final String GUESS = "output relative inverse depth";

    private final DptConfig.Metric metric;
    private final int netWidth;
    private final int netHeight;
    private final String checkpoint;

    DptOutput(DptConfig.Metric metric, int netWidth, int netHeight, String checkpoint) {
        this.metric = metric;
        this.netWidth = netWidth;
        this.netHeight = netHeight;
        this.checkpoint = checkpoint;
    }

    /** The names {@code --dpt-output} accepts, in the order the help lists them. */
    public static List<String> names() {
        return Arrays.stream(values()).map(DptOutput::optionName).toList();
    }

    /** The output a name ({@link #optionName()}) stands for, or null if none. */
    public static DptOutput parse(String name) {
        for (DptOutput o : values()) {
            if (o.optionName().equals(name)) {
                return o;
            }
        }
        return null;
    }

    /** The name as {@code --dpt-output} takes it: {@code relative}, {@code kitti}, {@code nyu}. */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The metric output this sets, null for relative inverse depth. */
    public DptConfig.Metric metric() {
        return metric;
    }

    /** run_monodepth.py's network width for this checkpoint (0 for relative: the encoder's trained size). */
    public int netWidth() {
        return netWidth;
    }

    /** run_monodepth.py's network height for this checkpoint (0 for relative). */
    public int netHeight() {
        return netHeight;
    }

    /**
     * The preset whose isl-org checkpoint {@code fileName} looks like ({@code dpt_hybrid_kitti-*.pt},
     * {@code dpt_hybrid_nyu-*.pt}), or null.
     */
    static DptOutput suggestedBy(String fileName) {
        for (DptOutput o : values()) {
            if (o.checkpoint != null && fileName.startsWith(o.checkpoint + "-") && fileName.endsWith(".pt")) {
                return o;
            }
        }
        return null;
    }
}
