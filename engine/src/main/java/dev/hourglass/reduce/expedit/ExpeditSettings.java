package dev.hourglass.reduce.expedit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.hourglass.backend.Backend;
import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.SpecArguments;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.vit.VitConfig;

/**
 * Expedit's hyperparameters (ALGORITHMS.md §1.5), named as {@code --reduce expedit:...} (and {@code --expedite}) takes them.
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
                              int k, float tauReconstruct) implements ReductionMethod {

    private static final List<String> KEYS = List.of("alpha", "grid", "iters", "window", "tau", "k", "tau_r");

    /** Expedit's shipped Segmenter ViT-L/16 ADE20K configuration: α=10, 28×28, κ=5, λ=5, τ=0.02, k=20, τ_r=0.02. */
    public static final ExpeditSettings SEGMENTER_ADE20K = new ExpeditSettings(10, 28, 28, 5, 5, 0.02f, 20, 0.02f);

    public ExpeditSettings {
        if (alpha < 1) {
            throw new IllegalArgumentException("expedit: alpha counts blocks from 1, got " + alpha);
        }
        if (k == 0) {
            throw new IllegalArgumentException("expedit: k must be at least 1 (or negative for all clusters), got 0");
        }
        if (!(tauReconstruct > 0f) || Float.isInfinite(tauReconstruct)) {
            throw new IllegalArgumentException("expedit: tau_r must be positive and finite, got " + tauReconstruct);
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
        SpecArguments a = new SpecArguments("expedit", spec, KEYS);
        int h = d.clustersHigh;
        int w = d.clustersWide;
        String grid = a.get("grid");
        if (grid != null) {
            String[] hw = grid.toLowerCase(Locale.ROOT).split("x", -1);
            if (hw.length > 2) {
                throw new IllegalArgumentException("expedit: grid '" + grid + "' is not HxW");
            }
            h = gridSide(hw[0], grid);
            w = hw.length == 2 ? gridSide(hw[1], grid) : h;
        }
        return new ExpeditSettings(a.integer("alpha", d.alpha), h, w, a.integer("iters", d.iterations),
                a.integer("window", d.window), a.decimal("tau", d.tau), a.integer("k", d.k),
                a.decimal("tau_r", d.tauReconstruct));
    }

    private static int gridSide(String side, String grid) {
        try {
            return Integer.parseInt(side.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expedit: grid=" + grid + " is not HxW with integers");
        }
    }

    @Override
    public String name() {
        return "expedit";
    }

    @Override
    public Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alpha", alpha);
        m.put("grid", clustersHigh + "x" + clustersWide);
        m.put("iters", iterations);
        m.put("window", window);
        m.put("tau", tau);
        m.put("k", k);
        m.put("tau_r", tauReconstruct);
        return m;
    }

    @Override
    public void check(VitConfig model, int gridHeight, int gridWidth) {
        if (alpha > model.depth()) {
            throw new IllegalArgumentException("expedit: alpha=" + alpha + " is beyond the encoder's " + model.depth()
                    + " blocks; the clustering would never run");
        }
        if (clustersHigh > gridHeight || clustersWide > gridWidth || clusters() >= gridHeight * gridWidth) {
            throw new IllegalArgumentException("expedit: grid=" + clustersHigh + "x" + clustersWide + " is not"
                    + " smaller than the " + gridHeight + "x" + gridWidth + " token grid; nothing would be saved");
        }
    }

    /** A pass for one call; it keeps no hard labels (pictures need {@link ExpeditPass}'s {@code keepLabels}). */
    @Override
    public TokenReducer newReducer(Backend backend, VitConfig model) {
        return new ExpeditPass(backend, this, false);
    }

    @Override
    public String spec() {
        return "expedit:" + this;
    }

    /** The settings in the form {@link #parse} reads. */
    @Override
    public String toString() {
        return "alpha=" + alpha + ",grid=" + clustersHigh + "x" + clustersWide + ",iters=" + iterations + ",window="
                + window + ",tau=" + tau + ",k=" + k + ",tau_r=" + tauReconstruct;
    }
}
