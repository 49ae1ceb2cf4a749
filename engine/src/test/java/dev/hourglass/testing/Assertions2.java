package dev.hourglass.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Float comparisons that report the maximum and mean error and where the worst one is, instead of the first miss. */
public final class Assertions2 {
    private Assertions2() {
    }

    /** A per-element tolerance. */
    @FunctionalInterface
    public interface Tolerance {
        double at(int index, double expected);
    }

    /** Absolute tolerance. */
    public static Tolerance absolute(double tol) {
        return (i, e) -> tol;
    }

    /** {@code abs + rel * |expected|}. */
    public static Tolerance mixed(double abs, double rel) {
        return (i, e) -> abs + rel * Math.abs(e);
    }

    public static void assertClose(String what, double[] expected, float[] actual, int actualOffset,
                                   Tolerance tolerance) {
        double max = 0;
        double sum = 0;
        double worstRatio = -1;
        int worst = 0;
        int failures = 0;
        for (int i = 0; i < expected.length; i++) {
            float a = actual[actualOffset + i];
            double err = Math.abs(expected[i] - a);
            if (Double.isNaN(a) != Double.isNaN(expected[i])) {
                err = Double.POSITIVE_INFINITY;
            }
            if (Double.isNaN(err)) {
                err = 0; // both NaN
            }
            sum += Double.isFinite(err) ? err : 0;
            max = Math.max(max, err);
            double tol = tolerance.at(i, expected[i]);
            double ratio = err / tol;
            if (err > tol) {
                failures++;
            }
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (failures > 0) {
            fail(String.format("%s: %d of %d values outside tolerance; worst at [%d]: expected %.8g, got %.8g, error"
                            + " %.3g, tolerance there %.3g; max abs error %.3g, mean abs error %.3g", what, failures,
                    expected.length, worst, expected[worst], actual[actualOffset + worst],
                    Math.abs(expected[worst] - actual[actualOffset + worst]), tolerance.at(worst, expected[worst]),
                    max, sum / Math.max(1, expected.length)));
        }
    }

    public static void assertClose(String what, float[] expected, float[] actual, Tolerance tolerance) {
        if (expected.length != actual.length) {
            fail(what + ": expected " + expected.length + " values, got " + actual.length);
        }
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(what, e, actual, 0, tolerance);
    }

    /** Max absolute difference, for reports. */
    public static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
