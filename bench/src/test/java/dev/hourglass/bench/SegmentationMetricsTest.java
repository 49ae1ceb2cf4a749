package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentationMetricsTest {

    @Test
    void iouPerClassAndPixelAccuracyWorkedOutByHand() {
        SegmentationMetrics m = new SegmentationMetrics(3);
        //             pixel  0  1  2  3  4  5    6  7
        m.add(new int[] {0, 0, 1, 1, 2, 2, 255, 1},
              new int[] {0, 1, 1, 1, 2, 0, 2, 1});
        // Pixel 6 is ignored (255). Class 0: truth {0,1}, predicted {0,5}: 1 / 3. Class 1: truth {2,3,7}, predicted
        // {1,2,3,7}: 3 / 4. Class 2: truth {4,5}, predicted {4}: 1 / 2.
        assertArrayEquals(new double[] {1.0 / 3, 3.0 / 4, 1.0 / 2}, m.iou(), 1e-12);
        assertEquals((1.0 / 3 + 3.0 / 4 + 1.0 / 2) / 3, m.meanIou(), 1e-12);
        assertEquals(5.0 / 7, m.pixelAccuracy(), 1e-12);
        assertEquals(7, m.countedPixels());
        assertEquals(1, m.ignoredPixels());
    }

    @Test
    void classesInNeitherTruthNorPredictionAreLeftOutOfTheMean() {
        SegmentationMetrics m = new SegmentationMetrics(5);
        m.add(new int[] {0, 0, 1, 1}, new int[] {0, 1, 1, 1});
        // Class 0: 1 / 2, class 1: 2 / 3; classes 2..4 have an empty union.
        assertEquals((0.5 + 2.0 / 3) / 2, m.meanIou(), 1e-12);
        assertTrue(Double.isNaN(m.iou()[3]));
        assertEquals(java.util.Arrays.asList(0.5, 0.666667, null, null, null), m.iouList());
    }

    @Test
    void intersectionsAndUnionsAreSummedOverTheSplitBeforeDividing() {
        SegmentationMetrics m = new SegmentationMetrics(2);
        m.add(new int[] {0, 0}, new int[] {0, 0});
        m.add(new int[] {1, 1}, new int[] {0, 1});
        // Class 0: intersection 2, union 3; class 1: intersection 1, union 2. (The mean of the per-image mIoUs would
        // be (1 + 0.25) / 2 = 0.625.)
        assertEquals((2.0 / 3 + 1.0 / 2) / 2, m.meanIou(), 1e-12);
        assertEquals(3.0 / 4, m.pixelAccuracy(), 1e-12);
    }

    @Test
    void refusesMismatchedMapsAndPredictionsOutsideTheClasses() {
        SegmentationMetrics m = new SegmentationMetrics(2);
        assertThrows(IllegalArgumentException.class, () -> m.add(new int[] {0}, new int[] {0, 1}));
        assertThrows(IllegalArgumentException.class, () -> m.add(new int[] {0}, new int[] {2}));
    }

    @Test
    void pairsImagesWithLabelsByNameOrLeadingNumberAndReadsGreyLabelMaps(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("images"));
        Files.createDirectories(dir.resolve("labels"));
        BufferedImage rgb = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        ImageIO.write(rgb, "png", dir.resolve("images/00-val-0000.png").toFile());
        ImageIO.write(rgb, "png", dir.resolve("images/01-val-0001.png").toFile());
        BufferedImage grey = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = {0, 1, 2, 9, 255, 3};
        grey.getRaster().setSamples(0, 0, 3, 2, 0, values);
        ImageIO.write(grey, "png", dir.resolve("labels/00-val-0000.png").toFile());
        ImageIO.write(grey, "png", dir.resolve("labels/1-labels.png").toFile());

        List<ExpeditRetention.Sample> s = ExpeditRetention.samples(dir);
        assertEquals(2, s.size());
        assertEquals(dir.resolve("labels/00-val-0000.png"), s.get(0).labels());
        assertEquals(dir.resolve("labels/1-labels.png"), s.get(1).labels());
        assertArrayEquals(values, ExpeditRetention.readLabels(s.get(0).labels(), 3, 2));
        assertThrows(java.io.IOException.class, () -> ExpeditRetention.readLabels(s.get(0).labels(), 2, 3));
    }
}
