package dev.hourglass.bench.jmh;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Resize;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * A whole ViT-B/16 forward pass, batch 1, through {@link VisionTransformer#classify} on the {@link CpuBackend}: patch
 * embedding, 12 blocks, final norm and the 1000-class head. Random weights at timm's initialisation scale, made in
 * memory in {@code @Setup} ({@link RandomVitWeights}); speed does not depend on the values.
 *
 * <p>GFLOP/s = {@link VitConfig#flops} / 1e6 / score (17.6 GFLOP at 224; score in ms/op); {@link JmhSummary} prints
 * it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 5)
@Measurement(iterations = 5, time = 5)
@State(Scope.Benchmark)
public abstract class VitForwardBenchmark {

    /** Image side; the model is built for it (224: vit_base_patch16_224, 384: vit_base_patch16_384). */
    @Param({"224"})
    public int imageSize;

    /** Threads of the CPU backend, the calling thread included. */
    @Param({"1", "2"})
    public int threads;

    private final KernelImpl impl;
    private CpuBackend backend;
    private VisionTransformer model;
    private Tensor images;

    VitForwardBenchmark(KernelImpl impl) {
        this.impl = impl;
    }

    /** ViT-B/16 as timm builds it, for square images of {@code size} pixels. */
    public static VitConfig vitBase16(int size) {
        return new VitConfig(size, size, 16, 3, 768, 12, 12, 3072, true, true, false, 1000, 1e-6f,
                Resize.Mode.BICUBIC, true);
    }

    /**
     * The benchmark's input: one seeded image {@code [1, 3, size, size]} of normalised pixels (ImageNet mean/std
     * normalisation maps [0, 1] to about [-2.1, 2.6]; these are uniform in [-2, 2)).
     */
    public static Tensor randomImage(int size) {
        return Tensor.ofFloats(Reference.uniform(31, 3 * size * size, 2f), 1, 3, size, size);
    }

    @Setup(Level.Trial)
    public void setup() throws IOException {
        impl.requireInUse();
        VitConfig config = vitBase16(imageSize);
        backend = new CpuBackend(threads);
        try (RandomVitWeights weights = new RandomVitWeights(config, 7)) {
            // The loader must read the same architecture back from the tensors: the names and shapes are timm's.
            VitConfig inferred = TimmVitConfig.read(null, weights);
            if (!inferred.equals(config)) {
                throw new IllegalStateException("random weights read back as " + inferred + ", not " + config);
            }
            model = VisionTransformer.create(config, weights, backend);
        }
        images = randomImage(imageSize);

        float[] first = model.classify(images).toFloatArray();
        float[] second = model.classify(images).toFloatArray();
        if (first.length != config.numClasses()) {
            throw new IllegalStateException("expected " + config.numClasses() + " logits, got " + first.length);
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < first.length; i++) {
            if (!Float.isFinite(first[i]) || !Float.isFinite(second[i])) {
                throw new IllegalStateException("logit " + i + " is not finite: " + first[i] + ", " + second[i]);
            }
            if (Math.abs(first[i] - second[i]) > 1e-5) {
                throw new IllegalStateException("logit " + i + " differs between two calls on the same image: "
                        + first[i] + " then " + second[i]);
            }
            min = Math.min(min, first[i]);
            max = Math.max(max, first[i]);
        }
        if (!(max > min)) {
            throw new IllegalStateException("all logits are equal (" + min + "): the model computes nothing");
        }
    }

    @Benchmark
    public Tensor classify() {
        return model.classify(images);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        backend.close();
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE})
    public static class Panama extends VitForwardBenchmark {
        public Panama() {
            super(KernelImpl.PANAMA);
        }
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.FORCE_SCALAR})
    public static class Scalar extends VitForwardBenchmark {
        public Scalar() {
            super(KernelImpl.SCALAR);
        }
    }
}
