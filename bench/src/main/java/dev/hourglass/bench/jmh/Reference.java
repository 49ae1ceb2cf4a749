package dev.hourglass.bench.jmh;

import java.util.SplittableRandom;

/**
 * Plain double-precision reference computations for the checks every benchmark runs in {@code @Setup}, before it
 * times anything, and the seeded inputs they run on. Deliberately naive: they share no code with the engine.
 */
final class Reference {
    /** Elements of an output a check compares: enough to catch a wrong tile, few enough to cost nothing. */
    static final int SAMPLES = 64;

    /**
     * Relative tolerance of a float32 result against its double reference, scaled by the sum of the magnitudes of the
     * terms that produced it. Float32 rounding over a few thousand terms stays under about 1e-5 of that sum; a wrong
     * element (a wrong row, column or tile) is off by about 1/sqrt(K) of it, hundreds of times more.
     */
    static final double RELATIVE_TOLERANCE = 1e-4;
    static final double ABSOLUTE_TOLERANCE = 1e-5;

    private Reference() {
    }

    /** {@code n} values uniform in {@code [-scale, scale)}, the same for the same seed. */
    static float[] uniform(long seed, int n, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    /**
     * Positions to check in a {@code rows x cols} output: the four corners, the middle, then seeded random ones. The
     * corners matter: the last row block and the last column panel are the edge tiles of the GEMM.
     */
    static int[][] samplePositions(long seed, int rows, int cols) {
        int[][] p = new int[SAMPLES][];
        p[0] = new int[] {0, 0};
        p[1] = new int[] {0, cols - 1};
        p[2] = new int[] {rows - 1, 0};
        p[3] = new int[] {rows - 1, cols - 1};
        p[4] = new int[] {rows / 2, cols / 2};
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 5; i < SAMPLES; i++) {
            p[i] = new int[] {r.nextInt(rows), r.nextInt(cols)};
        }
        return p;
    }

    /** Fails with a message naming the element unless {@code got} is within tolerance of {@code expected}. */
    static void requireClose(String what, double got, double expected, double magnitude) {
        double tolerance = RELATIVE_TOLERANCE * magnitude + ABSOLUTE_TOLERANCE;
        if (!(Math.abs(got - expected) <= tolerance)) {
            throw new IllegalStateException("result check failed before timing: " + what + " = " + got
                    + ", the double-precision reference gives " + expected + " (tolerance " + tolerance + ")");
        }
    }

    /**
     * The error function to about 1e-9 absolute: its Maclaurin series below 4 (the terms peak near e^(x^2), 9e6 at
     * x = 4, so cancellation costs at most 7 of double's 16 digits), the asymptotic series of erfc above.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax >= 4) {
            return Math.signum(x) * (1 - erfcAsymptotic(ax));
        }
        double term = ax;
        double sum = ax;
        double x2 = ax * ax;
        for (int n = 1; n < 200; n++) {
            term *= -x2 / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                break;
            }
        }
        return Math.signum(x) * sum * 2 / Math.sqrt(Math.PI);
    }

    /** erfc(x) for x >= 4 from its asymptotic series (error far below erfc itself there). */
    private static double erfcAsymptotic(double x) {
        double x2 = x * x;
        double s = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2);
        return Math.exp(-x2) / (x * Math.sqrt(Math.PI)) * s;
    }

    /** Exact GELU, {@code x * (1 + erf(x / sqrt 2)) / 2}. */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }
}
