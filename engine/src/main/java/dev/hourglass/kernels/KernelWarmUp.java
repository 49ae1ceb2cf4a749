package dev.hourglass.kernels;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Runs the Vector API kernels on small inputs before a large model's first forward pass, once per JVM, so that the JIT
 * has compiled them by the time the model needs them.
 *
 * <p>Why: until C2 compiles a Vector API method, every vector operation in it runs as Java code that allocates its
 * result (the interpreter and C1 do not turn them into CPU instructions), hundreds of times slower. The GEMM's register
 * tile then sits in that state through whole layers: it is called with long loops (K = 768) before it is compiled,
 * and, once compiled, is thrown away again each time a branch its profile had not seen is taken (no bias in a second K
 * block, a residual to add), which sends it back to the slow tiers for a recompilation. Here each kernel is called a
 * few hundred times on inputs of a few dozen floats, through every branch, which takes about a second, and ViT-B/16's
 * first forward pass then takes a fraction of what it took without (docs/PERFORMANCE.md).
 *
 * <p>{@link Kernels#warmUp} runs it for models of at least {@link #AUTO_FLOPS} per pass (below that the first pass is
 * short anyway, and the warm-up would cost more than it saves); {@code -Dhourglass.kernels.warmup=auto|true|false}
 * (default {@code auto}) sets it to that, every model or none. Only the {@code panama} kernels are warmed (the scalar
 * ones are plain Java, fast in every tier). The kernels give the same bits in every JIT tier
 * ({@code KernelJitStateTest}), so warming changes when results come, never what they are. Thread-safe: it touches only
 * arrays of its own, and runs once however many threads ask.
 */
final class KernelWarmUp {
    /** The system property: {@code auto} (the default), {@code true} or {@code false}. */
    static final String PROPERTY = "hourglass.kernels.warmup";
    /** Under {@code auto}, models of at least this many FLOPs (2 x multiply-adds) per pass are warmed for: 2 GFLOP. */
    static final double AUTO_FLOPS = 2e9;
    /** Rounds of calls: enough for C2 to compile every kernel with every branch in its profile (Zen 5, JDK 25). */
    static final int ROUNDS = 800;
    /** The time the warm-up may take at most, should the machine be much slower. */
    static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(3);
    /** Every this many rounds, also the shapes that are slow before compilation: K in blocks, two key blocks. */
    static final int LARGE_EVERY = 128;

    private static final Logger LOG = LoggerFactory.getLogger(KernelWarmUp.class);
    private static final AtomicBoolean DONE = new AtomicBoolean();

    private KernelWarmUp() {
    }

    /**
     * Whether a model of {@code flops} per pass on kernels {@code implementation} is to be warmed for, under the
     * property's {@code setting} (null: {@code auto}).
     *
     * @throws IllegalArgumentException for a setting other than auto, true or false, naming the property
     */
    static boolean wanted(String setting, String implementation, double flops) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        boolean on = switch (s) {
            case "auto" -> flops >= AUTO_FLOPS;
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, true or false, got '"
                    + setting + "'");
        };
        return on && "panama".equals(implementation);
    }

    /**
     * Warms {@code kernels} up, on the calling thread, if {@link #wanted} and not done before in this JVM.
     *
     * @return whether this call ran it
     */
    static boolean warmUp(CpuKernels kernels, double flops) {
        if (!wanted(System.getProperty(PROPERTY), kernels.support().name(), flops)
                || !DONE.compareAndSet(false, true)) {
            return false;
        }
        long t0 = System.nanoTime();
        try {
            int rounds = run(kernels, ROUNDS, BUDGET_NANOS);
            LOG.debug("kernel warm-up: {} rounds in {} ms", rounds, (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            // Only timing is at stake here: a kernel that fails fails again, with its caller's message, when used.
            LOG.warn("kernel warm-up stopped: {}", e.toString());
        }
        return true;
    }

    /**
     * Runs up to {@code rounds} rounds of small calls through every kernel a transformer's forward pass uses, each
     * branch of each taken, and stops early once {@code budgetNanos} have passed.
     *
     * @return the rounds run
     */
    static int run(CpuKernels kernels, int rounds, long budgetNanos) {
        Shapes x = new Shapes(kernels);
        long deadline = System.nanoTime() + budgetNanos;
        try (ComputePool pool = ComputePool.of(1)) {
            int r = 0;
            for (; r < rounds && System.nanoTime() - deadline < 0; r++) {
                boolean large = r % LARGE_EVERY == LARGE_EVERY - 1;
                x.round(kernels, pool, large);
            }
            return r;
        }
    }

    /** The inputs of one round, allocated once. */
    private static final class Shapes {
        static final int K = 16;
        static final int LONG_K = CpuKernels.ONE_BLOCK_K + 8;
        static final int HEADS = 2;
        static final int HEAD_DIM = 16;
        static final int TOKENS = 21;
        static final int LONG_TOKENS = CpuKernels.KEY_BLOCK + 5;

        final int rows;
        final int n;
        final float[] a;
        final float[] c;
        final float[] normed;
        final float[] bias;
        final float[] tile;
        final PackedMatrix w;
        final PackedMatrix longW;
        final float[] linearWork;
        final float[] gamma;
        final float[] beta;
        final float[] qkv;
        final float[] out;
        final float[] attentionWork;

        Shapes(CpuKernels kernels) {
            int mr = kernels.support().rowBlock();
            int nr = kernels.support().panelWidth();
            rows = mr + 1;
            n = nr + 3;
            a = filled(rows * LONG_K);
            c = new float[rows * n];
            normed = new float[rows * LONG_K];
            bias = filled(n);
            tile = new float[mr * nr];
            w = kernels.pack(Tensor.ofFloats(filled(n * K), n, K));
            longW = kernels.pack(Tensor.ofFloats(filled(n * LONG_K), n, LONG_K));
            linearWork = new float[rows * LONG_K + mr * nr + nr];
            gamma = filled(LONG_K);
            beta = filled(LONG_K);
            qkv = filled(LONG_TOKENS * 3 * HEADS * HEAD_DIM);
            out = new float[LONG_TOKENS * HEADS * HEAD_DIM];
            attentionWork = new float[(int) CpuKernels.attentionWorkspace(1, LONG_TOKENS, HEADS, HEAD_DIM, 1)];
        }

        void round(CpuKernels k, ComputePool pool, boolean large) {
            KernelSupport s = k.support();
            Arrays.fill(c, 0f);
            for (int combination = 0; combination < 4; combination++) {
                s.gemmTile(a, 0, K, w.panels(), 0, K, tile, 0, s.panelWidth(),
                        (combination & 1) == 0 ? bias : null, 0, (combination & 2) != 0);
            }
            for (Epilogue e : Epilogue.values()) {
                k.linear(pool, a, 0, rows, w, bias, c, 0, e, linearWork);
            }
            k.linear(pool, a, 0, rows, w, null, c, 0, Epilogue.NONE, linearWork);
            k.layerNorm(pool, c, 0, normed, 0, rows, n, gamma, beta, 1e-6f);
            k.attention(pool, qkv, 0, 1, TOKENS, HEADS, HEAD_DIM, out, 0, attentionWork);
            s.softmax(c, 0, n, 0.125f);
            s.gelu(c, 0, n);
            s.addInPlace(c, 0, normed, 0, n);
            if (large) {
                k.linear(pool, a, 0, rows, longW, bias, c, 0, Epilogue.RESIDUAL, linearWork);
                k.layerNorm(pool, a, 0, normed, 0, rows, LONG_K, gamma, beta, 1e-6f);
                k.attention(pool, qkv, 0, 1, LONG_TOKENS, HEADS, HEAD_DIM, out, 0, attentionWork);
            }
        }

        private static float[] filled(int length) {
            float[] v = new float[length];
            for (int i = 0; i < length; i++) {
                v[i] = ((i * 37) % 19 - 9) / 16f;
            }
            return v;
        }
    }
}
