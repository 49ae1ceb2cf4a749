package dev.hourglass.reduce;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import dev.hourglass.reduce.cfvit.CfVitThreshold;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.reduce.slim.SlimMasks;
import dev.hourglass.reduce.tome.ToMeSettings;

/**
 * The registry of token-reduction methods and the parser of {@code --reduce} specs, {@code method:key=value,...}:
 * {@code expedit:alpha=10,grid=28x28}, {@code tome:r=8,inflect=-1}, {@code cfvit:threshold=0.5} (CF-ViT's own checkpoints), {@code slim:masks=FILE} (Patch Slimming). A new method adds one line here and its settings
 * class (a {@link ReductionMethod} with a {@code parse} of its arguments).
 */
public final class Reductions {
    private static final Map<String, Function<String, ReductionMethod>> METHODS = new LinkedHashMap<>();

    static {
        METHODS.put("expedit", ExpeditSettings::parse);
        METHODS.put("tome", ToMeSettings::parse);
        METHODS.put("cfvit", CfVitThreshold::parse);
        METHODS.put("slim", SlimMasks::parse);
    }

    private Reductions() {
    }

    /** The method names, in the order they are listed. */
    public static String names() {
        return String.join(", ", METHODS.keySet());
    }

    /**
     * Reads a spec.
     *
     * @throws IllegalArgumentException for an unknown method (listing the known ones), key or value
     */
    public static ReductionMethod parse(String spec) {
        String s = spec.strip();
        int colon = s.indexOf(':');
        String name = (colon < 0 ? s : s.substring(0, colon)).strip().toLowerCase(Locale.ROOT);
        String args = colon < 0 ? "" : s.substring(colon + 1);
        Function<String, ReductionMethod> parser = METHODS.get(name);
        if (parser == null) {
            throw new IllegalArgumentException("unknown token reduction method '" + name + "' in '" + spec
                    + "'; known: " + names() + " (e.g. tome:r=8 or expedit:alpha=10,grid=28x28)");
        }
        return parser.apply(args);
    }
}
