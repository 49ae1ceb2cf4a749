package dev.hourglass.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Element types of stored tensors. Each constant carries its own bulk decoder, so a tensor's dtype is looked at once
 * per tensor (to pick the decoder), never once per element. All stored data is little-endian and may be unaligned.
 */
public enum DType {
    F32("F32", 4, DType::decodeF32),
    F16("F16", 2, DType::decodeF16),
    BF16("BF16", 2, DType::decodeBF16);

    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Decodes {@code count} elements starting at byte {@code offset} of a segment into floats. */
    @FunctionalInterface
    interface Decoder {
        void decode(MemorySegment src, long offset, float[] dst, int dstOffset, int count);
    }

    private final String safetensorsName;
    private final int byteSize;
    private final Decoder decoder;

    DType(String safetensorsName, int byteSize, Decoder decoder) {
        this.safetensorsName = safetensorsName;
        this.byteSize = byteSize;
        this.decoder = decoder;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The name of this type in a safetensors header ({@code "F32"}, {@code "F16"}, {@code "BF16"}). */
    public String safetensorsName() {
        return safetensorsName;
    }

    public static Optional<DType> fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * Converts {@code count} elements of this type, starting at byte {@code offset} of {@code src}, to float32.
     */
    public void toFloats(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        decoder.decode(src, offset, dst, dstOffset, count);
    }

    private static void decodeF32(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        MemorySegment.copy(src, FLOAT_LE, offset, dst, dstOffset, count);
    }

    private static void decodeF16(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(src.get(SHORT_LE, offset + 2L * i));
        }
    }

    private static void decodeBF16(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat(src.get(SHORT_LE, offset + 2L * i) << 16);
        }
    }
}
