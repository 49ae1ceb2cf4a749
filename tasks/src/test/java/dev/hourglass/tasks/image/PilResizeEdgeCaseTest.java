package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Degenerate sizes and argument checks of {@link PilResize} and {@link ResampleCoefficients}. */
class PilResizeEdgeCaseTest {

    @ParameterizedTest
    @EnumSource(Filter.class)
    void onePixelImageUpscalesToItsColour(Filter filter) {
        RgbImage dot = RgbImage.of(1, 1, new byte[] {(byte) 250, 7, (byte) 128});
        RgbImage big = PilResize.resize(dot, 5, 3, filter);
        assertEquals(5, big.width());
        assertEquals(3, big.height());
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 5; x++) {
                assertArrayEquals(new int[] {250, 7, 128},
                        new int[] {big.sample(x, y, 0), big.sample(x, y, 1), big.sample(x, y, 2)});
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Filter.class)
    void resizingToOnePixelAveragesEverything(Filter filter) {
        byte[] rgb = new byte[4 * 2 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = 100;
        }
        RgbImage one = PilResize.resize(RgbImage.of(4, 2, rgb), 1, 1, filter);
        assertEquals(100, one.sample(0, 0, 0));
        assertEquals(0, one.sample(0, 0, 1));
    }

    @Test
    void unchangedSizeReturnsTheSameImage() {
        RgbImage image = RgbImage.of(2, 1, new byte[6]);
        assertSame(image, PilResize.resize(image, 2, 1, Filter.BICUBIC));
    }

    @Test
    void refusesEmptyTargets() {
        RgbImage image = RgbImage.of(2, 1, new byte[6]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PilResize.resize(image, 0, 3, Filter.BILINEAR));
        assertTrue(e.getMessage().contains("0x3"), e.getMessage());
    }

    @Test
    void weightsFollowPillowsFixedPoint() {
        // Halving with the triangle filter stretched to support 2: taps at distances 1.5, 0.5, 0.5, 1.5 source
        // pixels, weights 1/8, 3/8, 3/8, 1/8 of 2^22.
        ResampleCoefficients taps = ResampleCoefficients.compute(8, 4, Filter.BILINEAR);
        assertEquals(1, taps.first(1));
        assertEquals(4, taps.count(1));
        assertArrayEquals(new int[] {1 << 19, 3 << 19, 3 << 19, 1 << 19},
                new int[] {taps.weight(1, 0), taps.weight(1, 1), taps.weight(1, 2), taps.weight(1, 3)});
        // At the border the window is clipped to the image and the remaining weights renormalised.
        assertEquals(0, taps.first(0));
        assertEquals(3, taps.count(0));
    }

    @Test
    void clip8SaturatesAndShiftsArithmetically() {
        assertEquals(0, ResampleCoefficients.clip8(-5 << 22));
        assertEquals(255, ResampleCoefficients.clip8(300 << 22));
        assertEquals(17, ResampleCoefficients.clip8((17 << 22) + (1 << 21) - 1));
    }

    @Test
    void filtersParseFromTimmNames() {
        assertEquals(Filter.BICUBIC, Filter.fromTimmName("bicubic"));
        assertEquals(Filter.BILINEAR, Filter.fromTimmName("BILINEAR"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Filter.fromTimmName("lanczos"));
        assertEquals("unsupported interpolation 'lanczos': expected 'bicubic' or 'bilinear'", e.getMessage());
    }

    @Test
    void bicubicKernelIsKeysWithMinusOneHalf() {
        assertEquals(1.0, Filter.BICUBIC.weight(0.0));
        assertEquals(0.5625, Filter.BICUBIC.weight(0.5));
        assertEquals(-0.0625, Filter.BICUBIC.weight(-1.5));
        assertEquals(0.0, Filter.BICUBIC.weight(2.0));
        assertEquals(0.25, Filter.BILINEAR.weight(-0.75));
    }
}
