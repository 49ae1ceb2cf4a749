package dev.hourglass.bench.jmh;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.BackendChoice;
import dev.hourglass.backend.Backends;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
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

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The same operations through the {@link Backend} interface on whichever backend the fork runs: ViT-B/16's fc1 GEMM
 * ({@code 197 x 768 -> 3072}, bias), its attention (197 tokens, 12 heads of 64) and a whole ViT-B/16 forward pass
 * (batch 1, random weights at timm's scale). {@link BackendComparison} runs it three times in one go: CPU with the
 * scalar kernels, CPU with the Vector API kernels, TornadoVM; each call ends with a download of one value so that a
 * backend that queues work (TornadoVM) is timed to completion. On TornadoVM a call also moves its input activations to
 * the device and its output back (the weights go once per plan).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class BackendBenchmark {
    private static final VitConfig VIT_B_16 = VitForwardBenchmark.vitBase16(224);
    private static final int TOKENS = 197;

    /** {@code cpu} or {@code tornado}, as {@code --backend} takes it. */
    @Param({"cpu"})
    public String backend;

    /** Host threads of the CPU backend (TornadoVM's OpenCL CPU device uses its own). */
    @Param({"2"})
    public int threads;

    /** The CPU kernels the fork must run ({@code scalar}, {@code panama}), or {@code any} for another backend. */
    @Param({"any"})
    public String kernels;

    private BackendChoice choice;
    private Backend b;
    private WeightStore store;
    private LinearWeights fc1;
    private Buffer gemmIn;
    private Buffer gemmOut;
    private Buffer qkv;
    private Buffer attnOut;
    private VisionTransformer vit;
    private Tensor image;
    private final float[] one = new float[1];

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        if (!kernels.equals("any") && !Kernels.implementation().equals(kernels)) {
            throw new IllegalStateException("this fork should run the " + kernels + " kernels but runs "
                    + Kernels.description());
        }
        choice = Backends.open(backend, threads);
        b = choice.backend();
        System.out.println(choice.summary());
        int d = VIT_B_16.embedDim();
        int hidden = VIT_B_16.mlpHidden();
        store = b.newWeightStore();
        fc1 = store.linear(Tensor.ofFloats(Reference.uniform(1, hidden * d, 0.02f), hidden, d),
                Tensor.ofFloats(Reference.uniform(2, hidden, 0.02f), hidden));
        float[] x = Reference.uniform(3, TOKENS * d, 1);
        gemmIn = b.upload(x, 0, x.length);
        gemmOut = b.allocate((long) TOKENS * hidden);
        float[] q = Reference.uniform(4, TOKENS * 3 * d, 1);
        qkv = b.upload(q, 0, q.length);
        attnOut = b.allocate((long) TOKENS * d);
        vit = VisionTransformer.create(VIT_B_16, new RandomVitWeights(VIT_B_16, 7), b);
        image = Tensor.ofFloats(Reference.uniform(5, 3 * 224 * 224, 1), 1, 3, 224, 224);
    }

    /** fc1 of a ViT-B block: 2 x 197 x 768 x 3072 = 0.93 GFLOP. */
    @Benchmark
    public float gemm() {
        b.linear(gemmIn, 0, TOKENS, fc1, gemmOut, 0, Epilogue.NONE);
        b.download(gemmOut, 0, one, 0, 1);
        return one[0];
    }

    /** Softmax attention of a ViT-B block over a fused qkv: 4 x 12 x 197² x 64 = 0.12 GFLOP. */
    @Benchmark
    public float attention() {
        b.attention(qkv, attnOut, 1, TOKENS, 12, 64);
        b.download(attnOut, 0, one, 0, 1);
        return one[0];
    }

    /** A whole ViT-B/16 forward pass, batch 1, to the logits on the host. */
    @Benchmark
    public Tensor vitB16() {
        return vit.classify(image);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        vit.close();
        gemmIn.close();
        gemmOut.close();
        qkv.close();
        attnOut.close();
        store.close();
        choice.close();
    }
}
