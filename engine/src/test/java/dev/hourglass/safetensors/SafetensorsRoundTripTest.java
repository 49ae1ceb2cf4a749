package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.RawSafetensors.entry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    private static final float[] MATRIX = {1.5f, -2.25f, 0f, 3.75f, 1e-3f, -7f};
    private static final float[] HALVES = {0.5f, -1f, 65504f, 0.099975586f}; // exactly representable in F16
    private static final float[] BRAINS = {1f, -0.5f, 3.140625f, -1024f};     // exactly representable in BF16

    @TempDir
    Path folder;

    @Test
    void writesAndReadsBackEveryFloatTypeScalarsEmptyTensorsAndMetadata() throws IOException {
        Path path = folder.resolve("model.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .metadata("source", "unit test \u00e9")
                .add("z.matrix", Tensor.ofFloats(MATRIX, 2, 3))
                .add("a.half", "F16", Shape.of(4), MemorySegment.ofArray(f16(HALVES)))
                .add("m.brain", "BF16", Shape.of(2, 2), MemorySegment.ofArray(bf16(BRAINS)))
                .add("scalar", Tensor.ofFloats(new float[] {42f}, Shape.of(new long[0])))
                .add("empty", Tensor.ofFloats(new float[0], 0, 3))
                .write(path);

        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            assertEquals(List.of("z.matrix", "a.half", "m.brain", "scalar", "empty"), file.names());
            assertEquals(Map.of("format", "pt", "source", "unit test \u00e9"), file.metadata());
            assertEquals(List.of("format", "source"), List.copyOf(file.metadata().keySet()));

            Tensor matrix = file.tensor("z.matrix");
            assertEquals(Shape.of(2, 3), matrix.shape());
            assertEquals(DType.F32, matrix.dtype());
            assertArrayEquals(MATRIX, matrix.toFloatArray());
            assertTrue(matrix.data().isMapped() && matrix.data().isReadOnly(), "a read-only slice of the mapping");

            assertArrayEquals(HALVES, file.tensor("a.half").toFloatArray());
            assertEquals(DType.BF16, file.tensor("m.brain").dtype());
            assertArrayEquals(BRAINS, file.tensor("m.brain").toFloatArray());

            Tensor scalar = file.tensor("scalar");
            assertEquals(0, scalar.shape().rank());
            assertArrayEquals(new float[] {42f}, scalar.toFloatArray());

            Tensor empty = file.tensor("empty");
            assertEquals(Shape.of(0, 3), empty.shape());
            assertEquals(0, empty.data().byteSize());

            TensorInfo half = file.info("a.half").orElseThrow();
            assertEquals(new TensorInfo("a.half", "F16", Shape.of(4), 24, 32), half);
            assertEquals(Optional.of(DType.F16), half.floatType());
            assertFalse(file.contains("missing"));
            assertEquals(Optional.empty(), file.info("missing"));
        }
    }

    @Test
    void theDataBufferStartsAtAMultipleOfEightAfterSpacePadding() throws IOException {
        Path path = folder.resolve("padded.safetensors");
        new SafetensorsWriter().add("odd", "U8", Shape.of(3), MemorySegment.ofArray(new byte[] {1, 2, 3})).write(path);

        byte[] content = Files.readAllBytes(path);
        long headerLength = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + headerLength) % 8);
        String header = new String(content, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{") && header.stripTrailing().endsWith("}"), header);
        assertEquals(8 + headerLength + 3, content.length);
    }

    @Test
    void readsTensorsAtUnalignedAddresses() throws IOException {
        float[] floats = {1.25f, -3.5f};
        // Header length 2 mod 4 and a 3-byte U8 tensor first: the F32 tensor starts at file offset 1 mod 4.
        String json = "{" + entry("bytes", "U8", "[3]", 0, 3) + ", " + entry("floats", "F32", "[2]", 3, 11) + ", "
                + entry("half", "F16", "[1]", 11, 13) + ", " + entry("brain", "BF16", "[1]", 13, 15) + "}";
        while (json.length() % 4 != 2) {
            json += " ";
        }
        ByteBuffer data = ByteBuffer.allocate(15).order(ByteOrder.LITTLE_ENDIAN);
        data.put(new byte[] {7, 8, 9}).putFloat(floats[0]).putFloat(floats[1]);
        data.putShort(Float.floatToFloat16(-0.75f)).putShort((short) (Float.floatToRawIntBits(6.5f) >>> 16));
        byte[] header = json.getBytes(StandardCharsets.US_ASCII);
        Path path = RawSafetensors.write(folder, "unaligned.safetensors",
                RawSafetensors.bytes(header.length, header, data.array()));

        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            Tensor f32 = file.tensor("floats");
            assertNotEquals(0, f32.data().address() % 4, "the test must exercise an unaligned address");
            assertArrayEquals(floats, f32.toFloatArray());
            assertArrayEquals(new float[] {-0.75f}, file.tensor("half").toFloatArray());
            assertArrayEquals(new float[] {6.5f}, file.tensor("brain").toFloatArray());
            assertEquals(new TensorInfo("bytes", "U8", Shape.of(3), 0, 3), file.info("bytes").orElseThrow());
        }
    }

    @Test
    void anEmptyHeaderWithTrailingSpacesAndNullMetadataIsAValidFile() throws IOException {
        Path path = RawSafetensors.write(folder, "empty.safetensors",
                RawSafetensors.bytes("{\"__metadata__\": null}      ", 0));
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            assertEquals(List.of(), file.tensors());
            assertEquals(Map.of(), file.metadata());
        }
    }

    @Test
    void zeroSizeTensorsMayShareAnOffsetWithTheirNeighbours() throws IOException {
        String json = "{" + entry("a", "F32", "[0]", 0, 0) + ", " + entry("b", "F32", "[1]", 0, 4) + ", "
                + entry("c", "I64", "[0, 5]", 4, 4) + "}";
        Path path = RawSafetensors.write(folder, "zeros.safetensors", RawSafetensors.bytes(json, 4));
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            assertEquals(List.of("a", "b", "c"), file.names());
            assertEquals(0, file.tensor("a").elementCount());
        }
    }

    @Test
    void aValidNonFloatTensorIsListedButCannotBeReadAsWeights() throws IOException {
        Path path = folder.resolve("ids.safetensors");
        MemorySegment ids = MemorySegment.ofArray(new long[] {1, 2, 3});
        new SafetensorsWriter().add("position_ids", "I64", Shape.of(1, 3), ids).write(path);

        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            TensorInfo info = file.tensors().getFirst();
            assertEquals(new TensorInfo("position_ids", "I64", Shape.of(1, 3), 0, 24), info);
            assertEquals(Optional.empty(), info.floatType());

            SafetensorsException e = assertThrows(SafetensorsException.class, () -> file.tensor("position_ids"));
            assertEquals(path + ": tensor \"position_ids\" has dtype I64, which is valid in safetensors but not a"
                    + " float weight type (supported: F32, F16, BF16)", e.getMessage());
        }
    }

    @Test
    void anUnknownNameIsReportedWithTheFile() throws IOException {
        Path path = folder.resolve("one.safetensors");
        new SafetensorsWriter().add("w", Tensor.ofFloats(new float[] {1f}, 1)).write(path);
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> file.tensor("blocks.0.w"));
            assertEquals(path + ": no tensor \"blocks.0.w\" in this file (it holds 1 tensors)", e.getMessage());
        }
    }

    @Test
    void closeInvalidatesEveryTensorAndMayBeRepeated() throws IOException {
        Path path = folder.resolve("closing.safetensors");
        new SafetensorsWriter().add("w", Tensor.ofFloats(new float[] {1f, 2f}, 2)).write(path);
        SafetensorsFile file = SafetensorsFile.open(path);
        Tensor w = file.tensor("w");

        file.close();
        file.close();

        assertThrows(IllegalStateException.class, w::toFloatArray);
        assertThrows(IllegalStateException.class, () -> file.tensor("w"));
        assertEquals(List.of("w"), file.names(), "the header stays readable");
    }

    @Test
    void severalThreadsReadTheSameFile() throws Exception {
        Path path = folder.resolve("shared.safetensors");
        new SafetensorsWriter().add("w", Tensor.ofFloats(MATRIX, 6)).write(path);
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            List<Thread> readers = new ArrayList<>();
            float[][] seen = new float[4][];
            for (int i = 0; i < seen.length; i++) {
                int slot = i;
                readers.add(Thread.ofPlatform().start(() -> {
                    try {
                        seen[slot] = file.tensor("w").toFloatArray();
                    } catch (SafetensorsException e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            for (Thread t : readers) {
                t.join();
            }
            for (float[] values : seen) {
                assertArrayEquals(MATRIX, values);
            }
        }
    }

    private static short[] f16(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToFloat16(values[i]);
        }
        return out;
    }

    private static short[] bf16(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (short) (Float.floatToRawIntBits(values[i]) >>> 16);
        }
        return out;
    }
}
