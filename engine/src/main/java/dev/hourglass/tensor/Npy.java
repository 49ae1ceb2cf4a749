package dev.hourglass.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.hourglass.io.AtomicFiles;

/**
 * NumPy's {@code .npy} format for float arrays, as {@code numpy.save} writes it: the magic {@code \x93NUMPY}, a version,
 * a header length, a Python dict literal ({@code descr}, {@code fortran_order}, {@code shape}) and the raw data.
 * Reads little-endian float32 and float64 (converted to float32) in C order; writes float32, version 1.0.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** Headers are a few hundred bytes; anything much larger is not a real array header. */
    private static final int MAX_HEADER = 1 << 16;

    private Npy() {
    }

    /** Reads a float array; the result owns a heap copy of the data. */
    public static Tensor read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /** Reads a float array from a stream; {@code name} is used in error messages. */
    public static Tensor read(InputStream in, String name) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8) {
            throw new IOException(name + ": not a .npy file (shorter than its 8-byte preamble)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (magic[i] != MAGIC[i]) {
                throw new IOException(name + ": not a .npy file (no \\x93NUMPY magic)");
            }
        }
        int major = magic[6] & 0xff;
        int headerLength;
        if (major == 1) {
            byte[] len = in.readNBytes(2);
            if (len.length < 2) {
                throw new IOException(name + ": truncated .npy header length");
            }
            headerLength = (len[0] & 0xff) | (len[1] & 0xff) << 8;
        } else if (major == 2 || major == 3) {
            byte[] len = in.readNBytes(4);
            if (len.length < 4) {
                throw new IOException(name + ": truncated .npy header length");
            }
            long l = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
            if (l > MAX_HEADER) {
                throw new IOException(name + ": .npy header length " + l + " exceeds " + MAX_HEADER);
            }
            headerLength = (int) l;
        } else {
            throw new IOException(name + ": .npy version " + major + "." + (magic[7] & 0xff) + " is not supported");
        }
        byte[] headerBytes = in.readNBytes(headerLength);
        if (headerBytes.length < headerLength) {
            throw new IOException(name + ": truncated .npy header");
        }
        String header = new String(headerBytes, StandardCharsets.UTF_8);
        String descr = field(DESCR, header, "descr", name);
        if (field(FORTRAN, header, "fortran_order", name).equals("True")) {
            throw new IOException(name + ": fortran_order True is not supported; save a C-ordered array");
        }
        Shape shape = parseShape(field(SHAPE, header, "shape", name), name);
        int itemSize = switch (descr) {
            case "<f4" -> 4;
            case "<f8" -> 8;
            default -> throw new IOException(name + ": dtype '" + descr + "' is not supported; expected '<f4' or"
                    + " '<f8' (little-endian float32 or float64)");
        };
        int count;
        try {
            count = Math.toIntExact(shape.elementCount());
            Math.multiplyExact(count, itemSize);
        } catch (ArithmeticException e) {
            throw new IOException(name + ": shape " + shape + " is too large to read into memory");
        }
        byte[] data = in.readNBytes(count * itemSize);
        if (data.length < count * itemSize) {
            throw new IOException(name + ": truncated data: shape " + shape + " needs " + (long) count * itemSize
                    + " bytes, found " + data.length);
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[count];
        if (itemSize == 4) {
            buf.asFloatBuffer().get(values);
        } else {
            for (int i = 0; i < count; i++) {
                values[i] = (float) buf.getDouble(i * 8);
            }
        }
        return Tensor.ofFloats(values, shape);
    }

    private static String field(Pattern p, String header, String key, String name) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(name + ": .npy header has no valid '" + key + "' entry: " + header.strip());
        }
        return m.group(1);
    }

    private static Shape parseShape(String tuple, String name) throws IOException {
        List<Long> dims = new ArrayList<>();
        for (String part : tuple.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                long d = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
                if (d < 0) {
                    throw new NumberFormatException();
                }
                dims.add(d);
            } catch (NumberFormatException e) {
                throw new IOException(name + ": .npy shape (" + tuple + ") has a bad dimension '" + p + "'");
            }
        }
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
        }
        try {
            return Shape.of(d);
        } catch (ArithmeticException e) {
            throw new IOException(name + ": .npy shape (" + tuple + ") overflows");
        }
    }

    /**
     * Writes a float32 {@code .npy} file, atomically ({@link AtomicFiles}): a reader never sees half a file.
     */
    public static void write(Path file, float[] values, long... dims) throws IOException {
        Shape shape = Shape.of(dims);
        if (shape.elementCount() != values.length) {
            throw new IllegalArgumentException("shape " + shape + " holds " + shape.elementCount() + " values, got "
                    + values.length);
        }
        StringBuilder dict = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (");
        for (long d : dims) {
            dict.append(d).append(", ");
        }
        if (dims.length > 1) {
            dict.setLength(dict.length() - 2);
        } else if (dims.length == 1) {
            dict.setLength(dict.length() - 1);
        }
        dict.append("), }");
        // numpy pads the header with spaces and a newline so that the data starts at a multiple of 64 bytes.
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + values.length * 4)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length())
                .put(header.getBytes(StandardCharsets.US_ASCII));
        buf.asFloatBuffer().put(values);
        AtomicFiles.write(file, buf.array());
    }
}
