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
 *   "decoder": { family-specific settings },    (optional)
 *   "source": { where it was converted from }, (optional)
 *   "inferred": [ what was not in the source but inferred or defaulted ]
 * }
 * }</pre>
 *
 * @param family        model family; decides which heads and decoders the tensors hold
 * @param encoder       the ViT encoder (for every family, the transformer part)
 * @param preprocessing how images are prepared, with timm's {@code pretrained_cfg} key names
 * @param labels        class names, or empty
 * @param decoder       family-specific settings, or an empty object
 * @param source        where the model came from, or an empty object
 * @param inferred      what the converter inferred rather than read, in words
 */
public record ModelConfig(String family, VitConfig encoder, ObjectNode preprocessing, List<String> labels,
                          ObjectNode decoder, ObjectNode source, List<String> inferred) {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    public ModelConfig {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(encoder, "encoder");
        preprocessing = preprocessing == null ? NODES.objectNode() : preprocessing.deepCopy();
        labels = labels == null ? List.of() : List.copyOf(labels);
        decoder = decoder == null ? NODES.objectNode() : decoder.deepCopy();
        source = source == null ? NODES.objectNode() : source.deepCopy();
        inferred = inferred == null ? List.of() : List.copyOf(inferred);
    }

    /** A copy, so that callers cannot change this record's JSON parts. */
    @Override
    public ObjectNode preprocessing() {
        return preprocessing.deepCopy();
    }

    @Override
    public ObjectNode decoder() {
        return decoder.deepCopy();
    }

    @Override
    public ObjectNode source() {
        return source.deepCopy();
    }

    public ObjectNode toJson() {
        ObjectNode root = NODES.objectNode();
        root.put("format_version", ModelFormat.VERSION);
        root.put("family", family);
        root.set("encoder", encoderJson(encoder));
        root.set("preprocessing", preprocessing.deepCopy());
        if (!labels.isEmpty()) {
            ArrayNode l = root.putArray("labels");
            labels.forEach(l::add);
        }
        if (!decoder.isEmpty()) {
            root.set("decoder", decoder.deepCopy());
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
        String family = text(root, "family", where);
        VitConfig encoder = encoderFromJson(object(root, "encoder", where), where + ": encoder");
        List<String> labels = new ArrayList<>();
        JsonNode l = root.get("labels");
        if (l != null) {
            if (!l.isArray()) {
                throw new IOException(where + ": labels is not an array");
            }
            l.forEach(n -> labels.add(n.asText()));
            // A dense decoder's classes are its own (Segmenter keeps an unused ImageNet head on its encoder).
            JsonNode decoderClasses = root.path("decoder").get("n_cls");
            int classes = decoderClasses != null ? decoderClasses.asInt() : encoder.numClasses();
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
                optionalObject(root, "decoder", where), optionalObject(root, "source", where), inferred);
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
