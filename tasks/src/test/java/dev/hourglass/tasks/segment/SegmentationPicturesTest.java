package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.hourglass.tasks.image.RgbImage;

class SegmentationPicturesTest {

    @Test
    void boundariesLieExactlyWhereTheClusterDiffersToTheRightOrBelow() {
        int[] clusters = {
            0, 0, 1, 1, 1, 2,
            0, 0, 1, 1, 1, 2,
            3, 3, 3, 1, 1, 2,
            3, 3, 3, 1, 1, 2,
        };
        // Worked out by hand: pixel (1, 0) differs from its right neighbour, (0, 1) from the one below, ...
        String expected = """
                .X..X.
                XXX.X.
                ..X.X.
                ..X.X.
                """;
        assertEquals(expected, draw(SegmentationPictures.clusterBoundaries(clusters, 6, 4), 6));
    }

    @Test
    void clusterOutlinesDrawTheBoundariesOverTheDimmedImageAndMarkEachCluster() {
        int w = 41;
        int h = 29;
        int[] clusters = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                // Blocks of 10x10 pixels with a diagonal cut through some, ids not consecutive (as the
                // segmenter's are per window), and one disconnected cluster: 99 in two corners.
                int id = (y / 10) * 10 + x / 10 + (x + y > 45 ? 50 : 0);
                clusters[y * w + x] = (x < 4 && y < 4) || (x >= w - 4 && y >= h - 4) ? 99 : id;
            }
        }
        RgbImage image = gradient(w, h);
        BufferedImage picture = SegmentationPictures.clusterOutlines(image, clusters);
        assertEquals(w, picture.getWidth());
        assertEquals(h, picture.getHeight());

        int[] marks = SegmentationPictures.clusterMarks(clusters, w, h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = y * w + x;
                boolean boundary = (x + 1 < w && clusters[p] != clusters[p + 1])
                        || (y + 1 < h && clusters[p] != clusters[p + w]);
                int rgb = picture.getRGB(x, y) & 0xFFFFFF;
                if (boundary) {
                    assertEquals(SegmentationPictures.BOUNDARY, rgb, "boundary at " + x + "," + y);
                } else if (nearMark(marks, w, x, y)) {
                    assertTrue(rgb == SegmentationPictures.MARK || rgb == SegmentationPictures.MARK_RIM
                            || rgb == dimmed(image, x, y), "mark at " + x + "," + y);
                } else {
                    assertEquals(dimmed(image, x, y), rgb, "dimmed image at " + x + "," + y);
                }
            }
        }
        boolean[] boundaries = SegmentationPictures.clusterBoundaries(clusters, w, h);
        assertEquals(Arrays.stream(clusters).distinct().count(), marks.length, "one mark per cluster");
        for (int p : marks) {
            int rgb = picture.getRGB(p % w, p / w) & 0xFFFFFF;
            assertEquals(boundaries[p] ? SegmentationPictures.BOUNDARY : SegmentationPictures.MARK, rgb,
                    "a mark's centre is white, under the boundary lines");
        }
    }

    @Test
    void eachClusterIsMarkedOnceAtItsPixelNearestItsMeanEvenWhenItIsNotConnected() {
        int w = 9;
        int h = 5;
        int[] clusters = new int[w * h];
        Arrays.fill(clusters, 7);
        // Cluster 3: two columns at the left and right edges; their mean position (4, 2) belongs to cluster 7.
        for (int y = 0; y < h; y++) {
            clusters[y * w] = 3;
            clusters[y * w + w - 1] = 3;
        }
        int[] marks = SegmentationPictures.clusterMarks(clusters, w, h);
        assertEquals(2, marks.length, "ids 3 and 7 only, in id order");
        assertEquals(2 * w, marks[0], "cluster 3: (0, 2), the first of the two nearest members");
        assertEquals(2 * w + 4, marks[1], "cluster 7: its centre (4, 2)");
        Set<Integer> seen = new HashSet<>();
        Random random = new Random(15);
        int[] noisy = new int[37 * 23];
        for (int i = 0; i < noisy.length; i++) {
            noisy[i] = random.nextInt(40) * 100_000_000 - 1_950_000_000;
            seen.add(noisy[i]);
        }
        int[] noisyMarks = SegmentationPictures.clusterMarks(noisy, 37, 23);
        assertEquals(seen.size(), noisyMarks.length);
        for (int i = 1; i < noisyMarks.length; i++) {
            assertTrue(noisy[noisyMarks[i - 1]] < noisy[noisyMarks[i]],
                    "one mark per cluster, in id order, whatever the ids");
        }
    }

    @Test
    void labelColoursPaintEachClassAndLeaveIgnoredPixelsUnlabelled() {
        int[] palette = {0x112233, 0x445566, 0x778899};
        int[] truth = {0, 1, 2, 255, 2, 1};
        BufferedImage picture = SegmentationPictures.labelColours(truth, 3, 2, palette);
        int[] rgb = picture.getRGB(0, 0, 3, 2, null, 0, 3);
        for (int i = 0; i < rgb.length; i++) {
            int want = truth[i] < palette.length ? palette[truth[i]] : SegmentationPictures.UNLABELLED;
            assertEquals(want, rgb[i] & 0xFFFFFF, "pixel " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> SegmentationPictures.labelColours(truth, 4, 2, palette));
        Segmentation s = new Segmentation(3, 2, List.of("a", "b", "c"), new int[] {0, 1, 2, 2, 1, 0}, null, 1, 0,
                new int[0]);
        int[] colours = SegmentationPictures.colours(s, palette).getRGB(0, 0, 3, 2, null, 0, 3);
        for (int i = 0; i < colours.length; i++) {
            assertEquals(palette[s.labels()[i]], colours[i] & 0xFFFFFF, "prediction pixel " + i);
        }
    }

    @Test
    void distinctPaletteIsTab10ThenTab20TintsThenTheGeneratedOne() {
        assertArrayEquals(new int[] {0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F,
            0xBCBD22, 0x17BECF}, SegmentationPictures.distinctPalette(10), "matplotlib's tab10");
        int[] twenty = SegmentationPictures.distinctPalette(20);
        assertEquals(20, Arrays.stream(twenty).distinct().count());
        assertArrayEquals(SegmentationPictures.distinctPalette(10), Arrays.copyOf(twenty, 10),
                "a smaller palette is a prefix of a larger one");
        assertEquals(0xAEC7E8, twenty[10], "tab20's tint of tab10's first hue");
        assertArrayEquals(SegmentationPictures.defaultPalette(21), SegmentationPictures.distinctPalette(21));
    }

    @Test
    void theClusterPicturesNeedAClusterMap() {
        Segmentation s = new Segmentation(2, 1, List.of("a"), new int[2], null, 1, 0, new int[0]);
        RgbImage image = gradient(2, 1);
        assertThrows(IllegalArgumentException.class, () -> SegmentationPictures.clusterOutlines(image, s));
        assertThrows(IllegalArgumentException.class, () -> SegmentationPictures.clusterOutlines(image, new int[3]));
    }

    private static boolean nearMark(int[] marks, int w, int x, int y) {
        for (int p : marks) {
            if (Math.abs(p % w - x) <= 2 && Math.abs(p / w - y) <= 2) {
                return true;
            }
        }
        return false;
    }

    private static int dimmed(RgbImage image, int x, int y) {
        return SegmentationPictures.dim(image.sample(x, y, 0)) << 16
                | SegmentationPictures.dim(image.sample(x, y, 1)) << 8
                | SegmentationPictures.dim(image.sample(x, y, 2));
    }

    private static RgbImage gradient(int w, int h) {
        byte[] rgb = new byte[3 * w * h];
        for (int p = 0; p < w * h; p++) {
            rgb[3 * p] = (byte) (p * 7);
            rgb[3 * p + 1] = (byte) (255 - p * 3);
            rgb[3 * p + 2] = (byte) (p * 13 + 40);
        }
        return RgbImage.of(w, h, rgb);
    }

    private static String draw(boolean[] mask, int w) {
        StringBuilder s = new StringBuilder();
        for (int p = 0; p < mask.length; p++) {
            s.append(mask[p] ? 'X' : '.');
            if (p % w == w - 1) {
                s.append('\n');
            }
        }
        return s.toString();
    }
}
