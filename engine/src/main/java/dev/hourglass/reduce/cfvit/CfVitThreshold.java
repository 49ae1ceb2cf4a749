package dev.hourglass.reduce.cfvit;

import java.util.List;
import java.util.Map;

import dev.hourglass.backend.Backend;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.SpecArguments;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.vit.VitConfig;

/**
 * {@code cfvit:threshold=T}: how a CF-ViT checkpoint runs ({@link CfVit}). CF-ViT is a two-stage model rather than a
 * reduction of another model's blocks, so this method names its setting for {@code --reduce} but makes no
 * {@link TokenReducer}: the classifier runs {@link CfVit#classify} with the threshold.
 *
 * @param threshold an image whose coarse maximum softmax probability reaches it stops at the coarse stage; 0 stops
 *                  every image there, 1 sends (practically) every image to the fine stage. CF-ViT's own default is
 *                  {@link #DEFAULT} (its {@code --threshold})
 */
public record CfVitThreshold(double threshold) implements ReductionMethod {
    /** CF-ViT's own default threshold ({@code dynamic_inference.py --threshold}). */
    public static final double DEFAULT = 0.5;
    private static final List<String> KEYS = List.of("threshold");

    public CfVitThreshold {
        if (!(threshold >= 0 && threshold <= 1)) {
            throw new IllegalArgumentException("cfvit: threshold must be in [0, 1], got " + threshold);
        }
    }

    /** Reads {@code "threshold=0.7"}; without it, {@link #DEFAULT}. */
    public static CfVitThreshold parse(String args) {
        SpecArguments a = new SpecArguments("cfvit", args, KEYS);
        return new CfVitThreshold(a.decimal("threshold", (float) DEFAULT));
    }

    @Override
    public String name() {
        return "cfvit";
    }

    @Override
    public Map<String, Object> settings() {
        // Parsed as a float (as PyTorch compares a float32 probability with it): shown as that float's shortest form.
        return Map.of("threshold", (float) threshold);
    }

    /**
     * Refuses every model it is asked about: a CF-ViT checkpoint never reaches this check (the classifier runs it as
     * its own two-stage model, {@link CfVit}), so the model here is one whose blocks cannot take it (a plain ViT, a
     * Segmenter's encoder), and {@link #newReducer} has nothing to make for it.
     */
    @Override
    public void check(VitConfig model, int gridHeight, int gridWidth) {
        throw new IllegalArgumentException("cfvit: runs only CF-ViT's own checkpoints (classify, families cfvit and"
                + " lvvit), not a reduction of another model's blocks; this model is a " + model.depth()
                + "-block ViT");
    }

    @Override
    public TokenReducer newReducer(Backend backend, VitConfig model) {
        throw new UnsupportedOperationException("cfvit: CF-ViT runs as its own two-stage model (CfVit.classify),"
                + " not as a reduction of another model's blocks; load a CF-ViT checkpoint");
    }

    @Override
    public String spec() {
        return "cfvit:threshold=" + (float) threshold;
    }

    @Override
    public String toString() {
        return spec();
    }
}
