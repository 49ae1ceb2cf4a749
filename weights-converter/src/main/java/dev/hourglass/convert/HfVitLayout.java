package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.io.UntrustedText;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;

/**
 * Hugging Face transformers' {@code ViTForImageClassification} ({@code vit.*}) and
 * {@code DeiTForImageClassificationWithTeacher} ({@code deit.*}), with their {@code config.json} and
 * {@code preprocessor_config.json}. q, k and v are separate projections there; stacked in that order they are timm's
 * fused qkv. Hugging Face's LayerNorm epsilon is {@code layer_norm_eps} (1e-12), not timm's 1e-6.
 */
final class HfVitLayout extends Layout {
    /** A class index as a JSON key: decimal, no sign, no leading zero, within int. */
    private static final Pattern CLASS_INDEX = Pattern.compile("0|[1-9][0-9]{0,8}");

    @Override
    String name() {
        return "hf-vit";
    }

    @Override
    boolean matches(Set<String> names) {
        return names.stream().anyMatch(n -> n.startsWith("vit.embeddings.") || n.startsWith("deit.embeddings."));
    }

    @Override
    Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        String p = names.stream().anyMatch(n -> n.startsWith("deit.")) ? "deit." : "vit.";
        TensorPlan plan = new TensorPlan();
        mapEmbeddingsAndLayers(plan, names, p);
        renameIfPresent(plan, names, "norm.weight", p + "layernorm.weight");
        renameIfPresent(plan, names, "norm.bias", p + "layernorm.bias");
        if (p.equals("deit.")) {
            renameIfPresent(plan, names, "head.weight", "cls_classifier.weight");
            renameIfPresent(plan, names, "head.bias", "cls_classifier.bias");
            renameIfPresent(plan, names, "head_dist.weight", "distillation_classifier.weight");
            renameIfPresent(plan, names, "head_dist.bias", "distillation_classifier.bias");
        } else {
            renameIfPresent(plan, names, "head.weight", "classifier.weight");
            renameIfPresent(plan, names, "head.bias", "classifier.bias");
        }
        for (String n : names) {
            if (n.startsWith(p + "pooler.")) {
                plan.drop(n, "pooler (not used for classification from the class token)");
            }
        }

        List<String> problems = new ArrayList<>();
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        JsonNode cfg = c.config().orElse(null);
        TimmVitConfig.Inferred encoder = encoder(shapes, withOptions(hints(cfg), o), c.fileName(), problems);
        List<String> notes = new ArrayList<>();
        ObjectNode preprocessing = null;
        if (encoder != null) {
            preprocessing = preprocessing(c.preprocessorConfig().orElse(null), encoder.config().imageHeight(),
                    encoder.config().imageWidth(), notes);
        }
        ModelFamily family = p.equals("deit.") ? ModelFamily.DEIT : ModelFamily.VIT;
        return conclude(c, name(), family, plan, shapes, encoder, preprocessing, labels(cfg, problems), null, notes,
                problems);
    }

    /** Embeddings and encoder layers of a Hugging Face ViT under {@code p} ("vit.", "deit.", "dpt."). */
    static void mapEmbeddingsAndLayers(TensorPlan plan, Set<String> names, String p) {
        renameIfPresent(plan, names, "cls_token", p + "embeddings.cls_token");
        renameIfPresent(plan, names, "dist_token", p + "embeddings.distillation_token");
        renameIfPresent(plan, names, "pos_embed", p + "embeddings.position_embeddings");
        renameIfPresent(plan, names, "patch_embed.proj.weight", p + "embeddings.patch_embeddings.projection.weight");
        renameIfPresent(plan, names, "patch_embed.proj.bias", p + "embeddings.patch_embeddings.projection.bias");
        for (int i = 0; names.contains(p + "encoder.layer." + i + ".layernorm_before.weight"); i++) {
            String l = p + "encoder.layer." + i + ".";
            String b = "blocks." + i + ".";
            for (String w : new String[] {"weight", "bias"}) {
                renameIfPresent(plan, names, b + "norm1." + w, l + "layernorm_before." + w);
                if (names.contains(l + "attention.attention.query." + w)) {
                    plan.stack(b + "attn.qkv." + w, l + "attention.attention.query." + w,
                            l + "attention.attention.key." + w, l + "attention.attention.value." + w);
                }
                renameIfPresent(plan, names, b + "attn.proj." + w, l + "attention.output.dense." + w);
                renameIfPresent(plan, names, b + "norm2." + w, l + "layernorm_after." + w);
                renameIfPresent(plan, names, b + "mlp.fc1." + w, l + "intermediate.dense." + w);
                renameIfPresent(plan, names, b + "mlp.fc2." + w, l + "output.dense." + w);
            }
        }
    }

    static void renameIfPresent(TensorPlan plan, Set<String> names, String canonical, String raw) {
        if (names.contains(raw)) {
            plan.rename(canonical, raw);
        }
    }

    /** Encoder hints from a Hugging Face {@code config.json}. */
    static TimmVitConfig.Hints hints(JsonNode cfg) {
        if (cfg == null) {
            return TimmVitConfig.Hints.NONE;
        }
        Integer heads = cfg.has("num_attention_heads") ? cfg.get("num_attention_heads").asInt() : null;
        Float eps = cfg.has("layer_norm_eps") ? (float) cfg.get("layer_norm_eps").asDouble() : null;
        int[] size = null;
        JsonNode s = cfg.get("image_size");
        if (s != null && s.canConvertToInt()) {
            size = new int[] {s.asInt(), s.asInt()};
        } else if (s != null && s.isArray() && s.size() == 2) {
            size = new int[] {s.get(0).asInt(), s.get(1).asInt()};
        }
        return new TimmVitConfig.Hints(heads, eps, size, null);
    }

    /**
     * A Hugging Face image processor as timm-style preprocessing: it resizes straight to {@code size}, ignoring the
     * aspect ratio (timm's {@code crop_mode "squash"}), with PIL's filter {@code resample} (2 bilinear, 3 bicubic);
     * with {@code do_center_crop} (DeiT's processor) it then cuts the centre {@code crop_size} out of that, which is
     * timm's squash with {@code crop_pct = crop / size}; then it normalises.
     */
    /**
     * The {@code crop_pct} with which timm's squash resizes to exactly {@code size} before cutting {@code crop} out:
     * {@code crop / size}, moved by an ulp where {@code floor(crop / crop_pct)} would otherwise miss {@code size}.
     */
    static double squashCropPct(int crop, int size) {
        double pct = (double) crop / size;
        while (Math.floor(crop / pct) < size) {
            pct = Math.nextDown(pct);
        }
        while (Math.floor(crop / pct) > size) {
            pct = Math.nextUp(pct);
        }
        return pct;
    }

    static ObjectNode preprocessing(JsonNode pp, int height, int width, List<String> notes) {
        ObjectNode out = NODES.objectNode();
        int h = height;
        int w = width;
        String interpolation = "bilinear";
        double cropPct = 1.0;
        double[] mean = HALF;
        double[] std = HALF;
        if (pp == null) {
            notes.add(Guesses.PREFIX + "normalisation mean = std = 0.5 (Hugging Face's ViT default; no"
                    + " preprocessor_config.json)");
            notes.add(Guesses.PREFIX + "resize to " + h + "x" + w + ", bilinear (Hugging Face's ViT default)");
        } else {
            JsonNode size = pp.get("size");
            if (size != null && size.has("height") && size.has("width")) {
                h = size.get("height").asInt();
                w = size.get("width").asInt();
            } else if (size != null && size.canConvertToInt()) {
                h = size.asInt();
                w = h;
            }
            JsonNode crop = pp.get("crop_size");
            if (pp.path("do_center_crop").asBoolean(false) && crop != null) {
                int ch = crop.has("height") ? crop.get("height").asInt() : crop.asInt();
                int cw = crop.has("width") ? crop.get("width").asInt() : crop.asInt();
                if (ch > 0 && cw > 0 && ch <= h && cw <= w) {
                    cropPct = squashCropPct(ch, h);
                    if (Math.floor(cw / cropPct) != w) {
                        notes.add("preprocessing: crop " + ch + "x" + cw + " of " + h + "x" + w + " keeps different"
                                + " fractions of the two axes; the width is resized to "
                                + (int) Math.floor(cw / cropPct) + " instead of " + w);
                    }
                    // Hugging Face's offset is (size - crop) // 2, timm's (and ours) round((size - crop) / 2), half to
                    // even: they differ by a pixel for some odd differences.
                    if ((h - ch) / 2 != (int) Math.rint((h - ch) / 2.0)
                            || (w - cw) / 2 != (int) Math.rint((w - cw) / 2.0)) {
                        notes.add("preprocessing: the centre crop " + ch + "x" + cw + " of " + h + "x" + w + " starts"
                                + " one pixel further than Hugging Face's ((size - crop) // 2)");
                    }
                    h = ch;
                    w = cw;
                } else {
                    notes.add("preprocessing: crop_size " + crop + " is not within size " + h + "x" + w
                            + "; not applied");
                }
            }
            int resample = pp.has("resample") ? pp.get("resample").asInt() : 2;
            interpolation = switch (resample) {
                case 3 -> "bicubic";
                case 2 -> "bilinear";
                default -> {
                    notes.add("preprocessing: PIL resample " + resample + " is approximated by bilinear");
                    yield "bilinear";
                }
            };
            double[] givenMean = doubles(pp.get("image_mean"));
            double[] givenStd = doubles(pp.get("image_std"));
            mean = givenMean == null ? HALF : givenMean;
            std = givenStd == null ? HALF : givenStd;
            if (givenMean == null || givenStd == null) {
                notes.add(Guesses.PREFIX + "normalisation mean = std = 0.5 where preprocessor_config.json gives no"
                        + " image_mean or image_std of 3 values (Hugging Face's ViT default)");
            }
        }
        out.putArray("input_size").add(3).add(h).add(w);
        out.put("interpolation", interpolation);
        out.put("crop_pct", cropPct);
        out.put("crop_mode", "squash");
        var m = out.putArray("mean");
        for (double v : mean) {
            m.add(v);
        }
        var s = out.putArray("std");
        for (double v : std) {
            s.add(v);
        }
        return out;
    }

    /** Three numbers, or null if {@code n} is not an array of 3. */
    private static double[] doubles(JsonNode n) {
        if (n == null || !n.isArray() || n.size() != 3) {
            return null;
        }
        return new double[] {n.get(0).asDouble(), n.get(1).asDouble(), n.get(2).asDouble()};
    }

    /**
     * {@code id2label} in index order. Its keys must be the class indices 0 to N-1 (JSON keys are strings); anything
     * else is a problem, since a gap would shift every later name onto the wrong class.
     */
    static List<String> labels(JsonNode cfg, List<String> problems) {
        JsonNode m = cfg == null ? null : cfg.get("id2label");
        if (m == null || m.isNull()) {
            return List.of();
        }
        if (!m.isObject()) {
            problems.add("config.json: id2label is " + UntrustedText.quote(m.toString()) + ", not an object mapping"
                    + " class indices to names");
            return List.of();
        }
        Map<Integer, String> sorted = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : m.properties()) {
            if (!CLASS_INDEX.matcher(e.getKey()).matches()) {
                problems.add("config.json: id2label has the key " + UntrustedText.quote(e.getKey())
                        + ", not a class index (0, 1, 2, ...)");
                return List.of();
            }
            sorted.put(Integer.parseInt(e.getKey()), e.getValue().asText());
        }
        int expected = 0;
        for (int index : sorted.keySet()) {
            if (index != expected) {
                problems.add("config.json: id2label has no class " + expected + " but has " + index
                        + " (its keys must be 0 to " + (sorted.size() - 1) + ")");
                return List.of();
            }
            expected++;
        }
        return List.copyOf(sorted.values());
    }
}
