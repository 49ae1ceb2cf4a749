package dev.hourglass.model;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.cfvit.CfVitSettings;
import dev.hourglass.vit.VitConfig;

/**
 * Everything about a model besides its tensors, as an Hourglass model file stores it ({@link ModelFormat}):
 *
 * <pre>{@code
 * {
 *   "format_version": 1,
 *   "family": "vit" | "deit" | "segmenter" | "dpt" | "cfvit" | "lvvit",
 *   "encoder": { "image_size": [H, W], "patch_size", "in_channels", "embed_dim", "depth", "num_heads",
 *                "mlp_hidden", "qkv_bias", "class_token", "distilled", "num_classes", "norm_eps",
 *                "pos_embed_interpolation": "bicubic" | "bilinear", "pos_embed_antialias" },
 *   "preprocessing": { timm's pretrained_cfg keys: "input_size", "interpolation", "crop_pct", "crop_mode",
 *                      "mean", "std" },
 *   "labels": [ class names ],                  (optional)
 *   "decoder": { the family's settings },       (segmenter, dpt, cfvit, lvvit: see {@link DecoderConfig})
 *   "source": { where it was converted from }, (optional)
 *   "inferred": [ what was not in the source but inferred or defaulted ]
 * }
 * }</pre>
 *
 * <p>Immutable (the JSON parts are copied in and out), so safe to share between threads.
 *
 * @param family        model family; decides which heads and decoders the tensors hold and which {@link
 *                      DecoderConfig} {@code decoder} is
 * @param encoder       the ViT encoder (for every family, the transformer part)
 * @param preprocessing how images are prepared, with timm's {@code pretrained_cfg} key names
 * @param labels        class names, or empty
 * @param decoder       the family's settings ({@link SegmenterDecoderConfig}, {@link DptConfig},
 *                      {@link CfVitSettings}), or null for ViT and DeiT; null also in a conversion that could not infer them (it lists
 *                      why), never in a configuration read from a file
 * @param source        where the model came from, or an empty object
 * @param inferred      what the converter inferred rather than read, in words
 */
public record ModelConfig(ModelFamily family, VitConfig encoder, ObjectNode preprocessing, List<String> labels,
                          DecoderConfig decoder, ObjectNode source, List<String> inferred) {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    public ModelConfig {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(encoder, "encoder");
        preprocessing = preprocessing == null ? NODES.objectNode() : preprocessing.deepCopy();
        labels = labels == null ? List.of() : List.copyOf(labels);
        if (decoder != null && !decoderType(family).isInstance(decoder)) {
            throw new IllegalArgumentException("a " + family + " model's decoder settings cannot be a "
                    + decoder.getClass().getSimpleName());
        }
        source = source == null ? NODES.objectNode() : source.deepCopy();
        inferred = inferred == null ? List.of() : List.copyOf(inferred);
    }

    /** A copy, so that callers cannot change this record's JSON parts. */
    @Override
    public ObjectNode preprocessing() {
        return preprocessing.deepCopy();
    }

    /**
     * The family's decoder settings as the type the family has ({@code config.decoder(SegmenterDecoderConfig.class)}).
     *
     * @throws IllegalStateException if this configuration has none of that type (another family, or a conversion
     *     that could not infer them)
     */
    public <T extends DecoderConfig> T decoder(Class<T> type) {
        if (!type.isInstance(decoder)) {
            throw new IllegalStateException("this " + family + " model has no " + type.getSimpleName());
        }
        return type.cast(decoder);
    }

    /**
     * The classes the model predicts: a dense decoder's own (Segmenter's {@code n_cls}, a DPT segmentation head's),
     * else the encoder's head's ({@code 0} without one). Segmenter keeps an unused ImageNet head on its encoder.
     */
    public int classes() {
        return switch (decoder) {
            case SegmenterDecoderConfig s -> s.classes();
            case DptConfig d when d.head() == DptConfig.Head.SEGMENTATION -> d.classes();
            case null, default -> encoder.numClasses();
        };
    }

    /** The settings class a family's {@code decoder} object is read into, or {@link Void} for none. */
    private static Class<?> decoderType(ModelFamily family) {
        return switch (family) {
            case VIT, DEIT -> Void.class;
            case SEGMENTER -> SegmenterDecoderConfig.class;
            case DPT -> DptConfig.class;
            case CFVIT, LVVIT -> CfVitSettings.class;
        };
    }

    /** Reads a family's {@code decoder} object with its settings' own reader; null for a family without one. */
    private static DecoderConfig decoderFromJson(ModelFamily family, JsonNode node, VitConfig encoder, String where)
            throws IOException {
        DecoderConfig d = switch (family) {
            case VIT, DEIT -> null;
            case SEGMENTER -> SegmenterDecoderConfig.fromJson(node, where);
            case DPT -> DptConfig.fromJson(node, where);
            case CFVIT -> CfVitSettings.fromJson(node, false, where);
            case LVVIT -> CfVitSettings.fromJson(node, true, where);
        };
        if (d instanceof DptConfig dpt) {
            int[] hooks = dpt.hooks();
            for (int i = 0; i < hooks.length; i++) {
                if (hooks[i] >= encoder.depth()) {
                    throw new IOException(where + ".hooks[" + i + "] must be a block of the encoder's "
                            + encoder.depth() + ", got " + hooks[i]);
                }
            }
        }
        return d;
    }

    @Override
    public ObjectNode source() {
        return source.deepCopy();
    }

    public ObjectNode toJson() {
        ObjectNode root = NODES.objectNode();
        root.put("format_version", ModelFormat.VERSION);
        root.put("family", family.jsonName());
        root.set("encoder", encoderJson(encoder));
        root.set("preprocessing", preprocessing.deepCopy());
        if (!labels.isEmpty()) {
            ArrayNode l = root.putArray("labels");
            labels.forEach(l::add);
        }
        if (decoder != null) {
            root.set("decoder", decoder.toJson());
        }
        if (!source.isEmpty()) {
            root.set("source", source.deepCopy());
        }
        ArrayNode inf = root.putArray("inferred");
        inferred.forEach(inf::add);
        return root;
    }

    /**
     * Reads a configuration written by {@link #toJson()}.
     *
     * @param where names the file and field in error messages
     */
    public static ModelConfig fromJson(ObjectNode root, String where) throws IOException {
        JsonNode version = root.get("format_version");
        if (version == null || !version.canConvertToInt()) {
            throw new IOException(where + ": format_version is missing or not an integer");
        }
        if (version.asInt() > ModelFormat.VERSION) {
            throw new IOException(where + ": format_version " + version.asInt() + " is newer than this Hourglass"
                    + " reads (" + ModelFormat.VERSION + "); update Hourglass or convert the model again");
        }
        ModelFamily family = ModelFamily.parse(text(root, "family", where), where + ": family");
        VitConfig encoder = encoderFromJson(object(root, "encoder", where), where + ": encoder");
        JsonNode decoderNode = root.get("decoder");
        boolean hasDecoder = decoderNode != null && !decoderNode.isNull() && !decoderNode.isEmpty();
        if (hasDecoder && decoderType(family) == Void.class) {
            throw new IOException(where + ": decoder must be absent for a " + family + " model, got " + decoderNode);
        }
        DecoderConfig decoder = decoderFromJson(family, decoderNode, encoder, where + ": decoder");
        List<String> labels = new ArrayList<>();
        JsonNode l = root.get("labels");
        if (l != null) {
            if (!l.isArray()) {
                throw new IOException(where + ": labels is not an array");
            }
            l.forEach(n -> labels.add(n.asText()));
            int classes = new ModelConfig(family, encoder, null, null, decoder, null, null).classes();
            if (classes > 0 && labels.size() != classes) {
                throw new IOException(where + ": labels has " + labels.size() + " names for " + classes
                        + " classes");
            }
        }
        List<String> inferred = new ArrayList<>();
        JsonNode inf = root.get("inferred");
        if (inf != null && inf.isArray()) {
            inf.forEach(n -> inferred.add(n.asText()));
        }
        return new ModelConfig(family, encoder, optionalObject(root, "preprocessing", where), labels,
                decoder, optionalObject(root, "source", where), inferred);
    }

    /** The encoder as JSON. */
    public static ObjectNode encoderJson(VitConfig c) {
        ObjectNode e = NODES.objectNode();
        e.putArray("image_size").add(c.imageHeight()).add(c.imageWidth());
        e.put("patch_size", c.patchSize());
        e.put("in_channels", c.inChannels());
        e.put("embed_dim", c.embedDim());
        e.put("depth", c.depth());
        e.put("num_heads", c.numHeads());
        e.put("mlp_hidden", c.mlpHidden());
        e.put("qkv_bias", c.qkvBias());
        e.put("class_token", c.classToken());
        e.put("distilled", c.distilled());
        e.put("num_classes", c.numClasses());
        // Written as a double so that the JSON shows the float's shortest decimal (1e-6, not 9.999999974752427E-7).
        e.put("norm_eps", Double.parseDouble(Float.toString(c.normEps())));
        e.put("pos_embed_interpolation", c.posEmbedResize().name().toLowerCase(java.util.Locale.ROOT));
        e.put("pos_embed_antialias", c.posEmbedAntialias());
        return e;
    }

    /** Reads {@link #encoderJson}'s layout; errors name the field and the value. */
    public static VitConfig encoderFromJson(JsonNode e, String where) throws IOException {
        JsonNode size = e.get("image_size");
        if (size == null || !size.isArray() || size.size() != 2) {
            throw new IOException(where + ": image_size must be [height, width], got " + size);
        }
        try {
            return new VitConfig(integer(size.get(0), where + ".image_size[0]"),
                    integer(size.get(1), where + ".image_size[1]"),
                    integer(e.get("patch_size"), where + ".patch_size"),
                    integer(e.get("in_channels"), where + ".in_channels"),
                    integer(e.get("embed_dim"), where + ".embed_dim"),
                    integer(e.get("depth"), where + ".depth"),
                    integer(e.get("num_heads"), where + ".num_heads"),
                    integer(e.get("mlp_hidden"), where + ".mlp_hidden"),
                    bool(e.get("qkv_bias"), where + ".qkv_bias"),
                    bool(e.get("class_token"), where + ".class_token"),
                    bool(e.get("distilled"), where + ".distilled"),
                    integer(e.get("num_classes"), where + ".num_classes"),
                    (float) number(e.get("norm_eps"), where + ".norm_eps"),
                    Resize.Mode.parse(text(e, "pos_embed_interpolation", where)),
                    bool(e.get("pos_embed_antialias"), where + ".pos_embed_antialias"));
        } catch (IllegalArgumentException ex) {
            throw new IOException(where + ": " + ex.getMessage(), ex);
        }
    }

    private static int integer(JsonNode n, String where) throws IOException {
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new IOException(where + " must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static double number(JsonNode n, String where) throws IOException {
        if (n == null || !n.isNumber()) {
            throw new IOException(where + " must be a number, got " + n);
        }
        return n.asDouble();
    }

    private static boolean bool(JsonNode n, String where) throws IOException {
        if (n == null || !n.isBoolean()) {
            throw new IOException(where + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    private static String text(JsonNode node, String field, String where) throws IOException {
        JsonNode n = node.get(field);
        if (n == null || !n.isTextual()) {
            throw new IOException(where + ": " + field + " must be a string, got " + n);
        }
        return n.asText();
    }

    private static ObjectNode object(JsonNode node, String field, String where) throws IOException {
        JsonNode n = node.get(field);
        if (!(n instanceof ObjectNode o)) {
            throw new IOException(where + ": " + field + " must be an object, got " + n);
        }
        return o;
    }

    private static ObjectNode optionalObject(JsonNode node, String field, String where) throws IOException {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!(n instanceof ObjectNode o)) {
            throw new IOException(where + ": " + field + " must be an object, got " + n);
        }
        return o;
    }
}
