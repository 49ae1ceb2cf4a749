package dev.hourglass.dpt;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.hourglass.model.DptConfig;
import dev.hourglass.tensor.Shape;

/**
 * The canonical tensor names of DPT's neck and head: the original isl-org/DPT names under {@code dpt.} (the converter
 * maps Hugging Face's onto them); the encoder has timm's names. The one place these names are written.
 */
final class DptNames {
    private DptNames() {
    }

    /** Tap {@code k}'s readout, projection and resize: {@code dpt.act_postprocessK} (.0 readout, .3 1x1, .4 resize). */
    static String postprocess(int k) {
        return "dpt.act_postprocess" + k;
    }

    /** Tap {@code k}'s 3x3 convolution to the fusion width. */
    static String layerRn(int k) {
        return "dpt.scratch.layer" + k + "_rn";
    }

    /** Fusion block {@code k} (refinenet4 takes the deepest tap, refinenet1 gives the head its input). */
    static String refinenet(int k) {
        return "dpt.scratch.refinenet" + k;
    }

    /** The depth head: {@code .0} conv 3x3, (upsample), {@code .2} conv 3x3 to 32, ReLU, {@code .4} conv 1x1, ReLU. */
    static final String HEAD = "dpt.scratch.output_conv";

    /**
     * Every tensor of the neck and depth head that {@link DptModel} reads, with its shape, for an encoder of width
     * {@code dim}: the weights a checkpoint must hold beside the encoder's (refinenet4's unused first unit left out;
     * a hybrid's ResNet stem is the encoder's, see {@code ResNetNames}).
     */
    static Map<String, Shape> shapes(int dim, DptConfig config) {
        Map<String, Shape> s = new LinkedHashMap<>();
        int fusion = config.fusionFeatures();
        for (int k = 1; k <= DptConfig.STAGES; k++) {
            int f = config.features()[k - 1];
            if (config.backbone() == DptConfig.Backbone.HYBRID && k <= 2) {
                // DPT-Hybrid's first two taps are ResNet stages: act_postprocess1/2 are identities.
                s.put(layerRn(k) + ".weight", Shape.of(fusion, f, 3, 3));
                continue;
            }
            double factor = config.reassembleFactors()[k - 1];
            String base = postprocess(k);
            if (config.readout() == DptConfig.Readout.PROJECT) {
                s.put(base + ".0.project.0.weight", Shape.of(dim, 2L * dim));
                s.put(base + ".0.project.0.bias", Shape.of(dim));
            }
            s.put(base + ".3.weight", Shape.of(f, dim, 1, 1));
            s.put(base + ".3.bias", Shape.of(f));
            if (factor > 1) {
                s.put(base + ".4.weight", Shape.of(f, f, (long) factor, (long) factor));
                s.put(base + ".4.bias", Shape.of(f));
            } else if (factor < 1) {
                s.put(base + ".4.weight", Shape.of(f, f, 3, 3));
                s.put(base + ".4.bias", Shape.of(f));
            }
            s.put(layerRn(k) + ".weight", Shape.of(fusion, f, 3, 3));
        }
        for (int k = DptConfig.STAGES; k >= 1; k--) {
            String base = refinenet(k);
            for (int unit = k == DptConfig.STAGES ? 2 : 1; unit <= 2; unit++) {
                for (int conv = 1; conv <= 2; conv++) {
                    s.put(base + ".resConfUnit" + unit + ".conv" + conv + ".weight", Shape.of(fusion, fusion, 3, 3));
                    s.put(base + ".resConfUnit" + unit + ".conv" + conv + ".bias", Shape.of(fusion));
                }
            }
            s.put(base + ".out_conv.weight", Shape.of(fusion, fusion, 1, 1));
            s.put(base + ".out_conv.bias", Shape.of(fusion));
        }
        s.put(HEAD + ".0.weight", Shape.of(fusion / 2, fusion, 3, 3));
        s.put(HEAD + ".0.bias", Shape.of(fusion / 2));
        s.put(HEAD + ".2.weight", Shape.of(DepthHead.HIDDEN, fusion / 2, 3, 3));
        s.put(HEAD + ".2.bias", Shape.of(DepthHead.HIDDEN));
        s.put(HEAD + ".4.weight", Shape.of(1, DepthHead.HIDDEN, 1, 1));
        s.put(HEAD + ".4.bias", Shape.of(1));
        return s;
    }
}
