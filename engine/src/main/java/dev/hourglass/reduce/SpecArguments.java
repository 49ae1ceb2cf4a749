package dev.hourglass.reduce;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code key=value,key=value} part of a reduction spec, read once: malformed items, repeated keys, unknown keys and
 * values that are not numbers are one message each, prefixed with the method's name, listing what is valid.
 */
public final class SpecArguments {
    private final String method;
    private final Map<String, String> values = new LinkedHashMap<>();

    /**
     * @param method the method's name, for messages
     * @param text   the arguments after {@code method:}, may be empty
     * @param keys   the keys this method takes
     * @throws IllegalArgumentException naming the item that cannot be read
     */
    public SpecArguments(String method, String text, List<String> keys) {
        this.method = method;
        for (String part : text.split(",")) {
            String item = part.strip();
            if (item.isEmpty()) {
                continue;
            }
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(method + ": '" + item + "' is not key=value; keys: "
                        + String.join(", ", keys));
            }
            String key = item.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            if (!keys.contains(key)) {
                throw new IllegalArgumentException(method + ": unknown key '" + key + "'; known: "
                        + String.join(", ", keys));
            }
            if (values.put(key, item.substring(eq + 1).strip()) != null) {
                throw new IllegalArgumentException(method + ": " + key + " is given twice");
            }
        }
    }

    /** The raw value, or null when not given. */
    public String get(String key) {
        return values.get(key);
    }

    public int integer(String key, int fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(method + ": " + key + "=" + v + " is not an integer");
        }
    }

    public float decimal(String key, float fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            float f = Float.parseFloat(v);
            if (!Float.isFinite(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(method + ": " + key + "=" + v + " is not a finite number");
        }
    }

    public boolean bool(String key, boolean fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new IllegalArgumentException(method + ": " + key + "=" + v + " is not true or false");
        };
    }
}
