package dev.hourglass.tasks.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a little-endian float32 C-order {@code .npy} file (format versions 1 to 3), as {@code numpy.save} writes
 * it. A test helper for the preprocessing fixtures, to be replaced by the engine's reader.
 */
final class NpyFloatReader {

    /** The array: its shape and its values in C order. */
    record NpyFloats(int[] shape, float[] data) {
    }

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private NpyFloatReader() {
    }

    static NpyFloats read(Path path) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        buf.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException(path + ": not a .npy file");
        }
        int major = buf.get() & 0xFF;
        buf.get();
        int headerLength = major == 1 ? buf.getShort() & 0xFFFF : buf.getInt();
        byte[] headerBytes = new byte[headerLength];
        buf.get(headerBytes);
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = find(DESCR, header, path);
        if (!descr.equals("<f4")) {
            throw new IOException(path + ": dtype " + descr + ", expected <f4 (float32, little-endian)");
        }
        if (find(FORTRAN, header, path).equals("True")) {
            throw new IOException(path + ": Fortran order is not supported");
        }
        int[] shape = Arrays.stream(find(SHAPE, header, path).split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        long count = 1;
        for (int d : shape) {
            count *= d;
        }
        if (buf.remaining() != count * 4) {
            throw new IOException(path + ": " + buf.remaining() + " data bytes for shape " + Arrays.toString(shape));
        }
        float[] data = new float[(int) count];
        buf.asFloatBuffer().get(data);
        return new NpyFloats(shape, data);
    }

    private static String find(Pattern pattern, String header, Path path) throws IOException {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw new IOException(path + ": header without " + pattern + ": " + header);
        }
        return m.group(1);
    }
}
