package dev.hourglass.ops;

/**
 * One 2-D transposed convolution without padding (PyTorch's {@code ConvTranspose2d(in, out, kernel, stride)}) over
 * channels-last activations: input {@code [batch, height, width, inChannels]}, output {@code [batch, outHeight(),
 * outWidth(), outChannels]}. The backends run the case DPT uses, {@code kernel == stride}
 * ({@link #requireNonOverlapping}): each input pixel then owns its own {@code kernel x kernel} block of output cells,
 * so the whole operation is one GEMM {@code [pixels, in] x [in, kernel * kernel * out]} whose rows are scattered.
 *
 * @param batch       images
 * @param height      input height
 * @param width       input width
 * @param inChannels  input channels
 * @param outChannels output channels
 * @param kernel      side of the square kernel
 * @param stride      step between the input pixels' output blocks
 */
public record ConvTranspose2d(int batch, int height, int width, int inChannels, int outChannels, int kernel,
                              int stride) {

    public ConvTranspose2d {
        if (batch < 1 || height < 1 || width < 1 || inChannels < 1 || outChannels < 1 || kernel < 1 || stride < 1) {
            throw new IllegalArgumentException("bad transposed convolution: " + batch + " images of " + height + "x"
                    + width + "x" + inChannels + " -> " + outChannels + " channels, kernel " + kernel + ", stride "
                    + stride);
        }
        long out = (long) batch * ((height - 1L) * stride + kernel) * ((width - 1L) * stride + kernel) * outChannels;
        if (out > Integer.MAX_VALUE || (long) batch * height * width * inChannels > Integer.MAX_VALUE
                || (long) kernel * kernel * outChannels > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("transposed convolution too large: " + batch + " images of " + height
                    + "x" + width + "x" + inChannels + " -> " + outChannels + ", kernel " + kernel + ", stride "
                    + stride + " (an activation must fit 2^31 - 1 floats)");
        }
    }

    /** Output height: {@code (height - 1) * stride + kernel}. */
    public int outHeight() {
        return (height - 1) * stride + kernel;
    }

    /** Output width: {@code (width - 1) * stride + kernel}. */
    public int outWidth() {
        return (width - 1) * stride + kernel;
    }

    /** Input pixels of every image: the rows of the GEMM. */
    public long pixels() {
        return (long) batch * height * width;
    }

    /** Floats of the NHWC input. */
    public long inputSize() {
        return pixels() * inChannels;
    }

    /** Floats of the NHWC output. */
    public long outputSize() {
        return (long) batch * outHeight() * outWidth() * outChannels;
    }

    /** Length of one GEMM output row (one input pixel's block of cells): {@code kernel * kernel * outChannels}. */
    public int cellsPerPixel() {
        return kernel * kernel * outChannels;
    }

    /**
     * Throws {@link IllegalArgumentException} unless {@code kernel == stride}: the only transposed convolution the
     * backends run (DPT's {@code k4s4} and {@code k2s2}), whose output blocks do not overlap.
     */
    public void requireNonOverlapping() {
        if (kernel != stride) {
            throw new IllegalArgumentException("transposed convolution with kernel " + kernel + " and stride " + stride
                    + ": only kernel == stride without padding is supported (non-overlapping blocks, as DPT's"
                    + " k4s4 and k2s2)");
        }
    }
}
