package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.reduce.expedit.ExpeditKernels;
import dev.hourglass.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static dev.hourglass.tornado.TornadoTestSupport.assertClose;
import static dev.hourglass.tornado.TornadoTestSupport.download;
import static dev.hourglass.tornado.TornadoTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every TornadoVM kernel, through the backend interface, against the CPU backend on the same random inputs. Sizes are
 * chosen not to be multiples of the work-groups (16x16 tiles, 64 and 128 work-items), so the guards on the overhang
 * are exercised; offsets are non-zero where the interface takes them.
 */
class TornadoKernelsTest {
    private static final double TOL = 1e-5;
    private static CpuBackend cpu;
    private static TornadoBackend gpu;

    @BeforeAll
    static void open() {
        TornadoTestSupport.requireTornado();
        cpu = new CpuBackend(1);
        gpu = new TornadoBackend();
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    /** Runs the same operation on both backends over buffers made from the same host arrays. */
    private interface Op {
        void run(Backend b, Buffer[] in);
    }

    private static float[][] both(float[][] inputs, int result, int resultLength, Op op) {
        float[][] out = new float[2][];
        Backend[] backends = {cpu, gpu};
        for (int k = 0; k < 2; k++) {
            Buffer[] bufs = new Buffer[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                bufs[i] = backends[k].upload(inputs[i], 0, inputs[i].length);
            }
            op.run(backends[k], bufs);
            out[k] = download(backends[k], bufs[result], resultLength);
            for (Buffer b : bufs) {
                b.close();
            }
        }
        return out;
    }

    @ParameterizedTest(name = "rows={0} in={1} out={2} {3} bias={4}")
    @CsvSource({
            "1, 37, 10, NONE, true",
            "13, 192, 64, GELU, true",
            "197, 64, 577, RESIDUAL, true",
            "17, 48, 33, NONE, false",
            "50, 200, 100, GELU, false",
            "31, 147, 16, RELU, true"})
    void linear(int rows, int in, int outFeatures, Epilogue epilogue, boolean withBias) {
        SplittableRandom r = new SplittableRandom(rows * 31L + in);
        Tensor weight = Tensor.ofFloats(random(r, outFeatures * in, 0.2), outFeatures, in);
        Tensor bias = withBias ? Tensor.ofFloats(random(r, outFeatures, 0.5), outFeatures) : null;
        int xOffset = 5;
        int outOffset = 3;
        float[] x = random(r, xOffset + rows * in, 1);
        float[] out = random(r, outOffset + rows * outFeatures, 1);
        try (WeightStore cs = cpu.newWeightStore(); WeightStore gs = gpu.newWeightStore()) {
            LinearWeights cl = cs.linear(weight, bias);
            LinearWeights gl = gs.linear(weight, bias);
            float[][] res = both(new float[][] {x, out}, 1, out.length, (b, buf) ->
                    b.linear(buf[0], xOffset, rows, b == cpu ? cl : gl, buf[1], outOffset, epilogue));
            assertClose("linear " + epilogue, res[0], res[1], TOL);
            // The values before the output offset are left alone.
            assertEquals(out[0], res[1][0]);
        }
    }

    @ParameterizedTest(name = "rows={0} dim={1}")
    @CsvSource({"1, 37", "5, 192", "13, 300"})
    void layerNormInPlace(int rows, int dim) {
        SplittableRandom r = new SplittableRandom(dim);
        float[] x = random(r, rows * dim, 3);
        for (int i = 0; i < x.length; i++) {
            x[i] += 2; // a mean far from zero
        }
        float[][] res = both(new float[][] {x, random(r, dim, 1), random(r, dim, 1)}, 0, x.length,
                (b, buf) -> b.layerNorm(buf[0], buf[0], rows, dim, buf[1], buf[2], 1e-6f));
        assertClose("layerNorm", res[0], res[1], TOL);
    }

    @ParameterizedTest(name = "batch={0} tokens={1} heads={2} headDim={3}")
    @CsvSource({"1, 1, 1, 8", "2, 13, 3, 16", "1, 197, 3, 64", "1, 300, 2, 24"})
    void attention(int batch, int tokens, int heads, int headDim) {
        SplittableRandom r = new SplittableRandom(tokens);
        int width = heads * headDim;
        float[] qkv = random(r, batch * tokens * 3 * width, 1.5);
        float[] out = new float[batch * tokens * width];
        float[][] res = both(new float[][] {qkv, out}, 1, out.length,
                (b, buf) -> b.attention(buf[0], buf[1], batch, tokens, heads, headDim));
        assertClose("attention", res[0], res[1], TOL);
    }

    @Test
    void patchifyAndEmbedTokens() {
        SplittableRandom r = new SplittableRandom(7);
        int batch = 2;
        int channels = 3;
        int h = 48;
        int w = 32;
        int patch = 16;
        int patches = (h / patch) * (w / patch);
        int rowLength = channels * patch * patch;
        float[] images = random(r, batch * channels * h * w, 1);
        float[][] p = both(new float[][] {images, new float[batch * patches * rowLength]}, 1, batch * patches
                * rowLength, (b, buf) -> b.patchify(buf[0], buf[1], batch, channels, h, w, patch));
        assertArrayEquals(p[0], p[1], "patchify moves values: exact");

        int dim = 40;
        for (int prefix = 0; prefix <= 2; prefix++) {
            int pc = prefix;
            int tokens = pc + patches;
            float[] emb = random(r, batch * patches * dim, 1);
            float[] pre = random(r, Math.max(1, pc * dim), 1);
            float[] pos = random(r, tokens * dim, 1);
            float[][] e = both(new float[][] {emb, pre, pos, new float[batch * tokens * dim]}, 3,
                    batch * tokens * dim, (b, buf) -> b.embedTokens(buf[0], buf[1], pc, buf[2], buf[3], batch,
                            patches, dim));
            assertArrayEquals(e[0], e[1], "embedTokens with " + pc + " prefix tokens");
        }
    }

    @Test
    void gatherAddScaledCopyNormalize() {
        SplittableRandom r = new SplittableRandom(11);
        int dim = 37;
        float[] src = random(r, 10 * dim, 1);
        int[] rows = {9, 0, 4, 4};
        float[][] g = both(new float[][] {src, new float[rows.length * dim]}, 1, rows.length * dim,
                (b, buf) -> b.gatherRows(buf[0], dim, rows, buf[1]));
        assertArrayEquals(g[0], g[1], "gatherRows");

        float[] x = random(r, 1000, 1);
        float[] y = random(r, 1000, 1);
        float[][] a = both(new float[][] {x, y}, 0, 1000, (b, buf) -> b.addScaled(buf[0], buf[1], 1000, 0.5f));
        assertArrayEquals(a[0], a[1], "addScaled");

        float[] dst = random(r, 300, 1);
        float[][] c = both(new float[][] {x, dst}, 1, 300, (b, buf) -> b.copy(buf[0], 17, buf[1], 40, 123));
        assertArrayEquals(c[0], c[1], "partial copy keeps the rest of the destination");

        float[] v = random(r, 3 + 7 * dim, 2);
        float[][] n = both(new float[][] {v}, 0, v.length, (b, buf) -> b.normalizeRows(buf[0], 3, 7, dim));
        assertClose("normalizeRows", n[0], n[1], TOL);
    }

    @Test
    void matmulTransposed() {
        SplittableRandom r = new SplittableRandom(13);
        int rows = 29;
        int bRows = 19;
        int inner = 41;
        float[] a = random(r, 2 + rows * inner, 1);
        float[] bm = random(r, 5 + bRows * inner, 1);
        float[] out = random(r, 1 + rows * bRows, 1);
        float[][] res = both(new float[][] {a, bm, out}, 2, out.length,
                (b, buf) -> b.matmulTransposed(buf[0], 2, rows, buf[1], 5, bRows, inner, buf[2], 1));
        assertClose("matmulTransposed", res[0], res[1], TOL);
    }

    @ParameterizedTest(name = "grid {0}x{1} -> {2}x{3}, window {4}, {5} iterations, dim {7}")
    @CsvSource({
            "14, 14, 8, 8, 5, 5, 0.02, 192",
            "14, 14, 8, 8, 5, 5, 0.02, 24",
            "14, 14, 5, 6, 5, 5, 0.02, 192",
            "14, 14, 8, 8, 5, 0, 0.02, 192",
            "14, 14, 8, 8, 5, 1, 0.02, 192",
            "14, 14, 5, 6, 5, 5, 0.02, 24",
            "7, 9, 3, 4, 3, 2, 0.5, 24",
            "8, 46, 4, 14, 5, 3, 0.1, 24",
            "10, 10, 10, 10, 1, 1, 0.02, 24",
            "12, 12, 4, 4, 5, 0, 0.02, 24"})
    void clusterTokens(int gh, int gw, int h, int w, int window, int iterations, float tau, int dim) {
        SplittableRandom r = new SplittableRandom(gh * 100L + gw);
        int offset = 2 * dim;
        float[] x = random(r, offset + gh * gw * dim, 2);
        ClusteringParameters p = new ClusteringParameters(h, w, iterations, window, tau);
        int m = h * w;
        int[][] labels = new int[2][gh * gw + 1];
        Backend[] backends = {cpu, gpu};
        float[][] centres = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (Buffer in = backends[k].upload(x, 0, x.length);
                 Buffer out = backends[k].allocate(dim + m * dim)) {
                ExpeditKernels.on(backends[k]).clusterTokens(in, offset, gh, gw, dim, p, out, dim, labels[k], 1);
                float[] c = new float[m * dim];
                backends[k].download(out, dim, c, 0, c.length);
                centres[k] = c;
            }
        }
        assertClose("centres", centres[0], centres[1], 1e-4);
        assertArrayEquals(labels[0], labels[1], "hard labels");
    }

    @ParameterizedTest(name = "tokens={0} clusters={1} channels={2} k={3}")
    @CsvSource({"196, 30, 40, 5", "50, 12, 7, 12", "50, 12, 7, -1", "31, 9, 16, 1", "100, 16, 33, 16"})
    void reconstructTokens(int n, int m, int channels, int topK) {
        SplittableRandom r = new SplittableRandom(n * 7L + m);
        int dim = 16;
        float[] values = random(r, 4 + m * channels, 1);
        float[] before = random(r, 3 + n * dim, 1);
        float[] after = random(r, 2 + m * dim, 1);
        float[] out = new float[6 + n * channels];
        float tau = 0.5f;
        float[][] res = both(new float[][] {values, before, after, out}, 3, out.length,
                (b, buf) -> ExpeditKernels.on(b).reconstructTokens(buf[0], 4, m, channels, buf[1], 3, n, buf[2], 2, dim, topK, tau,
                        buf[3], 6));
        assertClose("reconstructTokens", res[0], res[1], 1e-4);
    }

    @Test
    void reconstructionKeepsEveryTieAtTheThreshold() {
        // Two clusters at the same distance from every token: with k = 1 both must be kept, as min(topk) does.
        int dim = 4;
        float[] before = {1, 0, 0, 0, 0, 1, 0, 0};
        float[] after = {0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3};
        float[] values = {1, 2, 10, 20, 100, 200};
        float[][] res = both(new float[][] {values, before, after, new float[4]}, 3, 4,
                (b, buf) -> ExpeditKernels.on(b).reconstructTokens(buf[0], 0, 3, 2, buf[1], 0, 2, buf[2], 0, dim, 1, 0.1f, buf[3], 0));
        assertClose("ties", res[0], res[1], 1e-6);
        assertTrue(res[1][0] > 7 && res[1][0] < 8, "both tied clusters kept, (1 + 10) / sqrt 2, got " + res[1][0]);
    }

    @Test
    void aRecordingLongerThanOneGraphRunsAsSeveralPlans() {
        // 400 launches are more than TornadoVM's 8 KiB graph description holds: the backend splits them, and values
        // written by one plan and read by the next must go across.
        int n = 300;
        float[] x = random(new SplittableRandom(5), n, 1);
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        try (TornadoBackend b = new TornadoBackend(); Buffer a = b.upload(x, 0, n); Buffer one = b.upload(ones, 0, n)) {
            for (int i = 0; i < 400; i++) {
                b.addScaled(a, one, n, 1f);
            }
            float[] out = download(b, a, n);
            float[] expected = new float[n];
            for (int i = 0; i < n; i++) {
                float v = x[i];
                for (int k = 0; k < 400; k++) {
                    v = (v + 1f) * 1f;
                }
                expected[i] = v;
            }
            assertArrayEquals(expected, out);
            assertTrue(b.plansBuilt() >= 2, "split into " + b.plansBuilt() + " plans");
        }
    }

    @Test
    void aRepeatedSequenceReusesItsPlan() {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = random(r, 64 * 40, 1);
        float[] gamma = random(r, 40, 1);
        float[] beta = random(r, 40, 1);
        try (TornadoBackend b = new TornadoBackend()) {
            float[] first = null;
            for (int i = 0; i < 3; i++) {
                try (Buffer in = b.upload(x, 0, x.length); Buffer g = b.upload(gamma, 0, 40);
                     Buffer be = b.upload(beta, 0, 40); Buffer out = b.allocate(x.length)) {
                    b.layerNorm(in, out, 64, 40, g, be, 1e-5f);
                    b.addScaled(out, in, x.length, 2f);
                    float[] o = download(b, out, x.length);
                    if (first == null) {
                        first = o;
                    } else {
                        assertArrayEquals(first, o, "run " + i);
                    }
                }
            }
            assertEquals(1, b.plansBuilt(), "one plan, built on the first call");
            assertEquals(3, b.executions());
        }
    }
}
