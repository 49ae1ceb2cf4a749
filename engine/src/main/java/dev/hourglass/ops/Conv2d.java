package dev.hourglass.ops;

import java.util.Arrays;

/**
 * One 2-D convolution (or a pooling window over the same grid): sizes, a square kernel, a stride and zero padding
 * that may differ on each side, as TensorFlow's 'SAME' padding needs. A convolution runs as a matrix product (im2col):
 * the input window each output position sees becomes one row ({@link #windows}), and the convolution is those rows
 * times the weight matrix, with the packed GEMM and its epilogues.
 *
 * <p>Layouts: activations are channels-last ({@code [batch, height, width, channels]}, NHWC), so that one output
 * position's window row is made of contiguous runs of channels and a convolution's GEMM output ({@code [batch *
 * outHeight * outWidth, outChannels]}) is already the next convolution's NHWC input. Window rows are ordered
 * {@code (ky, kx, c)}; {@link Convolution#weightRows} reorders PyTorch's {@code [out, in, kh, kw]} weights to match.
 *
 * @param batch       images
 * @param height      input height
 * @param width       input width
 * @param inChannels  input channels
 * @param outChannels output channels (a pooling keeps the input's: equal to {@code inChannels})
 * @param kernel      side of the square kernel
 * @param stride      step between windows, both directions
 * @param padTop      zero rows above the input
 * @param padLeft     zero columns left of it
 * @param padBottom   zero rows below it
 * @param padRight    zero columns right of it
 */
public record Conv2d(int batch, int height, int width, int inChannels, int outChannels, int kernel, int stride,
                     int padTop, int padLeft, int padBottom, int padRight) {

    public Conv2d {
        if (batch < 1 || height < 1 || width < 1 || inChannels < 1 || outChannels < 1 || kernel < 1 || stride < 1
                || padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
            throw new IllegalArgumentException("bad convolution: " + batch + " images of " + height + "x" + width + "x"
                    + inChannels + " -> " + outChannels + " channels, kernel " + kernel + ", stride " + stride
                    + ", padding (top " + padTop + ", left " + padLeft + ", bottom " + padBottom + ", right "
                    + padRight + ")");
        }
        if ((long) height + padTop + padBottom < kernel || (long) width + padLeft + padRight < kernel) {
            throw new IllegalArgumentException("input " + height + "x" + width + " (padding top " + padTop + " left "
                    + padLeft + " bottom " + padBottom + " right " + padRight + ") is smaller than the kernel "
                    + kernel);
        }
        long rows = (long) batch * ((height + (long) padTop + padBottom - kernel) / stride + 1)
                * ((width + (long) padLeft + padRight - kernel) / stride + 1);
        if (rows > Integer.MAX_VALUE || (long) kernel * kernel * inChannels > Integer.MAX_VALUE
                || (long) batch * height * width * inChannels > Integer.MAX_VALUE
                || rows * outChannels > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("convolution too large: " + batch + " images of " + height + "x"
                    + width + "x" + inChannels + " -> " + outChannels + ", kernel " + kernel
                    + " (an activation or a window row must fit 2^31 - 1 floats)");
        }
    }

    /** The same padding on every side, as PyTorch's {@code Conv2d(padding=p)}. */
    public static Conv2d of(int batch, int height, int width, int inChannels, int outChannels, int kernel, int stride,
                            int padding) {
        return new Conv2d(batch, height, width, inChannels, outChannels, kernel, stride, padding, padding, padding,
                padding);
    }

    /**
     * TensorFlow's 'SAME' padding (timm's {@code Conv2dSame}, {@code StdConv2dSame}, {@code MaxPool2dSame}): the output
     * is {@code ceil(in / stride)} along each axis, the total padding {@code max((out - 1) * stride + kernel - in, 0)},
     * of which the top and left get {@code floor(total / 2)} and the bottom and right the rest.
     */
    public static Conv2d same(int batch, int height, int width, int inChannels, int outChannels, int kernel,
                              int stride) {
        if (kernel < 1 || stride < 1) {
            throw new IllegalArgumentException("kernel and stride must be positive, got kernel " + kernel + ", stride "
                    + stride);
        }
        int padH = samePadding(height, kernel, stride);
        int padW = samePadding(width, kernel, stride);
        return new Conv2d(batch, height, width, inChannels, outChannels, kernel, stride, padH / 2, padW / 2,
                padH - padH / 2, padW - padW / 2);
    }

    private static int samePadding(int in, int kernel, int stride) {
        long out = ((long) in + stride - 1) / stride;
        return (int) Math.max((out - 1) * stride + kernel - in, 0);
    }

    /** Output height, as PyTorch's {@code Conv2d} (floor) with the padding above and below. */
    public int outHeight() {
        return (height + padTop + padBottom - kernel) / stride + 1;
    }

    /** Output width, as PyTorch's {@code Conv2d} (floor) with the padding left and right. */
    public int outWidth() {
        return (width + padLeft + padRight - kernel) / stride + 1;
    }

    /** Rows of the window matrix: one per output position of every image. */
    public long rows() {
        return (long) batch * outHeight() * outWidth();
    }

    /** Length of one window row: {@code kernel * kernel * inChannels}. */
    public int rowLength() {
        return kernel * kernel * inChannels;
    }

    /** Floats of the NHWC input. */
    public long inputSize() {
        return (long) batch * height * width * inChannels;
    }

    /** Floats of the NHWC output {@code [batch, outHeight, outWidth, outChannels]}. */
    public long outputSize() {
        return rows() * outChannels;
    }

    /** Whether this is a plain matrix product over the pixels: a 1x1 kernel, stride 1, no padding. */
    public boolean isPointwise() {
        return kernel == 1 && stride == 1 && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0;
    }

    /**
     * Writes window rows {@code [fromRow, toRow)} of the NHWC input {@code src} into {@code dst}, row {@code r} at
     * {@code dstOffset + (r - fromRow) * rowLength()}; positions outside the input are zeros. Rows are
     * {@code (b, oy, ox)} in row-major order; within a row, {@code (ky, kx, c)}.
     */
    public void windows(float[] src, float[] dst, int dstOffset, long fromRow, long toRow) {
        int oh = outHeight();
        int ow = outWidth();
        int len = rowLength();
        int channels = inChannels;
        int run = kernel * channels;
        for (long r = fromRow; r < toRow; r++) {
            int b = (int) (r / ((long) oh * ow));
            int pos = (int) (r % ((long) oh * ow));
            int y0 = (pos / ow) * stride - padTop;
            int x0 = (pos % ow) * stride - padLeft;
            int o = Math.toIntExact(dstOffset + (r - fromRow) * len);
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
}
