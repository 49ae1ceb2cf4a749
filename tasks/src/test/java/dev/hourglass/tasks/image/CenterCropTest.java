package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** torchvision's CenterCrop rules: round half to even offsets, and zero padding when the crop is larger. */
class CenterCropTest {

    @Test
    void offsetsRoundHalfToEven() {
        assertEquals(2, CenterCrop.offset(5, 2), "1.5 rounds to 2");
        assertEquals(2, CenterCrop.offset(7, 2), "2.5 rounds to 2");
        assertEquals(4, CenterCrop.offset(11, 2), "4.5 rounds to 4");
        assertEquals(16, CenterCrop.offset(256, 224));
        assertEquals(80, CenterCrop.offset(384, 224));
    }

    @Test
    void paddingPutsTheSmallerHalfFirst() {
        assertEquals(-1, CenterCrop.offset(3, 5), "pad 1 before, 1 after");
        assertEquals(-1, CenterCrop.offset(2, 5), "pad 1 before, 2 after");
        assertEquals(-37, CenterCrop.offset(149, 224));
    }

    @Test
    void cropLargerThanImageIsZeroPadded() {
        RgbImage image = RgbImage.of(2, 1, new byte[] {1, 2, 3, 4, 5, 6});
        RgbImage out = CenterCrop.apply(image, 4, 5);
        assertEquals(5, out.width());
        assertEquals(4, out.height());
        // 2 -> 5 wide: 1 column before, 2 after; 1 -> 4 high: 1 row before, 2 after.
        byte[] expected = new byte[5 * 4 * 3];
        System.arraycopy(new byte[] {1, 2, 3, 4, 5, 6}, 0, expected, (1 * 5 + 1) * 3, 6);
        assertArrayEquals(expected, out.pixels());
    }

    @Test
    void padsOneAxisAndCropsTheOther() {
        byte[] rgb = new byte[6 * 1 * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i / 3 + 1);  // pixel x has value x + 1 in all channels
        }
        RgbImage out = CenterCrop.apply(RgbImage.of(6, 1, rgb), 3, 3);
        // width 6 -> 3: offset round(1.5) = 2; height 1 -> 3: one zero row before and after.
        for (int x = 0; x < 3; x++) {
            assertEquals(0, out.sample(x, 0, 0));
            assertEquals(x + 3, out.sample(x, 1, 1));
            assertEquals(0, out.sample(x, 2, 2));
        }
    }

    @Test
    void sameSizeIsTheSameImage() {
        RgbImage image = RgbImage.of(2, 1, new byte[6]);
        assertSame(image, CenterCrop.apply(image, 1, 2));
    }
}
