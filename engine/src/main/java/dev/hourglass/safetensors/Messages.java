package dev.hourglass.safetensors;

import dev.hourglass.io.UntrustedText;

/**
 * Formatting of values quoted in error messages. Names and strings come from untrusted files, so they are escaped and
 * cut short: an error message must stay readable and small whatever the file contains.
 */
final class Messages {

    private Messages() {
    }

    /** See {@link UntrustedText#quote}. */
    static String quote(String s) {
        return UntrustedText.quote(s);
    }

    /** {@code tensor "name"}, the prefix of every message about one tensor. */
    static String tensor(String name) {
        return "tensor " + quote(name);
    }

    /** See {@link UntrustedText#list}. */
    static String list(long[] values) {
        return UntrustedText.list(values);
    }
}
