package dev.hourglass.convert.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded mutations of a valid file, the kinds that break parsers: bit flips, bytes set to boundary values,
 * truncation, insertion (random bytes or tokens of the format), deletion, duplication of a range, splicing with
 * another seed, integer fields (1, 2, 4 or 8 bytes, little-endian unless the format says otherwise) overwritten with
 * boundary values or nudged, and decimal numbers in text replaced with boundary values. The same random generator
 * gives the same mutant.
 */
public final class Mutator {
    private static final long[] BOUNDARY = {0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fffffffL, 0x80000000L, 0xffffffffL, 0x100000000L, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, -8};
    private static final String[] NUMBERS = {"0", "-0", "1", "-1", "2", "3", "7", "8", "16", "255", "256", "65535",
        "65536", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "99999999999999999999999", "1e308",
        "1e309", "-1e309", "1.5", "0.0", "NaN", "1e-400", "000", "0x10", "1_0"};
    private static final int[] BYTE_VALUES = {0, 1, 0x7f, 0x80, 0xff, '"', '\\', '{', '}', '[', ']', ':', ',', '-',
        ' ', '\n', '\r', '\t', '#', '&', '*', '!', '%', '\'', '.', '0', '9'};

    private final List<byte[]> seeds;
    private final List<byte[]> tokens;
    private final ByteOrder[] fieldOrders;

    /**
     * Mutates a format whose integer fields are little-endian (safetensors, zip, pickle).
     *
     * @param seeds  the valid files to start from (also spliced into each other)
     * @param tokens pieces of the format worth inserting (keywords, indicators, names); may be empty
     */
    public Mutator(List<byte[]> seeds, List<byte[]> tokens) {
        this(seeds, tokens, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @param fieldOrders the byte orders of the formats' integer fields (PNG and JPEG big-endian, BMP and GIF
     *                    little-endian, TIFF either): each field mutation picks one. With one order the mutants are
     *                    those of {@link #Mutator(List, List)} for that order
     */
    public Mutator(List<byte[]> seeds, List<byte[]> tokens, ByteOrder... fieldOrders) {
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("no seeds");
        }
        if (fieldOrders.length == 0) {
            throw new IllegalArgumentException("no byte order");
        }
        this.seeds = List.copyOf(seeds);
        this.tokens = List.copyOf(tokens);
        this.fieldOrders = fieldOrders.clone();
    }

    /** Tokens of a text format, in UTF-8. */
    public static List<byte[]> utf8(String... tokens) {
        return Arrays.stream(tokens).map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /** Tokens of a binary format, one byte per char (ISO-8859-1). */
    public static List<byte[]> bytes(String... tokens) {
        return Arrays.stream(tokens).map(t -> t.getBytes(StandardCharsets.ISO_8859_1)).toList();
    }

    /** A mutant of one seed, with 1 to 4 mutations stacked (1 most often). */
    public byte[] mutant(SplittableRandom random) {
        byte[] data = seeds.get(random.nextInt(seeds.size())).clone();
        int rounds = 1 + (random.nextInt(4) == 0 ? random.nextInt(4) : 0);
        for (int r = 0; r < rounds; r++) {
            data = mutateOnce(data, random);
        }
        return data;
    }

    private byte[] mutateOnce(byte[] data, SplittableRandom random) {
        int n = data.length;
        if (n == 0) {
            return insert(data, 0, randomBytes(random, 1 + random.nextInt(8)));
        }
        return switch (random.nextInt(12)) {
            case 0 -> {
                int at = random.nextInt(n);
                data[at] ^= (byte) (1 << random.nextInt(8));
                yield data;
            }
            case 1 -> {
                data[random.nextInt(n)] = (byte) BYTE_VALUES[random.nextInt(BYTE_VALUES.length)];
                yield data;
            }
            case 2 -> {
                data[random.nextInt(n)] = (byte) random.nextInt(256);
                yield data;
            }
            case 3 -> Arrays.copyOf(data, random.nextInt(n));
            case 4 -> insert(data, random.nextInt(n + 1), randomBytes(random, 1 + random.nextInt(16)));
            case 5 -> tokens.isEmpty() ? insert(data, random.nextInt(n + 1), randomBytes(random, 4))
                    : insert(data, random.nextInt(n + 1), tokens.get(random.nextInt(tokens.size())));
            case 6 -> {
                int from = random.nextInt(n);
                int to = Math.min(n, from + 1 + random.nextInt(Math.min(n, 64)));
                byte[] out = new byte[n - (to - from)];
                System.arraycopy(data, 0, out, 0, from);
                System.arraycopy(data, to, out, from, n - to);
                yield out;
            }
            case 7 -> {
                int from = random.nextInt(n);
                int len = 1 + random.nextInt(Math.min(n - from, 256));
                yield insert(data, random.nextInt(n + 1), Arrays.copyOfRange(data, from, from + len));
            }
            case 8 -> {
                byte[] other = seeds.get(random.nextInt(seeds.size()));
                if (other.length == 0) {
                    yield data;
                }
                int from = random.nextInt(other.length);
                int len = 1 + random.nextInt(Math.min(other.length - from, 512));
                int at = random.nextInt(n);
                byte[] out = Arrays.copyOf(data, Math.max(n, at + len));
                System.arraycopy(other, from, out, at, len);
                yield out;
            }
            case 9 -> field(data, random, random.nextInt(8) == 0 ? 0 : random.nextInt(n));
            case 10 -> field(data, random, random.nextInt(n));
            default -> number(data, random);
        };
    }

    /**
     * Overwrites an integer field of 1, 2, 4 or 8 bytes at {@code at} (moved back to fit), in one of the format's
     * byte orders, with a boundary value or the old value moved by a little: the mutation of a size, count or offset.
     * Public so that a test can aim it at the fields of its format's header.
     *
     * @return {@code data}, changed
     */
    public byte[] field(byte[] data, SplittableRandom random, int at) {
        // Drawn only when there is a choice, so that one order gives the same mutants as before orders existed.
        boolean bigEndian = (fieldOrders.length == 1 ? fieldOrders[0]
                : fieldOrders[random.nextInt(fieldOrders.length)]) == ByteOrder.BIG_ENDIAN;
        int width = 1 << random.nextInt(4);
        if (at + width > data.length) {
            at = Math.max(0, data.length - width);
            width = Math.min(width, data.length);
        }
        long value;
        if (random.nextBoolean()) {
            value = BOUNDARY[random.nextInt(BOUNDARY.length)];
            if (random.nextInt(4) == 0) {
                value = data.length + random.nextInt(-2, 3);
            }
        } else {
            long old = 0;
            for (int i = width - 1; i >= 0; i--) {
                old = (old << 8) | (data[at + (bigEndian ? width - 1 - i : i)] & 0xff);
            }
            value = old + random.nextInt(-16, 17);
        }
        for (int i = 0; i < width; i++) {
            data[at + (bigEndian ? width - 1 - i : i)] = (byte) (value >>> (8 * i));
        }
        return data;
    }

    /** A run of decimal digits (a size, an offset, a count in a text format) replaced with a boundary number. */
    private static byte[] number(byte[] data, SplittableRandom random) {
        int start = random.nextInt(data.length);
        int digit = -1;
        for (int i = 0; i < data.length; i++) {
            int p = (start + i) % data.length;
            if (data[p] >= '0' && data[p] <= '9') {
                digit = p;
                break;
            }
        }
        byte[] replacement = NUMBERS[random.nextInt(NUMBERS.length)].getBytes(StandardCharsets.US_ASCII);
        if (digit < 0) {
            return insert(data, start, replacement);
        }
        int from = digit;
        while (from > 0 && data[from - 1] >= '0' && data[from - 1] <= '9') {
            from--;
        }
        int to = digit;
        while (to < data.length && ((data[to] >= '0' && data[to] <= '9') || data[to] == '.')) {
            to++;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + replacement.length);
        out.write(data, 0, from);
        out.writeBytes(replacement);
        out.write(data, to, data.length - to);
        return out.toByteArray();
    }

    private static byte[] insert(byte[] data, int at, byte[] piece) {
        byte[] out = new byte[data.length + piece.length];
        System.arraycopy(data, 0, out, 0, at);
        System.arraycopy(piece, 0, out, at, piece.length);
        System.arraycopy(data, at, out, at + piece.length, data.length - at);
        return out;
    }

    private static byte[] randomBytes(SplittableRandom random, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        return b;
    }
}
