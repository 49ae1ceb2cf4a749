package dev.hourglass.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.hourglass.kernels.ComputePool;

/**
 * {@link Resize#argmax} labels every pixel as the argmax of {@link Resize#resize}'s planes does, bit for bit, on one
 * thread and on several, upsampling and downsampling, with ties broken towards the lowest channel.
 */
class ResizeArgmaxTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                // mode, antialias, channels, inH, inW, outH, outW, quantised (many ties)
                Arguments.of(Resize.Mode.BILINEAR, false, 7, 5, 6, 41, 37, false),
                Arguments.of(Resize.Mode.BILINEAR, false, 150, 4, 4, 64, 48, false),
                Arguments.of(Resize.Mode.BICUBIC, false, 5, 9, 7, 23, 31, false),
                Arguments.of(Resize.Mode.BILINEAR, true, 6, 40, 33, 9, 11, false),
                Arguments.of(Resize.Mode.BICUBIC, true, 4, 31, 29, 7, 5, false),
                Arguments.of(Resize.Mode.BILINEAR, false, 3, 1, 1, 13, 1, false),
                Arguments.of(Resize.Mode.BILINEAR, false, 9, 6, 6, 19, 19, true),
                Arguments.of(Resize.Mode.BICUBIC, false, 1, 3, 4, 5, 6, false));
    }

    @ParameterizedTest(name = "{0} antialias={1} {2}x{3}x{4} -> {5}x{6} ties={7}")
    @MethodSource("cases")
    void labelsAreTheArgmaxOfTheResizedPlanes(Resize.Mode mode, boolean antialias, int channels, int inH, int inW,
                                              int outH, int outW, boolean quantised) {
        SplittableRandom r = new SplittableRandom(31L * channels + inH + 7L * outW);
        float[] src = new float[channels * inH * inW];
        for (int i = 0; i < src.length; i++) {
            src[i] = quantised ? r.nextInt(3) : (float) r.nextDouble(-4, 4);
        }
        float[] planes = Resize.resize(src, channels, inH, inW, outH, outW, mode, antialias);
        int[] expected = new int[outH * outW];
        int ties = 0;
        for (int p = 0; p < expected.length; p++) {
            float best = planes[p];
            for (int c = 1; c < channels; c++) {
                float v = planes[c * outH * outW + p];
                if (v > best) {
                    best = v;
                    expected[p] = c;
                } else if (v == best) {
                    ties++;
                }
            }
        }
        if (quantised) {
            assertTrue(ties > 0, "the quantised case is meant to have ties");
        }
        assertArrayEquals(expected, Resize.argmax(src, channels, inH, inW, outH, outW, mode, antialias, null));
        try (ComputePool pool = ComputePool.of(3)) {
            assertArrayEquals(expected, Resize.argmax(src, channels, inH, inW, outH, outW, mode, antialias, pool));
        }
    }

    @Test
    void refusesBadSizes() {
        assertThrows(IllegalArgumentException.class,
                () -> Resize.argmax(new float[4], 0, 2, 2, 4, 4, Resize.Mode.BILINEAR, false, null));
        assertThrows(IndexOutOfBoundsException.class,
                () -> Resize.argmax(new float[3], 1, 2, 2, 4, 4, Resize.Mode.BILINEAR, false, null));
    }
}
