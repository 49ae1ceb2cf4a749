package dev.hourglass.backend;

import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * A backend with only the general operations, delegated to another: no attention extras and no extensions of its
 * own, as a new device backend starts. Tests run methods on it to check the host fallbacks.
 */
final class PlainDelegatingBackend implements Backend {
    private final Backend inner;

    PlainDelegatingBackend(Backend inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return "plain";
    }

    @Override
    public String description() {
        return "plain delegate of " + inner.description();
    }

    @Override
    public Buffer allocate(long floats) {
        return inner.allocate(floats);
    }

    @Override
    public Buffer upload(float[] values, int offset, int count) {
        return inner.upload(values, offset, count);
    }

    @Override
    public Buffer upload(Tensor tensor) {
        return inner.upload(tensor);
    }

    @Override
    public void write(float[] values, int offset, int count, Buffer dst, long dstOffset) {
        inner.write(values, offset, count, dst, dstOffset);
    }

    @Override
    public void download(Buffer src, long srcOffset, float[] dst, int dstOffset, int count) {
        inner.download(src, srcOffset, dst, dstOffset, count);
    }

    @Override
    public WeightStore newWeightStore() {
        return inner.newWeightStore();
    }

    @Override
    public void linear(Buffer x, long xOffset, int rows, LinearWeights layer, Buffer out, long outOffset,
                       Epilogue epilogue) {
        inner.linear(x, xOffset, rows, layer, out, outOffset, epilogue);
    }

    @Override
    public void layerNorm(Buffer x, Buffer out, int rows, int dim, Buffer gamma, Buffer beta, float eps) {
        inner.layerNorm(x, out, rows, dim, gamma, beta, eps);
    }

    @Override
    public void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim) {
        inner.attention(qkv, out, batch, tokens, heads, headDim);
    }

    @Override
    public void patchify(Buffer images, Buffer patches, int batch, int channels, int height, int width, int patch) {
        inner.patchify(images, patches, batch, channels, height, width, patch);
    }

    @Override
    public void embedTokens(Buffer patchEmbeddings, Buffer prefix, int prefixCount, Buffer positions, Buffer out,
                            int batch, int patches, int dim) {
        inner.embedTokens(patchEmbeddings, prefix, prefixCount, positions, out, batch, patches, dim);
    }

    @Override
    public void gatherRows(Buffer src, int dim, int[] rows, Buffer dst) {
        inner.gatherRows(src, dim, rows, dst);
    }

    @Override
    public void addScaled(Buffer x, Buffer y, long count, float scale) {
        inner.addScaled(x, y, count, scale);
    }

    @Override
    public void copy(Buffer src, long srcOffset, Buffer dst, long dstOffset, long count) {
        inner.copy(src, srcOffset, dst, dstOffset, count);
    }

    @Override
    public void normalizeRows(Buffer x, long offset, int rows, int dim) {
        inner.normalizeRows(x, offset, rows, dim);
    }

    @Override
    public void matmulTransposed(Buffer a, long aOffset, int rows, Buffer b, long bOffset, int bRows, int inner,
                                 Buffer out, long outOffset) {
        this.inner.matmulTransposed(a, aOffset, rows, b, bOffset, bRows, inner, out, outOffset);
    }

    @Override
    public void close() {
    }
}
