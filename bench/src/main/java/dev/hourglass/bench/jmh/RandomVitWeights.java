package dev.hourglass.bench.jmh;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * Random timm-layout weights for a {@link VitConfig}, made in memory: no file, and no tensor exists before it is asked
 * for. Each {@link #tensor} call generates that tensor from a seed derived from its name (the same values every
 * time), on the heap, so a ViT-B (86 M parameters) never holds more than one layer's weight besides what the backend
 * packs. Values follow timm's initialisation scale (std 0.02 for weights and embeddings, LayerNorm weights near 1),
 * so activations stay in a realistic range through all blocks. Thread-safe. Also the encoder of
 * {@code dev.hourglass.bench.RandomSegmenterWeights}.
 */
public final class RandomVitWeights implements TensorSource {
    private static final Path NAME = Path.of("random-weights.safetensors");

    private enum Init {
        /** std 0.02, as timm's trunc_normal_(std=.02). */
        WEIGHT,
        /** small biases, so that the bias path is exercised. */
        BIAS,
        /** LayerNorm gain: 1 plus a little noise. */
        NORM_GAIN,
        /** A convolution's weight: std 1 / sqrt(fan in), fan in = the product of all but the first dimension. */
        CONV
    }

    private record Entry(TensorInfo info, Init init) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final long seed;
    private long offset;

    public RandomVitWeights(VitConfig c, long seed) {
        this.seed = seed;
        long d = c.embedDim();
        long h = c.mlpHidden();
        add("patch_embed.proj.weight", Init.WEIGHT, d, c.inChannels(), c.patchSize(), c.patchSize());
        add("patch_embed.proj.bias", Init.BIAS, d);
        if (c.classToken()) {
            add("cls_token", Init.WEIGHT, 1, 1, d);
        }
        if (c.distilled()) {
            add("dist_token", Init.WEIGHT, 1, 1, d);
        }
        add("pos_embed", Init.WEIGHT, 1, c.prefixTokens() + (long) c.gridHeight() * c.gridWidth(), d);
        for (int i = 0; i < c.depth(); i++) {
            String p = "blocks." + i + ".";
            add(p + "norm1.weight", Init.NORM_GAIN, d);
            add(p + "norm1.bias", Init.BIAS, d);
            add(p + "attn.qkv.weight", Init.WEIGHT, 3 * d, d);
            if (c.qkvBias()) {
                add(p + "attn.qkv.bias", Init.BIAS, 3 * d);
            }
            add(p + "attn.proj.weight", Init.WEIGHT, d, d);
            add(p + "attn.proj.bias", Init.BIAS, d);
            add(p + "norm2.weight", Init.NORM_GAIN, d);
            add(p + "norm2.bias", Init.BIAS, d);
            add(p + "mlp.fc1.weight", Init.WEIGHT, h, d);
            add(p + "mlp.fc1.bias", Init.BIAS, h);
            add(p + "mlp.fc2.weight", Init.WEIGHT, d, h);
            add(p + "mlp.fc2.bias", Init.BIAS, d);
        }
        add("norm.weight", Init.NORM_GAIN, d);
        add("norm.bias", Init.BIAS, d);
        if (c.numClasses() > 0) {
            add("head.weight", Init.WEIGHT, c.numClasses(), d);
            add("head.bias", Init.BIAS, c.numClasses());
            if (c.distilled()) {
                add("head_dist.weight", Init.WEIGHT, c.numClasses(), d);
                add("head_dist.bias", Init.BIAS, c.numClasses());
            }
        }
    }

    private void add(String name, Init init, long... dims) {
        Shape shape = Shape.of(dims);
        long bytes = shape.byteSize(DType.F32);
        entries.put(name, new Entry(new TensorInfo(name, "F32", shape, offset, offset + bytes), init));
        offset += bytes;
    }

    /**
     * Adds CF-ViT's tensors ({@code cfvit.pos_embed_coarse} for a {@code coarseGrid x coarseGrid} grid after the class
     * token, the reuse block's LayerNorm and MLP of hidden width {@code reuseHidden}), as the converter names them.
     *
     * @return this
     */
    public RandomVitWeights withCfVit(int coarseGrid, int embedDim, int reuseHidden) {
        add("cfvit.pos_embed_coarse", Init.WEIGHT, 1, 1 + (long) coarseGrid * coarseGrid, embedDim);
        add("cfvit.reuse_norm.weight", Init.NORM_GAIN, embedDim);
        add("cfvit.reuse_norm.bias", Init.BIAS, embedDim);
        add("cfvit.reuse_mlp.fc1.weight", Init.WEIGHT, reuseHidden, embedDim);
        add("cfvit.reuse_mlp.fc1.bias", Init.BIAS, reuseHidden);
        add("cfvit.reuse_mlp.fc2.weight", Init.WEIGHT, embedDim, reuseHidden);
        add("cfvit.reuse_mlp.fc2.bias", Init.BIAS, embedDim);
        return this;
    }

    /**
     * Replaces the patch embedding with LV-ViT's convolutional stem of width {@code stemChannels} (three
     * convolutions with BatchNorm, then {@code patch_embed.proj} with kernel {@code patchSize / 2}) and adds its
     * token-labelling head {@code lvvit.aux_head}, as the converter names them. BatchNorm's running variance is near 1.
     *
     * @return this
     */
    public RandomVitWeights withLvVitStem(int stemChannels, int inChannels, int embedDim, int patchSize,
                                          int numClasses) {
        entries.remove("patch_embed.proj.weight");
        entries.remove("patch_embed.proj.bias");
        long c = stemChannels;
        // A convolution's weights at a fan-in-scaled size (std about 1/sqrt(fan in)), so the stem keeps its scale.
        add("lvvit.stem.conv1.weight", Init.CONV, c, inChannels, 7, 7);
        add("lvvit.stem.conv2.weight", Init.CONV, c, c, 3, 3);
        add("lvvit.stem.conv3.weight", Init.CONV, c, c, 3, 3);
        for (int i = 1; i <= 3; i++) {
            String bn = "lvvit.stem.bn" + i + ".";
            add(bn + "weight", Init.NORM_GAIN, c);
            add(bn + "bias", Init.BIAS, c);
            add(bn + "running_mean", Init.BIAS, c);
            add(bn + "running_var", Init.NORM_GAIN, c);
        }
        add("patch_embed.proj.weight", Init.CONV, embedDim, c, patchSize / 2, patchSize / 2);
        add("patch_embed.proj.bias", Init.BIAS, embedDim);
        add("lvvit.aux_head.weight", Init.WEIGHT, numClasses, embedDim);
        add("lvvit.aux_head.bias", Init.BIAS, numClasses);
        return this;
    }

    /** Parameters in all tensors. */
    public long parameterCount() {
        return entries.values().stream().mapToLong(e -> e.info().shape().elementCount()).sum();
    }

    @Override
    public Path path() {
        return NAME;
    }

    @Override
    public List<TensorInfo> tensors() {
        List<TensorInfo> list = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            list.add(e.info());
        }
        return Collections.unmodifiableList(list);
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        return Optional.ofNullable(entries.get(name)).map(Entry::info);
    }

    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new SafetensorsException(NAME, "no tensor \"" + name + "\"");
        }
        Shape shape = e.info().shape();
        float[] v = new float[Math.toIntExact(shape.elementCount())];
        SplittableRandom r = new SplittableRandom(seed * 31 + name.hashCode());
        // Uniform in [-a, a) has std a / sqrt(3).
        double a = switch (e.init()) {
            case WEIGHT -> 0.02 * Math.sqrt(3);
            case BIAS -> 0.02;
            case NORM_GAIN -> 0.1;
            case CONV -> Math.sqrt(3.0 * shape.dim(0) / shape.elementCount());
        };
        double base = e.init() == Init.NORM_GAIN ? 1 : 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (base + (r.nextDouble() * 2 - 1) * a);
        }
        return Tensor.ofFloats(v, shape);
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public void close() {
        // Nothing is held: every tensor was made on request and belongs to its caller.
    }
}
