package dev.hourglass.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.Optional;

/**
 * Element types of stored tensors. Each constant carries its own bulk decoder and encoder, so a tensor's dtype is
 * looked at once per tensor (to pick the loop), never once per element. All stored data is little-endian and may be
 * unaligned.
 *
 * <p>Encoding from float32 rounds exactly as PyTorch's CPU {@code tensor.to(torch.float16)} and
 * {@code .to(torch.bfloat16)} do, bit for bit (checked against golden files from {@code tools/make_dtype_fixtures.py}):
 * <ul>
 * <li>{@link #F16}: IEEE 754 binary16, round to nearest, ties to even; values too large become infinities of their
 * sign, values too small subnormals or zeros of their sign. A NaN becomes {@code 0x7E00} with its sign
 * ({@code 0xFE00} for a negative NaN); the payload is not kept (c10's {@code fp16_ieee_from_fp32_value}).</li>
 * <li>{@link #BF16}: the upper 16 bits of the float32, rounded to nearest even:
 * {@code (bits + 0x7FFF + ((bits >> 16) & 1)) >>> 16}, which also carries the largest values over to infinity and
 * keeps float32 denormals as bfloat16 denormals. Every NaN becomes {@code 0x7FC0}, whatever its sign, as
 * {@code c10::BFloat16} does. (PyTorch 1.13's AVX2/AVX-512 copy kernel writes {@code 0xFFFF} for NaN instead on
 * contiguous tensors; both are NaN, and only NaNs are affected.)</li>
 * <li>{@link #F32}: the bits unchanged, NaN payloads included.</li>
 * </ul>
 */
public enum DType {
    F32("F32", 4, DType::decodeF32, DType::encodeF32),
    F16("F16", 2, DType::decodeF16, DType::encodeF16),
    BF16("BF16", 2, DType::decodeBF16, DType::encodeBF16);

    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Decodes {@code count} elements starting at byte {@code offset} of a segment into floats. */
    @FunctionalInterface
    interface Decoder {
        void decode(MemorySegment src, long offset, float[] dst, int dstOffset, int count);
    }

    /** Encodes {@code count} floats into elements written from byte {@code offset} of a segment on. */
    @FunctionalInterface
    interface Encoder {
        void encode(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int count);
    }

    /** bfloat16 for every NaN, as {@code c10::BFloat16} rounds it. */
    private static final short BF16_NAN = 0x7FC0;
    /** float16 NaN (sign added), as c10's {@code fp16_ieee_from_fp32_value} writes it. */
    private static final int F16_NAN = 0x7E00;

    private final String safetensorsName;
    private final int byteSize;
    private final Decoder decoder;
    private final Encoder encoder;

    DType(String safetensorsName, int byteSize, Decoder decoder, Encoder encoder) {
        this.safetensorsName = safetensorsName;
        this.byteSize = byteSize;
        this.decoder = decoder;
        this.encoder = encoder;
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

    /**
     * Converts {@code count} floats, starting at {@code src[srcOffset]}, to this type and writes them little-endian
     * from byte {@code dstOffset} of {@code dst} on ({@code count * byteSize()} bytes, any alignment), rounding as
     * PyTorch does (see the class description).
     *
     * @throws IndexOutOfBoundsException if the floats are not all in {@code src}, or the bytes not all in {@code dst};
     *         nothing is written then
     * @throws UnsupportedOperationException if {@code dst} is read-only
     */
    public void fromFloats(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int count) {
        Objects.checkFromIndexSize(srcOffset, count, src.length);
        Objects.checkFromIndexSize(dstOffset, (long) count * byteSize, dst.byteSize());
        if (dst.isReadOnly()) {
            throw new UnsupportedOperationException("cannot encode " + this + " into a read-only segment");
        }
        encoder.encode(src, srcOffset, dst, dstOffset, count);
    }

    private static void encodeF32(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int count) {
        MemorySegment.copy(src, srcOffset, dst, FLOAT_LE, dstOffset, count);
    }

    private static void encodeF16(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst.set(SHORT_LE, dstOffset + 2L * i, toF16(src[srcOffset + i]));
        }
    }

    private static void encodeBF16(float[] src, int srcOffset, MemorySegment dst, long dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst.set(SHORT_LE, dstOffset + 2L * i, toBF16(src[srcOffset + i]));
        }
    }

    /** float16 bits of {@code f}: {@link Float#floatToFloat16} (round to nearest even), but PyTorch's NaN. */
    private static short toF16(float f) {
        if (f != f) {
            return (short) ((Float.floatToRawIntBits(f) >>> 16 & 0x8000) | F16_NAN);
        }
        return Float.floatToFloat16(f);
    }

    /** bfloat16 bits of {@code f}, as {@code c10::BFloat16}'s round_to_nearest_even. */
    private static short toBF16(float f) {
        if (f != f) {
            return BF16_NAN;
        }
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
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
