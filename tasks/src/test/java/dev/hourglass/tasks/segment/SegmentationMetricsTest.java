package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;


import org.junit.jupiter.api.Test;

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
}
