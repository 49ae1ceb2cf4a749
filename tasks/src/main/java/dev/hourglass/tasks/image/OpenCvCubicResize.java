package dev.hourglass.tasks.image;

/**
 * OpenCV's {@code cv2.resize(src, (outWidth, outHeight), interpolation=cv2.INTER_CUBIC)} on a {@code CV_64F} image
 * with interleaved channels, bit for bit (checked against Debian's OpenCV 4.6 on random images, up- and
 * downscaling, odd sizes, 1x1, same size). DPT's {@code run_monodepth.py} resizes exactly such an image: the photo
 * divided by 255.0 is a float64 numpy array.
 *
 * <p>What OpenCV's generic resize ({@code resizeGeneric_}, {@code HResizeCubic}, {@code VResizeCubic}) does:
 * <ul>
 *   <li>the scale is {@code in / out} in double; the source coordinate of output index {@code d} is
 *       {@code (float) ((d + 0.5) * scale - 0.5)}, rounded to float; {@code s = floor} of it, {@code t} = the float
 *       difference;
 *   <li>four taps {@code s - 1 .. s + 2} with Keys' kernel at {@code a = -0.75} evaluated in float
 *       ({@code interpolateCubic}; the fourth weight is {@code 1 - w0 - w1 - w2}), never stretched: shrinking does
 *       not antialias;
 *   <li>taps outside the image are clamped to the border (replicate);
 *   <li>a horizontal pass over every source row, then a vertical pass; each output is the double sum
 *       {@code ((v0 w0 + v1 w1) + v2 w2) + v3 w3}, the float weights widened.
 * </ul>
 * (For {@code CV_32F} images OpenCV takes SIMD paths; this class does not claim those bits.) Stateless.
 */
public final class OpenCvCubicResize {

    private static final float A = -0.75f;

    private OpenCvCubicResize() {
    }

    /**
     * Resizes an interleaved {@code height x width x channels} image.
     *
     * @return {@code outHeight x outWidth x channels}, interleaved
     * @throws IllegalArgumentException when a size is not positive or {@code src} has the wrong length
     */
    public static double[] resize(double[] src, int height, int width, int channels, int outHeight, int outWidth) {
        if (height <= 0 || width <= 0 || channels <= 0 || outHeight <= 0 || outWidth <= 0) {
            throw new IllegalArgumentException("sizes must be positive: " + height + "x" + width + "x" + channels
                    + " -> " + outHeight + "x" + outWidth);
        }
        long expected = (long) height * width * channels;
        if (src.length != expected) {
            throw new IllegalArgumentException("source has " + src.length + " values, expected " + expected);
        }
        Taps horizontal = Taps.of(width, outWidth);
        Taps vertical = Taps.of(height, outHeight);
        int rowOut = Math.multiplyExact(outWidth, channels);
        double[] rows = new double[Math.multiplyExact(height, rowOut)];
        for (int y = 0; y < height; y++) {
            int in = y * width * channels;
            int out = y * rowOut;
            for (int x = 0; x < outWidth; x++) {
                int t = 4 * x;
                for (int c = 0; c < channels; c++) {
                    rows[out + x * channels + c] = src[in + horizontal.index[t] * channels + c] * horizontal.weight[t]
                            + src[in + horizontal.index[t + 1] * channels + c] * horizontal.weight[t + 1]
                            + src[in + horizontal.index[t + 2] * channels + c] * horizontal.weight[t + 2]
                            + src[in + horizontal.index[t + 3] * channels + c] * horizontal.weight[t + 3];
                }
            }
        }
        double[] dst = new double[Math.multiplyExact(outHeight, rowOut)];
        for (int y = 0; y < outHeight; y++) {
            int t = 4 * y;
            int r0 = vertical.index[t] * rowOut;
            int r1 = vertical.index[t + 1] * rowOut;
            int r2 = vertical.index[t + 2] * rowOut;
            int r3 = vertical.index[t + 3] * rowOut;
            double w0 = vertical.weight[t];
            double w1 = vertical.weight[t + 1];
            double w2 = vertical.weight[t + 2];
            double w3 = vertical.weight[t + 3];
            int out = y * rowOut;
            for (int i = 0; i < rowOut; i++) {
                dst[out + i] = rows[r0 + i] * w0 + rows[r1 + i] * w1 + rows[r2 + i] * w2 + rows[r3 + i] * w3;
            }
        }
        return dst;
    }

    /** Keys' cubic weights at {@code a = -0.75} for a fractional offset {@code x}, in float as OpenCV. */
    static float[] weights(float x) {
        float w0 = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
        float w1 = ((A + 2) * x - (A + 3)) * x * x + 1;
        float w2 = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
        float w3 = 1.f - w0 - w1 - w2;
        return new float[] {w0, w1, w2, w3};
    }

    /** Four clamped source indices and float weights per output index. */
    private record Taps(int[] index, float[] weight) {
        static Taps of(int in, int out) {
            double scale = 1.0 / ((double) out / in);
            int[] index = new int[4 * out];
            float[] weight = new float[4 * out];
            for (int d = 0; d < out; d++) {
                float f = (float) ((d + 0.5) * scale - 0.5);
                int s = (int) Math.floor(f);
                float[] w = weights(f - s);
                for (int k = 0; k < 4; k++) {
                    index[4 * d + k] = Math.clamp(s - 1 + k, 0, in - 1);
                    weight[4 * d + k] = w[k];
                }
            }
            return new Taps(index, weight);
        }
    }
}
