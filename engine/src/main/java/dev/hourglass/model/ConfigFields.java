package dev.hourglass.model;

import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads one field of a configuration object, refusing a missing or malformed value with one line naming where it is
 * ({@code where} is the file and object, e.g. {@code "m.safetensors: hourglass.config: decoder"}), the field and the
 * value. Stateless.
 */
final class ConfigFields {
    private ConfigFields() {
    }

    /** An integer of at least {@code least}. */
    static int count(JsonNode node, String field, int least, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < least) {
            throw new IOException(where + "." + field + " must be " + (least == 1 ? "a positive integer"
                    : "an integer of at least " + least) + ", got " + v);
        }
        return v.asInt();
    }

    static int positive(JsonNode node, String field, String where) throws IOException {
        return count(node, field, 1, where);
    }

    /** A finite number greater than zero. */
    static double positiveNumber(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
            throw new IOException(where + "." + field + " must be a positive number, got " + v);
        }
        return v.asDouble();
    }

    /** A finite number. */
    static double finiteNumber(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) {
            throw new IOException(where + "." + field + " must be a finite number, got " + v);
        }
        return v.asDouble();
    }

    static boolean bool(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isBoolean()) {
            throw new IOException(where + "." + field + " must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    /** {@code n} integers of at least {@code least}. */
    static int[] counts(JsonNode node, String field, int n, int least, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray() || v.size() != n) {
            throw new IOException(where + "." + field + " must be " + n + " integers, got " + v);
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.asInt() < least) {
                throw new IOException(where + "." + field + "[" + i + "] must be " + (least == 1
                        ? "a positive integer" : "an integer of at least " + least) + ", got " + e);
            }
            out[i] = e.asInt();
        }
        return out;
    }

    /** {@code n} finite numbers greater than zero. */
    static double[] positiveNumbers(JsonNode node, String field, int n, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray() || v.size() != n) {
            throw new IOException(where + "." + field + " must be " + n + " numbers, got " + v);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            JsonNode e = v.get(i);
            if (!e.isNumber() || !(e.asDouble() > 0) || Double.isInfinite(e.asDouble())) {
                throw new IOException(where + "." + field + "[" + i + "] must be a positive number, got " + e);
            }
            out[i] = e.asDouble();
        }
        return out;
    }

    /**
     * One of an enum's constants by its JSON name (the constant's name in lower case); {@code fallback} when the field
     * is absent, or an error when {@code fallback} is null.
     */
    static <E extends Enum<E>> E choice(JsonNode node, String field, Class<E> type, E fallback, String where)
            throws IOException {
        JsonNode v = node.get(field);
        if (v == null && fallback != null) {
            return fallback;
        }
        if (v != null && v.isTextual()) {
            for (E e : type.getEnumConstants()) {
                if (jsonName(e).equals(v.asText())) {
                    return e;
                }
            }
        }
        throw new IOException(where + "." + field + " must be one of " + Arrays.stream(type.getEnumConstants())
                .map(ConfigFields::jsonName).collect(Collectors.joining(", ")) + ", got " + v);
    }

    static String jsonName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
