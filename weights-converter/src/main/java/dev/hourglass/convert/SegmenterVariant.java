package dev.hourglass.convert;

import java.util.List;
import java.util.Map;

import dev.hourglass.io.UntrustedText;

/**
 * What the converter takes from Segmenter's {@code variant.yml}: each value checked for its type and range, a wrong
 * one becoming a problem that names the file, the key and the value (never a silent default, never a cast that
 * fails later). Absent values are null.
 *
 * @param present       whether there was a {@code variant.yml}
 * @param heads         {@code net_kwargs.n_heads}
 * @param imageSize     {@code net_kwargs.image_size} as {height, width}
 * @param classes       {@code net_kwargs.n_cls}
 * @param decoderName   {@code net_kwargs.decoder.name}
 * @param normalization {@code net_kwargs.normalization}, else {@code dataset_kwargs.normalization}, else "vit"
 * @param window        {@code inference_kwargs.window_size}
 * @param stride        {@code inference_kwargs.window_stride}
 * @param inferenceSize {@code inference_kwargs.im_size}
 */
record SegmenterVariant(boolean present, Integer heads, int[] imageSize, Integer classes, String decoderName,
                        String normalization, Integer window, Integer stride, Integer inferenceSize) {
    private static final String FILE = "variant.yml: ";
    private static final int MAX_SHOWN = 80;

    /** Reads the settings of a parsed {@code variant.yml} (null when there is none), adding a problem per bad value. */
    static SegmenterVariant of(Map<String, Object> variant, List<String> problems) {
        if (variant == null) {
            return new SegmenterVariant(false, null, null, null, null, "vit", null, null, null);
        }
        Map<String, Object> net = section(variant, "net_kwargs", "", problems);
        Map<String, Object> decoder = section(net, "decoder", "net_kwargs.", problems);
        Map<String, Object> dataset = section(variant, "dataset_kwargs", "", problems);
        Map<String, Object> inference = section(variant, "inference_kwargs", "", problems);
        Object normalization = net.containsKey("normalization") ? net.get("normalization")
                : dataset.getOrDefault("normalization", "vit");
        Object name = decoder.get("name");
        return new SegmenterVariant(true, positive(net, "n_heads", "net_kwargs.", problems),
                size(net.get("image_size"), problems), positive(net, "n_cls", "net_kwargs.", problems),
                name == null || name instanceof String ? (String) name : show(name),
                normalization instanceof String n ? n : show(normalization),
                positive(inference, "window_size", "inference_kwargs.", problems),
                positive(inference, "window_stride", "inference_kwargs.", problems),
                positive(inference, "im_size", "inference_kwargs.", problems));
    }

    /** The mapping under {@code key}: empty if absent, a problem if it is not a mapping. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> parent, String key, String path,
                                               List<String> problems) {
        Object v = parent.get(key);
        if (v == null) {
            return Map.of();
        }
        if (v instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        problems.add(FILE + path + key + " is " + show(v) + ", not a mapping");
        return Map.of();
    }

    /** A positive integer setting: null if absent, a problem if it is anything else. */
    private static Integer positive(Map<String, Object> section, String key, String path, List<String> problems) {
        Object v = section.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Long n && n >= 1 && n <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        problems.add(FILE + path + key + " is " + show(v) + ", not a positive integer");
        return null;
    }

    /** {@code image_size}: a list (or tuple) of two positive integers, {height, width}. */
    private static int[] size(Object v, List<String> problems) {
        if (v == null) {
            return null;
        }
        if (v instanceof List<?> l && l.size() == 2 && l.get(0) instanceof Long h && l.get(1) instanceof Long w
                && h >= 1 && w >= 1 && h <= Integer.MAX_VALUE && w <= Integer.MAX_VALUE) {
            return new int[] {h.intValue(), w.intValue()};
        }
        problems.add(FILE + "net_kwargs.image_size is " + show(v) + ", not [height, width] in pixels");
        return null;
    }

    /**
     * A value as a message shows it: strings quoted and escaped, collections cut after {@value #MAX_SHOWN} characters
     * (rendered no further, since aliases can make a small file a large structure).
     */
    private static String show(Object v) {
        StringBuilder out = new StringBuilder();
        render(v, out);
        return out.length() <= MAX_SHOWN ? out.toString() : out.substring(0, MAX_SHOWN) + "...";
    }

    private static void render(Object v, StringBuilder out) {
        if (out.length() > MAX_SHOWN) {
            return;
        }
        switch (v) {
            case String s -> out.append(UntrustedText.quote(s));
            case List<?> l -> {
                out.append('[');
                for (int i = 0; i < l.size() && out.length() <= MAX_SHOWN; i++) {
                    out.append(i == 0 ? "" : ", ");
                    render(l.get(i), out);
                }
                out.append(']');
            }
            case Map<?, ?> m -> {
                out.append('{');
                String separator = "";
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (out.length() > MAX_SHOWN) {
                        break;
                    }
                    out.append(separator);
                    render(e.getKey(), out);
                    out.append(": ");
                    render(e.getValue(), out);
                    separator = ", ";
                }
                out.append('}');
            }
            case null -> out.append("null");
            default -> out.append(v);
        }
    }
}
