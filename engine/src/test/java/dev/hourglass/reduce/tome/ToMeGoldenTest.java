package dev.hourglass.reduce.tome;

import static dev.hourglass.testing.Assertions2.absolute;
import static dev.hourglass.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * ToMe against a PyTorch reference written from the paper ({@code tools/hourglass_ref/tome.py}, fixtures from
 * {@code tools/make_tome_fixtures.py}): random weights with every bias and norm random, class-token ViTs and a
 * distilled DeiT, constant, decreasing and increasing schedules, proportional attention on and off, a cap-bound r,
 * batches of 1 and 2. Logits within 1e-4 (max abs), token counts after every block exact. The fixtures' seeds were
 * chosen so that every matching decision has a margin of at least 1.4e-3 (the smallest, in {@code vit_no_prop}):
 * far above float32 rounding, so the discrete choices cannot flip between PyTorch and Java.
 */
class ToMeGoldenTest {
    private static final Path ROOT = Fixtures.path("golden/tome");
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static List<String> cases() {
        List<String> names = new ArrayList<>();
        for (JsonNode c : Fixtures.json(ROOT.resolve("cases.json"))) {
            names.add(c.get("name").asText());
        }
        return names;
    }

    private static JsonNode caseNamed(String name) {
        for (JsonNode c : Fixtures.json(ROOT.resolve("cases.json"))) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException(name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsAndTokenCountsMatchPyTorch(String name) throws IOException {
        JsonNode c = caseNamed(name);
        Path dir = ROOT.resolve(name);
        Tensor input = Npy.read(dir.resolve("input.npy"));
        Tensor expected = Npy.read(dir.resolve("logits.npy"));
        ToMeSettings settings = new ToMeSettings(c.get("r").asInt(), c.get("inflect").asDouble(),
                c.get("prop_attn").asBoolean());
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            VitConfig config = TimmVitConfig.read(Fixtures.json(dir.resolve("config.json")), weights);
            try (VisionTransformer model = VisionTransformer.create(config, weights, backend);
                 ReductionTrace trace = new ReductionTrace(settings.newReducer(backend, config), config.depth())) {
                Tensor logits = model.classify(input, trace);
                assertClose(name + " logits", expected.toFloatArray(), logits.toFloatArray(), absolute(1e-4));
                int[] tokens = new int[c.get("tokens_after_block").size()];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = c.get("tokens_after_block").get(i).asInt();
                }
                assertArrayEquals(tokens, trace.tokensAfterBlock(), name + " tokens after each block");
                assertArrayEquals(tokens, settings.tokensAfterBlocks(config.depth(), c.get("plain_tokens").asInt(),
                        config.prefixTokens()), name + " token counts predicted from the schedule");
            }
        }
    }

    @Test
    void scheduleFollowsToMesInflection() {
        ToMeSettings decreasing = ToMeSettings.parse("r=8,inflect=-1");
        assertArrayEquals(new int[] {16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1, 0}, decreasing.schedule(12));
        assertArrayEquals(new int[] {8, 8, 8, 8}, ToMeSettings.parse("r=8").schedule(4));
        assertArrayEquals(new int[] {0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16},
                ToMeSettings.parse("r=8,inflect=1").schedule(12));
        // ViT-B/16 at 224 with r=16: 197 -> 181 -> ... -> 21, then the cap leaves 11 (ALGORITHMS.md §4.3).
        int[] after = ToMeSettings.parse("r=16").tokensAfterBlocks(12, 197, 1);
        assertEquals(21, after[10]);
        assertEquals(11, after[11]);
    }

    @Test
    void specsAreReadOnceWithClearErrors() {
        ReductionMethod m = Reductions.parse("tome:r=8,inflect=-1,prop_attn=false");
        assertEquals("tome:r=8,inflect=-1,prop_attn=false", m.spec());
        assertEquals(m, Reductions.parse(m.spec()));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("tome:r=8,foo=1"))
                .getMessage().contains("known: r, inflect, prop_attn"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("tome:inflect=1"))
                .getMessage().contains("r (tokens merged per block) is required"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("tome:r=eight"))
                .getMessage().contains("r=eight is not an integer"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("merge:r=8"))
                .getMessage().contains("known: expedit, tome, cfvit"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Reductions.parse("tome:r=8,inflect=2"))
                .getMessage().contains("inflect must be in [-1, 1]"));
    }

    @Test
    void settingsThatMergeNothingAreRefused() throws IOException {
        Path dir = ROOT.resolve("vit_const");
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            VitConfig config = TimmVitConfig.read(Fixtures.json(dir.resolve("config.json")), weights);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ToMeSettings.parse("r=0").check(config, 8, 8));
            assertTrue(e.getMessage().contains("merges no token"), e.getMessage());
            ToMeSettings.parse("r=1").check(config, 8, 8);
        }
    }

    @Test
    void unmergingRestoresTheFullGridForDenseHeads() throws IOException {
        Path dir = ROOT.resolve("vit_decreasing");
        Tensor input = Npy.read(dir.resolve("input.npy"));
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            VitConfig config = TimmVitConfig.read(Fixtures.json(dir.resolve("config.json")), weights);
            try (VisionTransformer model = VisionTransformer.create(config, weights, backend);
                 TokenReducer reducer = ToMeSettings.parse("r=6,inflect=-1").newReducer(backend, config);
                 VisionTransformer.Encoded e = model.encode(input, reducer)) {
                assertEquals(1 + 64, e.tokens().tokens());
                assertEquals(8, e.tokens().gridHeight());
                // Patches merged into one token carry identical features after unmerging; count distinct rows.
                float[] host = new float[Math.toIntExact(e.tokens().size())];
                backend.download(e.tokens().data(), 0, host, 0, host.length);
                int dim = config.embedDim();
                java.util.Set<String> distinct = new java.util.HashSet<>();
                for (int t = 1; t < 65; t++) {
                    distinct.add(java.util.Arrays.toString(java.util.Arrays.copyOfRange(host, t * dim,
                            (t + 1) * dim)));
                }
                assertEquals(41 - 1, distinct.size(), "distinct patch features = merged tokens left");
            }
        }
    }
}
