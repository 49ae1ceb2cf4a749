package dev.hourglass.segmenter;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.tensor.Shape;

/**
 * The canonical names and shapes of a Segmenter decoder's tensors: Segmenter's own names under {@value #PREFIX}. The
 * decoders load these names and the converter checks a checkpoint against {@link #expectedShapes}: the one place they
 * are written. Stateless.
 */
public final class SegmenterDecoderTensors {
    /** Every decoder tensor's name starts with it. */
    public static final String PREFIX = "decoder.";
    /** The linear decoder's layer ({@code [classes, encoder width]}); its presence tells the linear decoder. */
    public static final String HEAD_WEIGHT = PREFIX + "head.weight";
    static final String HEAD_BIAS = PREFIX + "head.bias";
    /** The mask transformer's class embeddings {@code [1, classes, d_model]}. */
    public static final String CLASS_EMBEDDINGS = PREFIX + "cls_emb";
    /** The mask transformer's input projection {@code [d_model, encoder width]}. */
    public static final String PROJ_DEC_WEIGHT = PREFIX + "proj_dec.weight";
    static final String PROJ_DEC_BIAS = PREFIX + "proj_dec.bias";
    static final String NORM_WEIGHT = PREFIX + "decoder_norm.weight";
    static final String NORM_BIAS = PREFIX + "decoder_norm.bias";
    static final String PROJ_PATCH = PREFIX + "proj_patch";
    static final String PROJ_CLASSES = PREFIX + "proj_classes";
    static final String MASK_NORM_WEIGHT = PREFIX + "mask_norm.weight";
    static final String MASK_NORM_BIAS = PREFIX + "mask_norm.bias";

    private SegmenterDecoderTensors() {
    }

    /** The prefix of the mask transformer's block {@code i} (timm's block names follow it: {@code norm1.weight}). */
    public static String block(int i) {
        return PREFIX + "blocks." + i + ".";
    }

    /** Every tensor of the decoder {@code config} describes on an encoder of width {@code encoderDim}. */
    public static Map<String, Shape> expectedShapes(SegmenterDecoderConfig config, int encoderDim) {
        Map<String, Shape> m = new LinkedHashMap<>();
        long classes = config.classes();
        long e = encoderDim;
        SegmenterDecoderConfig.MaskTransformer mask = config.maskTransformer();
        if (mask == null) {
            m.put(HEAD_WEIGHT, Shape.of(classes, e));
            m.put(HEAD_BIAS, Shape.of(classes));
            return m;
        }
        long d = mask.width();
        long hidden = mask.mlpHidden();
        m.put(CLASS_EMBEDDINGS, Shape.of(1L, classes, d));
        m.put(PROJ_DEC_WEIGHT, Shape.of(d, e));
        m.put(PROJ_DEC_BIAS, Shape.of(d));
        for (int i = 0; i < mask.layers(); i++) {
            // A pre-LN block with timm's names, in timm's order (as TransformerBlock loads it).
            String b = block(i);
            m.put(b + "norm1.weight", Shape.of(d));
            m.put(b + "norm1.bias", Shape.of(d));
            m.put(b + "attn.qkv.weight", Shape.of(3 * d, d));
            m.put(b + "attn.qkv.bias", Shape.of(3 * d));
            m.put(b + "attn.proj.weight", Shape.of(d, d));
            m.put(b + "attn.proj.bias", Shape.of(d));
            m.put(b + "norm2.weight", Shape.of(d));
            m.put(b + "norm2.bias", Shape.of(d));
            m.put(b + "mlp.fc1.weight", Shape.of(hidden, d));
            m.put(b + "mlp.fc1.bias", Shape.of(hidden));
            m.put(b + "mlp.fc2.weight", Shape.of(d, hidden));
            m.put(b + "mlp.fc2.bias", Shape.of(d));
        }
        m.put(NORM_WEIGHT, Shape.of(d));
        m.put(NORM_BIAS, Shape.of(d));
        m.put(PROJ_PATCH, Shape.of(d, d));
        m.put(PROJ_CLASSES, Shape.of(d, d));
        m.put(MASK_NORM_WEIGHT, Shape.of(classes));
        m.put(MASK_NORM_BIAS, Shape.of(classes));
        return m;
    }
}
