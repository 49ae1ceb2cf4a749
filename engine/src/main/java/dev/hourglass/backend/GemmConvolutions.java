package dev.hourglass.backend;

import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.ConvTranspose2d;
import dev.hourglass.ops.Epilogue;

/**
 * Convolutions as GEMMs, written with a backend's own operations only ({@link Backend#im2col}, {@link Backend#linear},
 * {@link Backend#copy2d}), so they run wherever those run: the default {@link Backend#conv2d} and
 * {@link Backend#convTranspose2d} of every backend. The work is cut into bands so that the window matrix (or the
 * transposed convolution's product) never exceeds a bound: DPT's head runs a 3x3 convolution over 384 x 384 x 128,
 * whose whole window matrix would be 680 MB. The bands are whole rows of the GEMM, and the GEMM computes each output
 * row the same way wherever it falls, so the band size does not change a result.
 */
public final class GemmConvolutions {
    /** Floats of one band's window matrix (or product) by default: 4 MiB, within a server core's L2 + L3 share. */
    public static final long WINDOW_FLOATS = 1 << 20;

    private GemmConvolutions() {
    }

    /**
     * {@link Backend#conv2d} on {@code backend}, with bands of at most {@code windowFloats} floats of windows (at
     * least one output row of the GEMM).
     */
    public static void conv2d(Backend backend, Buffer src, Conv2d conv, ConvWeights weights, Buffer dst,
                              Epilogue epilogue, long windowFloats) {
        check(conv, weights);
        if (src == dst) {
            throw new IllegalArgumentException("conv2d: src and dst must be different buffers");
        }
        if (windowFloats < 1) {
            throw new IllegalArgumentException("conv2d: window band of " + windowFloats + " floats");
        }
        int out = conv.outChannels();
        int rows = Math.toIntExact(conv.rows());
        if (conv.isPointwise()) {
            backend.linear(src, 0, rows, weights.gemm(), dst, 0, epilogue);
            return;
        }
        int len = conv.rowLength();
        int band = (int) Math.max(1, Math.min(rows, windowFloats / len));
        try (Buffer windows = backend.allocate((long) band * len)) {
            for (int r0 = 0; r0 < rows; r0 += band) {
                int n = Math.min(band, rows - r0);
                backend.im2col(src, conv, r0, r0 + n, windows, 0);
                backend.linear(windows, 0, n, weights.gemm(), dst, (long) r0 * out, epilogue);
            }
        }
    }

    /**
     * {@link Backend#convTranspose2d} on {@code backend}, with bands of whole input rows whose product holds at most
     * {@code productFloats} floats (at least one input row).
     */
    public static void convTranspose2d(Backend backend, Buffer src, ConvTranspose2d shape, ConvWeights weights,
                                       Buffer dst, long productFloats) {
        check(shape, weights);
        if (src == dst) {
            throw new IllegalArgumentException("convTranspose2d: src and dst must be different buffers");
        }
        if (productFloats < 1) {
            throw new IllegalArgumentException("convTranspose2d: product band of " + productFloats + " floats");
        }
        int k = shape.kernel();
        int w = shape.width();
        int in = shape.inChannels();
        int out = shape.outChannels();
        int cells = shape.cellsPerPixel();
        int run = k * out;
        int outWidth = shape.outWidth();
        int imageRows = shape.batch() * shape.height();
        long perRow = (long) w * cells;
        int band = (int) Math.max(1, Math.min(imageRows, productFloats / perRow));
        try (Buffer product = backend.allocate(band * perRow)) {
            for (int q0 = 0; q0 < imageRows; q0 += band) {
                int n = Math.min(band, imageRows - q0);
                backend.linear(src, (long) q0 * w * in, n * w, weights.gemm(), product, 0, Epilogue.NONE);
                // Input row q = (b, y) and kernel row ky fill output row (b, y * k + ky) = q * k + ky: pixel x's cells
                // (ky, 0..k-1) are k * out contiguous floats of its product row, and land at x * k * out.
                for (int q = q0; q < q0 + n; q++) {
                    for (int ky = 0; ky < k; ky++) {
                        backend.copy2d(product, (q - q0) * perRow + (long) ky * run, cells, dst,
                                ((long) q * k + ky) * outWidth * out, run, w, run);
                    }
                }
            }
        }
    }

    /** Checks that {@code weights} are a convolution's with {@code conv}'s channels and kernel. */
    public static void check(Conv2d conv, ConvWeights weights) {
        if (weights.transposed() || weights.inChannels() != conv.inChannels()
                || weights.outChannels() != conv.outChannels() || weights.kernel() != conv.kernel()) {
            throw new IllegalArgumentException("conv2d " + conv.inChannels() + " -> " + conv.outChannels()
                    + " with kernel " + conv.kernel() + " got " + describe(weights));
        }
    }

    /** Checks the shape is supported and that {@code weights} are a transposed convolution's of its sizes. */
    public static void check(ConvTranspose2d shape, ConvWeights weights) {
        shape.requireNonOverlapping();
        if (!weights.transposed() || weights.inChannels() != shape.inChannels()
                || weights.outChannels() != shape.outChannels() || weights.kernel() != shape.kernel()) {
            throw new IllegalArgumentException("convTranspose2d " + shape.inChannels() + " -> "
                    + shape.outChannels() + " with kernel " + shape.kernel() + " got " + describe(weights));
        }
    }

    private static String describe(ConvWeights w) {
        return (w.transposed() ? "transposed convolution" : "convolution") + " weights " + w.inChannels() + " -> "
                + w.outChannels() + " with kernel " + w.kernel();
    }
}
