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

/**
 * Multi-head self-attention of one ViT block through {@link Kernels#attention}: from the fused qkv projection
 * ({@code [batch * tokens, 3 * heads * headDim]}) to the merged heads, scores, softmax and weighted values included.
 * ViT-B: 12 heads of 64; 197 tokens at 224 pixels, 577 at 384.
 *
 * <p>GFLOP/s = {@code 4 * batch * heads * tokens^2 * headDim / 1e6 / score} (score in ms/op; q k^T and p v, the
 * softmax not counted); {@link JmhSummary} prints it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Benchmark)
public abstract class AttentionBenchmark {

    /** Tokens per image: 197 (ViT-B/16 at 224), 577 (at 384). */
    @Param({"197", "577"})
    public int tokens;

    @Param({"12"})
    public int heads;

    @Param({"64"})
    public int headDim;

    @Param({"1"})
    public int batch;

    /** Size of the compute pool, the calling thread included. */
    @Param({"1", "2"})
    public int threads;

    private final KernelImpl impl;
    private ComputePool pool;
    private float[] qkv;
    private float[] out;
    private float[] workspace;

    AttentionBenchmark(KernelImpl impl) {
        this.impl = impl;
    }

    @Setup(Level.Trial)
    public void setup() {
        impl.requireInUse();
        int d = heads * headDim;
        int rows = batch * tokens;
        // Unit-range q and k give scores with a spread of about 0.4 after the 1/sqrt(headDim) scale: a softmax that
        // is neither uniform nor one-hot.
        qkv = Reference.uniform(11, rows * 3 * d, 1f);
        out = new float[rows * d];
        pool = ComputePool.of(threads);
        workspace = new float[Math.toIntExact(Kernels.attentionWorkspaceSize(batch, tokens, heads, headDim,
                threads))];

        Kernels.attention(pool, qkv, 0, batch, tokens, heads, headDim, out, 0, workspace);
        double scale = 1 / Math.sqrt(headDim);
        double[] p = new double[tokens];
        for (int[] pos : Reference.samplePositions(12, rows, d)) {
            int row = pos[0];
            int b = row / tokens;
            int h = pos[1] / headDim;
            int e = pos[1] % headDim;
            int q = row * 3 * d + h * headDim;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < tokens; j++) {
                int k = (b * tokens + j) * 3 * d + d + h * headDim;
                double s = 0;
                for (int i = 0; i < headDim; i++) {
                    s += (double) qkv[q + i] * qkv[k + i];
                }
                p[j] = s * scale;
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < tokens; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
            }
            double expected = 0;
            double magnitude = 0;
            for (int j = 0; j < tokens; j++) {
                double v = qkv[(b * tokens + j) * 3 * d + 2 * d + h * headDim + e];
                expected += p[j] / sum * v;
                magnitude += p[j] / sum * Math.abs(v);
            }
            Reference.requireClose("attention out[" + row + ", head " + h + ", " + e + "]", out[row * d + pos[1]],
                    expected, magnitude);
        }
    }

    @Benchmark
    public void attention() {
        Kernels.attention(pool, qkv, 0, batch, tokens, heads, headDim, out, 0, workspace);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE})
    public static class Panama extends AttentionBenchmark {
        public Panama() {
            super(KernelImpl.PANAMA);
        }
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.FORCE_SCALAR})
    public static class Scalar extends AttentionBenchmark {
        public Scalar() {
            super(KernelImpl.SCALAR);
        }
    }
}
