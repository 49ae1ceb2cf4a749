package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.expedit.ExpeditPass;
import dev.hourglass.reduce.slim.SlimMasks;
import dev.hourglass.reduce.slim.TokenMasks;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * Token reduction on DPT-Hybrid. Expedit against the PyTorch reference ({@code tools/make_dpt_expedit_fixtures.py},
 * itself bit-identical to the official Expedit-DPT code on these weights): clustering after block 2 to 3x3 clusters,
 * the taps at blocks 3 and 4 un-clustered by hard-label gather, a batch of two 64x96 images whose hard labels all
 * have a relative margin of at least 3.4% (see {@code expedit.json}). ToMe runs (unmerged at the taps by its source
 * map); Patch Slimming, which drops tokens for good, is refused.
 */
class DptExpeditGoldenTest {
    static final Path EXPEDIT = DptGoldenTest.ROOT.resolve("expedit");

    @Test
    void expeditGivesTheReferenceDepthAndLabels() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(Files.readString(EXPEDIT.resolve("expedit.json")));
        ReductionMethod method = Reductions.parse(manifest.get("expedit").get("reduce_spec").asText());
        Tensor input = Npy.read(EXPEDIT.resolve("input.npy"));
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, DptGoldenTest.PT);
             CpuBackend backend = new CpuBackend(2);
             DptModel dpt = DptGoldenTest.create(c, backend);
             TokenReducer reducer = dpt.reducer(method, 64, 96)) {
            float[] depth = dpt.depth(input, reducer).toFloatArray();
            DptGoldenTest.assertClose(Npy.read(EXPEDIT.resolve("depth.npy")).toFloatArray(), depth,
                    "Expedit on dpt_hybrid_tiny.pt");
            float[] expected = Npy.read(EXPEDIT.resolve("hard_labels.npy")).toFloatArray();
            int[] labels = ((ExpeditPass) reducer).hardLabels();
            assertEquals(expected.length, labels.length);
            for (int i = 0; i < labels.length; i++) {
                assertEquals((int) expected[i], labels[i], "hard label of token " + i + ": " + Arrays.toString(labels));
            }
            // Clustering changes the answer: the test would not notice a reduction that did nothing.
            float[] plain = dpt.depth(input).toFloatArray();
            assertFalse(Arrays.equals(plain, depth));
        }
    }

    /**
     * Clustering after the block tap 3 hooks (alpha 3): that tap reads the block's output before the clustering, as
     * the original's forward hook does; tap 4 reads the un-clustered tokens.
     */
    @Test
    void clusteringAtATappedBlockLeavesThatTapWhole() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(Files.readString(EXPEDIT.resolve("expedit.json")));
        ReductionMethod method = Reductions.parse(manifest.get("at_tap").get("reduce_spec").asText());
        Tensor input = Npy.read(EXPEDIT.resolve("input.npy"));
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, DptGoldenTest.PT);
             CpuBackend backend = new CpuBackend(2);
             DptModel dpt = DptGoldenTest.create(c, backend);
             TokenReducer reducer = dpt.reducer(method, 64, 96)) {
            float[] depth = dpt.depth(input, reducer).toFloatArray();
            DptGoldenTest.assertClose(Npy.read(EXPEDIT.resolve("at_tap_depth.npy")).toFloatArray(), depth,
                    "Expedit at tap 3's block");
            float[] expected = Npy.read(EXPEDIT.resolve("at_tap_hard_labels.npy")).toFloatArray();
            int[] labels = ((ExpeditPass) reducer).hardLabels();
            for (int i = 0; i < labels.length; i++) {
                assertEquals((int) expected[i], labels[i], "hard label of token " + i);
            }
        }
    }

    @Test
    void expeditThreadCountDoesNotChangeTheBits() throws IOException {
        Tensor input = Npy.read(EXPEDIT.resolve("input.npy"));
        ReductionMethod method = Reductions.parse("expedit:alpha=2,grid=3x3,iters=5,window=3,tau=0.1");
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, DptGoldenTest.PT);
             CpuBackend one = new CpuBackend(1);
             CpuBackend three = new CpuBackend(3);
             DptModel a = DptGoldenTest.create(c, one);
             DptModel b = DptGoldenTest.create(c, three);
             TokenReducer ra = a.reducer(method, 64, 96);
             TokenReducer rb = b.reducer(method, 64, 96)) {
            assertArrayEquals(a.depth(input, ra).toFloatArray(), b.depth(input, rb).toFloatArray());
        }
    }

    /** ToMe merges tokens; DPT unmerges them at each tap by the source map, so every patch has features. */
    @Test
    void tomeRunsAndIsUnmergedAtTheTaps() throws IOException {
        Tensor input = Npy.read(EXPEDIT.resolve("input.npy"));
        ReductionMethod method = Reductions.parse("tome:r=4");
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, DptGoldenTest.PT);
             CpuBackend one = new CpuBackend(1);
             CpuBackend three = new CpuBackend(3);
             DptModel a = DptGoldenTest.create(c, one);
             DptModel b = DptGoldenTest.create(c, three);
             TokenReducer ra = a.reducer(method, 64, 96);
             TokenReducer rb = b.reducer(method, 64, 96)) {
            Tensor merged = a.depth(input, ra);
            assertEquals(java.util.List.of(2L, 64L, 96L), Arrays.stream(merged.shape().dims()).boxed().toList());
            float[] d = merged.toFloatArray();
            float[] plain = a.depth(input).toFloatArray();
            assertFalse(Arrays.equals(plain, d), "ToMe with r=4 left the depth unchanged");
            double worst = 0;
            for (int i = 0; i < d.length; i++) {
                assertTrue(Float.isFinite(d[i]) && d[i] >= 0, "depth " + i + " = " + d[i]);
                worst = Math.max(worst, Math.abs(d[i] - plain[i]));
            }
            // Merging 4 of 24 tokens a block is a perturbation, not a different picture (plain range ~8.8).
            assertTrue(worst < 4, "ToMe moved the depth by " + worst);
            assertArrayEquals(d, b.depth(input, rb).toFloatArray());
        }
    }

    /** Patch Slimming drops tokens for good: DPT's taps could not be filled, so it is refused before running. */
    @Test
    void patchSlimmingIsRefused() throws IOException {
        int tokens = 1 + 4 * 6;
        int[] all = new int[tokens];
        Arrays.setAll(all, i -> i);
        int[] pruned = Arrays.copyOf(all, tokens - 5);
        SlimMasks slim = new SlimMasks(new TokenMasks(tokens, 1, new int[][] {all, pruned, pruned, pruned}, Map.of()),
                Path.of("masks.json"));
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, DptGoldenTest.PT);
             CpuBackend backend = new CpuBackend(1);
             DptModel dpt = DptGoldenTest.create(c, backend)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dpt.reducer(slim, 64, 96));
            assertTrue(e.getMessage().startsWith("slim: masks.json: block 1 keeps 20 of 25 tokens")
                    && !e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
