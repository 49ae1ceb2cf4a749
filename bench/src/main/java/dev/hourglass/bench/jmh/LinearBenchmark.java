package dev.hourglass.bench.jmh;

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

import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.kernels.PackedMatrix;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * The linear layers of a ViT block at batch 1, through {@link Kernels#linear} with caller-owned scratch space (as
 * the CPU backend calls it): {@code rows = tokens} (197 for a 224 image with 16-pixel patches), width
 * {@code embedDim} (768: ViT-B), MLP width 4 x embedDim, each with the epilogue the engine uses for it.
 * <ul>
 *   <li>{@code qkv}: D -> 3D, bias, no epilogue</li>
 *   <li>{@code proj}: D -> D, bias, {@link Epilogue#RESIDUAL} (added to the token stream in place)</li>
 *   <li>{@code fc1}: D -> 4D, bias, {@link Epilogue#GELU}</li>
 *   <li>{@code fc2}: 4D -> D, bias, {@link Epilogue#RESIDUAL}</li>
 * </ul>
 * GFLOP/s = {@code 2 * tokens * in * out / 1e6 / score} (score in ms/op; the epilogue is not counted);
 * {@link JmhSummary} prints it.
 *
 * <p>Run {@link Panama} and {@link Scalar}: the same code, forked with and without the Vector API.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Benchmark)
public abstract class LinearBenchmark {

    @Param({"qkv", "proj", "fc1", "fc2"})
    public String layer;

    /** Rows of the activation: the tokens of one image (197 at 224, 577 at 384 for patch 16). */
    @Param({"197"})
    public int tokens;

    /** Token width D: 768 for ViT-B (384 ViT-S, 1024 ViT-L). */
    @Param({"768"})
    public int embedDim;

    /** Size of the compute pool, the calling thread included. */
    @Param({"1", "2"})
    public int threads;

    private final KernelImpl impl;
    private ComputePool pool;
    private PackedMatrix packed;
    private float[] input;
    private float[] bias;
    private float[] output;
    private float[] residual;
    private float[] workspace;
    private Epilogue epilogue;

    LinearBenchmark(KernelImpl impl) {
        this.impl = impl;
    }

    @Setup(Level.Trial)
    public void setup() {
        impl.requireInUse();
        int in;
        int out;
        switch (layer) {
            case "qkv" -> {
                in = embedDim;
                out = 3 * embedDim;
                epilogue = Epilogue.NONE;
            }
            case "proj" -> {
                in = embedDim;
                out = embedDim;
                epilogue = Epilogue.RESIDUAL;
            }
            case "fc1" -> {
                in = embedDim;
                out = 4 * embedDim;
                epilogue = Epilogue.GELU;
            }
            case "fc2" -> {
                in = 4 * embedDim;
                out = embedDim;
                epilogue = Epilogue.RESIDUAL;
            }
            default -> throw new IllegalArgumentException("unknown layer " + layer + "; use qkv, proj, fc1 or fc2");
        }
        // Weights scaled by 1/sqrt(in) keep outputs near 1, where GELU is neither linear nor zero.
        float[] weight = Reference.uniform(1, out * in, (float) (1.7 / Math.sqrt(in)));
        input = Reference.uniform(2, tokens * in, 1f);
        bias = Reference.uniform(3, out, 0.1f);
        residual = Reference.uniform(4, tokens * out, 1f);
        output = residual.clone();
        packed = Kernels.pack(Tensor.ofFloats(weight, out, in));
        pool = ComputePool.of(threads);
        workspace = new float[Math.toIntExact(Kernels.linearWorkspaceSize(pool, packed))];

        Kernels.linear(pool, input, 0, tokens, packed, bias, output, 0, epilogue, workspace);
        for (int[] p : Reference.samplePositions(5, tokens, out)) {
            int r = p[0];
            int c = p[1];
            double dot = bias[c];
            double magnitude = Math.abs(bias[c]);
            for (int k = 0; k < in; k++) {
                double t = (double) input[r * in + k] * weight[c * in + k];
                dot += t;
                magnitude += Math.abs(t);
            }
            double expected = switch (epilogue) {
                case NONE -> dot;
                case GELU -> Reference.gelu(dot);
                case RESIDUAL -> residual[r * out + c] + dot;
                case RELU -> Math.max(0, dot);
            };
            if (epilogue == Epilogue.RESIDUAL) {
                magnitude += Math.abs(residual[r * out + c]);
            }
            Reference.requireClose(layer + " output[" + r + ", " + c + "]", output[r * out + c], expected, magnitude);
        }
    }

    /** RESIDUAL adds into the output: start each iteration from the same residual so that values stay bounded. */
    @Setup(Level.Iteration)
    public void restoreResidual() {
        System.arraycopy(residual, 0, output, 0, output.length);
    }

    @Benchmark
    public void linear() {
        Kernels.linear(pool, input, 0, tokens, packed, bias, output, 0, epilogue, workspace);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE})
    public static class Panama extends LinearBenchmark {
        public Panama() {
            super(KernelImpl.PANAMA);
        }
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.FORCE_SCALAR})
    public static class Scalar extends LinearBenchmark {
        public Scalar() {
            super(KernelImpl.SCALAR);
        }
    }
}
