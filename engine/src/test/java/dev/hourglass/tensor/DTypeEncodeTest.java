package dev.hourglass.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hourglass.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * {@link DType#fromFloats}: bit-for-bit PyTorch rounding (golden files from {@code tools/make_dtype_fixtures.py}),
 * round trips over every 16-bit pattern, agreement with independent statements of both roundings, and the bulk
 * contract (offsets, unaligned targets, bounds).
 */
class DTypeEncodeTest {
    private static final Path ROOT = Fixtures.path("golden/dtype");
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE = DType.SHORT_LE;

    // ---------------------------------------------------------------- golden files from PyTorch

    @Test
    void float16MatchesPyTorchBitForBit() throws IOException {
        assertMatchesPyTorch(DType.F16, "expected_f16.bin");
    }

    @Test
    void bfloat16MatchesPyTorchBitForBit() throws IOException {
        assertMatchesPyTorch(DType.BF16, "expected_bf16.bin");
    }

    @Test
    void float32KeepsEveryBitIncludingNanPayloads() throws IOException {
        int[] bits = inputBits();
        float[] in = floats(bits);
        MemorySegment out = MemorySegment.ofArray(new byte[4 * bits.length + 3]);
        DType.F32.fromFloats(in, 0, out, 3, in.length);
        for (int i = 0; i < bits.length; i++) {
            assertEquals(bits[i], out.get(INT_LE, 3 + 4L * i), "input " + i);
        }
    }

    private static void assertMatchesPyTorch(DType type, String expectedFile) throws IOException {
        int[] bits = inputBits();
        short[] expected = shorts(ROOT.resolve(expectedFile));
        JsonNode cases = Fixtures.json(ROOT.resolve("cases.json"));
        assertEquals(cases.get("count").asInt(), bits.length, "cases.json count");
        assertEquals(bits.length, expected.length, expectedFile + " length");

        // An odd byte offset: the encoder must not assume alignment.
        MemorySegment out = MemorySegment.ofArray(new byte[2 * bits.length + 1]);
        type.fromFloats(floats(bits), 0, out, 1, bits.length);

        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < bits.length; i++) {
            short got = out.get(SHORT_LE, 1 + 2L * i);
            if (got != expected[i]) {
                wrong.add(String.format("#%d (%s) input 0x%08X = %s: got 0x%04X, PyTorch 0x%04X", i, group(cases, i),
                        bits[i], Float.intBitsToFloat(bits[i]), got & 0xFFFF, expected[i] & 0xFFFF));
            }
        }
        if (!wrong.isEmpty()) {
            fail(wrong.size() + " of " + bits.length + " " + type + " encodings differ from PyTorch, e.g.\n"
                    + String.join("\n", wrong.subList(0, Math.min(20, wrong.size()))));
        }
    }

    /** Every group of inputs the fixture promises is really there (so a regenerated file cannot lose one). */
    @Test
    void fixtureCoversTheTrickyCases() throws IOException {
        JsonNode cases = Fixtures.json(ROOT.resolve("cases.json"));
        List<String> names = new ArrayList<>();
        cases.get("groups").forEach(g -> names.add(g.get("name").asText()));
        assertEquals(List.of("zeros_infinities", "nans", "f16_overflow", "bf16_overflow", "f16_halfway_normal",
                "f16_halfway_subnormal", "f16_subnormals", "f16_smallest_subnormal", "bf16_halfway", "f32_denormals",
                "random_f16_range", "random_f32_range", "random_normal", "random_bits"), names);
        int[] bits = inputBits();
        short[] f16 = shorts(ROOT.resolve("expected_f16.bin"));
        short[] bf16 = shorts(ROOT.resolve("expected_bf16.bin"));
        // A few anchors, stated here independently of the encoder.
        assertPyTorch(bits, f16, 65520f, 0x7C00);              // the tie above 65504 rounds to even: +inf
        assertPyTorch(bits, f16, 65519.99f, 0x7BFF);           // just below it: 65504
        assertPyTorch(bits, f16, 0x1p-25f, 0x0000);            // half the smallest subnormal: tie, to zero
        assertPyTorch(bits, f16, 0x1.8p-24f, 0x0002);          // 1.5 x smallest subnormal: tie, to even 2^-23
        assertPyTorch(bits, f16, Float.intBitsToFloat(0xFFC00000), 0xFE00);  // negative NaN keeps its sign
        assertPyTorch(bits, f16, Float.intBitsToFloat(0x7FC12345), 0x7E00);  // payload not kept
        assertPyTorch(bits, bf16, Float.intBitsToFloat(0xFFC00000), 0x7FC0); // bfloat16 NaN drops the sign
        assertPyTorch(bits, bf16, Float.intBitsToFloat(0x7F7F8000), 0x7F80); // tie at the top: +inf
        assertPyTorch(bits, bf16, 1e-40f, 0x0001);             // float32 denormal stays a bfloat16 denormal
    }

    private static void assertPyTorch(int[] inputs, short[] expected, float value, int bits) {
        int want = Float.floatToRawIntBits(value);
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == want) {
                assertEquals(bits, expected[i] & 0xFFFF, "PyTorch's bits for 0x" + Integer.toHexString(want));
                return;
            }
        }
        fail("the fixture has no input 0x" + Integer.toHexString(want));
    }

    // ---------------------------------------------------------------- every 16-bit pattern

    @Test
    void float16RoundTripsEveryPattern() {
        roundTripEveryPattern(DType.F16, h -> isF16Nan(h) ? (h & 0x8000) | 0x7E00 : h);
    }

    @Test
    void bfloat16RoundTripsEveryPattern() {
        roundTripEveryPattern(DType.BF16, b -> isBF16Nan(b) ? 0x7FC0 : b);
    }

    private static void roundTripEveryPattern(DType type, java.util.function.IntUnaryOperator expected) {
        MemorySegment all = MemorySegment.ofArray(new byte[2 * 65536]);
        for (int p = 0; p < 65536; p++) {
            all.set(SHORT_LE, 2L * p, (short) p);
        }
        float[] decoded = new float[65536];
        type.toFloats(all, 0, decoded, 0, 65536);
        MemorySegment again = MemorySegment.ofArray(new byte[2 * 65536]);
        type.fromFloats(decoded, 0, again, 0, 65536);
        for (int p = 0; p < 65536; p++) {
            int got = again.get(SHORT_LE, 2L * p) & 0xFFFF;
            if (got != expected.applyAsInt(p)) {
                fail(String.format("%s 0x%04X -> %s -> 0x%04X", type, p, decoded[p], got));
            }
        }
    }

    private static boolean isF16Nan(int h) {
        return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
    }

    private static boolean isBF16Nan(int b) {
        return (b & 0x7F80) == 0x7F80 && (b & 0x007F) != 0;
    }

    // ---------------------------------------------------------------- independent statements of the rounding

    /**
     * Every upper 16-bit half (all exponents, signs, NaNs) with lower halves at and around both types' rounding
     * points, against {@link #c10Half} and {@link #tieToEvenBF16}: about a million inputs, well under a second.
     */
    @Test
    void agreesWithIndependentStatementsOnAMillionInputs() {
        int[] lows = {0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x5A5A, 0x7FFF, 0x8000, 0x8001,
            0xA000, 0xEFFF, 0xF000, 0xFFFF};
        int[] bits = new int[65536 * lows.length];
        for (int hi = 0; hi < 65536; hi++) {
            for (int j = 0; j < lows.length; j++) {
                bits[hi * lows.length + j] = hi << 16 | lows[j];
            }
        }
        compareWithReferences(bits);
    }

    /** All 2^32 float32 patterns: {@code mvn ... -Dtest=DTypeEncodeTest -Dhourglass.dtype.exhaustive=true}. */
    @Test
    @EnabledIfSystemProperty(named = "hourglass.dtype.exhaustive", matches = "true")
    void agreesWithIndependentStatementsOnEveryFloat() {
        int chunk = 1 << 22;
        int[] bits = new int[chunk];
        for (long start = 0; start < (1L << 32); start += chunk) {
            for (int i = 0; i < chunk; i++) {
                bits[i] = (int) (start + i);
            }
            compareWithReferences(bits);
        }
    }

    private static void compareWithReferences(int[] bits) {
        float[] in = floats(bits);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f16 = arena.allocate(2L * bits.length);
            MemorySegment bf16 = arena.allocate(2L * bits.length);
            DType.F16.fromFloats(in, 0, f16, 0, in.length);
            DType.BF16.fromFloats(in, 0, bf16, 0, in.length);
            for (int i = 0; i < bits.length; i++) {
                short h = f16.get(SHORT_LE, 2L * i);
                if (h != c10Half(in[i])) {
                    fail(String.format("F16 of 0x%08X: 0x%04X, c10 0x%04X", bits[i], h, c10Half(in[i])));
                }
                short b = bf16.get(SHORT_LE, 2L * i);
                if (b != tieToEvenBF16(bits[i])) {
                    fail(String.format("BF16 of 0x%08X: 0x%04X, reference 0x%04X", bits[i], b, tieToEvenBF16(bits[i])));
                }
            }
        }
    }

    /**
     * c10's {@code fp16_ieee_from_fp32_value} (c10/util/Half.h, from the FP16 library), statement by statement: the
     * rounding is done by the float unit (two scalings and an addition), not by bit fiddling.
     */
    static short c10Half(float f) {
        final float scaleToInf = 0x1.0p+112f;
        final float scaleToZero = 0x1.0p-110f;
        float base = (Math.abs(f) * scaleToInf) * scaleToZero;
        int w = Float.floatToRawIntBits(f);
        int shl1W = w + w;
        int sign = w & 0x80000000;
        int bias = shl1W & 0xFF000000;
        if (Integer.compareUnsigned(bias, 0x71000000) < 0) {
            bias = 0x71000000;
        }
        base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
        int bits = Float.floatToRawIntBits(base);
        int expBits = (bits >>> 13) & 0x00007C00;
        int mantissaBits = bits & 0x00000FFF;
        int nonsign = expBits + mantissaBits;
        return (short) ((sign >>> 16) | (Integer.compareUnsigned(shl1W, 0xFF000000) > 0 ? 0x7E00 : nonsign));
    }

    /** bfloat16 by comparing the dropped half with the tie (no bias trick); NaN as c10::BFloat16. */
    static short tieToEvenBF16(int bits) {
        if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x007FFFFF) != 0) {
            return 0x7FC0;
        }
        int hi = bits >>> 16;
        int lo = bits & 0xFFFF;
        boolean up = lo > 0x8000 || (lo == 0x8000 && (hi & 1) == 1);
        return (short) (up ? hi + 1 : hi);
    }

    // ---------------------------------------------------------------- bulk contract

    @Test
    void honoursOffsetsAndLeavesOtherBytesAlone() {
        float[] src = {9f, 1f, -2f, 0.5f, 9f};
        for (DType type : DType.values()) {
            byte[] bytes = new byte[3 + 3 * type.byteSize() + 2];
            Arrays.fill(bytes, (byte) 0x5A);
            MemorySegment dst = MemorySegment.ofArray(bytes);
            type.fromFloats(src, 1, dst, 3, 3);
            float[] back = new float[3];
            type.toFloats(dst, 3, back, 0, 3);
            assertArrayEquals(new float[] {1f, -2f, 0.5f}, back, type.toString());
            for (int i : new int[] {0, 1, 2, bytes.length - 2, bytes.length - 1}) {
                assertEquals((byte) 0x5A, bytes[i], type + " byte " + i + " outside the target was written");
            }
            type.fromFloats(src, 5, dst, bytes.length, 0);   // empty at the very ends: fine
        }
    }

    @Test
    void writesLittleEndianIntoNativeMemoryAtAnyAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(16, 8);
            DType.F16.fromFloats(new float[] {1f, -2f}, 0, dst, 1, 2);
            assertEquals((byte) 0x00, dst.get(ValueLayout.JAVA_BYTE, 1));
            assertEquals((byte) 0x3C, dst.get(ValueLayout.JAVA_BYTE, 2));
            assertEquals((byte) 0x00, dst.get(ValueLayout.JAVA_BYTE, 3));
            assertEquals((byte) 0xC0, dst.get(ValueLayout.JAVA_BYTE, 4));
            DType.BF16.fromFloats(new float[] {1f}, 0, dst, 7, 1);
            assertEquals((byte) 0x80, dst.get(ValueLayout.JAVA_BYTE, 7));
            assertEquals((byte) 0x3F, dst.get(ValueLayout.JAVA_BYTE, 8));
        }
    }

    @Test
    void outOfBoundsWritesNothing() {
        for (DType type : DType.values()) {
            byte[] bytes = new byte[2 * type.byteSize()];
            MemorySegment dst = MemorySegment.ofArray(bytes);
            float[] src = {1f, 2f, 3f};
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, 0, dst, 0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, 0, dst, 1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, 2, dst, 0, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, -1, dst, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, 0, dst, -1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> type.fromFloats(src, 0, dst, 0, -1));
            assertArrayEquals(new byte[bytes.length], bytes, type + ": a refused call wrote bytes");
            assertThrows(UnsupportedOperationException.class,
                    () -> type.fromFloats(src, 0, dst.asReadOnly(), 0, 1));
        }
    }

    // ---------------------------------------------------------------- fixture reading

    private static int[] inputBits() throws IOException {
        byte[] raw = Files.readAllBytes(ROOT.resolve("input_f32.bin"));
        assertEquals(0, raw.length % 4, "input_f32.bin length");
        int[] bits = new int[raw.length / 4];
        MemorySegment.copy(MemorySegment.ofArray(raw), INT_LE, 0, bits, 0, bits.length);
        return bits;
    }

    private static short[] shorts(Path file) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        assertEquals(0, raw.length % 2, file + " length");
        short[] values = new short[raw.length / 2];
        MemorySegment.copy(MemorySegment.ofArray(raw), SHORT_LE, 0, values, 0, values.length);
        return values;
    }

    private static float[] floats(int[] bits) {
        float[] f = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            f[i] = Float.intBitsToFloat(bits[i]);
        }
        return f;
    }

    private static String group(JsonNode cases, int index) {
        for (JsonNode g : cases.get("groups")) {
            int first = g.get("first").asInt();
            if (index >= first && index < first + g.get("count").asInt()) {
                return g.get("name").asText();
            }
        }
        return "?";
    }
}
