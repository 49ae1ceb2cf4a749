package dev.hourglass.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.hourglass.kernels.ComputePool;

/**
 * Resizing on several threads gives this thread's bits, and the row-wise vertical pass computes each output as the
 * column-wise definition does: the taps' weighted sum from 0, in tap order.
 */
class ResizeThreadsTest {
    @ParameterizedTest
    @EnumSource(Resize.Mode.class)
    void threadsAndRowOrderChangeNoBit(Resize.Mode mode) {
        SplittableRandom r = new SplittableRandom(7);
        int channels = 5;
        int inH = 7;
        int inW = 9;
        int outH = 23;
        int outW = 17;
        float[] src = new float[channels * inH * inW];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) r.nextDouble(-3, 3);
        }
        float[] alone = Resize.resize(src, channels, inH, inW, outH, outW, mode, false);
        try (ComputePool pool = ComputePool.of(3)) {
            assertArrayEquals(alone, Resize.resize(src, channels, inH, inW, outH, outW, mode, false, pool));
        }
        // The definition, one column at a time: resize each column of the horizontally resized plane on its own.
        float[] rows = Resize.resize(src, channels, inH, inW, inH, outW, mode, false);
        for (int c = 0; c < channels; c++) {
            for (int x = 0; x < outW; x++) {
                float[] column = new float[inH];
                for (int y = 0; y < inH; y++) {
                    column[y] = rows[(c * inH + y) * outW + x];
                }
                float[] up = Resize.resize(column, 1, inH, 1, outH, 1, mode, false);
                for (int y = 0; y < outH; y++) {
                    assertEquals(Float.floatToRawIntBits(up[y]),
                            Float.floatToRawIntBits(alone[(c * outH + y) * outW + x]),
                            mode + " channel " + c + " (" + y + ", " + x + ")");
                }
            }
        }
    }
}
