package dev.hourglass.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @Test
    void roundTripsShapesIncludingScalarsAndVectors(@TempDir Path dir) throws IOException {
        float[] v = {1.5f, -2f, Float.MIN_VALUE, Float.NaN, 3e38f, 0f};
        for (long[] dims : new long[][] {{6}, {2, 3}, {1, 2, 3}, {6, 1}}) {
            Path f = dir.resolve("a.npy");
            Npy.write(f, v, dims);
            Tensor t = Npy.read(f);
            assertEquals(Shape.of(dims), t.shape());
            assertArrayEquals(v, t.toFloatArray());
        }
        Path s = dir.resolve("s.npy");
        Npy.write(s, new float[] {7f});
        assertEquals(Shape.of(new long[0]), Npy.read(s).shape());
        // The data starts at a multiple of 64 bytes, as numpy writes it.
        assertEquals(0, (Files.size(s) - 4) % 64);
    }

    @Test
    void writtenFilesHaveOrdinaryPermissionsAndNoLeftovers(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("p.npy");
        Npy.write(f, new float[4], 4);
        assertTrue(Files.getPosixFilePermissions(f).contains(PosixFilePermission.OTHERS_READ)
                || !Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_READ));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "temporary file left behind");
        }
    }

    @Test
    void readsFloat64AsFloat32() throws IOException {
        byte[] file = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16);
        ByteBuffer.wrap(file, file.length - 16, 16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.25).putDouble(-3);
        assertArrayEquals(new float[] {0.25f, -3f}, Npy.read(new ByteArrayInputStream(file), "x").toFloatArray());
    }

    @Test
    void refusesWhatItCannotRead() {
        assertRefused(new byte[] {1, 2, 3}, "not a .npy file");
        assertRefused("PK\3\4 not numpy at all".getBytes(StandardCharsets.US_ASCII), "no \\x93NUMPY magic");
        assertRefused(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4), "'>f4' is not supported");
        assertRefused(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", 8), "'<i8' is not supported");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), "fortran_order True");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8), "truncated data");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4), "bad dimension '-1'");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': False, }", 4), "no valid 'shape'");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 4),
                "overflows");
        assertRefused(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", 4),
                "too large to read into memory");
    }

    private static void assertRefused(byte[] file, String message) {
        IOException e = assertThrows(IOException.class, () -> Npy.read(new ByteArrayInputStream(file), "f.npy"));
        assertTrue(e.getMessage().startsWith("f.npy: ") && e.getMessage().contains(message), e.getMessage());
    }

    private static byte[] npy(String dict, int dataBytes) {
        byte[] header = (dict + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length).put(header);
        return b.array();
    }
}
