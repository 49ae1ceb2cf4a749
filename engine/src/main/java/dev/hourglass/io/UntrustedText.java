package dev.hourglass.io;

/**
 * Formatting of values from untrusted files quoted in error messages: escaped and cut short, so that a message stays
 * readable and small whatever the file contains. Shared by every reader of checkpoints (safetensors, {@code .pth}).
 */
public final class UntrustedText {
    private static final int MAX_QUOTED_CHARS = 120;
    private static final int MAX_LISTED_VALUES = 8;

    private UntrustedText() {
    }

    /** {@code s} in double quotes, with quotes, backslashes and control characters escaped, cut after ~120 chars. */
    public static String quote(String s) {
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
    public static String list(long[] values) {
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
}
