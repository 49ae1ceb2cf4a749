package dev.hourglass.dpt;

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
}
