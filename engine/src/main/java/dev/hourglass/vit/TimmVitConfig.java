package dev.hourglass.vit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.ops.Resize;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;

/**
 * Reads the architecture of a timm ViT/DeiT checkpoint: from the hub {@code config.json} where it says, from the
 * tensor shapes otherwise. Depth, width, patch size, MLP width, tokens, qkv bias and classes come from the shapes;
 * the number of heads (which no shape shows) from {@code model_args.num_heads}, else from the architecture name's
 * family (tiny 3, small 6, base 12, large 16, huge 16, giant 16), else width / 64. timm builds every ViT/DeiT with
 * LayerNorm eps 1e-6 and resizes the position embedding bicubically with antialias.
 *
 * <p>A checkpoint with tensors this engine would not use (layer scale, register tokens, pre-norm...) is refused, with
 * the names, rather than run with a term silently missing.
 */
public final class TimmVitConfig {
    static final float TIMM_NORM_EPS = 1e-6f;

    private TimmVitConfig() {
    }

    /**
     * What is known about an encoder besides its tensors' shapes; null fields are inferred.
     *
     * @param numHeads     attention heads
     * @param normEps      LayerNorm epsilon (timm: 1e-6)
     * @param imageSize    trained input {@code [height, width]}
     * @param architecture a timm architecture name, for the number of heads
     */
    public record Hints(Integer numHeads, Float normEps, int[] imageSize, String architecture) {
        public static final Hints NONE = new Hints(null, null, null, null);
    }

    /** An inferred configuration and, in words, what was inferred rather than read. */
    public record Inferred(VitConfig config, List<String> notes) {
    }

    /**
     * @param hubConfig the checkpoint's {@code config.json} (may be null: everything is then inferred)
     * @param weights   the checkpoint's tensors, with timm's names
     */
    public static VitConfig read(JsonNode hubConfig, TensorSource weights) throws IOException {
        String file = weights.path().getFileName().toString();
        String pool = text(hubConfig, "global_pool");
        if (pool != null && !pool.equals("token")) {
            throw new IOException("config.json: global_pool \"" + pool + "\" is not supported; only \"token\" (class"
                    + " token) pooling is");
        }
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (TensorInfo t : weights.tensors()) {
            shapes.put(t.name(), t.shape());
        }
        VitConfig config = infer(shapes, hints(hubConfig), file).config();
        refuseUnusedTensors(weights, config, file);
        return config;
    }

    /** Hints from a timm hub {@code config.json}: {@code model_args}, {@code architecture}, the input size. */
    public static Hints hints(JsonNode hubConfig) throws IOException {
        if (hubConfig == null) {
            return Hints.NONE;
        }
        JsonNode modelArgs = hubConfig.get("model_args");
        Integer heads = null;
        JsonNode n = modelArgs == null ? null : modelArgs.get("num_heads");
        if (n != null) {
            if (!n.canConvertToInt() || n.asInt() < 1) {
                throw new IOException("config.json: model_args.num_heads = " + n + " is not a positive integer");
            }
            heads = n.asInt();
        }
        int[] size = null;
        JsonNode pretrained = hubConfig.get("pretrained_cfg");
        JsonNode inputSize = pretrained == null ? null : pretrained.get("input_size");
        JsonNode imgSize = modelArgs == null ? null : modelArgs.get("img_size");
        if (inputSize != null && inputSize.isArray() && inputSize.size() == 3) {
            size = new int[] {inputSize.get(1).asInt(), inputSize.get(2).asInt()};
        } else if (imgSize != null && imgSize.isInt()) {
            size = new int[] {imgSize.asInt(), imgSize.asInt()};
        } else if (imgSize != null && imgSize.isArray() && imgSize.size() == 2) {
            size = new int[] {imgSize.get(0).asInt(), imgSize.get(1).asInt()};
        }
        return new Hints(heads, null, size, text(hubConfig, "architecture"));
    }

    /**
     * Infers an encoder's configuration from its tensors' shapes (timm names) and hints.
     *
     * @param file names the source in error messages
     */
    public static Inferred infer(Map<String, Shape> shapes, Hints hints, String file) throws IOException {
        List<String> notes = new ArrayList<>();
        Shape conv = require(shapes, "patch_embed.proj.weight", 4, file);
        int embedDim = conv.intDim(0);
        int inChannels = conv.intDim(1);
        int patch = conv.intDim(2);
        if (conv.intDim(3) != patch) {
            throw new IOException(file + ": patch_embed.proj.weight " + conv + " has non-square patches");
        }
        int depth = 0;
        while (shapes.containsKey("blocks." + depth + ".norm1.weight")) {
            depth++;
        }
        int mlpHidden = depth == 0 ? 4 * embedDim : require(shapes, "blocks.0.mlp.fc1.weight", 2, file).intDim(0);
        boolean qkvBias = depth > 0 && shapes.containsKey("blocks.0.attn.qkv.bias");
        boolean classToken = shapes.containsKey("cls_token");
        boolean distilled = shapes.containsKey("dist_token");
        int numClasses = shapes.containsKey("head.weight") ? require(shapes, "head.weight", 2, file).intDim(0) : 0;
        int prefix = (classToken ? 1 : 0) + (distilled ? 1 : 0);

        int[] size = hints.imageSize();
        if (size == null) {
            // No configuration: assume a square grid, as timm does when it loads a bare state dict.
            long rows = require(shapes, "pos_embed", 3, file).dim(1) - prefix;
            int side = (int) Math.round(Math.sqrt(rows));
            if ((long) side * side != rows) {
                throw new IOException(file + ": pos_embed has " + rows + " grid rows, not a square grid; give the"
                        + " input size in config.json (pretrained_cfg.input_size)");
            }
            size = new int[] {side * patch, side * patch};
            notes.add("image size " + size[0] + "x" + size[1] + " from the position embedding (a square grid of "
                    + side + "x" + side + ")");
        }
        int heads;
        if (hints.numHeads() != null) {
            heads = hints.numHeads();
        } else {
            Integer byName = headsOfArchitecture(hints.architecture());
            if (byName != null) {
                heads = byName;
                notes.add("num_heads = " + heads + " from the architecture name " + hints.architecture());
            } else {
                heads = Math.max(1, embedDim / 64);
                notes.add("num_heads = " + heads + " = width " + embedDim + " / 64 (no configuration says;"
                        + " override with --heads)");
            }
        }
        float eps = hints.normEps() == null ? TIMM_NORM_EPS : hints.normEps();
        if (hints.normEps() == null) {
            notes.add("LayerNorm eps 1e-6 (timm's)");
        }
        try {
            return new Inferred(new VitConfig(size[0], size[1], patch, inChannels, embedDim, depth, heads, mlpHidden,
                    qkvBias, classToken, distilled, numClasses, eps, Resize.Mode.BICUBIC, true), List.copyOf(notes));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** timm's heads per family name (tiny 3, small 6, base 12, large/huge/giant 16), or null. */
    private static Integer headsOfArchitecture(String arch) {
        if (arch == null) {
            return null;
        }
        String a = arch.toLowerCase(Locale.ROOT);
        if (a.contains("_tiny")) {
            return 3;
        }
        if (a.contains("_small")) {
            return 6;
        }
        if (a.contains("_base")) {
            return 12;
        }
        if (a.contains("_large") || a.contains("_huge") || a.contains("_giant")) {
            return 16;
        }
        return null;
    }

    private static void refuseUnusedTensors(TensorSource weights, VitConfig config, String file) throws IOException {
        Set<String> used = TimmVitLayout.expectedShapes(config).keySet();
        List<String> unused = new ArrayList<>();
        for (TensorInfo t : weights.tensors()) {
            if (!used.contains(t.name())) {
                unused.add(t.name());
            }
        }
        if (!unused.isEmpty()) {
            throw new IOException(file + ": " + unused.size() + " tensor(s) this ViT/DeiT implementation does not use"
                    + " (layer scale, register tokens, pre-norm or another architecture?): "
                    + String.join(", ", unused.subList(0, Math.min(8, unused.size())))
                    + (unused.size() > 8 ? ", ..." : ""));
        }
    }

    private static Shape require(Map<String, Shape> shapes, String name, int rank, String file) throws IOException {
        Shape shape = shapes.get(name);
        if (shape == null) {
            throw new IOException(file + ": tensor \"" + name + "\" is missing; is this a ViT/DeiT checkpoint?");
        }
        if (shape.rank() != rank) {
            throw new IOException(file + ": tensor \"" + name + "\" has shape " + shape + ", expected rank " + rank);
        }
        return shape;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
