package dev.hourglass.expedit;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import dev.hourglass.kernels.ClusteringParameters;

/**
 * Expedit's hyperparameters (ALGORITHMS.md §1.5), named as {@code --expedite} takes them.
 *
 * @param alpha          the block after which tokens are clustered, counted from 1 as the paper does:
 *                       {@code alpha=10} clusters the output of the 10th block (Expedit's {@code cluster_location} 9)
 * @param clustersHigh   rows of the cluster grid
 * @param clustersWide   columns of the cluster grid
 * @param iterations     clustering rounds (κ, {@code n_iters})
 * @param window         clustering window in cells, odd (λ, {@code window_size})
 * @param tau            clustering temperature (τ, {@code temperture})
 * @param k              weights kept per token by the reconstruction; negative keeps all
 * @param tauReconstruct reconstruction temperature
 */
public record ExpeditSettings(int alpha, int clustersHigh, int clustersWide, int iterations, int window, float tau,
                              int k, float tauReconstruct) {

    /** Expedit's shipped Segmenter ViT-L/16 ADE20K configuration: α=10, 28×28, κ=5, λ=5, τ=0.02, k=20, τ_r=0.02. */
    public static final ExpeditSettings SEGMENTER_ADE20K = new ExpeditSettings(10, 28, 28, 5, 5, 0.02f, 20, 0.02f);

    public ExpeditSettings {
        if (alpha < 1) {
            throw new IllegalArgumentException("expedite: alpha counts blocks from 1, got " + alpha);
        }
        if (k == 0) {
            throw new IllegalArgumentException("expedite: k must be at least 1 (or negative for all clusters), got 0");
        }
        if (!(tauReconstruct > 0f) || Float.isInfinite(tauReconstruct)) {
            throw new IllegalArgumentException("expedite: tau_r must be positive and finite, got " + tauReconstruct);
        }
        new ClusteringParameters(clustersHigh, clustersWide, iterations, window, tau);
    }

    /** The clustering layer's part of these settings. */
    public ClusteringParameters clustering() {
        return new ClusteringParameters(clustersHigh, clustersWide, iterations, window, tau);
    }

    /** Clusters per image. */
    public int clusters() {
        return clustersHigh * clustersWide;
    }

    /** The 0-based index of the block whose output is clustered. */
    public int blockIndex() {
        return alpha - 1;
    }

    /**
     * Reads {@code "alpha=10,grid=28x28,iters=5,window=5,tau=0.02,k=20,tau_r=0.02"}; keys left out keep
     * {@link #SEGMENTER_ADE20K}'s values, and an empty string is exactly those. {@code grid=28} means 28x28.
     *
     * @throws IllegalArgumentException naming the key and value that cannot be used
     */
    public static ExpeditSettings parse(String spec) {
        ExpeditSettings d = SEGMENTER_ADE20K;
        Map<String, String> values = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            String item = part.strip();
            if (item.isEmpty()) {
                continue;
            }
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expedite: '" + item + "' is not key=value");
            }
            String key = item.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            if (values.put(key, item.substring(eq + 1).strip()) != null) {
                throw new IllegalArgumentException("expedite: " + key + " is given twice");
            }
        }
        int alpha = d.alpha;
        int h = d.clustersHigh;
        int w = d.clustersWide;
        int iters = d.iterations;
        int window = d.window;
        float tau = d.tau;
        int k = d.k;
        float tauR = d.tauReconstruct;
        for (Map.Entry<String, String> e : values.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "alpha" -> alpha = integer(e.getKey(), v);
                case "grid" -> {
                    String[] hw = v.toLowerCase(Locale.ROOT).split("x", -1);
                    if (hw.length > 2) {
                        throw new IllegalArgumentException("expedite: grid '" + v + "' is not HxW");
                    }
                    h = integer("grid", hw[0]);
                    w = hw.length == 2 ? integer("grid", hw[1]) : h;
                }
                case "iters" -> iters = integer(e.getKey(), v);
                case "window" -> window = integer(e.getKey(), v);
                case "tau" -> tau = decimal(e.getKey(), v);
                case "k" -> k = integer(e.getKey(), v);
                case "tau_r" -> tauR = decimal(e.getKey(), v);
                default -> throw new IllegalArgumentException("expedite: unknown key '" + e.getKey()
                        + "'; known: alpha, grid, iters, window, tau, k, tau_r");
            }
        }
        return new ExpeditSettings(alpha, h, w, iters, window, tau, k, tauR);
    }

    private static int integer(String key, String value) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expedite: " + key + "=" + value + " is not an integer");
        }
    }

    private static float decimal(String key, String value) {
        try {
            return Float.parseFloat(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expedite: " + key + "=" + value + " is not a number");
        }
    }

    /** The settings in the form {@link #parse} reads. */
    @Override
    public String toString() {
        return "alpha=" + alpha + ",grid=" + clustersHigh + "x" + clustersWide + ",iters=" + iterations + ",window="
                + window + ",tau=" + tau + ",k=" + k + ",tau_r=" + tauReconstruct;
    }
}
