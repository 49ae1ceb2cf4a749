package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * {@link OpenCvCubicResize}'s own properties; its bits against OpenCV are checked through the run_monodepth input in
 * {@link DptPreprocessingTest} (a 157x100 photo to 96x64).
 */
class OpenCvCubicResizeTest {

    @Test
    void keysWeightsAtAMinusThreeQuarters() {
        assertArrayEquals(new float[] {0f, 1f, 0f, 0f}, OpenCvCubicResize.weights(0f));
        float[] half = OpenCvCubicResize.weights(0.5f);
        // k(1.5) = -0.09375, k(0.5) = 0.59375 at a = -0.75.
        assertArrayEquals(new float[] {-0.09375f, 0.59375f, 0.59375f, -0.09375f}, half);
    }

    @Test
    void sameSizeIsTheIdentity() {
        double[] src = random(7 * 5 * 3, 1);
        assertArrayEquals(src, OpenCvCubicResize.resize(src, 7, 5, 3, 7, 5));
    }

    @Test
    void bordersAreReplicatedAndConstantsStayConstant() {
        double[] flat = new double[4 * 6 * 2];
        java.util.Arrays.fill(flat, 0.25);
        double[] out = OpenCvCubicResize.resize(flat, 4, 6, 2, 9, 3);
        for (double v : out) {
            assertEquals(0.25, v, 1e-15);
        }
        // One row, upscaled: the first output reads taps -1..2 clamped to 0..2.
        double[] row = {0.0, 1.0, 4.0};
        double[] up = OpenCvCubicResize.resize(row, 1, 3, 1, 1, 6);
        float[] w = OpenCvCubicResize.weights((float) (0.5 * 0.5 - 0.5) - (-1));
        double expected = row[0] * w[0] + row[0] * w[1] + row[0] * w[2] + row[1] * w[3];
        assertEquals(expected, up[0], 0.0);
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> OpenCvCubicResize.resize(new double[3], 1, 1, 3, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> OpenCvCubicResize.resize(new double[4], 1, 1, 3, 1, 1));
    }

    private static double[] random(int n, long seed) {
        Random r = new Random(seed);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextDouble();
        }
        return a;
    }
}
