package dev.hourglass.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The shapes of {@link Conv2d} and {@link ConvTranspose2d}: PyTorch's output sizes, TensorFlow's 'SAME' padding. */
class Conv2dTest {

    @ParameterizedTest(name = "in={0} k={1} s={2}: out {3}, pad {4} + {5}")
    @CsvSource({
            // in, kernel, stride, out, before, after: ceil(in / s); total (out - 1) s + k - in, the odd one after
            "224, 7, 2, 112, 2, 3",
            "384, 7, 2, 192, 2, 3",
            "112, 3, 2, 56, 0, 1",
            "192, 3, 2, 96, 0, 1",
            "7, 3, 2, 4, 1, 1",
            "1, 1, 1, 1, 0, 0",
            "5, 1, 2, 3, 0, 0",
            "13, 3, 1, 13, 1, 1",
            "2, 5, 1, 2, 2, 2",
            "10, 4, 4, 3, 1, 1"})
    void samePaddingIsTensorFlows(int in, int kernel, int stride, int out, int before, int after) {
        Conv2d c = Conv2d.same(2, in, in + 1, 3, 5, kernel, stride);
        assertEquals(out, c.outHeight());
        assertEquals(before, c.padTop());
        assertEquals(after, c.padBottom());
        assertEquals((in + 1 + stride - 1) / stride, c.outWidth());
        assertEquals(2L * out * c.outWidth(), c.rows());
        assertEquals(c.rows() * 5, c.outputSize());
    }

    @Test
    void outputSizesFollowPyTorchsFloorWithAsymmetricPadding() {
        Conv2d c = new Conv2d(1, 10, 9, 3, 4, 3, 2, 0, 1, 2, 0);
        assertEquals((10 + 0 + 2 - 3) / 2 + 1, c.outHeight());
        assertEquals((9 + 1 + 0 - 3) / 2 + 1, c.outWidth());
        assertEquals(27, c.rowLength());
        assertEquals(270, c.inputSize());
        assertTrue(Conv2d.of(1, 4, 4, 3, 3, 1, 1, 0).isPointwise());
        assertFalse(Conv2d.of(1, 4, 4, 3, 3, 1, 2, 0).isPointwise());
        assertFalse(Conv2d.of(1, 4, 4, 3, 3, 1, 1, 1).isPointwise());
    }

    @Test
    void badShapesAreRefusedNamingTheValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Conv2d(1, 8, 8, 0, 4, 3, 1, 1, 1, 1, 1));
        assertEquals("bad convolution: 1 images of 8x8x0 -> 4 channels, kernel 3, stride 1, padding (top 1, left 1,"
                + " bottom 1, right 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Conv2d.of(1, 3, 3, 1, 1, 7, 1, 1));
        assertEquals("input 3x3 (padding top 1 left 1 bottom 1 right 1) is smaller than the kernel 7", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 8, 8, 1, 1, 3, 1, -1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Conv2d.same(1, 8, 8, 1, 1, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> Conv2d.of(1, 65536, 65536, 3, 3, 1, 1, 0));
    }

    @Test
    void transposedConvolutionShapes() {
        ConvTranspose2d t = new ConvTranspose2d(2, 3, 5, 7, 4, 4, 4);
        assertEquals(12, t.outHeight());
        assertEquals(20, t.outWidth());
        assertEquals(30, t.pixels());
        assertEquals(2L * 12 * 20 * 4, t.outputSize());
        assertEquals(64, t.cellsPerPixel());
        t.requireNonOverlapping();
        ConvTranspose2d overlapping = new ConvTranspose2d(1, 3, 3, 2, 2, 3, 2);
        assertEquals(7, overlapping.outHeight());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                overlapping::requireNonOverlapping);
        assertEquals("transposed convolution with kernel 3 and stride 2: only kernel == stride without padding is"
                + " supported (non-overlapping blocks, as DPT's k4s4 and k2s2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ConvTranspose2d(1, 3, 3, 0, 2, 2, 2));
    }

    @Test
    void weightReorderingsMoveEveryValueOnce() {
        int out = 3;
        int in = 2;
        int k = 2;
        float[] w = new float[out * in * k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        float[] rows = Convolution.weightRows(w, out, in, k);
        // row o, column (ky, kx, c) = w[o, c, ky, kx]
        assertEquals(w[((2 * in + 1) * k + 1) * k + 0], rows[2 * k * k * in + (1 * k + 0) * in + 1]);
        // transposed: w is [in=3, out=2, k, k]; row (ky, kx, o), column c
        float[] t = Convolution.transposedWeightRows(w, 3, 2, k);
        assertEquals(w[((2 * 2 + 1) * k + 0) * k + 1], t[((0 * k + 1) * 2 + 1) * 3 + 2]);
        assertThrows(IllegalArgumentException.class, () -> Convolution.weightRows(w, 3, 2, 3));
    }
}
