package dev.hourglass.convert.pth;

import dev.hourglass.io.UntrustedText;

/** Values of a pickle described in error messages ({@link UntrustedText} for the escaping and the cut). */
final class Quote {
    private Quote() {
    }

    /** See {@link UntrustedText#quote}. */
    static String quote(String s) {
        return UntrustedText.quote(s);
    }

    /** See {@link UntrustedText#list}. */
    static String list(long[] values) {
        return UntrustedText.list(values);
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
