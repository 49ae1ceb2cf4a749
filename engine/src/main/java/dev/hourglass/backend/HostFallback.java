package dev.hourglass.backend;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.hourglass.kernels.AttentionExtras;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.ops.Conv2d;

/**
 * Runs a step on the host for a backend that has no device kernel for it: download the inputs, compute with the CPU
 * kernels, upload the result. Correct on every backend from a method's first commit; slow on a device backend, which
 * is why it says so once per backend and step. The host side runs on one shared thread (it is the fallback, not the
 * fast path) and is thread-safe.
 */
public final class HostFallback {
    private static final Logger LOG = LoggerFactory.getLogger(HostFallback.class);
    private static final Set<String> ANNOUNCED = ConcurrentHashMap.newKeySet();

    private HostFallback() {
    }

    /** Logs once per backend and step that the step runs on the host. */
    public static void announce(Backend backend, String step) {
        if (ANNOUNCED.add(backend.name() + "/" + step)) {
            LOG.info("backend {} has no device kernel for {}: it runs on the host (download, compute, upload)",
                    backend.name(), step);
        }
    }

    /** {@link Backend#attention(Buffer, Buffer, int, int, int, int, AttentionOptions)} on the host. */
    static void attention(Backend backend, Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim,
                          AttentionOptions options) {
        announce(backend, "attention with token-reduction options");
        int d = heads * headDim;
        float[] q = new float[Math.multiplyExact(Math.multiplyExact(batch, tokens), 3 * d)];
        backend.download(qkv, 0, q, 0, q.length);
        float[] bias = null;
        if (options.keyBias() != null) {
            bias = new float[batch * tokens];
            backend.download(options.keyBias(), 0, bias, 0, bias.length);
        }
        float[] result = new float[Math.multiplyExact(batch * options.queries(tokens), d)];
        try (ComputePool pool = ComputePool.of(1)) {
            float[] workspace = new float[Math.toIntExact(Kernels.attentionWorkspaceSize(batch, tokens, heads,
                    headDim, 1))];
            Kernels.attention(pool, q, 0, batch, tokens, heads, headDim, result, 0, workspace,
                    new AttentionExtras(bias, 0, options.queryRows(), options.classAttention(), 0));
        }
        backend.write(result, 0, result.length, out, 0);
    }

    /** {@link Backend#im2col(Buffer, Conv2d, long, long, Buffer, long)} on the host. */
    static void im2col(Backend backend, Buffer src, Conv2d conv, long fromRow, long toRow, Buffer dst,
                       long dstOffset) {
        announce(backend, "im2col (convolution windows)");
        float[] in = download(backend, src, 0, conv.inputSize());
        float[] rows = new float[Math.toIntExact(Math.multiplyExact(toRow - fromRow, (long) conv.rowLength()))];
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.im2col(pool, in, conv, fromRow, toRow, rows, 0);
        }
        backend.write(rows, 0, rows.length, dst, dstOffset);
    }

    /** {@link Backend#relu} on the host. */
    static void relu(Backend backend, Buffer src, Buffer dst, long count) {
        announce(backend, "relu");
        float[] x = download(backend, src, 0, count);
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.relu(pool, x, 0, x, 0, x.length);
        }
        backend.write(x, 0, x.length, dst, 0);
    }

    /** {@link Backend#copy2d} on the host: the destination's extent is read, updated and written back. */
    static void copy2d(Backend backend, Buffer src, long srcOffset, int srcStride, Buffer dst, long dstOffset,
                       int dstStride, int rows, int cols) {
        announce(backend, "copy2d (strided copy)");
        if (rows <= 0 || cols <= 0) {
            if (rows < 0 || cols < 0) {
                throw new IllegalArgumentException("copy2d: " + rows + " rows of " + cols + " values");
            }
            return;
        }
        float[] s = download(backend, src, srcOffset, (long) (rows - 1) * srcStride + cols);
        float[] d = download(backend, dst, dstOffset, (long) (rows - 1) * dstStride + cols);
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.copy2d(pool, s, 0, srcStride, d, 0, dstStride, rows, cols);
        }
        backend.write(d, 0, d.length, dst, dstOffset);
    }

    /** {@link Backend#resizeBilinear} on the host. */
    static void resizeBilinear(Backend backend, Buffer src, Buffer dst, int batch, int height, int width, int channels,
                               int outHeight, int outWidth, boolean alignCorners) {
        announce(backend, "resizeBilinear");
        float[] in = download(backend, src, 0, (long) batch * height * width * channels);
        float[] out = new float[Math.toIntExact((long) batch * outHeight * outWidth * channels)];
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.resizeBilinear(pool, in, out, batch, height, width, channels, outHeight, outWidth, alignCorners);
        }
        backend.write(out, 0, out.length, dst, 0);
    }

    /** {@link Backend#groupNorm} on the host. */
    static void groupNorm(Backend backend, Buffer src, Buffer dst, int batch, int pixels, int channels, int groups,
                          Buffer gamma, Buffer beta, float eps, boolean relu) {
        announce(backend, "groupNorm");
        float[] x = download(backend, src, 0, (long) batch * pixels * channels);
        float[] g = download(backend, gamma, 0, channels);
        float[] b = download(backend, beta, 0, channels);
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.groupNorm(pool, x, x, batch, pixels, channels, groups, g, b, eps, relu);
        }
        backend.write(x, 0, x.length, dst, 0);
    }

    /** {@link Backend#maxPool2d} on the host. */
    static void maxPool2d(Backend backend, Buffer src, Buffer dst, Conv2d shape) {
        announce(backend, "maxPool2d");
        float[] in = download(backend, src, 0, shape.inputSize());
        float[] out = new float[Math.toIntExact(shape.outputSize())];
        try (ComputePool pool = ComputePool.of(1)) {
            Kernels.maxPool2d(pool, in, out, shape);
        }
        backend.write(out, 0, out.length, dst, 0);
    }

    private static float[] download(Backend backend, Buffer b, long offset, long count) {
        if (count < 0 || count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("host fallback: cannot hold " + count + " floats in one array");
        }
        float[] values = new float[(int) count];
        backend.download(b, offset, values, 0, values.length);
        return values;
    }
}
