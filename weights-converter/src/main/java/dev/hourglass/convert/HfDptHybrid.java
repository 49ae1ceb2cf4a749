package dev.hourglass.convert;

import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.io.UntrustedText;
import dev.hourglass.vit.ResNetNames;

/**
 * Hugging Face's DPT-Hybrid (transformers' {@code DPTViTHybridEmbeddings} over a {@code BitBackbone}): its BiT names
 * mapped onto timm's ResNetV2 names ({@link ResNetNames}), and the {@code config.json} fields that decide what it
 * computes, checked against what the engine's ResNet stem and DPT taps run.
 *
 * <p>Names ({@code modeling_bit.py}, {@code convert_dpt_hybrid_to_pytorch.py}): {@code
 * dpt.embeddings.backbone.bit.embedder.{convolution,norm}.*} is the stem, {@code
 * ...bit.encoder.stages.S.layers.U.{conv1,conv2,conv3,norm1,norm2,norm3,downsample.conv,downsample.norm}.*} the
 * units, {@code dpt.embeddings.projection.*} the 1x1 projection to the token width. Every convolution is a {@code
 * WeightStandardizedConv2d} with eps 1e-8: {@code F.batch_norm} over the weight in training mode, {@code (w - mean)
 * / sqrt(var + 1e-8)}, applied here once ({@link TensorPlan.StdRule#SQRT_VAR_PLUS_EPS}).
 *
 * <p>What the engine runs is BiT with {@code layer_type "bottleneck"}, {@code global_padding "SAME"} (TF-'SAME',
 * dynamic for stride 2), {@code embedding_dynamic_padding} (a 'SAME' max-pool; BiT pads it with 0, the engine with
 * -infinity, the same after ReLU), {@code hidden_act "relu"}, {@code num_groups} 32, no dilation, and three output
 * stages whose first two feed taps 1 and 2; a field that says otherwise, or that is missing where BitConfig's default
 * is something else (layer_type, global_padding, embedding_dynamic_padding, out_features), is one problem naming it.
 * A field missing where the default is what runs (is_hybrid's backbone_config, hidden_act, num_groups,
 * output_stride, readout_type, neck_ignore_stages, reassemble_factors, backbone_out_indices) takes the default, as
 * transformers does.
 */
final class HfDptHybrid {
    /** Every BiT tensor's prefix. */
    static final String PREFIX = "dpt.embeddings.backbone.bit.";
    /** {@code WeightStandardizedConv2d}'s eps, as {@code BitModel} builds every one of its convolutions. */
    static final double STD_EPS = 1e-8;
    /** DPTConfig's default {@code backbone_out_indices}; a hybrid reads the last two. */
    private static final int[] DEFAULT_OUT_INDICES = {2, 5, 8, 11};

    private static final Pattern UNIT = Pattern.compile("encoder\\.stages\\.(\\d+)\\.layers\\.(\\d+)\\.(.+)");

    private HfDptHybrid() {
    }

    /**
     * timm's ResNetV2 name (relative to the backbone, as {@link ResNetNames#canonical} takes it) of a BiT tensor named
     * relative to {@link #PREFIX}, or null if BiT's bottleneck ResNet has no such tensor.
     */
    static String timmName(String bitName) {
        if (bitName.equals("embedder.convolution.weight")) {
            return "stem.conv.weight";
        }
        if (bitName.startsWith("embedder.norm.")) {
            return "stem.norm." + bitName.substring("embedder.norm.".length());
        }
        Matcher m = UNIT.matcher(bitName);
        return m.matches() ? "stages." + m.group(1) + ".blocks." + m.group(2) + "." + m.group(3) : null;
    }

    /**
     * The BiT tensors under {@code hybrid.*}, convolutions standardised with BiT's rule, and the projection as {@code
     * patch_embed.proj}. A BiT name the bottleneck ResNet has not is left unmapped (the conversion reports it).
     */
    static void map(TensorPlan plan, Set<String> names) {
        for (String n : names) {
            if (!n.startsWith(PREFIX)) {
                continue;
            }
            String timm = timmName(n.substring(PREFIX.length()));
            String canonical = timm == null ? null : ResNetNames.canonical(timm);
            if (canonical != null && ResNetNames.isConvolution(canonical)) {
                plan.standardise(canonical, n, TensorPlan.StdRule.SQRT_VAR_PLUS_EPS, STD_EPS);
            } else if (canonical != null) {
                plan.rename(canonical, n);
            }
        }
        HfVitLayout.renameIfPresent(plan, names, "patch_embed.proj.weight", "dpt.embeddings.projection.weight");
        HfVitLayout.renameIfPresent(plan, names, "patch_embed.proj.bias", "dpt.embeddings.projection.bias");
    }

    /**
     * Checks {@code config.json}'s hybrid fields for a ResNet of {@code stages} stages (from the weights): anything
     * that would make transformers compute something the engine does not is added to {@code problems}.
     */
    static void check(JsonNode cfg, int stages, List<String> notes, List<String> problems) {
        if (cfg == null) {
            problems.add("config.json: missing; a Hugging Face DPT-Hybrid's backbone settings are only there");
            return;
        }
        JsonNode hybrid = cfg.get("is_hybrid");
        if (hybrid == null || !hybrid.isBoolean() || !hybrid.asBoolean()) {
            problems.add("config.json: is_hybrid must be true for weights with " + PREFIX + "* (transformers builds"
                    + " a plain DPT otherwise), got " + shown(hybrid));
        }
        JsonNode bit = cfg.get("backbone_config");
        if (bit == null || bit.isNull()) {
            JsonNode named = cfg.get("backbone");
            if (named != null && !named.isNull()) {
                problems.add("config.json: backbone " + shown(named) + " names a backbone to load; Hourglass reads"
                        + " a DPT-Hybrid's BiT from backbone_config (or DPTConfig's default BiT when both are null)");
            } else {
                notes.add("DPT-Hybrid (Hugging Face): no backbone_config, so DPTConfig's default BiT (bottleneck,"
                        + " global_padding same, embedding_dynamic_padding, stages 1-3)");
            }
        } else if (!bit.isObject()) {
            problems.add("config.json: backbone_config must be an object (BitConfig's fields), got " + shown(bit));
        } else {
            checkBit(bit, stages, problems);
        }
        requireText(cfg, "", "readout_type", "project", "project", "DPT-Hybrid projects the class token at taps 3"
                + " and 4", problems);
        JsonNode ignore = cfg.get("neck_ignore_stages");
        if (ignore != null && !ignore.isNull() && !intList(ignore, 0, 1)) {
            problems.add("config.json: neck_ignore_stages must be [0, 1] for a DPT-Hybrid (taps 1 and 2 are ResNet"
                    + " stages, not tokens), got " + shown(ignore));
        }
        JsonNode factors = cfg.get("reassemble_factors");
        if (factors != null && !factors.isNull() && (!factors.isArray() || factors.size() != 4
                || !factors.get(2).isNumber() || factors.get(2).asDouble() != 1
                || !factors.get(3).isNumber() || factors.get(3).asDouble() != 0.5)) {
            problems.add("config.json: reassemble_factors must be 4 numbers whose last two are 1 and 0.5 (DPT's"
                    + " token taps 3 and 4; the first two are not read by a hybrid), got " + shown(factors));
        }
        JsonNode patch = cfg.get("patch_size");
        int stride = 4 << (Math.max(stages, 1) - 1);
        if (patch != null && !patch.isNull() && !Integer.valueOf(stride).equals(intValue(patch))) {
            problems.add("config.json: patch_size must be the ResNet's total stride " + stride + " (" + stages
                    + " stages; transformers divides the image by it for the position grid), got " + shown(patch));
        }
    }

    /** BitConfig's fields; {@code bit} is the {@code backbone_config} object. */
    private static void checkBit(JsonNode bit, int stages, List<String> problems) {
        requireText(bit, "backbone_config.", "layer_type", "bottleneck", null, "the non-pre-activation ResNet of"
                + " DPT-Hybrid; BitConfig's default is \"preactivation\"", problems);
        JsonNode padding = bit.get("global_padding");
        if (padding == null || !padding.isTextual() || !padding.asText().equalsIgnoreCase("same")) {
            problems.add("config.json: backbone_config.global_padding must be \"SAME\" (TensorFlow's padding, which"
                    + " the ResNet stem runs; BitConfig's default null pads as PyTorch does), got " + shown(padding));
        }
        JsonNode dynamic = bit.get("embedding_dynamic_padding");
        if (dynamic == null || !dynamic.isBoolean() || !dynamic.asBoolean()) {
            problems.add("config.json: backbone_config.embedding_dynamic_padding must be true (the stem's max-pool"
                    + " padded 'SAME'; BitConfig's default false pools without padding), got " + shown(dynamic));
        }
        requireText(bit, "backbone_config.", "hidden_act", "relu", "relu", "the ResNet's activation", problems);
        JsonNode groups = bit.get("num_groups");
        if (groups != null && !groups.isNull() && !Integer.valueOf(32).equals(intValue(groups))) {
            problems.add("config.json: backbone_config.num_groups must be 32 (the ResNet stem's GroupNorm), got "
                    + shown(groups));
        }
        JsonNode outputStride = bit.get("output_stride");
        if (outputStride != null && !outputStride.isNull()) {
            // BitEncoder: a stage whose input stride has reached output_stride is dilated instead of strided.
            Integer limit = intValue(outputStride);
            int current = 4;
            for (int s = 1; s < stages; s++) {
                if (limit == null || current >= limit) {
                    problems.add("config.json: backbone_config.output_stride must be above " + current
                            + " (at " + current + " or below BiT dilates stage " + s + " instead of striding it, which"
                            + " the ResNet stem does not), got " + shown(outputStride));
                    break;
                }
                current *= 2;
            }
        }
        checkOutFeatures(bit, stages, problems);
    }

    /**
     * The backbone must output stages 1 to 3 (transformers requires three; taps 1 and 2 read the first two, the
     * tokens the last), and the weights must have exactly those three stages, since the engine's stem runs them all.
     */
    private static void checkOutFeatures(JsonNode bit, int stages, List<String> problems) {
        JsonNode features = bit.get("out_features");
        JsonNode indices = bit.get("out_indices");
        boolean given = features != null && !features.isNull();
        boolean ok;
        if (given) {
            ok = features.isArray() && features.size() == 3;
            for (int i = 0; ok && i < 3; i++) {
                ok = features.get(i).isTextual() && features.get(i).asText().equals("stage" + (i + 1));
            }
        } else {
            given = indices != null && !indices.isNull();
            ok = given && intList(indices, 1, 2, 3);
        }
        if (!ok) {
            problems.add("config.json: backbone_config.out_features must be [\"stage1\", \"stage2\", \"stage3\"] (or"
                    + " out_indices [1, 2, 3]: DPT-Hybrid taps stages 1 and 2 and embeds the third; BitConfig's"
                    + " default is the last stage alone), got " + (given ? shown(features != null && !features.isNull()
                    ? features : indices) : "nothing"));
        } else if (stages != 3) {
            problems.add("config.json: backbone_config.out_features names stages 1 to 3, but the weights have "
                    + stages + " stage(s) (" + PREFIX + "encoder.stages.*)");
        }
    }

    /**
     * The two blocks DPT-Hybrid taps, in block order: {@code backbone_out_indices[2:]} (transformers keeps the
     * encoder outputs whose index is among them, so they come in block order; the first two entries are never read),
     * DPTConfig's default {@code [2, 5, 8, 11]} when absent. Null, with a problem added, if they are not two different
     * blocks of an encoder of {@code depth}.
     */
    static int[] tokenTaps(JsonNode cfg, int depth, List<String> notes, List<String> problems) {
        JsonNode given = cfg == null ? null : cfg.get("backbone_out_indices");
        int[] indices = DEFAULT_OUT_INDICES;
        if (given != null && !given.isNull()) {
            if (!given.isArray() || given.size() != 4) {
                problems.add("config.json: backbone_out_indices must be 4 block indices (a hybrid reads the last two),"
                        + " got " + shown(given));
                return null;
            }
            indices = new int[4];
            for (int k = 2; k < 4; k++) {
                Integer h = intValue(given.get(k));
                indices[k] = h == null ? -1 : h;
            }
        }
        int a = Math.min(indices[2], indices[3]);
        int b = Math.max(indices[2], indices[3]);
        for (int k = 2; k < 4; k++) {
            if (indices[k] < 0 || indices[k] >= depth) {
                problems.add("config.json: backbone_out_indices[" + k + "] must be a block of the encoder's " + depth
                        + ", got " + (given == null || given.isNull() ? indices[k] + " (DPTConfig's default [2, 5, 8,"
                        + " 11])" : shown(given.get(k))));
                return null;
            }
        }
        if (a == b) {
            problems.add("config.json: backbone_out_indices[2] and [3] must be two different blocks (transformers"
                    + " then has one token tap for two), got " + a + " twice");
            return null;
        }
        notes.add("DPT-Hybrid (Hugging Face) taps blocks " + a + " and " + b + ": backbone_out_indices "
                + (given == null || given.isNull() ? "absent, DPTConfig's default [2,5,8,11]"
                : UntrustedText.quote(given.toString())) + ", whose first two entries a hybrid never reads; taps 1"
                + " and 2 are the ResNet's stages 0 and 1");
        return new int[] {a, b};
    }

    /**
     * A text field of {@code node} (whose path in config.json is {@code path}) that must be {@code expected}, as
     * transformers compares it (case-sensitively); absent or null it is {@code fallback}, the default (null: then
     * absent is a problem too).
     */
    private static void requireText(JsonNode node, String path, String field, String expected, String fallback,
                                    String why, List<String> problems) {
        JsonNode v = node.get(field);
        String value = v == null || v.isNull() ? fallback : v.isTextual() ? v.asText() : null;
        if (!expected.equals(value)) {
            problems.add("config.json: " + path + field + " must be \"" + expected + "\" (" + why + "), got "
                    + shown(v));
        }
    }

    /** An integer (a JSON number with no fraction, within int), or null. */
    private static Integer intValue(JsonNode n) {
        return n != null && n.isNumber() && n.canConvertToInt() && n.asDouble() == Math.rint(n.asDouble())
                ? n.asInt() : null;
    }

    private static boolean intList(JsonNode n, int... values) {
        if (!n.isArray() || n.size() != values.length) {
            return false;
        }
        for (int i = 0; i < values.length; i++) {
            if (!Integer.valueOf(values[i]).equals(intValue(n.get(i)))) {
                return false;
            }
        }
        return true;
    }

    /** A config value as a message shows it: quoted, or "nothing" when absent. */
    static String shown(JsonNode n) {
        if (n == null) {
            return "nothing";
        }
        return UntrustedText.quote(n.isTextual() ? n.asText() : n.toString());
    }
}
