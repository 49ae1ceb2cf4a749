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
import dev.hourglass.vit.ResNetNames;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VitConfig;

/**
 * DPT (isl-org/DPT) with a ViT encoder: the original {@code .pt} state dict ({@code pretrained.model.*} = a timm ViT,
 * {@code pretrained.act_postprocess{1..4}.*} = reassemble, {@code scratch.*} = fusion and head), and Hugging Face's
 * {@code DPTForDepthEstimation} / {@code DPTForSemanticSegmentation} ({@code dpt.*}, {@code neck.*}, {@code head.*}),
 * mapped back onto the original names, which are canonical under {@code dpt.}: {@code dpt.act_postprocessK.*},
 * {@code dpt.scratch.*} (and {@code dpt.auxlayer.*} for segmentation). The encoder becomes timm's names.
 *
 * <p>DPT-Hybrid (isl-org's {@code dpt_hybrid-*.pt}: {@code pretrained.model.patch_embed.backbone.*}, timm 0.4.5's
 * ResNetV2 with {@code StdConv2dSame}): the ResNet goes to {@code hybrid.*} ({@link ResNetNames}), its convolution
 * weights standardised here with the source's rule, timm 0.4.5's {@code (w - mean) / (std + 1e-5)}, so the canonical
 * layout holds plain weights. {@code patch_embed.proj} stays, a 1x1 convolution on the last stage; the encoder's
 * patch size is the ResNet's total stride and its input channels the stem's. The decoder gets {@code backbone
 * "hybrid"}, the widths of taps 1 and 2 from {@code layer1_rn}/{@code layer2_rn} (the stages'), and hooks whose first
 * two are placeholders (see {@link #hybridHooks}). Hugging Face's DPT-Hybrid ({@code dpt.embeddings.backbone.bit.*},
 * transformers' BiT) becomes the same canonical layout ({@link HfDptHybrid}): its convolutions standardised with
 * BiT's own rule, {@code (w - mean) / sqrt(var + 1e-8)}, its settings read from {@code config.json} (the BiT backbone
 * checked against what the engine runs, the tapped blocks from {@code backbone_out_indices[2:]}).
 */
final class DptLayout extends Layout {
    private static final Pattern FUSION = Pattern.compile(
            "neck\\.fusion_stage\\.layers\\.(\\d)\\.(projection|residual_layer(\\d)\\.(convolution|batch_norm)(\\d))\\.(.+)");

    /** timm 0.4.5's {@code StdConv2dSame} eps, which isl-org/DPT's pinned timm uses for the hybrid's ResNet. */
    static final double STD_CONV_EPS = 1e-5;
    private static final String BACKBONE = "pretrained.model.patch_embed.backbone.";
    private static final String HF_BACKBONE = "dpt.embeddings.backbone.";

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
        boolean hybrid = names.stream().anyMatch(n -> n.startsWith(huggingFace ? HF_BACKBONE : BACKBONE));
        if (hybrid && huggingFace) {
            HfDptHybrid.map(plan, names);
        } else if (hybrid) {
            for (String n : names) {
                if (n.startsWith(BACKBONE)) {
                    String canonical = ResNetNames.canonical(n.substring(BACKBONE.length()));
                    if (canonical != null && ResNetNames.isConvolution(canonical)) {
                        plan.standardise(canonical, n, TensorPlan.StdRule.STD_PLUS_EPS, STD_CONV_EPS);
                    } else if (canonical != null) {
                        plan.rename(canonical, n);
                    }
                }
            }
        }
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
            if (!k.startsWith("dpt.") && !k.startsWith(ResNetNames.PREFIX)) {
                encoderShapes.put(k, v);
            }
        });
        JsonNode cfg = c.config().orElse(null);
        TimmVitConfig.Hints hints = huggingFace ? HfVitLayout.hints(cfg) : TimmVitConfig.Hints.NONE;
        List<String> notes = new ArrayList<>();
        if (hybrid && huggingFace) {
            HfDptHybrid.check(cfg, ResNetNames.stages(shapes.keySet()), notes, problems);
        }
        TimmVitConfig.Inferred encoder = dptPositions(hybrid
                ? hybridEncoder(shapes, encoderShapes, withOptions(hints, o), c.fileName(), huggingFace, notes,
                        problems)
                : encoder(encoderShapes, withOptions(hints, o), c.fileName(), problems));
        DptConfig decoder = null;
        ObjectNode preprocessing = null;
        if (encoder != null) {
            decoder = decoder(shapes, encoder.config(), hybrid, huggingFace, cfg, notes, problems);
            preprocessing = HfVitLayout.preprocessing(c.preprocessorConfig().orElse(null),
                    encoder.config().imageHeight(), encoder.config().imageWidth(), new ArrayList<>());
            preprocessing.put("interpolation", "bicubic");
            dptResize(preprocessing, c.preprocessorConfig().orElse(null));
            notes.add("preprocessing: DPT resizes keeping the aspect ratio to a multiple of 32 (bicubic) and"
                    + " normalises with mean = std = 0.5");
            if (decoder != null) {
                decoder = output(c.fileName(), o.dptOutput(), decoder, preprocessing, notes, problems);
            }
        }
        return conclude(c, name(), ModelFamily.DPT, plan, shapes, encoder, preprocessing, List.of(), decoder, notes,
                problems);
    }

    /**
     * A ViT-Hybrid's encoder: the transformer inferred as timm's ({@link #encoder}) with {@code patch_embed.proj}
     * standing for the patch convolution it replaces ({@code [dim, in, patch, patch]}, the patch the ResNet's total
     * stride: 4 from the stem, 2 per stage after the first, 16 for DPT-Hybrid's three), so the image size comes from
     * the position-embedding grid times that stride; then the ResNet's and the 1x1 projection's shapes are checked
     * ({@link ResNetNames#expectedShapes}).
     */
    private static TimmVitConfig.Inferred hybridEncoder(Map<String, Shape> shapes, Map<String, Shape> encoderShapes,
                                                        TimmVitConfig.Hints hints, String file, boolean huggingFace,
                                                        List<String> notes, List<String> problems) {
        Shape proj = shapes.get("patch_embed.proj.weight");
        Shape stemConv = shapes.get(ResNetNames.STEM_CONV + ".weight");
        int stages = ResNetNames.stages(shapes.keySet());
        if (proj == null || proj.rank() != 4 || stemConv == null || stemConv.rank() != 4 || stages == 0) {
            problems.add(huggingFace
                    ? "missing: DPT-Hybrid's dpt.embeddings.projection.weight (rank 4), " + HfDptHybrid.PREFIX
                            + "embedder.convolution.weight or its first stage"
                    : "missing: DPT-Hybrid's patch_embed.proj.weight (rank 4), " + BACKBONE + "stem.conv.weight"
                            + " or its first stage");
            return null;
        }
        int patch = 4 << (stages - 1);
        int inChannels = stemConv.intDim(1);
        Map<String, Shape> asPatches = new LinkedHashMap<>(encoderShapes);
        asPatches.put("patch_embed.proj.weight", Shape.of(proj.dim(0), inChannels, patch, patch));
        TimmVitConfig.Inferred inferred = encoder(asPatches, hints, file, problems);
        if (inferred == null) {
            return null;
        }
        Map<String, Shape> stem = new LinkedHashMap<>();
        shapes.forEach((k, v) -> {
            if (k.startsWith(ResNetNames.PREFIX) || k.startsWith("patch_embed.proj.")) {
                stem.put(k, v);
            }
        });
        Map<String, Shape> expected = ResNetNames.expectedShapes(shapes, inChannels, proj.intDim(0));
        checkShapes(expected, stem, problems);
        checkNoExtra(expected.keySet(), stem, problems);
        notes.add("DPT-Hybrid: patch size " + patch + " = the ResNet stem's total stride (" + stages + " stages),"
                + " in_channels " + inChannels + " from its first convolution; patch_embed.proj is a 1x1 convolution"
                + " on the last stage, not a patch convolution");
        String bitRule = TensorPlan.StdRule.SQRT_VAR_PLUS_EPS.formula(HfDptHybrid.STD_EPS);
        notes.add(huggingFace
                ? "DPT-Hybrid: the BiT ResNet's convolution weights standardised at conversion as transformers'"
                        + " WeightStandardizedConv2d, " + bitRule + "; GroupNorm 32 groups, eps 1e-5"
                : "DPT-Hybrid: the ResNet's convolution weights standardised at conversion as timm 0.4.5's"
                        + " StdConv2dSame, " + TensorPlan.StdRule.STD_PLUS_EPS.formula(STD_CONV_EPS)
                        + "; GroupNorm 32 groups, eps 1e-5");
        return inferred;
    }

    /**
     * DPT-Hybrid's hooks for an encoder of {@code depth} blocks: {@code [0, 1, 3 depth / 4 - 1, depth - 1]} ({@code
     * [0, 1, 8, 11]} for ViT-B, isl-org/DPT's {@code _make_pretrained_vitb_rn50_384}). The first two are placeholders:
     * taps 1 and 2 read the ResNet's stages 0 and 1, never a block; the last two are the blocks tapped, as for a plain
     * ViT ({@code 3 depth / 4 - 1} is the plain rule's third hook).
     */
    static int[] hybridHooks(int depth) {
        return new int[] {0, 1, 3 * depth / 4 - 1, depth - 1};
    }

    /**
     * The decoder with the output the user gave ({@link ConvertOptions#dptOutput()}): a metric output and
     * run_monodepth.py's network size ({@code net_width}, {@code net_height} in the preprocessing block) for KITTI or
     * NYU, refused (in {@code problems}) for a Hugging Face folder, whose DPTForDepthEstimation has no such setting, a
     * segmentation head, or a plain-ViT DPT (the two settings are DPT-Hybrid's). Not given, isl-org's KITTI or NYU
     * file name gets a note suggesting the option; the output stays relative inverse depth.
     */
    private DptConfig output(String file, DptOutput given, DptConfig decoder, ObjectNode preprocessing,
                             List<String> notes, List<String> problems) {
        if (given == null) {
            DptOutput suggested = huggingFace ? null : DptOutput.suggestedBy(file);
            if (suggested != null && decoder.head() == DptConfig.Head.DEPTH) {
                notes.add(Guesses.PREFIX + DptOutput.GUESS + ": " + file + " looks like isl-org's "
                        + suggested.name() + " checkpoint, which run_monodepth.py runs as metric depth at "
                        + suggested.netWidth() + "x" + suggested.netHeight() + "; give --dpt-output "
                        + suggested.optionName() + " for that");
            }
            return decoder;
        }
        if (given.metric() == null) {
            return decoder;
        }
        if (huggingFace) {
            problems.add("--dpt-output " + given.optionName() + ": a Hugging Face DPTForDepthEstimation has no metric"
                    + " output (its predicted_depth is the head's relative inverse depth); it is isl-org's .pt"
                    + " setting (run_monodepth.py)");
            return decoder;
        }
        if (decoder.head() != DptConfig.Head.DEPTH) {
            problems.add("--dpt-output " + given.optionName() + ": this DPT has a segmentation head; a metric output"
                    + " is depth's");
            return decoder;
        }
        if (decoder.backbone() != DptConfig.Backbone.HYBRID) {
            problems.add("--dpt-output " + given.optionName() + ": run_monodepth.py's " + given.name() + " setting is"
                    + " DPT-Hybrid's (dpt_hybrid_" + given.optionName() + "); this DPT is a plain ViT");
            return decoder;
        }
        preprocessing.put("net_width", given.netWidth());
        preprocessing.put("net_height", given.netHeight());
        notes.add("output: metric depth in metres (--dpt-output " + given.optionName() + ", run_monodepth.py's "
                + given.name() + " setting): 1 / max(" + given.metric().scale() + " x + " + given.metric().shift()
                + ", 1e-8), network size " + given.netWidth() + "x" + given.netHeight());
        return decoder.withMetric(given.metric());
    }

    /**
     * What DPTImageProcessor's resize adds to timm's keys, as {@code keep_aspect_ratio} and {@code ensure_multiple_of}
     * (the task's DPT preprocessing reads them; absent: the processor's defaults, false and 1).
     */
    private static void dptResize(ObjectNode preprocessing, JsonNode processor) {
        if (processor == null) {
            return;
        }
        JsonNode keep = processor.get("keep_aspect_ratio");
        if (keep != null && keep.isBoolean()) {
            preprocessing.put("keep_aspect_ratio", keep.asBoolean());
        }
        JsonNode multiple = processor.get("ensure_multiple_of");
        if (multiple != null && multiple.canConvertToInt() && multiple.asInt() >= 1) {
            preprocessing.put("ensure_multiple_of", multiple.asInt());
        }
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
    private static DptConfig decoder(Map<String, Shape> shapes, VitConfig enc, boolean hybrid, boolean huggingFace,
                                     JsonNode cfg, List<String> notes, List<String> problems) {
        int[] hooks = new int[DptConfig.STAGES];
        JsonNode given = cfg == null ? null : cfg.get("backbone_out_indices");
        if (hybrid && huggingFace) {
            int[] blocks = HfDptHybrid.tokenTaps(cfg, enc.depth(), notes, problems);
            if (blocks == null) {
                return null;
            }
            // The first two are placeholders, as for isl-org's hybrid: taps 1 and 2 read ResNet stages.
            hooks = new int[] {0, 1, blocks[0], blocks[1]};
        } else if (hybrid) {
            hooks = hybridHooks(enc.depth());
            notes.add("DPT-Hybrid hooks " + Arrays.toString(hooks).replace(" ", "") + " (isl-org/DPT's rule; the weights"
                    + " do not say): taps 1 and 2 are the ResNet's stages 0 and 1 (hooks[0], hooks[1] are not read),"
                    + " taps 3 and 4 blocks " + hooks[2] + " and " + hooks[3]);
        } else if (given != null) {
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
                if (k > 0 && hooks[k] <= hooks[k - 1]) {
                    // transformers collects the tapped blocks as the encoder runs: in block order, each once.
                    problems.add("config.json: backbone_out_indices must be increasing (transformers takes the blocks"
                            + " in the encoder's order), got " + UntrustedText.quote(given.toString()));
                    return null;
                }
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
        // DPT-Hybrid's act_postprocess1/2 are identities: those taps' widths are the stages', layerK_rn's input.
        int firstTokenTap = hybrid ? 3 : 1;
        DptConfig.Readout readout = shapes.containsKey("dpt.act_postprocess" + firstTokenTap + ".0.project.0.weight")
                ? DptConfig.Readout.PROJECT : DptConfig.Readout.IGNORE;
        if (huggingFace && !hybrid && cfg != null) {
            readout = hfReadout(cfg, readout, problems);
            if (readout == null) {
                return null;
            }
        }
        int[] features = new int[DptConfig.STAGES];
        boolean complete = true;
        for (int k = 1; k < firstTokenTap; k++) {
            Shape s = shapes.get("dpt.scratch.layer" + k + "_rn.weight");
            if (s == null || s.rank() != 4) {
                problems.add("missing: dpt.scratch.layer" + k + "_rn.weight (DPT-Hybrid's stage " + (k - 1) + " tap)");
                complete = false;
            } else {
                features[k - 1] = (int) s.dim(1);
            }
        }
        for (int k = firstTokenTap; k <= DptConfig.STAGES; k++) {
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
                    depth ? DptConfig.Head.DEPTH : DptConfig.Head.SEGMENTATION, batchNorm,
                    hybrid ? DptConfig.Backbone.HYBRID : DptConfig.Backbone.VIT, depth ? 0 : (int) out.dim(0));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    /**
     * A plain Hugging Face DPT's {@code readout_type} (DPTConfig's default {@code "project"}), checked against the
     * weights ({@code found}: project when they hold the readout projections), and the head settings the engine runs
     * only at their defaults ({@code head_in_index} -1, {@code add_projection} false); null with the reason in
     * {@code problems} otherwise.
     */
    private static DptConfig.Readout hfReadout(JsonNode cfg, DptConfig.Readout found, List<String> problems) {
        JsonNode head = cfg.get("head_in_index");
        if (head != null && !head.isNull() && !(head.canConvertToInt() && head.asInt() == -1)) {
            problems.add("config.json: head_in_index must be -1 (the head reads the last fusion stage, the only one"
                    + " Hourglass runs it on), got " + UntrustedText.quote(head.toString()));
            return null;
        }
        JsonNode projection = cfg.get("add_projection");
        if (projection != null && !projection.isNull() && !(projection.isBoolean() && !projection.asBoolean())) {
            problems.add("config.json: add_projection must be false (a projection before the head is not supported),"
                    + " got " + UntrustedText.quote(projection.toString()));
            return null;
        }
        JsonNode type = cfg.get("readout_type");
        String given = type == null || type.isNull() ? "project" : type.isTextual() ? type.asText() : null;
        DptConfig.Readout readout = given == null ? null : switch (given) {
            case "project" -> DptConfig.Readout.PROJECT;
            case "add" -> DptConfig.Readout.ADD;
            case "ignore" -> DptConfig.Readout.IGNORE;
            default -> null;
        };
        if (readout == null) {
            problems.add("config.json: readout_type must be \"project\", \"add\" or \"ignore\", got "
                    + UntrustedText.quote(type.toString()));
            return null;
        }
        if ((readout == DptConfig.Readout.PROJECT) != (found == DptConfig.Readout.PROJECT)) {
            problems.add("config.json: readout_type is \"" + given + "\" but the weights " + (found
                    == DptConfig.Readout.PROJECT ? "have" : "have no") + " neck.reassemble_stage.readout_projects");
            return null;
        }
        return readout;
    }
}
