package dev.hourglass.ops;

import java.util.Arrays;

/**
 * A 2-D convolution computed as a matrix product (im2col): the input window each output position sees becomes one
 * row, and the convolution is that matrix times the weight matrix, with the packed GEMM and its epilogues.
 *
 * <p>Layouts: activations are channels-last ({@code [batch, height, width, channels]}, NHWC), so that one output
 * position's window row is made of contiguous runs of channels and a convolution's GEMM output ({@code [batch *
 * outHeight * outWidth, outChannels]}) is already the next convolution's NHWC input. Window rows are ordered
 * {@code (ky, kx, c)}; {@link #weightRows} reorders PyTorch's {@code [out, in, kh, kw]} weights to match.
 *
 * @param batch    images
 * @param height   input height
 * @param width    input width
 * @param channels input channels
 * @param kernel   side of the square kernel
 * @param stride   step between windows, both directions
 * @param padding  zeros added on every side
 */
public record Convolution(int batch, int height, int width, int channels, int kernel, int stride, int padding) {

    public Convolution {
        if (batch < 1 || height < 1 || width < 1 || channels < 1 || kernel < 1 || stride < 1 || padding < 0) {
            throw new IllegalArgumentException("bad convolution: " + batch + " images of " + height + "x" + width + "x"
                    + channels + ", kernel " + kernel + ", stride " + stride + ", padding " + padding);
        }
        if (height + 2 * padding < kernel || width + 2 * padding < kernel) {
            throw new IllegalArgumentException("input " + height + "x" + width + " (padding " + padding
                    + ") is smaller than the kernel " + kernel);
        }
    }

    /** Output height, as PyTorch's {@code Conv2d} (floor). */
    public int outHeight() {
        return (height + 2 * padding - kernel) / stride + 1;
    }

    /** Output width, as PyTorch's {@code Conv2d} (floor). */
    public int outWidth() {
        return (width + 2 * padding - kernel) / stride + 1;
    }

    /** Rows of the window matrix: one per output position of every image. */
    public long rows() {
        return (long) batch * outHeight() * outWidth();
    }

    /** Length of one window row: {@code kernel * kernel * channels}. */
    public int rowLength() {
        return kernel * kernel * channels;
    }

    /** Floats of the NHWC input. */
    public long inputSize() {
        return (long) batch * height * width * channels;
    }

    /**
     * Writes window rows {@code [fromRow, toRow)} of the NHWC input {@code src} into {@code dst} (row {@code r} at
     * {@code r * rowLength()}); positions outside the input are zeros. Rows are {@code (b, oy, ox)} in row-major
     * order; within a row, {@code (ky, kx, c)}.
     */
    public void windows(float[] src, float[] dst, long fromRow, long toRow) {
        int oh = outHeight();
        int ow = outWidth();
        int len = rowLength();
        int run = kernel * channels;
        for (long r = fromRow; r < toRow; r++) {
            int b = (int) (r / ((long) oh * ow));
            int pos = (int) (r % ((long) oh * ow));
            int y0 = (pos / ow) * stride - padding;
            int x0 = (pos % ow) * stride - padding;
            int o = Math.toIntExact(r * len);
            int xa = Math.max(0, -x0);
            int xb = Math.min(kernel, width - x0);
            for (int ky = 0; ky < kernel; ky++, o += run) {
                int y = y0 + ky;
                if (y < 0 || y >= height || xb <= xa) {
                    Arrays.fill(dst, o, o + run, 0f);
                    continue;
                }
                Arrays.fill(dst, o, o + xa * channels, 0f);
                System.arraycopy(src, ((b * height + y) * width + x0 + xa) * channels, dst, o + xa * channels,
                        (xb - xa) * channels);
                Arrays.fill(dst, o + xb * channels, o + run, 0f);
            }
        }
    }

    /**
     * PyTorch's convolution weight {@code [out, in, kernel, kernel]} (flattened) as the rows of a linear layer over
     * {@link #windows} rows: {@code [out, kernel * kernel * in]} in {@code (ky, kx, c)} order.
     */
    public static float[] weightRows(float[] weight, int out, int in, int kernel) {
        float[] rows = new float[weight.length];
        int k2 = kernel * kernel;
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++) {
                for (int k = 0; k < k2; k++) {
                    rows[(o * k2 + k) * in + c] = weight[(o * in + c) * k2 + k];
                }
            }
        }
        return rows;
    }

    /** {@code [batch, channels, height, width]} (NCHW) to {@code [batch, height, width, channels]} (NHWC). */
    public static float[] toChannelsLast(float[] nchw, int batch, int channels, int height, int width) {
        float[] out = new float[nchw.length];
        int plane = height * width;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                int s = (b * channels + c) * plane;
                for (int p = 0; p < plane; p++) {
                    out[(b * plane + p) * channels + c] = nchw[s + p];
                }
            }
        }
        return out;
    }
}
