package dev.hourglass.reduce.expedit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.TokenSequence;

/** The hook's bookkeeping around the kernels: which block, the prefix tokens, batches, the saved state. */
class ExpeditPassTest {
    private static CpuBackend backend;
    private static ComputePool pool;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
        pool = ComputePool.of(1);
    }

    @AfterAll
    static void stop() {
        backend.close();
        pool.close();
    }

    @Test
    void clustersAfterBlockAlphaCountingFromOneAndReconstructsPerImage() {
        int batch = 2;
        int prefix = 2;
        int gh = 6;
        int gw = 8;
        int dim = 12;
        int tokens = prefix + gh * gw;
        ExpeditSettings s = ExpeditSettings.parse("alpha=3,grid=3x4,iters=2,window=3,tau=0.3,k=5,tau_r=0.2");
        float[] x = new float[batch * tokens * dim];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (ExpeditPass pass = new ExpeditPass(backend, s, true);
             Buffer data = backend.upload(x, 0, x.length)) {
            TokenSequence seq = new TokenSequence(data, batch, tokens, dim, prefix, gh, gw);
            TokenState state = TokenState.initial(seq);
            assertSame(state, pass.afterBlock(0, state));
            assertSame(state, pass.afterBlock(1, state));
            assertThrows(IllegalStateException.class, () -> pass.reconstruct(seq));
            TokenState clusteredState = pass.afterBlock(2, state);
            TokenSequence clustered = clusteredState.tokens();
            int[] sources = clusteredState.sources();
            for (int i = 0; i < sources.length; i++) {
                assertEquals(prefix + pass.hardLabels()[i], sources[i], "source of patch " + i);
            }
            assertEquals(prefix + 12, clustered.tokens());
            assertEquals(3, clustered.gridHeight());
            assertEquals(4, clustered.gridWidth());
            float[] got = new float[Math.toIntExact(clustered.size())];
            backend.download(clustered.data(), 0, got, 0, got.length);
            int[] labels = pass.hardLabels();
            for (int b = 0; b < batch; b++) {
                float[] centres = new float[12 * dim];
                int[] expectedLabels = new int[gh * gw];
                Kernels.clusterTokens(pool, x, (b * tokens + prefix) * dim, gh, gw, dim, s.clustering(), centres, 0,
                        expectedLabels, 0);
                float[] prefixRows = java.util.Arrays.copyOfRange(x, b * tokens * dim, (b * tokens + prefix) * dim);
                int o = b * clustered.tokens() * dim;
                assertArrayEquals(prefixRows, java.util.Arrays.copyOfRange(got, o, o + prefix * dim), "prefix kept");
                assertArrayEquals(centres, java.util.Arrays.copyOfRange(got, o + prefix * dim, o + (prefix + 12) * dim),
                        1e-6f, "centres of image " + b);
                assertArrayEquals(expectedLabels, java.util.Arrays.copyOfRange(labels, b * gh * gw, (b + 1) * gh * gw));
            }

            TokenSequence full = pass.reconstruct(clustered);
            try (Buffer fullData = full.data()) {
                assertEquals(tokens, full.tokens());
                assertEquals(gh, full.gridHeight());
                float[] back = new float[Math.toIntExact(full.size())];
                backend.download(fullData, 0, back, 0, back.length);
                for (int b = 0; b < batch; b++) {
                    float[] expected = new float[gh * gw * dim];
                    int c = b * clustered.tokens() * dim;
                    Kernels.reconstructTokens(pool, got, c + prefix * dim, 12, dim, x, (b * tokens + prefix) * dim,
                            gh * gw, got, c + prefix * dim, dim, 5, 0.2f, expected, 0);
                    int o = b * tokens * dim;
                    assertArrayEquals(java.util.Arrays.copyOfRange(got, c, c + prefix * dim),
                            java.util.Arrays.copyOfRange(back, o, o + prefix * dim), "prefix after reconstruction");
                    assertArrayEquals(expected, java.util.Arrays.copyOfRange(back, o + prefix * dim, o + tokens * dim),
                            1e-6f, "reconstruction of image " + b);
                }
            }
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> pass.afterBlock(2, state));
            assertTrue(twice.getMessage().contains("one forward call"), twice.getMessage());
            clustered.data().close();
        }
    }

    @Test
    void settingsParseAndPrintTheSameForm() {
        ExpeditSettings d = ExpeditSettings.parse("");
        assertEquals(ExpeditSettings.SEGMENTER_ADE20K, d);
        assertEquals(9, d.blockIndex());
        ExpeditSettings s = ExpeditSettings.parse(" alpha=4 , grid=20 ,k=-1");
        assertEquals(20, s.clustersHigh());
        assertEquals(20, s.clustersWide());
        assertEquals(s, ExpeditSettings.parse(s.toString()));
        assertThrows(IllegalArgumentException.class, () -> ExpeditSettings.parse("alpha=0"));
        assertThrows(IllegalArgumentException.class, () -> ExpeditSettings.parse("k=0"));
        assertThrows(IllegalArgumentException.class, () -> ExpeditSettings.parse("grid=2x3x4"));
        assertThrows(IllegalArgumentException.class, () -> ExpeditSettings.parse("alpha=1,alpha=2"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExpeditSettings.parse("tau=fast"));
        assertTrue(e.getMessage().contains("tau=fast is not a finite number"), e.getMessage());
        ReductionMethod viaRegistry = Reductions.parse("expedit:alpha=4,grid=20,k=-1");
        assertEquals(s, viaRegistry);
        assertEquals(s, Reductions.parse(viaRegistry.spec()));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("expedit:alpah=4"))
                .getMessage().contains("known: alpha, grid, iters, window, tau, k, tau_r"));
    }
}
