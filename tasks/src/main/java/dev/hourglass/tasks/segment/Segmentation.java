package dev.hourglass.tasks.segment;

import java.util.List;
import java.util.Objects;

/**
 * A semantic segmentation of one image.
 *
 * @param width        image width in pixels
 * @param height       image height in pixels
 * @param classNames   one name per class index
 * @param labels       the predicted class of each pixel, row-major ({@code width * height})
 * @param clusters     with Expedit and cluster pictures asked for: the cluster of each pixel (a window's clusters
 *                     numbered after the previous windows'; later windows drawn over earlier ones), else null
 * @param windows      how many windows were run
 * @param forwardNanos time spent in the windows' forward passes (encoder, clustering, decoder, reconstruction)
 * @param tokensAfterBlock the token count leaving each encoder block in a window (the same in every window), one
 *                     entry per block
 */
public record Segmentation(int width, int height, List<String> classNames, int[] labels, int[] clusters, int windows,
                           long forwardNanos, int[] tokensAfterBlock) {

    public Segmentation {
        Objects.requireNonNull(classNames, "classNames");
        Objects.requireNonNull(labels, "labels");
        if (labels.length != width * height || (clusters != null && clusters.length != labels.length)) {
            throw new IllegalArgumentException("maps must hold " + width + "x" + height + " pixels");
        }
        classNames = List.copyOf(classNames);
    }

    /** The share of the image's pixels given to each class, by class index. */
    public double[] classFractions() {
        double[] f = new double[classNames.size()];
        for (int l : labels) {
            f[l]++;
        }
        for (int i = 0; i < f.length; i++) {
            f[i] /= labels.length;
        }
        return f;
    }
}
