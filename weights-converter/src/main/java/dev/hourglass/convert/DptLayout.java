package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.io.UntrustedText;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.ops.Resize;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VitConfig;

/**
 * DPT (isl-org/DPT) with a ViT encoder: the original {@code .pt} state dict ({@code pretrained.model.*} = a timm ViT,
 * {@code pretrained.act_postprocess{1..4}.*} = reassemble, {@code scratch.*} = fusion and head), and Hugging Face's
 * {@code DPTForDepthEstimation} / {@code DPTForSemanticSegmentation} ({@code dpt.*}, {@code neck.*}, {@code head.*}),
 * mapped back onto the original names, which are canonical under {@code dpt.}: {@code dpt.act_postprocessK.*},
 * {@code dpt.scratch.*} (and {@code dpt.auxlayer.*} for segmentation). The encoder becomes timm's names.
 */
final class DptLayout extends Layout {
    private static final Pattern FUSION = Pattern.compile(
            "neck\\.fusion_stage\\.layers\\.(\\d)\\.(projection|residual_layer(\\d)\\.(convolution|batch_norm)(\\d))\\.(.+)");

    private final boolean huggingFace;

    DptLayout(boolean huggingFace) {
        this.huggingFace = huggingFace;
    }

    @Override
    String name() {
        return huggingFace ? "hf-dpt" : "dpt";
    }

    @Override
    boolean matches(Set<String> names) {
        return huggingFace ? names.contains("dpt.embeddings.cls_token")
                : names.contains("pretrained.model.patch_embed.proj.weight");
    }

    @Override
    Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        TensorPlan plan = new TensorPlan();
        if (huggingFace) {
            HfVitLayout.mapEmbeddingsAndLayers(plan, names, "dpt.");
            HfVitLayout.renameIfPresent(plan, names, "norm.weight", "dpt.layernorm.weight");
            HfVitLayout.renameIfPresent(plan, names, "norm.bias", "dpt.layernorm.bias");
            for (String n : names) {
                String canonical = fromHuggingFace(n);
                if (canonical != null) {
                    plan.rename(canonical, n);
                }
            }
        } else {
            mapTimmEncoder(plan, names, "pretrained.model.");
            for (String n : names) {
                if (n.startsWith("pretrained.act_postprocess")) {
                    plan.rename("dpt." + n.substring("pretrained.".length()), n);
                } else if (n.startsWith("scratch.") || n.startsWith("auxlayer.")) {
                    plan.rename("dpt." + n, n);
                }
            }
        }
        for (String n : names) {
            if (n.endsWith("num_batches_tracked")) {
                plan.drop(n, "BatchNorm step counter, unused at inference");
            }
        }
        List<String> problems = new ArrayList<>();
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        Map<String, Shape> encoderShapes = new LinkedHashMap<>();
        shapes.forEach((k, v) -> {
            if (!k.startsWith("dpt.")) {
                encoderShapes.put(k, v);
            }
        });
        JsonNode cfg = c.config().orElse(null);
        TimmVitConfig.Hints hints = huggingFace ? HfVitLayout.hints(cfg) : TimmVitConfig.Hints.NONE;
        TimmVitConfig.Inferred encoder = dptPositions(encoder(encoderShapes, withOptions(hints, o), c.fileName(),
                problems));
        List<String> notes = new ArrayList<>();
        DptConfig decoder = null;
        ObjectNode preprocessing = null;
        if (encoder != null) {
            decoder = decoder(shapes, encoder.config(), cfg, notes, problems);
            preprocessing = HfVitLayout.preprocessing(c.preprocessorConfig().orElse(null),
                    encoder.config().imageHeight(), encoder.config().imageWidth(), new ArrayList<>());
            preprocessing.put("interpolation", "bicubic");
            notes.add("preprocessing: DPT resizes keeping the aspect ratio to a multiple of 32 (bicubic) and"
                    + " normalises with mean = std = 0.5");
        }
        return conclude(c, name(), ModelFamily.DPT, plan, shapes, encoder, preprocessing, List.of(), decoder, notes,
                problems);
    }

    /**
     * DPT resizes the position embedding its own way, in both sources ({@code _resize_pos_embed}, Hugging Face's
     * {@code DPTViTEmbeddings}): the grid part bilinearly with {@code align_corners=False} and no antialias, not timm's
     * bicubic with antialias.
     */
    private static TimmVitConfig.Inferred dptPositions(TimmVitConfig.Inferred inferred) {
        if (inferred == null) {
            return null;
        }
        VitConfig e = inferred.config();
        return new TimmVitConfig.Inferred(new VitConfig(e.imageHeight(), e.imageWidth(), e.patchSize(),
                e.inChannels(), e.embedDim(), e.depth(), e.numHeads(), e.mlpHidden(), e.qkvBias(), e.classToken(),
                e.distilled(), e.numClasses(), e.normEps(), Resize.Mode.BILINEAR, false), inferred.notes());
    }

    /** Hugging Face's neck and head names mapped onto the original DPT's (under {@code dpt.}), or null. */
    static String fromHuggingFace(String n) {
        String[] p = n.split("\\.");
        if (n.startsWith("neck.reassemble_stage.readout_projects.")) {
            return "dpt.act_postprocess" + (Integer.parseInt(p[3]) + 1) + ".0.project.0." + p[5];
        }
        if (n.startsWith("neck.reassemble_stage.layers.")) {
            int k = Integer.parseInt(p[3]) + 1;
            return switch (p[4]) {
                case "projection" -> "dpt.act_postprocess" + k + ".3." + p[5];
                case "resize" -> "dpt.act_postprocess" + k + ".4." + p[5];
                default -> null;
            };
        }
        if (n.startsWith("neck.convs.")) {
            return "dpt.scratch.layer" + (Integer.parseInt(p[2]) + 1) + "_rn." + p[3];
        }
        Matcher m = FUSION.matcher(n);
        if (m.matches()) {
            int refinenet = 4 - Integer.parseInt(m.group(1));
            String base = "dpt.scratch.refinenet" + refinenet + ".";
            if (m.group(2).equals("projection")) {
                return base + "out_conv." + m.group(6);
            }
            String kind = m.group(4).equals("convolution") ? "conv" : "bn";
            return base + "resConfUnit" + m.group(3) + "." + kind + m.group(5) + "." + m.group(6);
        }
        if (n.startsWith("head.head.")) {
            return "dpt.scratch.output_conv." + n.substring("head.head.".length());
        }
        if (n.startsWith("auxiliary_head.head.")) {
            return "dpt.auxlayer." + n.substring("auxiliary_head.head.".length());
        }
        return null;
    }

    /**
     * DPT's settings: which blocks it taps, the reassemble widths, the fusion width, the head; null (with the reason
     * in {@code problems}) when the weights do not say.
     */
    private static DptConfig decoder(Map<String, Shape> shapes, VitConfig enc, JsonNode cfg, List<String> notes,
                                     List<String> problems) {
        int[] hooks = new int[DptConfig.STAGES];
        JsonNode given = cfg == null ? null : cfg.get("backbone_out_indices");
        if (given != null) {
            if (!given.isArray() || given.size() != DptConfig.STAGES) {
                problems.add("config.json: backbone_out_indices must be " + DptConfig.STAGES + " block indices, got "
                        + UntrustedText.quote(given.toString()));
                return null;
            }
            for (int k = 0; k < DptConfig.STAGES; k++) {
                JsonNode h = given.get(k);
                if (!h.canConvertToInt() || h.asInt() < 0 || h.asInt() >= enc.depth()) {
                    problems.add("config.json: backbone_out_indices[" + k + "] must be a block of the encoder's "
                            + enc.depth() + ", got " + UntrustedText.quote(h.toString()));
                    return null;
                }
                hooks[k] = h.asInt();
            }
        } else {
            // DPT taps four evenly spaced blocks: [5, 11, 17, 23] of ViT-L, [2, 5, 8, 11] of ViT-B.
            int l = enc.depth();
            for (int k = 1; k <= DptConfig.STAGES; k++) {
                hooks[k - 1] = k * l / DptConfig.STAGES - 1;
            }
            notes.add("DPT hooks " + Arrays.toString(hooks).replace(" ", "")
                    + " (four evenly spaced blocks; the weights do not say)");
        }
        DptConfig.Readout readout = shapes.containsKey("dpt.act_postprocess1.0.project.0.weight")
                ? DptConfig.Readout.PROJECT : DptConfig.Readout.IGNORE;
        int[] features = new int[DptConfig.STAGES];
        boolean complete = true;
        for (int k = 1; k <= DptConfig.STAGES; k++) {
            Shape s = shapes.get("dpt.act_postprocess" + k + ".3.weight");
            if (s == null) {
                problems.add("missing: dpt.act_postprocess" + k + ".3.weight (DPT reassemble projection)");
                complete = false;
            } else {
                features[k - 1] = (int) s.dim(0);
            }
        }
        Shape fusion = shapes.get("dpt.scratch.refinenet1.out_conv.weight");
        if (fusion == null) {
            problems.add("missing: dpt.scratch.refinenet1.out_conv.weight (DPT fusion)");
            complete = false;
        }
        Shape out = shapes.get("dpt.scratch.output_conv.4.weight");
        if (out == null) {
            problems.add("missing: dpt.scratch.output_conv.4.weight (DPT head's last convolution)");
            complete = false;
        }
        if (!complete) {
            return null;
        }
        // The depth head ends in one channel; the segmentation head's last convolution gives the classes.
        boolean depth = out.dim(0) == 1;
        boolean batchNorm = shapes.keySet().stream().anyMatch(k -> k.contains(".bn1."));
        try {
            return new DptConfig(hooks, readout, features, (int) fusion.dim(0), new double[] {4, 2, 1, 0.5},
                    depth ? DptConfig.Head.DEPTH : DptConfig.Head.SEGMENTATION, batchNorm, DptConfig.Backbone.VIT,
                    depth ? 0 : (int) out.dim(0));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return null;
        }
    }
}
