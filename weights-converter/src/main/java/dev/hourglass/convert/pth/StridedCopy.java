package dev.hourglass.convert.pth;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Gathers a strided view into row-major order. Bytes are copied as they are: no byte-order conversion. */
final class StridedCopy {
    private StridedCopy() {
    }

    /**
     * Copies the view {@code (offset, dims, strides)} of {@code src} (all in elements of {@code elementSize} bytes)
     * into {@code dst}, which must hold exactly the view's elements. The view must lie within {@code src}.
     */
    static void gather(MemorySegment src, long offset, long[] dims, long[] strides, int elementSize,
                       MemorySegment dst) {
        int rank = dims.length;
        if (rank == 0) {
            MemorySegment.copy(src, offset * elementSize, dst, 0, elementSize);
            return;
        }
        long inner = dims[rank - 1];
        long innerStride = strides[rank - 1];
        long rows = 1;
        for (int i = 0; i < rank - 1; i++) {
            rows *= dims[i];
        }
        long[] index = new long[Math.max(0, rank - 1)];
        long rowStart = offset;
        long out = 0;
        for (long r = 0; r < rows; r++) {
            if (innerStride == 1) {
                MemorySegment.copy(src, rowStart * elementSize, dst, out, inner * elementSize);
                out += inner * elementSize;
            } else {
                out = copyElements(src, rowStart, innerStride, inner, elementSize, dst, out);
            }
            // Odometer over the outer dimensions, keeping rowStart in step.
            for (int d = rank - 2; d >= 0; d--) {
                index[d]++;
                rowStart += strides[d];
                if (index[d] < dims[d]) {
                    break;
                }
                rowStart -= index[d] * strides[d];
                index[d] = 0;
            }
        }
    }

    private static long copyElements(MemorySegment src, long first, long stride, long count, int elementSize,
                                     MemorySegment dst, long out) {
        switch (elementSize) {
            case 1 -> {
                for (long i = 0; i < count; i++, out += 1) {
                    dst.set(ValueLayout.JAVA_BYTE, out, src.get(ValueLayout.JAVA_BYTE, first + i * stride));
                }
            }
            case 2 -> {
                for (long i = 0; i < count; i++, out += 2) {
                    dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, out,
                            src.get(ValueLayout.JAVA_SHORT_UNALIGNED, (first + i * stride) * 2));
                }
            }
            case 4 -> {
                for (long i = 0; i < count; i++, out += 4) {
                    dst.set(ValueLayout.JAVA_INT_UNALIGNED, out,
                            src.get(ValueLayout.JAVA_INT_UNALIGNED, (first + i * stride) * 4));
                }
            }
            case 8 -> {
                for (long i = 0; i < count; i++, out += 8) {
                    dst.set(ValueLayout.JAVA_LONG_UNALIGNED, out,
                            src.get(ValueLayout.JAVA_LONG_UNALIGNED, (first + i * stride) * 8));
                }
            }
            default -> throw new IllegalArgumentException("element size " + elementSize);
        }
        return out;
    }
}
