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
import org.openjdk.jmh.infra.BenchmarkParams;

import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;

/**
 * The row-wise operations of a ViT block at ViT-B/16 224 sizes, on one thread (softmax and GELU run inside the
 * attention and linear tasks, so per-thread speed is what counts):
 * <ul>
 *   <li>{@code layerNorm}: {@code tokens x dim} (197 x 768), out of place, through a pool of one thread</li>
 *   <li>{@code softmax}: {@code tokens} rows of {@code tokens} scores (197 x 197, one head's score matrix), scale
 *       1/8 as for head dim 64</li>
 *   <li>{@code gelu}: {@code tokens x hidden} (197 x 3072, fc1's output)</li>
 * </ul>
 * Softmax and GELU work in place, so their input is restored before every call (outside the timing): repeated GELU
 * would drive values into subnormals, repeated softmax would time a uniform distribution. Time per element:
 * score / (rows x width).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public abstract class RowOpsBenchmark {

    @Param({"197"})
    public int tokens;

    @Param({"768"})
    public int dim;

    /** MLP width of the GELU input (4 x dim in ViTs). */
    @Param({"3072"})
    public int hidden;

    private static final float SOFTMAX_SCALE = 0.125f;
    private static final float EPS = 1e-6f;

    private final KernelImpl impl;
    private ComputePool pool;
    private float[] x;
    private float[] normed;
    private float[] gamma;
    private float[] beta;
    private float[] scoresInput;
    private float[] scores;
    private float[] geluInput;
    private float[] activations;
    private boolean restoreScores;
    private boolean restoreActivations;

    RowOpsBenchmark(KernelImpl impl) {
        this.impl = impl;
    }

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        impl.requireInUse();
        pool = ComputePool.of(1);
        x = Reference.uniform(21, tokens * dim, 2f);
        normed = new float[tokens * dim];
        gamma = Reference.uniform(22, dim, 0.1f);
        for (int i = 0; i < dim; i++) {
            gamma[i] += 1f;
        }
        beta = Reference.uniform(23, dim, 0.1f);
        scoresInput = Reference.uniform(24, tokens * tokens, 8f);
        scores = scoresInput.clone();
        geluInput = Reference.uniform(25, tokens * hidden, 4f);
        activations = geluInput.clone();
        String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        restoreScores = method.equals("softmax");
        restoreActivations = method.equals("gelu");

        checkLayerNorm();
        checkSoftmax();
        checkGelu();
    }

    private void checkLayerNorm() {
        Kernels.layerNorm(pool, x, 0, normed, 0, tokens, dim, gamma, beta, EPS);
        for (int[] p : Reference.samplePositions(26, tokens, dim)) {
            int r = p[0];
            double mean = 0;
            for (int i = 0; i < dim; i++) {
                mean += x[r * dim + i];
            }
            mean /= dim;
            double var = 0;
            for (int i = 0; i < dim; i++) {
                double d = x[r * dim + i] - mean;
                var += d * d;
            }
            var /= dim;
            double z = (x[r * dim + p[1]] - mean) / Math.sqrt(var + EPS);
            double expected = z * gamma[p[1]] + beta[p[1]];
            Reference.requireClose("layerNorm out[" + r + ", " + p[1] + "]", normed[r * dim + p[1]], expected,
                    Math.abs(z * gamma[p[1]]) + Math.abs(beta[p[1]]) + 1);
        }
    }

    private void checkSoftmax() {
        for (int r = 0; r < tokens; r++) {
            Kernels.softmax(scores, r * tokens, tokens, SOFTMAX_SCALE);
        }
        for (int[] p : Reference.samplePositions(27, tokens, tokens)) {
            int o = p[0] * tokens;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < tokens; j++) {
                max = Math.max(max, (double) SOFTMAX_SCALE * scoresInput[o + j]);
            }
            double sum = 0;
            for (int j = 0; j < tokens; j++) {
                sum += Math.exp(SOFTMAX_SCALE * scoresInput[o + j] - max);
            }
            double expected = Math.exp(SOFTMAX_SCALE * scoresInput[o + p[1]] - max) / sum;
            // Compared as multiples of the uniform probability 1/tokens, so that the tolerance is relative.
            Reference.requireClose("softmax out[" + p[0] + ", " + p[1] + "] x " + tokens,
                    (double) scores[o + p[1]] * tokens, expected * tokens, expected * tokens);
        }
        System.arraycopy(scoresInput, 0, scores, 0, scores.length);
    }

    private void checkGelu() {
        Kernels.gelu(activations, 0, activations.length);
        for (int[] p : Reference.samplePositions(28, tokens, hidden)) {
            int i = p[0] * hidden + p[1];
            Reference.requireClose("gelu out[" + p[0] + ", " + p[1] + "] (x = " + geluInput[i] + ")",
                    activations[i], Reference.gelu(geluInput[i]), Math.abs(geluInput[i]));
        }
        System.arraycopy(geluInput, 0, activations, 0, activations.length);
    }

    /** Puts back the input of the in-place operation about to be timed (not timed itself). */
    @Setup(Level.Invocation)
    public void restoreInput() {
        if (restoreScores) {
            System.arraycopy(scoresInput, 0, scores, 0, scores.length);
        }
        if (restoreActivations) {
            System.arraycopy(geluInput, 0, activations, 0, activations.length);
        }
    }

    @Benchmark
    public void layerNorm() {
        Kernels.layerNorm(pool, x, 0, normed, 0, tokens, dim, gamma, beta, EPS);
    }

    @Benchmark
    public void softmax() {
        for (int r = 0; r < tokens; r++) {
            Kernels.softmax(scores, r * tokens, tokens, SOFTMAX_SCALE);
        }
    }

    @Benchmark
    public void gelu() {
        Kernels.gelu(activations, 0, activations.length);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE})
    public static class Panama extends RowOpsBenchmark {
        public Panama() {
            super(KernelImpl.PANAMA);
        }
    }

    @Fork(value = 2, jvmArgs = {JvmArgs.XMS, JvmArgs.XMX, JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS},
            jvmArgsAppend = {JvmArgs.FORCE_SCALAR})
    public static class Scalar extends RowOpsBenchmark {
        public Scalar() {
            super(KernelImpl.SCALAR);
        }
    }
}
