package dev.hourglass.tasks.segment;

import java.util.ArrayList;
import java.util.List;

/**
 * mIoU and pixel accuracy over a whole split, mmseg's and Segmenter's way: per class, intersections and unions are
 * summed over all images first, then IoU = intersection / union per class, and mIoU is the mean over the classes whose
 * union is not empty (present in the ground truth or in a prediction). Ground-truth values outside
 * {@code [0, classes)} (mmseg's ignore index 255, for one) are not counted, neither for IoU nor for accuracy.
 * Not thread-safe: one per tally.
 */
public final class SegmentationMetrics {
    private final int classes;
    private final long[] intersection;
    private final long[] predicted;
    private final long[] truth;
    private long correct;
    private long counted;
    private long ignored;

    public SegmentationMetrics(int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be at least 1, got " + classes);
        }
        this.classes = classes;
        intersection = new long[classes];
        predicted = new long[classes];
        truth = new long[classes];
    }

    /**
     * Adds one image: {@code truth[i]} and {@code prediction[i]} are the same pixel's classes.
     *
     * @throws IllegalArgumentException if the arrays differ in length or a prediction is not a class
     */
    public void add(int[] truthLabels, int[] prediction) {
        if (truthLabels.length != prediction.length) {
            throw new IllegalArgumentException("ground truth has " + truthLabels.length + " pixels, the prediction "
                    + prediction.length);
        }
        for (int i = 0; i < truthLabels.length; i++) {
            int t = truthLabels[i];
            int p = prediction[i];
            if (p < 0 || p >= classes) {
                throw new IllegalArgumentException("prediction " + p + " at pixel " + i + " is not one of "
                        + classes + " classes");
            }
            if (t < 0 || t >= classes) {
                ignored++;
                continue;
            }
            counted++;
            truth[t]++;
            predicted[p]++;
            if (t == p) {
                intersection[t]++;
                correct++;
            }
        }
    }

    /** Per class IoU; NaN for a class with an empty union (in neither ground truth nor prediction). */
    public double[] iou() {
        double[] out = new double[classes];
        for (int c = 0; c < classes; c++) {
            long union = truth[c] + predicted[c] - intersection[c];
            out[c] = union == 0 ? Double.NaN : (double) intersection[c] / union;
        }
        return out;
    }

    /** Mean IoU over the classes with a non-empty union; NaN if no pixel was counted. */
    public double meanIou() {
        double sum = 0;
        int n = 0;
        for (double v : iou()) {
            if (!Double.isNaN(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Correct pixels / counted pixels. */
    public double pixelAccuracy() {
        return counted == 0 ? Double.NaN : (double) correct / counted;
    }

    public long countedPixels() {
        return counted;
    }

    public long ignoredPixels() {
        return ignored;
    }

    /** Per class IoU as a list, with null for the classes left out of the mean. */
    public List<Double> iouList() {
        List<Double> out = new ArrayList<>(classes);
        for (double v : iou()) {
            out.add(Double.isNaN(v) ? null : Math.round(v * 1e6) / 1e6);
        }
        return out;
    }
}
