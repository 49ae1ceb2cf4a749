package dev.hourglass.kernels;

import static dev.hourglass.testing.Assertions2.assertClose;
import static dev.hourglass.testing.Assertions2.mixed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Every kernel, in both implementations, against {@link PlainReference} over awkward sizes (1, primes, lane multiples
 * plus and minus one, ViT token counts 197 and 577, 1025), with seeded random data. The Panama cases are skipped,
 * visibly, in the test run that has no vector module.
 */
class KernelParityTest {
    private static final int[] SIZES = {1, 7, 13, 64, 197, 577, 1025};
    private static ComputePool pool;

    @BeforeAll
    static void startPool() {
        pool = ComputePool.of(3);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    static CpuKernels kernels(String implementation) {
        if (implementation.startsWith("panama")) {
            assumeTrue(KernelSupportLookup.vectorModuleReadable(),
                    "jdk.incubator.vector is not readable in this run: Panama kernels not tested here");
            if (implementation.equals("panama")) {
                return new CpuKernels(KernelSupportLookup.lookup("panama"));
            }
            // "panama-6x2": that GEMM tile whatever this machine would choose.
            return new CpuKernels(panama(GemmTile.choose(implementation.substring("panama-".length()), 32)));
        }
        return new CpuKernels(new ScalarKernelSupport());
    }

    /** The Panama kernels with a given GEMM tile, by reflection (the class needs the Vector API module). */
    static KernelSupport panama(GemmTile tile) {
        try {
            return Class.forName("dev.hourglass.kernels.PanamaKernelSupport").asSubclass(KernelSupport.class)
                    .getDeclaredConstructor(GemmTile.class).newInstance(tile);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(lo, hi);
        }
        return x;
    }

    /** Float32 sums of k terms of size about 1: error grows like sqrt(k). */
    static dev.hourglass.testing.Assertions2.Tolerance dotTolerance(int k) {
        return mixed(2e-6 * Math.sqrt(k), 2e-6 * Math.sqrt(k));
    }

    static List<Arguments> linearCases() {
        int[][] mnk = {
                {1, 1, 1}, {7, 13, 64}, {13, 7, 1025}, {197, 577, 64}, {64, 197, 577}, {197, 64, 1025},
                {1, 1025, 13}, {577, 7, 7}, {3, 97, 300}, {6, 48, 256}, {12, 96, 513},
                // K in three equal blocks (700) and rows of A past one group's cache budget: two groups.
                {400, 50, 2100}};
        List<Arguments> cases = new ArrayList<>();
        for (String impl : List.of("scalar", "panama-6x3", "panama-6x2")) {
            for (int[] c : mnk) {
                for (Epilogue e : Epilogue.values()) {
                    cases.add(Arguments.of(impl, c[0], c[1], c[2], e, c[0] % 2 == 1));
                }
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} linear m={1} n={2} k={3} {4} bias={5}")
    @MethodSource("linearCases")
    void linearMatchesReference(String impl, int m, int n, int k, Epilogue epilogue, boolean withBias) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(31L * m + 17L * n + k);
        float[] a = random(r, m * k, -1, 1);
        float[] w = random(r, n * k, -1, 1);
        float[] bias = withBias ? random(r, n, -1, 1) : null;
        float[] residual = random(r, m * n, -1, 1);
        double[] expected = PlainReference.linear(a, m, k, w, n, bias);
        for (int i = 0; i < expected.length; i++) {
            if (epilogue == Epilogue.GELU) {
                expected[i] = PlainReference.gelu(expected[i]);
            } else if (epilogue == Epilogue.RESIDUAL) {
                expected[i] += residual[i];
            } else if (epilogue == Epilogue.RELU) {
                expected[i] = Math.max(0, expected[i]);
            }
        }
        int offset = 5;
        float[] c = new float[offset + m * n + 3];
        System.arraycopy(residual, 0, c, offset, m * n);
        PackedMatrix packed = kernels.pack(Tensor.ofFloats(w, n, k));
        kernels.linear(pool, a, 0, m, packed, bias, c, offset, epilogue, workspace(kernels, m, k));
        assertClose(impl + " linear", expected, c, offset, dotTolerance(k));

        // The split over threads must not change a single bit: each output is summed by one task in one order.
        float[] single = new float[c.length];
        System.arraycopy(residual, 0, single, offset, m * n);
        try (ComputePool one = ComputePool.of(1)) {
            kernels.linear(one, a, 0, m, packed, bias, single, offset, epilogue, workspace(kernels, m, k));
        }
        assertArrayEquals(single, c, impl + ": 1 thread and 3 threads differ");

        if (impl.startsWith("panama")) {
            // Every tile shape sums each output in the same order: the same bits.
            CpuKernels other = kernels(impl.equals("panama-6x3") ? "panama-6x2" : "panama-6x3");
            PackedMatrix otherPacked = other.pack(Tensor.ofFloats(w, n, k));
            float[] shape = new float[c.length];
            System.arraycopy(residual, 0, shape, offset, m * n);
            other.linear(pool, a, 0, m, otherPacked, bias, shape, offset, epilogue, workspace(other, m, k));
            assertArrayEquals(c, shape, "the 6x3 and 6x2 tiles differ");
        }
    }

    static float[] workspace(CpuKernels kernels, int rows, int k) {
        return new float[(int) kernels.linearWorkspace(k, pool.threads())];
    }

    static List<Arguments> matmulCases() {
        int[][] mnk = {{1, 1, 1}, {4, 64, 64}, {7, 197, 64}, {64, 64, 197}, {13, 577, 13}, {5, 1025, 7}, {9, 17, 31}};
        List<Arguments> cases = new ArrayList<>();
        for (String impl : List.of("scalar", "panama-6x3", "panama-6x2")) {
            for (int[] c : mnk) {
                for (boolean transposedA : new boolean[] {false, true}) {
                    cases.add(Arguments.of(impl, c[0], c[1], c[2], false, transposedA));
                    cases.add(Arguments.of(impl, c[0], c[1], c[2], true, transposedA));
                }
            }
        }
        return cases;
    }

    /** {@code matmul}, or {@code matmulTransposedA} (A stored {@code [k, m]}), on one implementation. */
    private static void matmul(KernelSupport s, boolean transposedA, int m, int n, int k, float[] a, int lda,
                               float[] b, int ldb, float[] c, int ldc, boolean accumulate) {
        if (transposedA) {
            s.matmulTransposedA(m, n, k, a, 2, lda, b, 1, ldb, c, 4, ldc, accumulate);
        } else {
            s.matmul(m, n, k, a, 2, lda, b, 1, ldb, c, 4, ldc, accumulate);
        }
    }

    @ParameterizedTest(name = "{0} matmul m={1} n={2} k={3} accumulate={4} transposedA={5}")
    @MethodSource("matmulCases")
    void stridedMatmulMatchesReference(String impl, int m, int n, int k, boolean accumulate, boolean transposedA) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(m * 1000L + n * 10L + k);
        int lda = (transposedA ? m : k) + 3;
        int ldb = n + 5;
        int ldc = n + 2;
        float[] a = random(r, 2 + (transposedA ? k : m) * lda, -1, 1);
        float[] b = random(r, 1 + k * ldb, -1, 1);
        float[] c = random(r, 4 + m * ldc, -1, 1);
        double[] expected = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = accumulate ? c[4 + i * ldc + j] : 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[2 + (transposedA ? p * lda + i : i * lda + p)] * b[1 + p * ldb + j];
                }
                expected[i * n + j] = s;
            }
        }
        float[] before = c.clone();
        matmul(kernels.support(), transposedA, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        float[] got = new float[m * n];
        for (int i = 0; i < m; i++) {
            System.arraycopy(c, 4 + i * ldc, got, i * n, n);
            // Padding between rows of C must be left alone.
            for (int j = n; j < ldc && 4 + i * ldc + j < c.length; j++) {
                assertArrayEquals(new float[] {before[4 + i * ldc + j]}, new float[] {c[4 + i * ldc + j]},
                        "matmul wrote outside its rows");
            }
        }
        assertClose(impl + " matmul", expected, got, 0, dotTolerance(k));

        if (impl.startsWith("panama")) {
            // The 4x4 main tile (with 6x3) and the 4x2 (with 6x2) sum each output in the same order: the same bits.
            CpuKernels other = kernels(impl.equals("panama-6x3") ? "panama-6x2" : "panama-6x3");
            float[] c2 = before.clone();
            matmul(other.support(), transposedA, m, n, k, a, lda, b, ldb, c2, ldc, accumulate);
            assertArrayEquals(c, c2, "the matmul tiles of 6x3 and 6x2 differ");
        }
        if (transposedA) {
            // The same product with A transposed back and read row-major: the same FMA chains, the same bits.
            float[] rowMajor = new float[2 + m * k];
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    rowMajor[2 + i * k + p] = a[2 + p * lda + i];
                }
            }
            float[] c3 = before.clone();
            matmul(kernels.support(), false, m, n, k, rowMajor, k, b, ldb, c3, ldc, accumulate);
            assertArrayEquals(c3, c, impl + ": matmulTransposedA differs from matmul on the transposed A");
        }
    }

    static List<Arguments> softmaxBlockCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int[] kc : new int[][] {{1, 1}, {7, 5}, {128, 16}, {33, 37}, {128, 64}, {64, 48}}) {
            for (boolean bias : new boolean[] {false, true}) {
                cases.add(Arguments.of(kc[0], kc[1], bias));
            }
        }
        return cases;
    }

    /**
     * Attention's online softmax over three blocks of keys (the second raising the maximum of every other column
     * only, the third lower than everything before), against a double-precision reference of its contract; and the
     * Panama kernel bit-identical to the scalar one (the same exp, maxima and sums in key order).
     */
    @ParameterizedTest(name = "softmaxBlock keys={0} columns={1} bias={2}")
    @MethodSource("softmaxBlockCases")
    void softmaxBlockMatchesReference(int keys, int columns, boolean withBias) {
        SplittableRandom r = new SplittableRandom(keys * 100L + columns + (withBias ? 7 : 0));
        float scale = 0.125f;
        float[][] blocks = new float[3][];
        float[][] biases = new float[3][];
        for (int block = 0; block < 3; block++) {
            blocks[block] = random(r, keys * columns, -30, 30);
            biases[block] = withBias ? random(r, keys, -2, 2) : null;
        }
        for (int c = 0; c < columns; c += 2) {
            blocks[1][(keys / 2) * columns + c] = 300f; // a new maximum in the even columns
        }
        for (int i = 0; i < blocks[2].length; i++) {
            blocks[2][i] -= 400f; // below every maximum: factors of exactly 1
        }
        List<float[]> results = new ArrayList<>();
        for (String impl : List.of("scalar", "panama")) {
            if (impl.equals("panama") && !KernelSupportLookup.vectorModuleReadable()) {
                continue;
            }
            KernelSupport s = kernels(impl).support();
            float[] stats = new float[1 + 4 * columns];
            double[] max = new double[columns];
            double[] sum = new double[columns];
            for (int block = 0; block < 3; block++) {
                float[] x = new float[2 + keys * columns];
                System.arraycopy(blocks[block], 0, x, 2, keys * columns);
                float[] bias = biases[block] == null ? null : new float[3 + keys];
                if (bias != null) {
                    System.arraycopy(biases[block], 0, bias, 3, keys);
                }
                s.softmaxBlock(x, 2, keys, columns, scale, bias, 3, stats, 1, block == 0);
                for (int c = 0; c < columns; c++) {
                    double blockMax = Double.NEGATIVE_INFINITY;
                    double[] logits = new double[keys];
                    for (int k = 0; k < keys; k++) {
                        double v = blocks[block][k * columns + c];
                        logits[k] = bias == null ? v * scale : v * scale + biases[block][k];
                        blockMax = Math.max(blockMax, logits[k]);
                    }
                    double newMax = block == 0 ? blockMax : Math.max(max[c], blockMax);
                    double blockSum = 0;
                    for (int k = 0; k < keys; k++) {
                        double e = Math.exp(logits[k] - newMax);
                        blockSum += e;
                        assertClose(impl + " exp", new double[] {e}, new float[] {x[2 + k * columns + c]}, 0,
                                mixed(1e-12, 1e-5));
                    }
                    double factor = block == 0 ? 1 : Math.exp(max[c] - newMax);
                    sum[c] = sum[c] * factor + blockSum;
                    max[c] = newMax;
                    double unscaled = bias == null ? newMax / scale : newMax;
                    assertClose(impl + " max", new double[] {unscaled}, new float[] {stats[1 + c]}, 0,
                            mixed(1e-6, 1e-6));
                    assertClose(impl + " sum", new double[] {sum[c]}, new float[] {stats[1 + columns + c]}, 0,
                            mixed(1e-6, 1e-5));
                    if (block > 0) {
                        float got = stats[1 + 2 * columns + c];
                        if (block == 2 || c % 2 == 1 && keys > 1 && factor == 1) {
                            assertArrayEquals(new float[] {1f}, new float[] {got}, impl + " factor of column " + c);
                        }
                        assertClose(impl + " factor", new double[] {factor}, new float[] {got}, 0,
                                mixed(1e-30, 1e-5));
                    }
                }
                results.add(x);
                // The maxima and sums, and the factors after the first block (the scratch row is the kernel's own).
                results.add(java.util.Arrays.copyOfRange(stats, 1, 1 + (block == 0 ? 2 : 3) * columns));
            }
        }
        int half = results.size() / 2;
        if (results.size() % 2 == 0 && KernelSupportLookup.vectorModuleReadable()) {
            for (int i = 0; i < half; i++) {
                assertArrayEquals(results.get(i), results.get(half + i), "panama and scalar softmaxBlock differ");
            }
        }
    }

    static List<Arguments> implementationsAndSizes() {
        List<Arguments> cases = new ArrayList<>();
        for (String impl : List.of("scalar", "panama")) {
            for (int s : SIZES) {
                cases.add(Arguments.of(impl, s));
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} layerNorm dim={1}")
    @MethodSource("implementationsAndSizes")
    void layerNormMatchesReference(String impl, int dim) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(dim);
        int rows = 5;
        float[] x = random(r, rows * dim, -3, 5);
        float[] gamma = random(r, dim, 0.5, 1.5);
        float[] beta = random(r, dim, -1, 1);
        float[] out = new float[rows * dim];
        kernels.layerNorm(pool, x, 0, out, 0, rows, dim, gamma, beta, 1e-6f);
        assertClose(impl + " layerNorm", PlainReference.layerNorm(x, rows, dim, gamma, beta, 1e-6), out, 0,
                mixed(1e-5, 1e-5));
        // In place gives the same result.
        kernels.layerNorm(pool, x, 0, x, 0, rows, dim, gamma, beta, 1e-6f);
        assertArrayEquals(out, x, impl + ": in-place layerNorm differs");
    }

    @ParameterizedTest(name = "{0} softmax length={1}")
    @MethodSource("implementationsAndSizes")
    void softmaxMatchesReference(String impl, int length) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(length);
        float[] x = random(r, length + 2, -60, 60);
        double[] expected = PlainReference.softmax(x, 1, length, 0.125);
        kernels.support().softmax(x, 1, length, 0.125f);
        assertClose(impl + " softmax", expected, x, 1, mixed(1e-7, 2e-6));
    }

    @ParameterizedTest(name = "{0} gelu length={1}")
    @MethodSource("implementationsAndSizes")
    void geluMatchesReference(String impl, int length) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(length);
        float[] x = random(r, length, -9, 9);
        x[0] = 0f;
        double[] expected = new double[length];
        for (int i = 0; i < length; i++) {
            expected[i] = PlainReference.gelu(x[i]);
        }
        float[] input = x.clone();
        kernels.support().gelu(x, 0, length);
        // erf is approximated to 1.5e-7 (as PyTorch's vectorized GELU does), which gelu scales by |x| / 2.
        assertClose(impl + " gelu", expected, x, 0, (i, e) -> 1e-7 * (1 + Math.abs(input[i])) + 1e-6 * Math.abs(e));
    }

    static List<Arguments> attentionCases() {
        // Key blocks of 128 and query blocks of 64: one key more or less than a block, several blocks, a last query
        // block of a few rows.
        int[][] shapes = {{1, 1, 1, 7}, {1, 7, 3, 16}, {2, 13, 2, 64}, {1, 64, 1, 13}, {1, 197, 3, 64},
                {2, 50, 4, 24}, {1, 577, 1, 16}, {1, 128, 2, 32}, {1, 129, 1, 8}, {1, 300, 2, 64}};
        List<Arguments> cases = new ArrayList<>();
        for (String impl : List.of("scalar", "panama")) {
            for (int[] s : shapes) {
                cases.add(Arguments.of(impl, s[0], s[1], s[2], s[3]));
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} attention batch={1} tokens={2} heads={3} headDim={4}")
    @MethodSource("attentionCases")
    void attentionMatchesReference(String impl, int batch, int tokens, int heads, int hd) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(batch * 7919L + tokens * 31L + heads * 7L + hd);
        int d = heads * hd;
        float[] qkv = random(r, batch * tokens * 3 * d, -2, 2);
        float[] out = new float[batch * tokens * d + 1];
        float[] workspace = new float[(int) CpuKernels.attentionWorkspace(batch, tokens, heads, hd, pool.threads())];
        kernels.attention(pool, qkv, 0, batch, tokens, heads, hd, out, 1, workspace);
        assertClose(impl + " attention", PlainReference.attention(qkv, batch, tokens, heads, hd), out, 1,
                mixed(1e-6 * Math.sqrt(hd + tokens), 1e-5));
    }

    static List<Arguments> attentionExtrasCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String impl : List.of("scalar", "panama")) {
            cases.add(Arguments.of(impl, 1, 13, 3, 8));
            cases.add(Arguments.of(impl, 2, 197, 4, 16));
            cases.add(Arguments.of(impl, 3, 70, 2, 24));
        }
        return cases;
    }

    /**
     * The token-reduction extras (ToMe's key bias, Patch Slimming's query subset, the class token's head-averaged
     * row) against the double-precision reference, each alone and all together, and bit-identical on 1 and 3 threads.
     */
    @ParameterizedTest(name = "{0} attention extras batch={1} tokens={2} heads={3} headDim={4}")
    @MethodSource("attentionExtrasCases")
    void attentionExtrasMatchReference(String impl, int batch, int tokens, int heads, int hd) {
        CpuKernels kernels = kernels(impl);
        SplittableRandom r = new SplittableRandom(tokens * 131L + heads);
        int d = heads * hd;
        float[] qkv = random(r, batch * tokens * 3 * d, -2, 2);
        float[] bias = random(r, batch * tokens + 2, -1.5, 1.5);
        int[] subset = java.util.stream.IntStream.range(0, tokens).filter(t -> t == 0 || t % 3 == 1).toArray();
        mixedCheck(kernels, impl, qkv, batch, tokens, heads, hd, bias, null, false);
        mixedCheck(kernels, impl, qkv, batch, tokens, heads, hd, null, subset, false);
        mixedCheck(kernels, impl, qkv, batch, tokens, heads, hd, null, null, true);
        mixedCheck(kernels, impl, qkv, batch, tokens, heads, hd, bias, subset, true);
    }

    private static void mixedCheck(CpuKernels kernels, String impl, float[] qkv, int batch, int tokens, int heads,
                                   int hd, float[] bias, int[] subset, boolean classRow) {
        int d = heads * hd;
        int queries = subset == null ? tokens : subset.length;
        String what = impl + " attention" + (bias == null ? "" : " +bias") + (subset == null ? "" : " +subset")
                + (classRow ? " +class row" : "");
        float[] biasFromOne = null;
        if (bias != null) {
            biasFromOne = java.util.Arrays.copyOfRange(bias, 2, 2 + batch * tokens);
        }
        double[] expectedClass = classRow ? new double[batch * tokens] : null;
        double[] expected = PlainReference.attention(qkv, batch, tokens, heads, hd, biasFromOne, subset, expectedClass);
        float[][] outs = new float[2][];
        float[][] classes = new float[2][];
        ComputePool[] pools = {pool, ComputePool.of(1)};
        try (ComputePool single = pools[1]) {
            for (int k = 0; k < 2; k++) {
                float[] out = new float[batch * queries * d];
                float[] cls = classRow ? new float[batch * tokens + 1] : null;
                float[] workspace = new float[(int) CpuKernels.attentionWorkspace(batch, tokens, heads, hd,
                        pools[k].threads())];
                kernels.attention(pools[k], qkv, 0, batch, tokens, heads, hd, out, 0, workspace,
                        new AttentionExtras(bias, 2, subset, cls, 1));
                outs[k] = out;
                classes[k] = cls;
            }
        }
        assertClose(what, expected, outs[0], 0, mixed(1e-6 * Math.sqrt(hd + tokens), 1e-5));
        assertArrayEquals(outs[1], outs[0], what + ": 1 thread and 3 threads differ");
        if (classRow) {
            assertClose(what + " (class row)", expectedClass, classes[0], 1, mixed(1e-6, 1e-5));
            assertArrayEquals(classes[1], classes[0], what + " class row: 1 thread and 3 threads differ");
        }
    }

    @ParameterizedTest(name = "{0} addInPlace")
    @ValueSource(strings = {"scalar", "panama"})
    void addInPlaceMatchesReference(String impl) {
        CpuKernels kernels = kernels(impl);
        for (int n : SIZES) {
            SplittableRandom r = new SplittableRandom(n);
            float[] x = random(r, n + 1, -1, 1);
            float[] y = random(r, n + 2, -1, 1);
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                expected[i] = x[1 + i] + y[2 + i];
            }
            kernels.support().addInPlace(x, 1, y, 2, n);
            assertClose(impl + " add n=" + n, expected, x, 1, mixed(0, 0));
        }
    }

    @ParameterizedTest(name = "{0} dot and axpy")
    @ValueSource(strings = {"scalar", "panama"})
    void dotAndAxpyMatchReference(String impl) {
        CpuKernels kernels = kernels(impl);
        for (int n : SIZES) {
            SplittableRandom r = new SplittableRandom(31L * n);
            float[] a = random(r, n + 3, -2, 2);
            float[] b = random(r, n + 1, -2, 2);
            double expectedDot = 0;
            double[] expectedAxpy = new double[n];
            for (int i = 0; i < n; i++) {
                expectedDot += (double) a[3 + i] * b[1 + i];
                expectedAxpy[i] = b[1 + i] + 0.75 * a[3 + i];
            }
            float dot = kernels.support().dot(a, 3, b, 1, n);
            assertClose(impl + " dot n=" + n, new double[] {expectedDot}, new float[] {dot}, 0, dotTolerance(n));
            kernels.support().axpy(0.75f, a, 3, b, 1, n);
            assertClose(impl + " axpy n=" + n, expectedAxpy, b, 1, mixed(1e-6, 1e-6));
        }
    }
}
