package dev.hourglass.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.kernels.AttentionExtras;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.kernels.PackedMatrix;
import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.reduce.expedit.ExpeditKernels;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;

/**
 * The CPU backend: buffers are heap arrays, operations run at once through the {@link Kernels} facade on a
 * {@link ComputePool} of the user's size. Thread-safe; concurrent forward passes share the pool.
 */
public final class CpuBackend implements Backend, ExpeditKernels {
    /**
     * Recycled buffers kept at most: a quarter of the maximum heap, at most 1 GiB; enough for the working set of a few
     * concurrent large forward passes without pinning a small heap.
     */
    private static final long MAX_POOLED_BYTES = Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4);

    private final ComputePool pool;
    private final ArrayPool arrays = new ArrayPool(MAX_POOLED_BYTES);

    public CpuBackend(int threads) {
        this.pool = ComputePool.of(threads);
    }

    public int threads() {
        return pool.threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "CPU, " + pool.threads() + (pool.threads() == 1 ? " thread, " : " threads, ") + Kernels.description();
    }

    /** {@link Kernels#warmUp}: once per JVM, for a model of at least 2 GFLOP per pass. */
    @Override
    public void prepareFor(double flopsPerPass) {
        Kernels.warmUp(flopsPerPass);
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Buffer allocate(long floats) {
        return new CpuBuffer(arrays.take(checkedLength(floats)), arrays);
    }

    @Override
    public Buffer upload(float[] values, int offset, int count) {
        Objects.checkFromIndexSize(offset, count, values.length);
        float[] copy = arrays.take(count);
        System.arraycopy(values, offset, copy, 0, count);
        return new CpuBuffer(copy, arrays);
    }

    @Override
    public Buffer upload(Tensor tensor) {
        float[] copy = arrays.take(checkedLength(tensor.elementCount()));
        tensor.copyToFloats(0, copy, 0, copy.length);
        return new CpuBuffer(copy, arrays);
    }

    @Override
    public void write(float[] values, int offset, int count, Buffer dst, long dstOffset) {
        System.arraycopy(values, offset, data(dst), index(dstOffset), count);
    }

    @Override
    public void download(Buffer src, long srcOffset, float[] dst, int dstOffset, int count) {
        System.arraycopy(data(src), index(srcOffset), dst, dstOffset, count);
    }

    @Override
    public WeightStore newWeightStore() {
        return new CpuWeightStore();
    }

    // ------------------------------------------------------------------ operations

    @Override
    public void linear(Buffer x, long xOffset, int rows, LinearWeights layer, Buffer out, long outOffset,
                       Epilogue epilogue) {
        CpuLinear l = (CpuLinear) layer;
        float[] workspace = arrays.take(checkedLength(Kernels.linearWorkspaceSize(pool, l.weight())));
        try {
            Kernels.linear(pool, data(x), index(xOffset), rows, l.weight(), l.bias(), data(out), index(outOffset),
                    epilogue, workspace);
        } finally {
            arrays.give(workspace);
        }
    }

    @Override
    public void layerNorm(Buffer x, Buffer out, int rows, int dim, Buffer gamma, Buffer beta, float eps) {
        Kernels.layerNorm(pool, data(x), 0, data(out), 0, rows, dim, data(gamma), data(beta), eps);
    }

    @Override
    public void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim) {
        attention(qkv, out, batch, tokens, heads, headDim, AttentionOptions.NONE);
    }

    @Override
    public void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim,
                          AttentionOptions options) {
        long size = Kernels.attentionWorkspaceSize(batch, tokens, heads, headDim, pool.threads());
        float[] workspace = arrays.take(checkedLength(size));
        try {
            AttentionExtras extras = options.isPlain() ? AttentionExtras.NONE : new AttentionExtras(
                    options.keyBias() == null ? null : data(options.keyBias()), 0, options.queryRows(),
                    options.classAttention(), 0);
            Kernels.attention(pool, data(qkv), 0, batch, tokens, heads, headDim, data(out), 0, workspace, extras);
        } finally {
            arrays.give(workspace);
        }
    }

    @Override
    public void patchify(Buffer images, Buffer patches, int batch, int channels, int height, int width, int patch) {
        if (patch < 1 || height % patch != 0 || width % patch != 0) {
            throw new IllegalArgumentException("image " + height + "x" + width + " is not a multiple of the patch size "
                    + patch);
        }
        int gh = height / patch;
        int gw = width / patch;
        int rowLength = channels * patch * patch;
        float[] src = data(images);
        float[] dst = data(patches);
        checkSize("images", src, (long) batch * channels * height * width);
        checkSize("patches", dst, (long) batch * gh * gw * rowLength);
        pool.parallelFor(batch * gh, (task, worker) -> {
            int b = task / gh;
            int py = task % gh;
            for (int px = 0; px < gw; px++) {
                int o = ((b * gh + py) * gw + px) * rowLength;
                for (int c = 0; c < channels; c++) {
                    for (int y = 0; y < patch; y++) {
                        int s = ((b * channels + c) * height + py * patch + y) * width + px * patch;
                        System.arraycopy(src, s, dst, o, patch);
                        o += patch;
                    }
                }
            }
        });
    }

    @Override
    public void im2col(Buffer src, Conv2d conv, long fromRow, long toRow, Buffer dst, long dstOffset) {
        Kernels.im2col(pool, data(src), conv, fromRow, toRow, data(dst), index(dstOffset));
    }

    @Override
    public void relu(Buffer src, Buffer dst, long count) {
        Kernels.relu(pool, data(src), 0, data(dst), 0, index(count));
    }

    @Override
    public void copy2d(Buffer src, long srcOffset, int srcStride, Buffer dst, long dstOffset, int dstStride, int rows,
                       int cols) {
        Kernels.copy2d(pool, data(src), index(srcOffset), srcStride, data(dst), index(dstOffset), dstStride, rows,
                cols);
    }

    @Override
    public void resizeBilinear(Buffer src, Buffer dst, int batch, int height, int width, int channels, int outHeight,
                               int outWidth, boolean alignCorners) {
        Kernels.resizeBilinear(pool, data(src), data(dst), batch, height, width, channels, outHeight, outWidth,
                alignCorners);
    }

    @Override
    public void groupNorm(Buffer src, Buffer dst, int batch, int pixels, int channels, int groups, Buffer gamma,
                          Buffer beta, float eps, boolean relu) {
        Kernels.groupNorm(pool, data(src), data(dst), batch, pixels, channels, groups, data(gamma), data(beta), eps,
                relu);
    }

    @Override
    public void maxPool2d(Buffer src, Buffer dst, Conv2d shape) {
        Kernels.maxPool2d(pool, data(src), data(dst), shape);
    }

    @Override
    public void embedTokens(Buffer patchEmbeddings, Buffer prefix, int prefixCount, Buffer positions, Buffer out,
                            int batch, int patches, int dim) {
        float[] emb = data(patchEmbeddings);
        float[] pre = prefixCount == 0 ? new float[0] : data(prefix);
        float[] pos = data(positions);
        float[] dst = data(out);
        int tokens = prefixCount + patches;
        checkSize("patch embeddings", emb, (long) batch * patches * dim);
        checkSize("prefix tokens", pre, (long) prefixCount * dim);
        checkSize("position embedding", pos, (long) tokens * dim);
        checkSize("tokens", dst, (long) batch * tokens * dim);
        for (int b = 0; b < batch; b++) {
            int base = b * tokens * dim;
            for (int t = 0; t < tokens; t++) {
                float[] src = t < prefixCount ? pre : emb;
                int s = t < prefixCount ? t * dim : (b * patches + t - prefixCount) * dim;
                int o = base + t * dim;
                for (int i = 0; i < dim; i++) {
                    dst[o + i] = src[s + i] + pos[t * dim + i];
                }
            }
        }
    }

    @Override
    public void gatherRows(Buffer src, int dim, int[] rows, Buffer dst) {
        float[] s = data(src);
        float[] d = data(dst);
        checkSize("gather destination", d, (long) rows.length * dim);
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(s, Math.multiplyExact(rows[i], dim), d, i * dim, dim);
        }
    }

    @Override
    public void addScaled(Buffer x, Buffer y, long count, float scale) {
        float[] a = data(x);
        float[] b = data(y);
        int n = index(count);
        checkSize("x", a, n);
        checkSize("y", b, n);
        for (int i = 0; i < n; i++) {
            a[i] = (a[i] + b[i]) * scale;
        }
    }

    @Override
    public void copy(Buffer src, long srcOffset, Buffer dst, long dstOffset, long count) {
        System.arraycopy(data(src), index(srcOffset), data(dst), index(dstOffset), index(count));
    }

    @Override
    public void normalizeRows(Buffer x, long offset, int rows, int dim) {
        float[] a = data(x);
        int start = index(offset);
        checkSize("rows", a, (long) start + (long) rows * dim);
        for (int r = 0; r < rows; r++) {
            int o = start + r * dim;
            float inv = 1f / (float) Math.sqrt(Kernels.dot(a, o, a, o, dim));
            for (int i = o; i < o + dim; i++) {
                a[i] *= inv;
            }
        }
    }

    @Override
    public void matmulTransposed(Buffer a, long aOffset, int rows, Buffer b, long bOffset, int bRows, int inner,
                                 Buffer out, long outOffset) {
        float[] bData = data(b);
        long bytes = (long) bRows * inner * Float.BYTES;
        checkSize("b", bData, bOffset + (long) bRows * inner);
        Tensor weight = Tensor.of(Shape.of(bRows, inner), DType.F32,
                MemorySegment.ofArray(bData).asSlice(bOffset * Float.BYTES, bytes));
        PackedMatrix packed = Kernels.pack(weight);
        float[] workspace = arrays.take(checkedLength(Kernels.linearWorkspaceSize(pool, packed)));
        try {
            Kernels.linear(pool, data(a), index(aOffset), rows, packed, null, data(out), index(outOffset),
                    Epilogue.NONE, workspace);
        } finally {
            arrays.give(workspace);
        }
    }

    @Override
    public void clusterTokens(Buffer tokens, long offset, int gridHeight, int gridWidth, int dim,
                              ClusteringParameters p, Buffer centres, long centresOffset, int[] hardLabels,
                              int labelsOffset) {
        Kernels.clusterTokens(pool, data(tokens), index(offset), gridHeight, gridWidth, dim, p, data(centres),
                index(centresOffset), hardLabels, labelsOffset);
    }

    @Override
    public void reconstructTokens(Buffer values, long valuesOffset, int clusters, int channels, Buffer before,
                                  long beforeOffset, int tokens, Buffer after, long afterOffset, int dim, int topK,
                                  float temperature, Buffer out, long outOffset) {
        Kernels.reconstructTokens(pool, data(values), index(valuesOffset), clusters, channels, data(before),
                index(beforeOffset), tokens, data(after), index(afterOffset), dim, topK, temperature, data(out),
                index(outOffset));
    }

    @Override
    public void close() {
        pool.close();
    }

    @Override
    public String toString() {
        return description();
    }

    // ------------------------------------------------------------------ helpers

    private static float[] data(Buffer b) {
        if (b instanceof CpuBuffer cpu) {
            return cpu.data();
        }
        throw new IllegalArgumentException("buffer " + b + " was not made by the CPU backend");
    }

    private static int index(long offset) {
        return Math.toIntExact(offset);
    }

    private static int checkedLength(long floats) {
        if (floats < 0 || floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a CPU buffer holds at most " + (Integer.MAX_VALUE - 8)
                    + " floats, asked for " + floats);
        }
        return (int) floats;
    }

    private static void checkSize(String what, float[] array, long needed) {
        if (array.length < needed) {
            throw new IndexOutOfBoundsException(what + ": buffer of " + array.length + " floats, needs " + needed);
        }
    }
}
