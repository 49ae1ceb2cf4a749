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
 * Random weights made in memory, the common part of the benchmarks' random models ({@link RandomVitWeights},
 * {@code dev.hourglass.bench.RandomSegmenterWeights}, {@code dev.hourglass.bench.RandomDptWeights}): a subclass lists
 * its tensors with how each is drawn, and each {@link #tensor} call generates that tensor from a seed derived from its
 * name (the same values every time), on the heap, so no tensor exists before it is asked for. Every value is uniform
 * around a base ({@code 1} for gains, else {@code 0}) with a half-width chosen by the tensor's kind. Thread-safe once
 * built.
 */
public abstract class RandomTensors implements TensorSource {

    /** How a tensor is drawn. */
    public enum Init {
        /** std 0.02, as timm's trunc_normal_(std=.02). */
        WEIGHT,
        /** small biases, so that the bias path is exercised. */
        BIAS,
        /** LayerNorm gain (or BatchNorm's gain and running variance): 1 plus a little noise. */
        NORM_GAIN,
        /**
         * A convolution's or linear layer's weight at a variance-preserving scale: std 1 / sqrt(fan in), fan in = the
         * product of all but the first dimension.
         */
        CONV
    }

    private record Entry(TensorInfo info, double base, double halfWidth) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Path name;
    private final long seed;
    private long offset;

    /**
     * @param fileName what {@link #path()} says (error messages name it)
     * @param seed     the model's seed: the same seed and names give the same values
     */
    protected RandomTensors(String fileName, long seed) {
        this.name = Path.of(fileName);
        this.seed = seed;
    }

    /** Adds a tensor drawn as {@code init} says (replacing one of the same name, which keeps its place). */
    protected final void add(String name, Init init, long... dims) {
        add(name, init, Shape.of(dims));
    }

    /** {@link #add(String, Init, long...)} with a shape. */
    protected final void add(String name, Init init, Shape shape) {
        // Uniform in [-a, a) has std a / sqrt(3).
        double a = switch (init) {
            case WEIGHT -> 0.02 * Math.sqrt(3);
            case BIAS -> 0.02;
            case NORM_GAIN -> 0.1;
            case CONV -> Math.sqrt(3.0 * shape.dim(0) / shape.elementCount());
        };
        addUniform(name, init == Init.NORM_GAIN ? 1 : 0, a, shape);
    }

    /** Adds a tensor uniform in {@code [base - halfWidth, base + halfWidth)}. */
    protected final void addUniform(String name, double base, double halfWidth, Shape shape) {
        long bytes = shape.byteSize(DType.F32);
        entries.put(name, new Entry(new TensorInfo(name, "F32", shape, offset, offset + bytes), base, halfWidth));
        offset += bytes;
    }

    /** Removes a tensor, if there is one of that name. */
    protected final void remove(String name) {
        entries.remove(name);
    }

    /**
     * Adds a ViT encoder in timm's names at timm's initialisation scale (std 0.02 for weights and embeddings,
     * LayerNorm gains near 1), so activations stay in a realistic range through all blocks; its classifier head when
     * {@code numClasses > 0}.
     */
    protected final void addVit(VitConfig c) {
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

    /** Parameters in all tensors. */
    public long parameterCount() {
        return entries.values().stream().mapToLong(e -> e.info().shape().elementCount()).sum();
    }

    @Override
    public Path path() {
        return name;
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
            throw new SafetensorsException(this.name, "no tensor \"" + name + "\"");
        }
        Shape shape = e.info().shape();
        float[] v = new float[Math.toIntExact(shape.elementCount())];
        SplittableRandom r = new SplittableRandom(seed * 31 + name.hashCode());
        double a = e.halfWidth();
        double base = e.base();
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
        // Nothing is held: every tensor is made on request and belongs to its caller.
    }
}
