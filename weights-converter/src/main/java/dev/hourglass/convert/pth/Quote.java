package dev.hourglass.convert.pth;

/**
 * Formatting of values quoted in error messages. Names and strings come from untrusted files, so they are escaped and
 * cut short: a message must stay readable and small whatever the file holds.
 */
final class Quote {
    private static final int MAX_QUOTED_CHARS = 120;
    private static final int MAX_LISTED_VALUES = 8;

    private Quote() {
    }

    /** {@code s} in double quotes, with quotes, backslashes and control characters escaped, cut after ~120 chars. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder().append('"');
        int shown = 0;
        for (; shown < s.length() && out.length() <= MAX_QUOTED_CHARS; shown++) {
            char c = s.charAt(shown);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
        if (shown < s.length()) {
            out.append("...(").append(s.length()).append(" chars)");
        }
        return out.toString();
    }

    /** {@code [1, 2, 3]}, listing at most 8 values. */
    static String list(long[] values) {
        StringBuilder out = new StringBuilder("[");
        int shown = Math.min(values.length, MAX_LISTED_VALUES);
        for (int i = 0; i < shown; i++) {
            out.append(i == 0 ? "" : ", ").append(values[i]);
        }
        if (shown < values.length) {
            out.append(", ... (").append(values.length).append(" values)");
        }
        return out.append(']').toString();
    }

    /** A short description of a value's kind for messages, e.g. {@code the string "x"} or {@code a list}. */
    static String describe(Object value) {
        return switch (value) {
            case null -> "None";
            case String s -> "the string " + quote(s);
            case Long l -> "the integer " + l;
            case java.math.BigInteger b -> "the integer " + (b.bitLength() < 200 ? b.toString() : "of " + b.bitLength()
                    + " bits");
            case Double d -> "the float " + d;
            case Boolean b -> b ? "True" : "False";
            case byte[] b -> "bytes of length " + b.length;
            case Tuple t -> "a tuple of " + t.size() + " items";
            case java.util.List<?> l -> "a list";
            case java.util.Map<?, ?> m -> "a dict";
            case java.util.Set<?> s -> "a set";
            case PthTensorRef t -> "a tensor";
            case PthObject o -> "an " + o.className() + " object";
            case Global g -> "the global " + g.qualifiedName();
            case Storage s -> "the storage " + quote(s.key());
            default -> "a " + value.getClass().getSimpleName();
        };
    }
}
