package dev.hourglass.tensor;

import java.util.Arrays;

/**
 * An immutable tensor shape. Every product is computed with overflow-checked {@code long} arithmetic, so a shape read
 * from an untrusted file can never wrap around to a small, plausible size.
 */
public final class Shape {
    private final long[] dims;
    private final long elementCount;

    private Shape(long[] dims) {
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("dimension " + i + " of " + Arrays.toString(dims) + " is negative");
            }
            count = Math.multiplyExact(count, dims[i]);
        }
        this.dims = dims;
        this.elementCount = count;
    }

    /**
     * @throws IllegalArgumentException if a dimension is negative
     * @throws ArithmeticException if the element count overflows a {@code long}
     */
    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    public static Shape of(int... dims) {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = dims[i];
        }
        return new Shape(d);
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int axis) {
        return dims[axis < 0 ? dims.length + axis : axis];
    }

    /** The dimension as an {@code int}, for kernels that index Java arrays. */
    public int intDim(int axis) {
        return Math.toIntExact(dim(axis));
    }

    public long[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        return elementCount;
    }

    /** Bytes needed to store this shape in {@code dtype}; overflow-checked. */
    public long byteSize(DType dtype) {
        return Math.multiplyExact(elementCount, dtype.byteSize());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
