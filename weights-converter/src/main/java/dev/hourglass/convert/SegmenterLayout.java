package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.io.UntrustedText;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.segmenter.SegmenterDecoderTensors;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VitConfig;

/**
 * Segmenter (rstrudel/segmenter): {@code checkpoint.pth} = {@code {'model': {'encoder.*', 'decoder.*'}, 'n_cls', ...}}
 * with {@code variant.yml} beside it; and the same weights renamed by Expedit's mmseg conversion
 * ({@code backbone.*}, {@code decode_head.*}). The encoder becomes timm's names; the decoder keeps Segmenter's names
 * under {@code decoder.}: the mask transformer ({@code cls_emb}, {@code proj_dec}, {@code blocks.i.*},
 * {@code decoder_norm}, {@code proj_patch}, {@code proj_classes}, {@code mask_norm}) or the linear head
 * ({@code head.*}). LayerNorm eps: 1e-5 in Segmenter's own code, 1e-6 for the encoder in Expedit's mmseg configs; the
 * decoder keeps 1e-5 in both.
 */
final class SegmenterLayout extends Layout {
    static final float SEGMENTER_EPS = 1e-5f;
    static final float MMSEG_ENCODER_EPS = 1e-6f;

    private final boolean mmseg;

    SegmenterLayout(boolean mmseg) {
        this.mmseg = mmseg;
    }

    @Override
    String name() {
        return mmseg ? "segmenter-mmseg" : "segmenter";
    }

    @Override
    boolean matches(Set<String> names) {
        return mmseg
                ? names.contains("backbone.layers.0.ln1.weight") && names.stream().anyMatch(n -> n.startsWith("decode_head."))
                : names.contains("encoder.patch_embed.proj.weight") && names.stream().anyMatch(n -> n.startsWith("decoder."));
    }

    @Override
    Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        TensorPlan plan = new TensorPlan();
        String decoderPrefix = mmseg ? "decode_head." : "decoder.";
        if (mmseg) {
            mapMmsegBackbone(plan, names);
            // Expedit's conversion leaves the encoder's unused ImageNet head under its old name.
            HfVitLayout.renameIfPresent(plan, names, "head.weight", "encoder.head.weight");
            HfVitLayout.renameIfPresent(plan, names, "head.bias", "encoder.head.bias");
        } else {
            mapTimmEncoder(plan, names, "encoder.");
        }
        for (String n : names) {
            if (n.startsWith(decoderPrefix)) {
                plan.rename(SegmenterDecoderTensors.PREFIX + n.substring(decoderPrefix.length()), n);
            }
        }

        List<String> problems = new ArrayList<>();
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        SegmenterVariant variant = SegmenterVariant.of(c.variant().orElse(null), problems);
        Integer heads = o.heads() != null ? o.heads() : variant.heads();
        int[] size = variant.imageSize();
        float eps = mmseg ? MMSEG_ENCODER_EPS : SEGMENTER_EPS;
        List<String> notes = new ArrayList<>();
        if (!variant.present()) {
            notes.add("no variant.yml: window size and stride default to the training size; normalisation to 'vit'");
        }
        Map<String, Shape> encoderShapes = new LinkedHashMap<>();
        shapes.forEach((k, v) -> {
            if (!k.startsWith(SegmenterDecoderTensors.PREFIX)) {
                encoderShapes.put(k, v);
            }
        });
        TimmVitConfig.Inferred encoder = encoder(encoderShapes,
                new TimmVitConfig.Hints(heads, eps, size, null), c.fileName(), problems);
        SegmenterDecoderConfig decoder = null;
        ObjectNode preprocessing = null;
        if (encoder != null) {
            decoder = decoder(c, shapes, encoder.config(), variant, o, problems, notes);
            preprocessing = preprocessing(encoder.config(), variant.normalization(), window(variant, encoder.config()));
        }
        return conclude(c, name(), ModelFamily.SEGMENTER, plan, shapes, encoder, preprocessing, List.of(), decoder,
                notes, problems);
    }

    private static void mapMmsegBackbone(TensorPlan plan, Set<String> names) {
        HfVitLayout.renameIfPresent(plan, names, "cls_token", "backbone.cls_token");
        HfVitLayout.renameIfPresent(plan, names, "pos_embed", "backbone.pos_embed");
        HfVitLayout.renameIfPresent(plan, names, "patch_embed.proj.weight", "backbone.patch_embed.projection.weight");
        HfVitLayout.renameIfPresent(plan, names, "patch_embed.proj.bias", "backbone.patch_embed.projection.bias");
        HfVitLayout.renameIfPresent(plan, names, "norm.weight", "backbone.ln1.weight");
        HfVitLayout.renameIfPresent(plan, names, "norm.bias", "backbone.ln1.bias");
        for (int i = 0; names.contains("backbone.layers." + i + ".ln1.weight"); i++) {
            String l = "backbone.layers." + i + ".";
            String b = "blocks." + i + ".";
            for (String w : new String[] {"weight", "bias"}) {
                HfVitLayout.renameIfPresent(plan, names, b + "norm1." + w, l + "ln1." + w);
                HfVitLayout.renameIfPresent(plan, names, b + "attn.qkv." + w, l + "attn.attn.in_proj_" + w);
                HfVitLayout.renameIfPresent(plan, names, b + "attn.proj." + w, l + "attn.attn.out_proj." + w);
                HfVitLayout.renameIfPresent(plan, names, b + "norm2." + w, l + "ln2." + w);
                HfVitLayout.renameIfPresent(plan, names, b + "mlp.fc1." + w, l + "ffn.layers.0.0." + w);
                HfVitLayout.renameIfPresent(plan, names, b + "mlp.fc2." + w, l + "ffn.layers.1." + w);
            }
        }
    }

    /**
     * The decoder's settings, and a check of its tensors' shapes against {@link SegmenterDecoderTensors}; null (with
     * the reason in {@code problems}) when they cannot be settled.
     */
    private SegmenterDecoderConfig decoder(Checkpoint c, Map<String, Shape> shapes, VitConfig enc,
                                           SegmenterVariant variant, ConvertOptions o, List<String> problems,
                                           List<String> notes) {
        boolean linear = shapes.containsKey(SegmenterDecoderTensors.HEAD_WEIGHT);
        String type = linear ? SegmenterDecoderConfig.LINEAR : SegmenterDecoderConfig.MASK_TRANSFORMER;
        Integer nCls = variant.classes();
        if (nCls == null) {
            nCls = nClsFromCheckpoint(c, problems).orElse(null);
        }
        Shape classShape = shapes.get(linear ? SegmenterDecoderTensors.HEAD_WEIGHT
                : SegmenterDecoderTensors.CLASS_EMBEDDINGS);
        if (nCls == null && classShape != null) {
            nCls = (int) (linear ? classShape.dim(0) : classShape.dim(1));
            notes.add("n_cls = " + nCls + " from the decoder's shapes");
        }
        if (nCls == null) {
            problems.add("missing: the number of classes (no variant.yml, no n_cls, no decoder head)");
            return null;
        }
        SegmenterDecoderConfig.MaskTransformer mask = null;
        boolean usable = true;
        if (!linear) {
            Shape proj = shapes.get(SegmenterDecoderTensors.PROJ_DEC_WEIGHT);
            int dModel = proj != null ? (int) proj.dim(0) : enc.embedDim();
            int layers = 0;
            while (shapes.containsKey(SegmenterDecoderTensors.block(layers) + "norm1.weight")) {
                layers++;
            }
            Shape fc1 = shapes.get(SegmenterDecoderTensors.block(0) + "mlp.fc1.weight");
            int dff = fc1 != null ? (int) fc1.dim(0) : 4 * dModel;
            int heads = o.decoderHeads() != null ? o.decoderHeads() : dModel / 64;
            if (o.decoderHeads() == null) {
                notes.add("decoder heads = d_model / 64 = " + heads + " (Segmenter's rule; override with"
                        + " --decoder-heads)");
            }
            if (heads < 1 || dModel % heads != 0) {
                problems.add("missing: decoder heads (d_model " + dModel + " / 64 = " + heads + " is not usable;"
                        + " give --decoder-heads)");
                // The shapes are still checked, with one head (they do not depend on it).
                heads = 1;
                usable = false;
            }
            try {
                mask = new SegmenterDecoderConfig.MaskTransformer(layers, dModel, heads, dff, SEGMENTER_EPS);
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                return null;
            }
        }
        int window = window(variant, enc);
        int stride = variant.stride() != null ? variant.stride() : window;
        SegmenterDecoderConfig config;
        try {
            config = new SegmenterDecoderConfig(nCls, window, stride, mask,
                    variant.inferenceSize() != null ? variant.inferenceSize() : 0);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return null;
        }
        Map<String, Shape> actual = new LinkedHashMap<>();
        shapes.forEach((k, v) -> {
            if (k.startsWith(SegmenterDecoderTensors.PREFIX)) {
                actual.put(k, v);
            }
        });
        Map<String, Shape> expected = SegmenterDecoderTensors.expectedShapes(config, enc.embedDim());
        checkShapes(expected, actual, problems);
        checkNoExtra(expected.keySet(), actual, problems);
        String name = variant.decoderName();
        if (name != null && !name.equals(type)) {
            problems.add("mis-shaped: variant.yml says decoder " + name + ", the weights are a " + type
                    + " decoder");
        }
        return usable ? config : null;
    }

    /** The sliding window's side: variant.yml's, else the size the encoder was trained at. */
    private static int window(SegmenterVariant variant, VitConfig enc) {
        return variant.window() != null ? variant.window() : enc.imageHeight();
    }

    /** The class count a checkpoint records: safetensors metadata, or Expedit's mmseg {@code meta.n_cls}. */
    private static Optional<Integer> nClsFromCheckpoint(Checkpoint c, List<String> problems) {
        String fromMetadata = c.tensors().metadata().get("n_cls");
        if (fromMetadata != null) {
            if (fromMetadata.matches("[1-9][0-9]{0,8}")) {
                return Optional.of(Integer.parseInt(fromMetadata));
            }
            problems.add(c.fileName() + ": n_cls " + UntrustedText.quote(fromMetadata) + " is not a number of classes");
            return Optional.empty();
        }
        // Expedit's mmseg checkpoints keep it in meta.n_cls.
        if (c.pickleRoot().orElse(null) instanceof Map<?, ?> root && root.get("meta") instanceof Map<?, ?> meta
                && meta.get("n_cls") != null) {
            Object n = meta.get("n_cls");
            if (n instanceof Long count && count >= 1 && count <= Integer.MAX_VALUE) {
                return Optional.of(count.intValue());
            }
            // A scalar is shown; a container only named (a pickle may share one container many times over).
            problems.add(c.fileName() + ": meta.n_cls " + (n instanceof Number || n instanceof String
                    ? UntrustedText.quote(String.valueOf(n)) : "of type " + n.getClass().getSimpleName())
                    + " is not a number of classes");
        }
        return Optional.empty();
    }

    private static ObjectNode preprocessing(VitConfig enc, String normalization, int window) {
        boolean deit = "deit".equals(normalization);
        ObjectNode p = timmDefaultPreprocessing(enc, 1.0, deit ? IMAGENET_MEAN : HALF, deit ? IMAGENET_STD : HALF);
        p.putArray("input_size").add(3).add(window).add(window);
        p.put("interpolation", "bilinear");
        p.put("crop_mode", "squash");
        return p;
    }
}
