package dev.hourglass.ops;

/**
 * Settings of Expedit's token clustering layer for one call (ALGORITHMS.md §1.2).
 *
 * @param clustersHigh rows of the cluster grid ({@code h})
 * @param clustersWide columns of the cluster grid ({@code w})
 * @param iterations   rounds of soft k-means after the average-pooling start ({@code n_iters}, κ); 0 keeps the
 *                     pooled centres
 * @param window       side of the square neighbourhood of cells a token may join, odd ({@code window_size}, λ)
 * @param temperature  factor on the negative squared distance before the softmax ({@code temperture}, τ)
 */
public record ClusteringParameters(int clustersHigh, int clustersWide, int iterations, int window, float temperature) {

    /**
     * The smallest temperature accepted. The original masks cells outside the window by adding 1e16 to their
     * distance before multiplying by τ, and relies on {@code exp} of that logit being exactly zero; the kernels skip
     * those cells outright, which is the same only while τ·1e16 is far beyond float32's {@code exp} underflow (~104).
     * 1e-12 leaves a margin of 1e4 even for distances of 1e15.
     */
    public static final float MIN_TEMPERATURE = 1e-12f;

    public ClusteringParameters {
        if (clustersHigh < 1 || clustersWide < 1) {
            throw new IllegalArgumentException("the cluster grid must be at least 1x1, got " + clustersHigh + "x"
                    + clustersWide);
        }
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations must be 0 or more, got " + iterations);
        }
        if (window < 1 || window % 2 == 0) {
            throw new IllegalArgumentException("the clustering window must be a positive odd number, got " + window);
        }
        if (!(temperature >= MIN_TEMPERATURE) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("the clustering temperature must be finite and at least "
                    + MIN_TEMPERATURE + ", got " + temperature);
        }
    }

    /** Clusters per image: {@code clustersHigh * clustersWide}. */
    public int clusters() {
        return clustersHigh * clustersWide;
    }
}
