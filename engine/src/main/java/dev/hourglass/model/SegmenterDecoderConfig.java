package dev.hourglass.model;

import java.io.IOException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A Segmenter's decoder and sliding windows (Strudel et al., 2021, rstrudel/segmenter): the model file's
 * {@code decoder} object for family {@code segmenter}.
 *
 * <pre>{@code
 * { "type": "mask_transformer" | "linear", "n_cls": 150,
 *   "n_layers": 2, "d_model": 768, "num_heads": 12, "mlp_hidden": 3072, "norm_eps": 1e-5,   (mask_transformer only)
 *   "window_size": 640, "window_stride": 512,
 *   "image_size": 640 }                   (optional: Segmenter's inference_kwargs.im_size, the short side it scales to)
 * }</pre>
 *
 * <p>{@link #toJson()} and {@link #fromJson} are the only code that writes and reads this object. Immutable, so safe
 * to share between threads.
 *
 * @param classes         the classes the decoder scores ({@code n_cls})
 * @param windowSize      the sliding window's side in pixels
 * @param windowStride    the step between windows
 * @param maskTransformer the mask transformer's settings, or null for the linear decoder
 * @param inferenceSize   Segmenter's inference image size ({@code image_size}), or 0 when the checkpoint gives none
 */
public record SegmenterDecoderConfig(int classes, int windowSize, int windowStride, MaskTransformer maskTransformer,
                                     int inferenceSize) implements DecoderConfig {

    /** The JSON {@code type} of the linear decoder. */
    public static final String LINEAR = "linear";
    /** The JSON {@code type} of the mask transformer. */
    public static final String MASK_TRANSFORMER = "mask_transformer";

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /**
     * The mask transformer's settings.
     *
     * @param layers    transformer blocks ({@code n_layers}; 0 is allowed: the projections and products only)
     * @param width     the blocks' width ({@code d_model})
     * @param heads     attention heads ({@code num_heads}), dividing the width
     * @param mlpHidden the blocks' MLP hidden width
     * @param normEps   the decoder's LayerNorm epsilon (Segmenter's is 1e-5 whatever the encoder's)
     */
    public record MaskTransformer(int layers, int width, int heads, int mlpHidden, float normEps) {
        /** @throws IllegalArgumentException naming the setting out of range */
        public MaskTransformer {
            if (layers < 0 || width < 1 || heads < 1 || mlpHidden < 1) {
                throw new IllegalArgumentException("segmenter decoder: n_layers " + layers + ", d_model " + width
                        + ", num_heads " + heads + ", mlp_hidden " + mlpHidden + " must be positive (n_layers at"
                        + " least 0)");
            }
            if (width % heads != 0) {
                throw new IllegalArgumentException("segmenter decoder: d_model " + width + " is not a multiple of"
                        + " num_heads " + heads);
            }
            if (!(normEps > 0) || Float.isInfinite(normEps)) {
                throw new IllegalArgumentException("segmenter decoder: norm_eps must be positive, got " + normEps);
            }
        }
    }

    /** @throws IllegalArgumentException naming the setting out of range */
    public SegmenterDecoderConfig {
        if (classes < 1 || windowSize < 1 || windowStride < 1 || inferenceSize < 0) {
            throw new IllegalArgumentException("segmenter decoder: n_cls " + classes + ", window_size " + windowSize
                    + ", window_stride " + windowStride + " must be positive (image_size " + inferenceSize
                    + " at least 0)");
        }
    }

    /** Whether this is the linear decoder (a per-patch linear layer). */
    public boolean linear() {
        return maskTransformer == null;
    }

    /** The JSON {@code type}: {@value #MASK_TRANSFORMER} or {@value #LINEAR}. */
    public String type() {
        return linear() ? LINEAR : MASK_TRANSFORMER;
    }

    /** The decoder in words: {@code linear decoder} or {@code mask-transformer decoder (2 blocks, width 192)}. */
    public String describe() {
        return linear() ? "linear decoder" : "mask-transformer decoder (" + maskTransformer.layers() + " blocks, width "
                + maskTransformer.width() + ")";
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode d = NODES.objectNode();
        d.put("type", type());
        d.put("n_cls", classes);
        if (maskTransformer != null) {
            d.put("n_layers", maskTransformer.layers());
            d.put("d_model", maskTransformer.width());
            d.put("num_heads", maskTransformer.heads());
            d.put("mlp_hidden", maskTransformer.mlpHidden());
            // The float's exact value as a double, as the converter has always written it (9.999999747378752E-6).
            d.put("norm_eps", (double) maskTransformer.normEps());
        }
        d.put("window_size", windowSize);
        d.put("window_stride", windowStride);
        if (inferenceSize > 0) {
            d.put("image_size", inferenceSize);
        }
        return d;
    }

    /**
     * Reads {@link #toJson()}'s object; a missing or malformed field is an error naming it.
     *
     * @param where the file and object, e.g. {@code "seg.safetensors: hourglass.config: decoder"}
     * @throws IOException {@code where.field must be ..., got value}
     */
    public static SegmenterDecoderConfig fromJson(JsonNode node, String where) throws IOException {
        if (node == null || !node.isObject()) {
            throw new IOException(where + " must be Segmenter's decoder settings (type, n_cls, window_size, ...),"
                    + " got " + node);
        }
        JsonNode type = node.get("type");
        boolean linear = type != null && LINEAR.equals(type.asText());
        if (!linear && (type == null || !MASK_TRANSFORMER.equals(type.asText()))) {
            throw new IOException(where + ".type " + type + " is not one Segmenter has (" + MASK_TRANSFORMER + ", "
                    + LINEAR + ")");
        }
        int classes = ConfigFields.positive(node, "n_cls", where);
        int window = ConfigFields.positive(node, "window_size", where);
        int stride = ConfigFields.positive(node, "window_stride", where);
        MaskTransformer mask = null;
        if (!linear) {
            int layers = ConfigFields.count(node, "n_layers", 0, where);
            int width = ConfigFields.positive(node, "d_model", where);
            int heads = ConfigFields.positive(node, "num_heads", where);
            int hidden = ConfigFields.positive(node, "mlp_hidden", where);
            float eps = (float) ConfigFields.positiveNumber(node, "norm_eps", where);
            if (width % heads != 0) {
                throw new IOException(where + ".num_heads " + heads + " does not divide d_model " + width);
            }
            mask = new MaskTransformer(layers, width, heads, hidden, eps);
        }
        int inference = node.has("image_size") ? ConfigFields.positive(node, "image_size", where) : 0;
        return new SegmenterDecoderConfig(classes, window, stride, mask, inference);
    }
}
