package dev.hourglass.reduce.slim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.VisionTransformer;

/**
 * The significance score against the PyTorch reference ({@code tools/hourglass_ref/slim.py}: blocks 2, 3 and 4 of a
 * plain and a distilled tiny DeiT, later blocks pruned by the pyramid masks), and the training-free search's
 * invariants: nested masks ending at the prefix tokens, the same masks every run, every block's error within the
 * tolerance (recomputed here through the public forward), tolerance 0 prunes only what nothing reads.
 */
class SlimSearchTest {
    private static final Path ROOT = SlimFixtures.ROOT;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static List<Arguments> scores() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : Fixtures.json(ROOT.resolve("cases.json")).get("cases")) {
            for (JsonNode s : c.get("significance")) {
                out.add(Arguments.of(c.get("name").asText(), s.get("block").asInt()));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} block {1}")
    @MethodSource("scores")
    void significanceMatchesPyTorch(String name, int block) throws IOException {
        JsonNode c = SlimFixtures.caseNamed(name);
        JsonNode entry = null;
        for (JsonNode s : c.get("significance")) {
            if (s.get("block").asInt() == block) {
                entry = s;
            }
        }
        Path dir = ROOT.resolve(c.get("dir").asText());
        int[][] keep = TokenMasks.read(dir.resolve(entry.get("masks_for_later_blocks").asText())).keep();
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"));
             VisionTransformer model = SlimFixtures.load(weights, dir, name, backend)) {
            double[] got = SlimSearch.significance(model, List.of(Npy.read(dir.resolve("input.npy"))), block, keep);
            float[] expected = Npy.read(dir.resolve(entry.get("file").asText())).toFloatArray();
            double scale = entry.get("scale").asDouble();
            assertEquals(expected.length, got.length);
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-4 * scale, name + " block " + block + " token " + i);
            }
            // The tokens the reference chose: the best candidates (not prefix, not already kept by block + 1).
            int prefix = c.get("prefix_tokens").asInt();
            List<Integer> candidates = new ArrayList<>();
            for (int id = prefix; id < got.length; id++) {
                if (Arrays.binarySearch(keep[block + 1], id) < 0) {
                    candidates.add(id);
                }
            }
            candidates.sort((a, b) -> Double.compare(got[b], got[a]));
            int count = entry.get("chosen_count").asInt();
            int[] chosen = candidates.subList(0, count).stream().mapToInt(Integer::intValue).sorted().toArray();
            int[] expectedChosen = new int[count];
            for (int i = 0; i < count; i++) {
                expectedChosen[i] = entry.get("chosen").get(i).asInt();
            }
            assertArrayEquals(expectedChosen, chosen, name + " block " + block + ": the tokens the score keeps");
        }
    }

    @Test
    void searchIsNestedDeterministicAndWithinTheTolerance() throws IOException {
        for (String name : List.of("deit_tiny", "deit_tiny_distilled")) {
            Path dir = ROOT.resolve(SlimFixtures.caseNamed(name).get("dir").asText());
            Tensor images = Npy.read(dir.resolve("input.npy"));
            try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"));
                 VisionTransformer model = SlimFixtures.load(weights, dir, name, backend)) {
                int depth = model.config().depth();
                int prefix = model.config().prefixTokens();
                SlimSearch.Settings settings = new SlimSearch.Settings(0.05, 4);
                List<Integer> decided = new ArrayList<>();
                SlimSearch.Result r = SlimSearch.search(model, List.of(images), settings, new SlimSearch.Progress() {
                    @Override
                    public void block(int block, int kept, double error) {
                        decided.add(block);
                    }
                });
                SlimSearch.Result again = SlimSearch.search(model, List.of(images), settings, null);
                TokenMasks m = r.masks(); // nested and well-formed, or its constructor would have refused it
                assertArrayEquals(range(prefix), m.kept(depth - 1), name + ": the last block keeps the prefix only");
                for (int l = 0; l < depth; l++) {
                    assertArrayEquals(m.kept(l), again.masks().kept(l), name + ": the same masks every run");
                }
                assertEquals(depth, decided.size(), "every block is reported, last first");
                assertEquals(depth - 1, decided.get(0));
                assertTrue(r.gflops() < r.unprunedGflops(), r.gflops() + " vs " + r.unprunedGflops());
                try (ReductionTrace trace = new ReductionTrace(new SlimMasks(r.masks(), null)
                        .newReducer(backend, model.config()), depth)) {
                    model.classify(images, trace);
                    assertEquals(trace.gflops(model.config()), r.gflops(), 1e-12,
                            "the counted GFLOPs are what a traced pruned forward reports");
                }
                int tokens = m.tokens();
                for (int t = 0; t < depth - 1; t++) {
                    double e = error(model, images, m, t);
                    assertEquals(r.errors()[t], e, 1e-6, name + " block " + t + ": the reported error");
                    assertTrue(e <= settings.tolerance() || m.kept(t).length == tokens,
                            name + " block " + t + ": error " + e + " above the tolerance");
                }
                assertTrue(m.kept(0).length < tokens || m.kept(1).length < tokens, name + ": something is pruned");

                SlimSearch.Result exact = SlimSearch.search(model, List.of(images), new SlimSearch.Settings(0, 8),
                        null);
                for (int t = 0; t < depth - 1; t++) {
                    assertEquals(tokens, exact.masks().kept(t).length, "tolerance 0 keeps every token before the end");
                }
                float[] plain = model.classify(images).toFloatArray();
                float[] pruned = model.classify(images, new SlimMasks(exact.masks(), null)
                        .newReducer(backend, model.config())).toFloatArray();
                assertArrayEquals(plain, pruned, 1e-5f, "pruning what only the last block drops changes nothing");
            }
        }
    }

    /** Block t+1's output on its kept tokens, block t pruned by m and nothing before, against the unpruned model. */
    private static double error(VisionTransformer model, Tensor images, TokenMasks m, int t) {
        int depth = model.config().depth();
        int[][] keep = new int[depth][];
        for (int l = 0; l < depth; l++) {
            keep[l] = l < t ? range(m.tokens()) : m.kept(l);
        }
        TokenMasks masks = new TokenMasks(m.tokens(), m.prefixTokens(), keep, Map.of());
        float[] pruned = run(model, images, t, new SlimMasks(masks, null).newReducer(backend, model.config()));
        float[] plain = run(model, images, t, TokenReducer.NONE);
        int dim = model.config().embedDim();
        int[] kept = m.kept(t + 1);
        int batch = images.shape().intDim(0);
        double diff = 0;
        double norm = 0;
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < kept.length; j++) {
                for (int d = 0; d < dim; d++) {
                    double z = plain[(b * m.tokens() + kept[j]) * dim + d];
                    double p = pruned[(b * kept.length + j) * dim + d];
                    diff += (p - z) * (p - z);
                    norm += z * z;
                }
            }
        }
        return Math.sqrt(diff / norm);
    }

    private static float[] run(VisionTransformer model, Tensor images, int t, TokenReducer reducer) {
        try (VisionTransformer.Pass pass = model.start(images)) {
            TokenState s = pass.blocks(pass.embed(), 0, t + 2, reducer);
            float[] out = new float[Math.toIntExact((long) s.batch() * s.count() * s.dim())];
            model.backend().download(s.data(), 0, out, 0, out.length);
            return out;
        }
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        Arrays.setAll(r, i -> i);
        return r;
    }
}
