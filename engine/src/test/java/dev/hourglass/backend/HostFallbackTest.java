package dev.hourglass.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.reduce.expedit.ExpeditKernels;

/**
 * A backend without device kernels for a method's steps still runs them, on the host: attention with every extra,
 * and Expedit's clustering and reconstruction, give the CPU backend's bits.
 */
class HostFallbackTest {
    private static CpuBackend cpu;
    private static Backend plain;

    @BeforeAll
    static void start() {
        cpu = new CpuBackend(1);
        plain = new PlainDelegatingBackend(cpu);
    }

    @AfterAll
    static void stop() {
        cpu.close();
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-2, 2);
        }
        return x;
    }

    private static float[] read(Backend b, Buffer buffer, int n) {
        float[] out = new float[n];
        b.download(buffer, 0, out, 0, n);
        return out;
    }

    @Test
    void attentionExtrasRunOnTheHostWithTheSameResult() {
        int batch = 2;
        int tokens = 11;
        int heads = 2;
        int hd = 8;
        int d = heads * hd;
        float[] qkv = random(batch * tokens * 3 * d, 1);
        float[] bias = random(batch * tokens, 2);
        int[] subset = {0, 3, 4, 10};
        float[][] outs = new float[2][];
        float[][] classRows = new float[2][];
        Backend[] backends = {cpu, plain};
        for (int k = 0; k < 2; k++) {
            Backend b = backends[k];
            try (Buffer q = b.upload(qkv, 0, qkv.length); Buffer bb = b.upload(bias, 0, bias.length);
                 Buffer out = b.allocate((long) batch * subset.length * d)) {
                classRows[k] = new float[batch * tokens];
                b.attention(q, out, batch, tokens, heads, hd, new AttentionOptions(bb, subset, classRows[k]));
                outs[k] = read(b, out, batch * subset.length * d);
            }
        }
        assertArrayEquals(outs[0], outs[1], "attention output");
        assertArrayEquals(classRows[0], classRows[1], "class token's attention row");
    }

    @Test
    void expeditRunsOnTheHostWhereTheBackendHasNoKernels() {
        assertSame(cpu, ExpeditKernels.on(cpu), "the CPU backend has its own Expedit kernels");
        ExpeditKernels onHost = ExpeditKernels.on(plain);
        assertFalse(onHost == (Object) plain);
        assertTrue(plain.extension(ExpeditKernels.class).isEmpty());
        int gh = 6;
        int gw = 5;
        int dim = 7;
        float[] x = random(gh * gw * dim, 3);
        ClusteringParameters p = new ClusteringParameters(3, 2, 3, 3, 1f);
        int m = p.clusters();
        float[][] centres = new float[2][];
        int[][] labels = new int[2][gh * gw];
        float[][] rebuilt = new float[2][];
        Backend[] backends = {cpu, plain};
        for (int k = 0; k < 2; k++) {
            Backend b = backends[k];
            ExpeditKernels kernels = ExpeditKernels.on(b);
            try (Buffer in = b.upload(x, 0, x.length); Buffer c = b.allocate((long) m * dim);
                 Buffer full = b.allocate((long) gh * gw * dim)) {
                kernels.clusterTokens(in, 0, gh, gw, dim, p, c, 0, labels[k], 0);
                centres[k] = read(b, c, m * dim);
                kernels.reconstructTokens(c, 0, m, dim, in, 0, gh * gw, c, 0, dim, 2, 0.5f, full, 0);
                rebuilt[k] = read(b, full, gh * gw * dim);
            }
        }
        assertArrayEquals(centres[0], centres[1], "centres");
        assertArrayEquals(labels[0], labels[1], "hard labels");
        assertArrayEquals(rebuilt[0], rebuilt[1], "reconstruction");
    }
}
