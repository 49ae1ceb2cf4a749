package dev.hourglass.vit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.kernels.Resize;
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
     * @param hubConfig the checkpoint's {@code config.json} (may be null: everything is then inferred)
     * @param weights   the checkpoint's tensors
     */
    public static VitConfig read(JsonNode hubConfig, TensorSource weights) throws IOException {
        String file = weights.path().getFileName().toString();
        JsonNode modelArgs = hubConfig == null ? null : hubConfig.get("model_args");
        String pool = text(hubConfig, "global_pool");
        if (pool != null && !pool.equals("token")) {
            throw new IOException("config.json: global_pool \"" + pool + "\" is not supported; only \"token\" (class"
                    + " token) pooling is");
        }

        Shape conv = require(weights, "patch_embed.proj.weight", 4);
        int embedDim = conv.intDim(0);
        int inChannels = conv.intDim(1);
        int patch = conv.intDim(2);
        if (conv.intDim(3) != patch) {
            throw new IOException(file + ": patch_embed.proj.weight " + conv + " has non-square patches");
        }
        int depth = 0;
        while (weights.contains("blocks." + depth + ".norm1.weight")) {
            depth++;
        }
        int mlpHidden = depth == 0 ? 4 * embedDim : require(weights, "blocks.0.mlp.fc1.weight", 2).intDim(0);
        boolean qkvBias = depth > 0 && weights.contains("blocks.0.attn.qkv.bias");
        boolean classToken = weights.contains("cls_token");
        boolean distilled = weights.contains("dist_token");
        int numClasses = weights.contains("head.weight") ? require(weights, "head.weight", 2).intDim(0) : 0;
        int prefix = (classToken ? 1 : 0) + (distilled ? 1 : 0);

        int[] size = imageSize(hubConfig, modelArgs, weights, prefix, patch, file);
        int heads = heads(hubConfig, modelArgs, embedDim);

        VitConfig config;
        try {
            config = new VitConfig(size[0], size[1], patch, inChannels, embedDim, depth, heads, mlpHidden, qkvBias,
                    classToken, distilled, numClasses, TIMM_NORM_EPS, Resize.Mode.BICUBIC, true);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        refuseUnusedTensors(weights, config, file);
        return config;
    }

    private static int[] imageSize(JsonNode hubConfig, JsonNode modelArgs, TensorSource weights, int prefix, int patch,
                                   String file) throws IOException {
        JsonNode pretrained = hubConfig == null ? null : hubConfig.get("pretrained_cfg");
        JsonNode inputSize = pretrained == null ? null : pretrained.get("input_size");
        if (inputSize != null && inputSize.isArray() && inputSize.size() == 3) {
            return new int[] {inputSize.get(1).asInt(), inputSize.get(2).asInt()};
        }
        JsonNode imgSize = modelArgs == null ? null : modelArgs.get("img_size");
        if (imgSize != null && imgSize.isInt()) {
            return new int[] {imgSize.asInt(), imgSize.asInt()};
        }
        if (imgSize != null && imgSize.isArray() && imgSize.size() == 2) {
            return new int[] {imgSize.get(0).asInt(), imgSize.get(1).asInt()};
        }
        // No configuration: assume a square grid, as timm does when it loads a bare state dict.
        long rows = require(weights, "pos_embed", 3).dim(1) - prefix;
        int side = (int) Math.round(Math.sqrt(rows));
        if ((long) side * side != rows) {
            throw new IOException(file + ": pos_embed has " + rows + " grid rows, not a square grid; give the input"
                    + " size in config.json (pretrained_cfg.input_size)");
        }
        return new int[] {side * patch, side * patch};
    }

    private static int heads(JsonNode hubConfig, JsonNode modelArgs, int embedDim) throws IOException {
        JsonNode n = modelArgs == null ? null : modelArgs.get("num_heads");
        if (n != null) {
            if (!n.canConvertToInt() || n.asInt() < 1) {
                throw new IOException("config.json: model_args.num_heads = " + n + " is not a positive integer");
            }
            return n.asInt();
        }
        String arch = text(hubConfig, "architecture");
        if (arch != null) {
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
        }
        return Math.max(1, embedDim / 64);
    }

    private static void refuseUnusedTensors(TensorSource weights, VitConfig config, String file) throws IOException {
        Set<String> used = new TreeSet<>(List.of("patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed",
                "norm.weight", "norm.bias"));
        if (config.classToken()) {
            used.add("cls_token");
        }
        if (config.distilled()) {
            used.add("dist_token");
        }
        if (config.numClasses() > 0) {
            used.addAll(List.of("head.weight", "head.bias"));
            if (config.distilled()) {
                used.addAll(List.of("head_dist.weight", "head_dist.bias"));
            }
        }
        for (int i = 0; i < config.depth(); i++) {
            for (String s : List.of("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight",
                    "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                    "mlp.fc2.weight", "mlp.fc2.bias")) {
                used.add("blocks." + i + "." + s);
            }
            if (config.qkvBias()) {
                used.add("blocks." + i + ".attn.qkv.bias");
            }
        }
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

    private static Shape require(TensorSource weights, String name, int rank) throws IOException {
        TensorInfo info = weights.info(name).orElseThrow(() -> new IOException(weights.path().getFileName()
                + ": tensor \"" + name + "\" is missing; is this a timm ViT/DeiT checkpoint?"));
        if (info.shape().rank() != rank) {
            throw new IOException(weights.path().getFileName() + ": tensor \"" + name + "\" has shape "
                    + info.shape() + ", expected rank " + rank);
        }
        return info.shape();
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
