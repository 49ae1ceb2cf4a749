package dev.hourglass.ops;

/**
 * Host-side layout helpers of the convolutions ({@link Conv2d}, {@link ConvTranspose2d}): PyTorch's weights reordered
 * to the rows of the linear layer a convolution's GEMM uses, and images from planar to channels-last. Stateless.
 */
public final class Convolution {

    private Convolution() {
    }

    /**
     * PyTorch's convolution weight {@code [out, in, kernel, kernel]} (flattened) as the rows of a linear layer over
     * {@link Conv2d#windows} rows: {@code [out, kernel * kernel * in]} in {@code (ky, kx, c)} order.
     */
    public static float[] weightRows(float[] weight, int out, int in, int kernel) {
        checkLength(weight, out, in, kernel);
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

    /**
     * PyTorch's transposed convolution weight {@code [in, out, kernel, kernel]} (flattened) as the rows of a linear
     * layer over input pixels: {@code [kernel * kernel * out, in]}, row {@code (ky * kernel + kx) * out + o}. The
     * product of one input pixel with it is then its {@code kernel x kernel} output cells, {@code (ky, kx, o)}.
     */
    public static float[] transposedWeightRows(float[] weight, int in, int out, int kernel) {
        checkLength(weight, out, in, kernel);
        float[] rows = new float[weight.length];
        int k2 = kernel * kernel;
        for (int c = 0; c < in; c++) {
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < k2; k++) {
                    rows[(k * out + o) * in + c] = weight[(c * out + o) * k2 + k];
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

    private static void checkLength(float[] weight, int out, int in, int kernel) {
        if (out < 1 || in < 1 || kernel < 1 || weight.length != (long) out * in * kernel * kernel) {
            throw new IllegalArgumentException("a convolution weight of " + out + " x " + in + " x " + kernel + " x "
                    + kernel + " has " + (long) out * in * kernel * kernel + " values, got " + weight.length);
        }
    }
}
