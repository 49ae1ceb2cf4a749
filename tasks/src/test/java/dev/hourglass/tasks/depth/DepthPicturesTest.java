package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;

import org.junit.jupiter.api.Test;

/** The 16-bit PNG as {@code write_depth(bits=2)} scales it, and a colour map whose lightness rises from far to near. */
class DepthPicturesTest {

    @Test
    void sixteenBitsScaleTheRangeAsWriteDepthDoes() {
        float[] depth = {0.5f, 1.5f, 2.5f, 1.0f, 0.75f, 2.0f};
        BufferedImage png = DepthPictures.sixteenBit(depth, 3, 2);
        int[] values = png.getRaster().getSamples(0, 0, 3, 2, 0, new int[6]);
        // numpy on float32: 65535 * (d - 0.5) / 2.0, truncated by astype(uint16).
        assertArrayEquals(new int[] {0, 32767, 65535, 16383, 8191, 49151}, values);
    }

    /** Metric depth (larger is farther) is drawn as its inverse: near bright, like a relative model's picture. */
    @Test
    void metricDepthKeepsNearBright() {
        float[] metres = {1f, 2f, 4f, 8f};
        int[] metric = DepthPictures.colours(metres, 2, 2, DepthQuantity.METRIC).getRGB(0, 0, 2, 2, null, 0, 2);
        int[] inverse = DepthPictures.colours(new float[] {1f, 0.5f, 0.25f, 0.125f}, 2, 2).getRGB(0, 0, 2, 2, null,
                0, 2);
        assertArrayEquals(inverse, metric);
        assertTrue(DepthPictures.Oklab.fromRgb(metric[0])[0] > DepthPictures.Oklab.fromRgb(metric[3])[0],
                "1 m is brighter than 8 m");
    }

    @Test
    void aFlatMapIsAllZeros() {
        BufferedImage png = DepthPictures.sixteenBit(new float[] {3f, 3f, 3f, 3f}, 2, 2);
        assertArrayEquals(new int[4], png.getRaster().getSamples(0, 0, 2, 2, 0, new int[4]));
    }

    @Test
    void colourLightnessRisesFromFarToNear() {
        int[] table = DepthPictures.table(256);
        double previous = -1;
        for (int rgb : table) {
            double lightness = DepthPictures.Oklab.fromRgb(rgb)[0];
            assertTrue(lightness >= previous - 1e-3, "lightness falls at " + Integer.toHexString(rgb));
            previous = lightness;
        }
        assertEquals(0x000004, table[0] & 0xFFFFFF, "the first anchor");
        assertEquals(0xFCFFA4, table[255] & 0xFFFFFF, "the last anchor");
    }

    @Test
    void refusesAMapOfTheWrongSizeOrWithNaN() {
        assertThrows(IllegalArgumentException.class, () -> DepthPictures.colours(new float[5], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> DepthPictures.colours(new float[] {1, Float.NaN}, 2, 1));
    }
}
