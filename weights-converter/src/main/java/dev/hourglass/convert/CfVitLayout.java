package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.ModelFamily;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.cfvit.CfVitSettings;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.TimmVitLayout;
import dev.hourglass.vit.VitConfig;
import dev.hourglass.vit.VitVariant;

/**
 * CF-ViT (ChenMnZ/CF-ViT) checkpoints for DeiT-S and LV-ViT-S: {@code {'model': state_dict, 'flop', ...}}. One
 * transformer serves the coarse and the fine stage, each with its own position embedding
 * ({@code pos_embed_list.0}, {@code .1}), plus a feature-reuse block. Canonical: the fine-stage embedding is
 * {@code pos_embed} (so the model also runs as a plain ViT on the fine grid); {@code cfvit.pos_embed_coarse},
 * {@code cfvit.reuse_norm.*}, {@code cfvit.reuse_mlp.*}. LV-ViT's convolutional stem goes to {@code lvvit.stem.*}
 * (its final projection stays {@code patch_embed.proj}) and its auxiliary head to {@code lvvit.aux_head.*}; LV-ViT
 * has no qkv bias, MLP ratio 3, LayerNorm eps 1e-5 and residual branches divided by 2.
 */
final class CfVitLayout extends Layout {
    private static final float LVVIT_EPS = 1e-5f;
    /**
     * Not a guess: CF-ViT evaluates CF-DeiT with DeiT's transforms and CF-LV-ViT with LV-ViT's {@code default_cfg},
     * both ImageNet's mean and std.
     */
    private static final String FAMILY_NORMALISATION = "CF-ViT's training code uses (DeiT's and LV-ViT's)";

    @Override
    String name() {
        return "cfvit";
    }

    @Override
    boolean matches(Set<String> names) {
        return names.contains("pos_embed_list.0") && names.contains("pos_embed_list.1");
    }

    @Override
    Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        boolean lvvit = names.contains("patch_embed.conv1.weight");
        TensorPlan plan = new TensorPlan();
        for (String n : names) {
            if (n.startsWith("blocks.") || n.startsWith("norm.") || n.startsWith("head.") || n.equals("cls_token")
                    || n.startsWith("patch_embed.proj.")) {
                plan.rename(n, n);
            } else if (n.startsWith("reuse_block.0.")) {
                plan.rename("cfvit.reuse_norm." + n.substring("reuse_block.0.".length()), n);
            } else if (n.startsWith("reuse_block.1.")) {
                plan.rename("cfvit.reuse_mlp." + n.substring("reuse_block.1.".length()), n);
            } else if (lvvit && n.startsWith("patch_embed.")) {
                if (n.endsWith("num_batches_tracked")) {
                    plan.drop(n, "BatchNorm step counter, unused at inference");
                } else {
                    plan.rename("lvvit.stem." + n.substring("patch_embed.".length()), n);
                }
            } else if (lvvit && n.startsWith("aux_head.")) {
                plan.rename("lvvit." + n, n);
            }
        }
        plan.rename("pos_embed", "pos_embed_list.1");
        plan.rename("cfvit.pos_embed_coarse", "pos_embed_list.0");

        List<String> problems = new ArrayList<>();
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        List<String> notes = new ArrayList<>();
        // A timm-style config.json beside the weights (as tools/train_demo_cfvit.py writes) gives the head count, the
        // preprocessing and the class names; CF-ViT's own .pth carries none of them.
        JsonNode hub = c.config().filter(j -> j.has("pretrained_cfg") || j.has("architecture")).orElse(null);
        TimmVitConfig.Inferred encoder = lvvit ? lvvitEncoder(shapes, o, problems, notes)
                : encoder(encoderOnly(shapes), withOptions(TimmVitConfig.hints(hub), o), c.fileName(), problems);
        CfVitSettings decoder = null;
        ObjectNode preprocessing = null;
        List<String> labels = List.of();
        if (encoder != null) {
            decoder = settings(shapes, encoder.config(), lvvit, problems);
            if (hub != null && hub.get("pretrained_cfg") instanceof ObjectNode cfg) {
                preprocessing = cfg.deepCopy();
                preprocessing.retain("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std");
                labels = TimmLayout.labels(hub.has("label_names") ? hub.get("label_names") : cfg.get("label_names"));
                if (!Normalisation.gives(preprocessing)) {
                    Normalisation.fillImagenet(preprocessing);
                    notes.add(Normalisation.imagenetByFamily(FAMILY_NORMALISATION));
                }
            } else {
                preprocessing = timmDefaultPreprocessing(encoder.config(), lvvit ? 0.9 : 0.875, IMAGENET_MEAN,
                        IMAGENET_STD);
                notes.add(Normalisation.imagenetByFamily(FAMILY_NORMALISATION));
                guessedTimmResize(notes, lvvit ? 0.9 : 0.875);
            }
        }
        return conclude(c, name(), lvvit ? ModelFamily.LVVIT : ModelFamily.CFVIT, plan, shapes, encoder, preprocessing, labels,
                decoder, notes, problems);
    }

    private static Map<String, Shape> encoderOnly(Map<String, Shape> shapes) {
        Map<String, Shape> out = new LinkedHashMap<>();
        shapes.forEach((k, v) -> {
            if (!k.startsWith("cfvit.") && !k.startsWith("lvvit.")) {
                out.put(k, v);
            }
        });
        return out;
    }

    /**
     * LV-ViT's transformer in timm's terms. Its patch embedding is a convolutional stem whose strides timm's config
     * cannot express, so the encoder's patch size is the stem's total stride (2 for the first convolution times the
     * projection's kernel), and its projection's shape is checked against the stem, not against that patch size.
     */
    private static TimmVitConfig.Inferred lvvitEncoder(Map<String, Shape> shapes, ConvertOptions o,
                                                       List<String> problems, List<String> notes) {
        Shape proj = shapes.get("patch_embed.proj.weight");
        Shape fc1 = shapes.get("blocks.0.mlp.fc1.weight");
        Shape pos = shapes.get("pos_embed");
        if (proj == null || fc1 == null || pos == null) {
            problems.add("missing: LV-ViT stem projection, first block or position embedding");
            return null;
        }
        int d = (int) proj.dim(0);
        int patch = 2 * (int) proj.dim(2);
        int depth = 0;
        while (shapes.containsKey("blocks." + depth + ".norm1.weight")) {
            depth++;
        }
        int grid = (int) Math.round(Math.sqrt(pos.dim(1) - 1));
        int classes = shapes.containsKey("head.weight") ? (int) shapes.get("head.weight").dim(0) : 0;
        int heads = o.heads() != null ? o.heads() : Math.max(1, d / 64);
        if (o.heads() == null) {
            notes.add("num_heads = " + heads + " = width " + d + " / 64 (override with --heads)");
        }
        notes.add("LV-ViT patch size " + patch + " = stride 2 of the stem's first convolution x the projection's"
                + " kernel " + proj.dim(2));
        VitConfig config;
        try {
            config = new VitConfig(grid * patch, grid * patch, patch, 3, d, depth, heads, (int) fc1.dim(0),
                    shapes.containsKey("blocks.0.attn.qkv.bias"), true, false, classes, LVVIT_EPS,
                    Resize.Mode.BICUBIC, true);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return null;
        }
        Map<String, Shape> expected = TimmVitLayout.expectedShapes(config);
        expected.remove("patch_embed.proj.weight");
        expected.remove("patch_embed.proj.bias");
        checkShapes(expected, shapes, problems);
        return new TimmVitConfig.Inferred(config, List.of());
    }

    /**
     * The coarse and fine grids and the reuse block (CF-ViT's published settings besides); null (with the reason in
     * {@code problems}) when the weights do not give them.
     */
    private static CfVitSettings settings(Map<String, Shape> shapes, VitConfig enc, boolean lvvit,
                                          List<String> problems) {
        Shape coarse = shapes.get("cfvit.pos_embed_coarse");
        int coarseGrid = coarse == null ? 0 : (int) Math.round(Math.sqrt(coarse.dim(1) - 1));
        boolean complete = true;
        if (2 * coarseGrid != enc.gridHeight()) {
            problems.add("mis-shaped: coarse grid " + coarseGrid + " is not half the fine grid " + enc.gridHeight());
            complete = false;
        }
        Shape reuse = shapes.get("cfvit.reuse_mlp.fc1.weight");
        if (reuse == null) {
            problems.add("missing: cfvit.reuse_mlp.fc1.weight (reuse_block.1.fc1.weight)");
            complete = false;
        }
        if (!complete) {
            return null;
        }
        try {
            return new CfVitSettings(coarseGrid, enc.gridHeight(), (int) reuse.dim(0), lvvit ? 1e-5f : 1e-6f, 0.99, 3,
                    0.5, lvvit ? VitVariant.lvvit(2f) : VitVariant.TIMM, lvvit
                    && shapes.containsKey("lvvit.aux_head.weight"));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return null;
        }
    }
}
