package dev.hourglass.vit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.safetensors.TensorSource;

/**
 * ViT-Hybrid's patch embedding ({@link VitVariant.Stem#RESNET_V2}): timm's ResNetV2 without pre-activation, as
 * {@code vit_base_resnet50_384} builds it for DPT-Hybrid (transformers' BiT with {@code layer_type "bottleneck"} and
 * {@code global_padding "SAME"} is the same network), then {@code patch_embed.proj}, a 1x1 convolution with bias
 * from the last stage's width to the token width. Channels-last throughout, on the backend's convolution, GroupNorm,
 * max-pool, ReLU and add:
 * <pre>
 *   stem:   conv 7x7 s2 'SAME' -> GroupNorm + ReLU -> max-pool 3x3 s2 'SAME' (padding -inf)
 *   stage S (stride 1 for S = 0, else 2), unit U:
 *           shortcut = U == 0 ? GroupNorm(conv 1x1 stride s (x)) : x
 *           y = GN+ReLU(conv1 1x1 (x)) -> GN+ReLU(conv2 3x3 stride s 'SAME') -> GN(conv3 1x1)
 *           out = ReLU(y + shortcut)
 *   tokens = proj 1x1 (+ bias) of the last stage's output: the grid at stride 4 * 2^(stages - 1) (16 for three)
 * </pre>
 * Every convolution has no bias and TensorFlow's 'SAME' padding ({@link Conv2d#same}); the weights are plain (the
 * converter applies the checkpoint's weight standardisation). GroupNorm has timm's 32 groups and eps 1e-5. Unit
 * counts, widths and the bottleneck width are read from the tensors ({@link ResNetNames}). Immutable; {@link #run}
 * keeps its activations in buffers the caller owns.
 */
final class ResNetStem {
    /** timm's GroupNormAct default for ResNetV2. */
    static final int GROUPS = 32;
    /** GroupNorm's epsilon (timm and PyTorch default). */
    static final float GROUP_NORM_EPS = 1e-5f;

    private record Conv(ConvWeights weights, int in, int out, int kernel, int stride) {
        Conv2d shape(int batch, int height, int width) {
            return Conv2d.same(batch, height, width, in, out, kernel, stride);
        }
    }

    private record Norm(Buffer gamma, Buffer beta, int channels) {
        void apply(Backend backend, Buffer x, int batch, int pixels, boolean relu) {
            backend.groupNorm(x, x, batch, pixels, channels, GROUPS, gamma, beta, GROUP_NORM_EPS, relu);
        }
    }

    private record Unit(Conv downsample, Norm downsampleNorm, Conv conv1, Norm norm1, Conv conv2, Norm norm2,
                        Conv conv3, Norm norm3) {
    }

    private final Conv stem;
    private final Norm stemNorm;
    private final List<List<Unit>> stages;
    private final Conv proj;

    private ResNetStem(Conv stem, Norm stemNorm, List<List<Unit>> stages, Conv proj) {
        this.stem = stem;
        this.stemNorm = stemNorm;
        this.stages = stages;
        this.proj = proj;
    }

    /**
     * The stem and projection of a model of width {@code dim} whose patch size is the stem's total stride.
     *
     * @throws IOException naming the file and tensor when one is missing or mis-shaped, or the stem's stride is not
     *                     {@code patch}
     */
    static ResNetStem load(WeightStore store, TensorSource source, TensorLookup names, int inChannels, int dim,
                           int patch) throws IOException {
        Object file = source.path().getFileName();
        String first = ResNetNames.STEM_CONV + ".weight";
        if (!source.contains(first)) {
            throw new IOException(file + ": tensor \"" + first + "\" is missing (needed by the ViT-Hybrid's ResNet"
                    + " stem)");
        }
        int width = Math.toIntExact(source.tensor(first).shape().dim(0));
        Conv stem = conv(store, names, ResNetNames.STEM_CONV, inChannels, width, 7, 2);
        Norm stemNorm = norm(store, names, file, ResNetNames.STEM_NORM, width);
        List<List<Unit>> stages = new ArrayList<>();
        int in = width;
        for (int s = 0; source.contains(ResNetNames.unit(s, 0) + ".conv1.weight"); s++) {
            int stride = s == 0 ? 1 : 2;
            List<Unit> units = new ArrayList<>();
            for (int u = 0; source.contains(ResNetNames.unit(s, u) + ".conv1.weight"); u++) {
                String base = ResNetNames.unit(s, u);
                int mid = Math.toIntExact(source.tensor(base + ".conv1.weight").shape().dim(0));
                String c3 = base + ".conv3.weight";
                if (!source.contains(c3)) {
                    throw new IOException(file + ": tensor \"" + c3 + "\" is missing (needed by the ViT-Hybrid's"
                            + " ResNet stem)");
                }
                int out = Math.toIntExact(source.tensor(c3).shape().dim(0));
                Conv down = null;
                Norm downNorm = null;
                if (u == 0) {
                    down = conv(store, names, base + ".downsample.conv", in, out, 1, stride);
                    downNorm = norm(store, names, file, base + ".downsample.norm", out);
                } else if (source.contains(base + ".downsample.conv.weight")) {
                    throw new IOException(file + ": tensor \"" + base + ".downsample.conv.weight\" is unexpected:"
                            + " only the first unit of a stage has a downsample");
                }
                int unitStride = u == 0 ? stride : 1;
                units.add(new Unit(down, downNorm,
                        conv(store, names, base + ".conv1", in, mid, 1, 1), norm(store, names, file, base + ".norm1", mid),
                        conv(store, names, base + ".conv2", mid, mid, 3, unitStride),
                        norm(store, names, file, base + ".norm2", mid),
                        conv(store, names, base + ".conv3", mid, out, 1, 1), norm(store, names, file, base + ".norm3", out)));
                in = out;
            }
            stages.add(List.copyOf(units));
        }
        if (stages.isEmpty()) {
            throw new IOException(file + ": tensor \"" + ResNetNames.unit(0, 0) + ".conv1.weight\" is missing (the"
                    + " ViT-Hybrid's ResNet stem has no stage)");
        }
        long stride = 4L << (stages.size() - 1);
        if (stride != patch) {
            throw new IOException(file + ": the ResNet stem's " + stages.size() + " stages have a total stride of "
                    + stride + " (4 from the stem, 2 per stage after the first), but the encoder's patch_size is "
                    + patch);
        }
        Conv proj = new Conv(store.conv2d(names.tensor("patch_embed.proj.weight", dim, in, 1, 1),
                names.tensor("patch_embed.proj.bias", dim)), in, dim, 1, 1);
        return new ResNetStem(stem, stemNorm, List.copyOf(stages), proj);
    }

    private static Conv conv(WeightStore store, TensorLookup names, String name, int in, int out, int kernel,
                             int stride) throws IOException {
        return new Conv(store.conv2d(names.tensor(name + ".weight", out, in, kernel, kernel), null), in, out, kernel,
                stride);
    }

    private static Norm norm(WeightStore store, TensorLookup names, Object file, String name, int channels)
            throws IOException {
        if (channels % GROUPS != 0) {
            throw new IOException(file + ": " + name + " normalises " + channels + " channels, which GroupNorm's "
                    + GROUPS + " groups do not divide");
        }
        return new Norm(store.constant(names.tensor(name + ".weight", channels)),
                store.constant(names.tensor(name + ".bias", channels)), channels);
    }

    /** The number of stages. */
    int stages() {
        return stages.size();
    }

    /**
     * Patch embeddings {@code [batch * gridH * gridW, dim]} (row-major grid) from channels-last pixels
     * {@code [batch, height, width, channels]}, into {@code out}. Every stage's output is written to a buffer from
     * {@code keep} (the caller owns them) and returned in stage order; every other activation is freed as soon as
     * the next step has read it.
     */
    List<StageOutput> run(Backend backend, Buffer pixels, int batch, int height, int width, LongFunction<Buffer> keep,
                          Buffer out) {
        Buffer current = null;
        boolean currentKept = false;
        try {
            Conv2d c = stem.shape(batch, height, width);
            current = backend.allocate(c.outputSize());
            backend.conv2d(pixels, c, stem.weights(), current, Epilogue.NONE);
            int h = c.outHeight();
            int w = c.outWidth();
            stemNorm.apply(backend, current, batch, h * w, true);
            Conv2d pool = Conv2d.same(batch, h, w, stem.out(), stem.out(), 3, 2);
            Buffer pooled = backend.allocate(pool.outputSize());
            try {
                backend.maxPool2d(current, pooled, pool);
            } catch (RuntimeException | Error e) {
                pooled.close();
                throw e;
            }
            current.close();
            current = pooled;
            h = pool.outHeight();
            w = pool.outWidth();
            List<StageOutput> kept = new ArrayList<>();
            for (List<Unit> units : stages) {
                for (int u = 0; u < units.size(); u++) {
                    Unit unit = units.get(u);
                    Conv2d mid = unit.conv2().shape(batch, h, w);
                    int channels = unit.conv3().out();
                    long size = (long) batch * mid.outHeight() * mid.outWidth() * channels;
                    boolean last = u == units.size() - 1;
                    Buffer y = last ? keep.apply(size) : backend.allocate(size);
                    try {
                        unit(backend, unit, current, batch, h, w, y);
                    } catch (RuntimeException | Error e) {
                        if (!last) {
                            y.close();
                        }
                        throw e;
                    }
                    if (!currentKept) {
                        current.close();
                    }
                    current = y;
                    currentKept = last;
                    h = mid.outHeight();
                    w = mid.outWidth();
                    if (last) {
                        kept.add(new StageOutput(y, batch, h, w, channels));
                    }
                }
            }
            backend.conv2d(current, proj.shape(batch, h, w), proj.weights(), out, Epilogue.NONE);
            return List.copyOf(kept);
        } finally {
            if (current != null && !currentKept) {
                current.close();
            }
        }
    }

    /** One bottleneck unit of {@code x} ({@code [batch, h, w, in]}) into {@code y}. */
    private static void unit(Backend backend, Unit u, Buffer x, int batch, int h, int w, Buffer y) {
        Buffer shortcut = x;
        Buffer down = null;
        Buffer a = null;
        Buffer b = null;
        try {
            if (u.downsample() != null) {
                Conv2d d = u.downsample().shape(batch, h, w);
                down = backend.allocate(d.outputSize());
                backend.conv2d(x, d, u.downsample().weights(), down, Epilogue.NONE);
                u.downsampleNorm().apply(backend, down, batch, d.outHeight() * d.outWidth(), false);
                shortcut = down;
            }
            Conv2d c1 = u.conv1().shape(batch, h, w);
            a = backend.allocate(c1.outputSize());
            backend.conv2d(x, c1, u.conv1().weights(), a, Epilogue.NONE);
            u.norm1().apply(backend, a, batch, h * w, true);
            Conv2d c2 = u.conv2().shape(batch, h, w);
            b = backend.allocate(c2.outputSize());
            backend.conv2d(a, c2, u.conv2().weights(), b, Epilogue.NONE);
            a.close();
            a = null;
            int pixels = c2.outHeight() * c2.outWidth();
            u.norm2().apply(backend, b, batch, pixels, true);
            Conv2d c3 = u.conv3().shape(batch, c2.outHeight(), c2.outWidth());
            backend.conv2d(b, c3, u.conv3().weights(), y, Epilogue.NONE);
            u.norm3().apply(backend, y, batch, pixels, false);
            if (shortcut != x && c3.outputSize() != down.size()) {
                throw new IllegalStateException("ResNet unit: the shortcut " + down.size() + " and the residual "
                        + c3.outputSize() + " differ in size");
            }
            long count = c3.outputSize();
            backend.addScaled(y, shortcut, count, 1f);
            backend.relu(y, y, count);
        } finally {
            for (Buffer t : new Buffer[] {down, a, b}) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    /** Multiply-adds x 2 of the stem and projection on one {@code height x width} image. */
    double flops(int height, int width) {
        Conv2d c = stem.shape(1, height, width);
        double total = flops(c);
        Conv2d pool = Conv2d.same(1, c.outHeight(), c.outWidth(), stem.out(), stem.out(), 3, 2);
        int h = pool.outHeight();
        int w = pool.outWidth();
        for (List<Unit> units : stages) {
            for (Unit u : units) {
                if (u.downsample() != null) {
                    total += flops(u.downsample().shape(1, h, w));
                }
                total += flops(u.conv1().shape(1, h, w));
                Conv2d c2 = u.conv2().shape(1, h, w);
                total += flops(c2);
                h = c2.outHeight();
                w = c2.outWidth();
                total += flops(u.conv3().shape(1, h, w));
            }
        }
        return total + flops(proj.shape(1, h, w));
    }

    private static double flops(Conv2d c) {
        return 2.0 * c.rows() * c.rowLength() * c.outChannels();
    }
}
