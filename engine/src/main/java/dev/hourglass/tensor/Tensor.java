package dev.hourglass.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A tensor: a shape, an element type and the bytes that hold it, in a {@link MemorySegment}. The segment may be on the
 * heap (a {@code float[]} wrapped with {@link MemorySegment#ofArray(float[])}), off-heap, or a slice of a memory-mapped
 * weight file; a tensor never copies the bytes it is given. Elements are little-endian and row-major.
 *
 * <p>Tensors are immutable views: they are safe to share between threads as long as nobody writes to the underlying
 * segment. A tensor over a mapped file is valid only while the file that produced it is open.
 */
public final class Tensor {
    private final Shape shape;
    private final DType dtype;
    private final MemorySegment data;

    private Tensor(Shape shape, DType dtype, MemorySegment data) {
        this.shape = shape;
        this.dtype = dtype;
        this.data = data;
    }

    /**
     * Wraps existing bytes.
     *
     * @throws IllegalArgumentException if the segment's size does not match the shape and dtype
     */
    public static Tensor of(Shape shape, DType dtype, MemorySegment data) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(dtype, "dtype");
        long expected = shape.byteSize(dtype);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + dtype + " tensor of shape " + shape + " needs " + expected
                    + " bytes, the segment has " + data.byteSize());
        }
        return new Tensor(shape, dtype, data);
    }

    /** A float32 tensor over {@code values}, which it does not copy. */
    public static Tensor ofFloats(float[] values, long... dims) {
        return of(Shape.of(dims), DType.F32, MemorySegment.ofArray(values));
    }

    /** A float32 tensor over {@code values}, which it does not copy. */
    public static Tensor ofFloats(float[] values, Shape shape) {
        return of(shape, DType.F32, MemorySegment.ofArray(values));
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return dtype;
    }

    /** The bytes of this tensor (no copy). */
    public MemorySegment data() {
        return data;
    }

    public long elementCount() {
        return shape.elementCount();
    }

    /**
     * Decodes {@code count} elements starting at element {@code first} into {@code dst}, converting to float32.
     */
    public void copyToFloats(long first, float[] dst, int dstOffset, int count) {
        Objects.checkFromIndexSize(first, count, elementCount());
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        dtype.toFloats(data, first * dtype.byteSize(), dst, dstOffset, count);
    }

    /**
     * All elements as float32 (a copy; when this tensor already wraps a {@code float[]} of the right length, the copy
     * is still made, so callers may modify the result).
     *
     * @throws ArithmeticException if the tensor has more than {@code Integer.MAX_VALUE} elements
     */
    public float[] toFloatArray() {
        int n = Math.toIntExact(elementCount());
        float[] out = new float[n];
        dtype.toFloats(data, 0, out, 0, n);
        return out;
    }

    /** The same bytes with another shape of the same element count. */
    public Tensor reshape(long... dims) {
        Shape s = Shape.of(dims);
        if (s.elementCount() != elementCount()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " (" + elementCount() + " elements) to " + s);
        }
        return new Tensor(s, dtype, data);
    }

    @Override
    public String toString() {
        return "Tensor" + shape + " " + dtype;
    }
}
