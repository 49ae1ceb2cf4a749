package dev.hourglass.tasks.image;

/**
 * The per-output-pixel taps of one resampling axis, in Pillow's 8-bit fixed point.
 *
 * <p>Reproduces {@code precompute_coeffs} and {@code normalize_coeffs_8bpc} of Pillow's {@code Resample.c}: the
 * filter is stretched by the reduction factor when downscaling (antialiasing), each output pixel's taps cover the
 * source pixels whose centres fall inside the support around its centre, the weights are normalised to sum to one in
 * double precision and then rounded half away from zero to {@value #PRECISION_BITS}-bit fixed point. Every
 * {@code (int)} cast below is C's truncation toward zero, which Java's cast shares.
 */
final class ResampleCoefficients {

    /** Pillow's {@code PRECISION_BITS}: 32 bits less 8 for the pixel value and 2 for headroom. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    /** Added to every sum before the shift, so that the shift rounds to nearest. */
    static final int ROUNDING = 1 << (PRECISION_BITS - 1);

    private final int[] first;
    private final int[] count;
    private final int[] weights;
    private final int stride;

    private ResampleCoefficients(int[] first, int[] count, int[] weights, int stride) {
        this.first = first;
        this.count = count;
        this.weights = weights;
        this.stride = stride;
    }

    /** Taps for resampling {@code inSize} source pixels to {@code outSize} output pixels along one axis. */
    static ResampleCoefficients compute(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        int stride = (int) Math.ceil(support) * 2 + 1;

        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[] weights = new int[Math.multiplyExact(outSize, stride)];
        double[] k = new double[stride];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = filter.weight((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double normalised = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * stride + x] = toFixedPoint(normalised);
            }
            first[xx] = xmin;
            count[xx] = xmax;
        }
        return new ResampleCoefficients(first, count, weights, stride);
    }

    /** {@code normalize_coeffs_8bpc}: round half away from zero, then C's truncating cast. */
    private static int toFixedPoint(double weight) {
        double scaled = weight * (1 << PRECISION_BITS);
        return (int) (weight < 0 ? -0.5 + scaled : 0.5 + scaled);
    }

    /** Index of the first source pixel that output pixel {@code out} reads. */
    int first(int out) {
        return first[out];
    }

    /** Number of source pixels that output pixel {@code out} reads. */
    int count(int out) {
        return count[out];
    }

    /** Fixed-point weight of the {@code tap}-th source pixel of output pixel {@code out}. */
    int weight(int out, int tap) {
        return weights[out * stride + tap];
    }

    /** Index just past the last source pixel that output pixel {@code out} reads. */
    int end(int out) {
        return first[out] + count[out];
    }

    /**
     * Pillow's {@code clip8}: drops the fraction bits (arithmetic shift, as for C's signed int) and saturates to
     * 0..255.
     */
    static int clip8(int sum) {
        int v = sum >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
