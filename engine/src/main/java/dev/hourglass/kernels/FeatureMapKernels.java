package dev.hourglass.kernels;

import java.util.Arrays;

import dev.hourglass.ops.Conv2d;

/**
 * The loops over channels-last feature maps ({@code [batch, height, width, channels]}) that convolutional heads need
 * besides the GEMM: window rows, ReLU, strided copies, bilinear resizing, GroupNorm, max pooling. Data movement and
 * simple arithmetic only, in plain Java (C2 vectorises the inner loops; nothing here is a sum whose order the JIT could
 * change), parallel over the {@link ComputePool} in tasks whose boundaries depend on the sizes alone, never on the
 * thread count, so results do not depend on it. Arguments are already validated by {@link Kernels}.
 */
final class FeatureMapKernels {
    /** Floats one task of an element-wise or copy loop handles: enough to outweigh handing it out. */
    static final int CHUNK = 1 << 14;
    /** Pixels per partial sum of GroupNorm's statistics: fixed, so the sums do not depend on the threads. */
    static final int STATS_PIXELS = 256;

    private FeatureMapKernels() {
    }

    /** {@link Conv2d#windows} rows {@code [fromRow, toRow)} into {@code dst} at {@code dstOffset}, one output row of the image per task. */
    static void im2col(ComputePool pool, float[] src, Conv2d conv, long fromRow, long toRow, float[] dst,
                       int dstOffset) {
        int perTask = Math.max(1, Math.min(conv.outWidth(), CHUNK / Math.max(1, conv.rowLength())));
        long count = toRow - fromRow;
        int tasks = Math.toIntExact((count + perTask - 1) / perTask);
        int len = conv.rowLength();
        pool.parallelFor(tasks, (t, worker) -> {
            long a = fromRow + (long) t * perTask;
            long b = Math.min(toRow, a + perTask);
            conv.windows(src, dst, Math.toIntExact(dstOffset + (a - fromRow) * len), a, b);
        });
    }

    /** {@code dst[i] = max(src[i], 0)}. */
    static void relu(ComputePool pool, float[] src, int srcOffset, float[] dst, int dstOffset, int count) {
        int tasks = (count + CHUNK - 1) / CHUNK;
        pool.parallelFor(tasks, (t, worker) -> {
            int from = t * CHUNK;
            int to = Math.min(count, from + CHUNK);
            for (int i = from; i < to; i++) {
                float v = src[srcOffset + i];
                dst[dstOffset + i] = v > 0f ? v : 0f;
            }
        });
    }

    /** {@code rows} rows of {@code cols} floats, source rows {@code srcStride} apart (0: one row repeated). */
    static void copy2d(ComputePool pool, float[] src, int srcOffset, int srcStride, float[] dst, int dstOffset,
                       int dstStride, int rows, int cols) {
        int perTask = Math.max(1, CHUNK / Math.max(1, cols));
        int tasks = (rows + perTask - 1) / perTask;
        pool.parallelFor(tasks, (t, worker) -> {
            int to = Math.min(rows, (t + 1) * perTask);
            for (int r = t * perTask; r < to; r++) {
                System.arraycopy(src, srcOffset + r * srcStride, dst, dstOffset + r * dstStride, cols);
            }
        });
    }

    /** One axis of a bilinear resize: the two source indices and the weight of the second, per output index. */
    private record Axis(int[] i0, int[] i1, float[] lambda) {
        static Axis of(int in, int out, boolean alignCorners) {
            float scale;
            if (alignCorners) {
                scale = out > 1 ? (float) (in - 1) / (out - 1) : 0f;
            } else {
                scale = (float) in / out;
            }
            int[] i0 = new int[out];
            int[] i1 = new int[out];
            float[] lambda = new float[out];
            for (int i = 0; i < out; i++) {
                float real = alignCorners ? scale * i : Math.max(scale * (i + 0.5f) - 0.5f, 0f);
                int idx = Math.min((int) real, in - 1);
                i0[i] = idx;
                i1[i] = idx + (idx < in - 1 ? 1 : 0);
                lambda[i] = Math.min(Math.max(real - idx, 0f), 1f);
            }
            return new Axis(i0, i1, lambda);
        }
    }

    /** PyTorch's bilinear {@code interpolate} (no antialias) over NHWC; one output row of one image per task. */
    static void resizeBilinear(ComputePool pool, float[] src, float[] dst, int batch, int height, int width,
                               int channels, int outHeight, int outWidth, boolean alignCorners) {
        Axis ys = Axis.of(height, outHeight, alignCorners);
        Axis xs = Axis.of(width, outWidth, alignCorners);
        pool.parallelFor(batch * outHeight, (task, worker) -> {
            int b = task / outHeight;
            int oy = task % outHeight;
            float h1 = ys.lambda[oy];
            float h0 = 1f - h1;
            int row0 = (b * height + ys.i0[oy]) * width;
            int row1 = (b * height + ys.i1[oy]) * width;
            int o = task * outWidth * channels;
            for (int ox = 0; ox < outWidth; ox++, o += channels) {
                float w1 = xs.lambda[ox];
                float w0 = 1f - w1;
                int s00 = (row0 + xs.i0[ox]) * channels;
                int s01 = (row0 + xs.i1[ox]) * channels;
                int s10 = (row1 + xs.i0[ox]) * channels;
                int s11 = (row1 + xs.i1[ox]) * channels;
                for (int c = 0; c < channels; c++) {
                    dst[o + c] = h0 * (w0 * src[s00 + c] + w1 * src[s01 + c])
                            + h1 * (w0 * src[s10 + c] + w1 * src[s11 + c]);
                }
            }
        });
    }

    /**
     * GroupNorm over NHWC: per image and group, the mean and then the (biased) variance over the group's channels of
     * every pixel, summed in double in fixed chunks of {@link #STATS_PIXELS} pixels, then
     * {@code y = (x - mean) * scale + beta} per channel with {@code scale = gamma * rstd}, and ReLU if asked. (PyTorch's
     * CPU kernel folds the mean into a shift, {@code x * scale + (beta - mean * scale)}, which cancels badly when the
     * variance is tiny and {@code scale} huge; subtracting first keeps those values.)
     */
    static void groupNorm(ComputePool pool, float[] src, float[] dst, int batch, int pixels, int channels, int groups,
                          float[] gamma, float[] beta, float eps, boolean relu) {
        int per = channels / groups;
        int chunks = (pixels + STATS_PIXELS - 1) / STATS_PIXELS;
        int sets = batch * groups;
        double[] partial = new double[sets * chunks];
        double[] mean = new double[sets];
        double count = (double) pixels * per;
        ComputePool.Body sums = (task, worker) -> {
            int set = task / chunks;
            int chunk = task % chunks;
            int b = set / groups;
            int g = set % groups;
            double m = mean[set];
            double s = 0;
            int to = Math.min(pixels, (chunk + 1) * STATS_PIXELS);
            for (int p = chunk * STATS_PIXELS; p < to; p++) {
                int o = ((b * pixels + p) * channels) + g * per;
                for (int c = 0; c < per; c++) {
                    double d = src[o + c] - m;
                    s += d * d;
                }
            }
            partial[task] = s;
        };
        ComputePool.Body plainSums = (task, worker) -> {
            int set = task / chunks;
            int chunk = task % chunks;
            int b = set / groups;
            int g = set % groups;
            double s = 0;
            int to = Math.min(pixels, (chunk + 1) * STATS_PIXELS);
            for (int p = chunk * STATS_PIXELS; p < to; p++) {
                int o = ((b * pixels + p) * channels) + g * per;
                for (int c = 0; c < per; c++) {
                    s += src[o + c];
                }
            }
            partial[task] = s;
        };
        pool.parallelFor(sets * chunks, plainSums);
        for (int set = 0; set < sets; set++) {
            mean[set] = total(partial, set * chunks, chunks) / count;
        }
        pool.parallelFor(sets * chunks, sums);
        float[] scale = new float[batch * channels];
        float[] centre = new float[batch * channels];
        for (int b = 0; b < batch; b++) {
            for (int g = 0; g < groups; g++) {
                int set = b * groups + g;
                double rstd = 1.0 / Math.sqrt(total(partial, set * chunks, chunks) / count + eps);
                for (int c = g * per; c < (g + 1) * per; c++) {
                    double s = gamma[c] * rstd;
                    scale[b * channels + c] = (float) s;
                    centre[b * channels + c] = (float) mean[set];
                }
            }
        }
        int perTask = Math.max(1, CHUNK / channels);
        int tasksPerImage = (pixels + perTask - 1) / perTask;
        pool.parallelFor(batch * tasksPerImage, (task, worker) -> {
            int b = task / tasksPerImage;
            int from = (task % tasksPerImage) * perTask;
            int to = Math.min(pixels, from + perTask);
            int sc = b * channels;
            for (int p = from; p < to; p++) {
                int o = (b * pixels + p) * channels;
                for (int c = 0; c < channels; c++) {
                    float y = (src[o + c] - centre[sc + c]) * scale[sc + c] + beta[c];
                    dst[o + c] = relu ? (y > 0f ? y : 0f) : y;
                }
            }
        });
    }

    private static double total(double[] values, int from, int count) {
        double s = 0;
        for (int i = from; i < from + count; i++) {
            s += values[i];
        }
        return s;
    }

    /**
     * Max pooling over NHWC with {@code shape}'s kernel, stride and padding; padded cells are ignored (as -infinity,
     * timm's {@code MaxPool2dSame}); one output row of one image per task.
     */
    static void maxPool2d(ComputePool pool, float[] src, float[] dst, Conv2d shape) {
        int oh = shape.outHeight();
        int ow = shape.outWidth();
        int h = shape.height();
        int w = shape.width();
        int ch = shape.inChannels();
        int k = shape.kernel();
        int stride = shape.stride();
        pool.parallelFor(shape.batch() * oh, (task, worker) -> {
            int b = task / oh;
            int oy = task % oh;
            int y0 = oy * stride - shape.padTop();
            int ya = Math.max(0, y0);
            int yb = Math.min(h, y0 + k);
            for (int ox = 0; ox < ow; ox++) {
                int o = (task * ow + ox) * ch;
                Arrays.fill(dst, o, o + ch, Float.NEGATIVE_INFINITY);
                int x0 = ox * stride - shape.padLeft();
                int xa = Math.max(0, x0);
                int xb = Math.min(w, x0 + k);
                for (int y = ya; y < yb; y++) {
                    for (int x = xa; x < xb; x++) {
                        int s = ((b * h + y) * w + x) * ch;
                        for (int c = 0; c < ch; c++) {
                            dst[o + c] = Math.max(dst[o + c], src[s + c]);
                        }
                    }
                }
            }
        });
    }
}
