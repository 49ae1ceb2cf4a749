package dev.hourglass.reduce.slim;

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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Patch Slimming's pruned inference against a PyTorch reference of ours ({@code tools/hourglass_ref/slim.py},
 * fixtures from {@code tools/make_slim_fixtures.py}): a plain and a distilled tiny DeiT, masks that keep everything
 * (exactly the unpruned logits), a pyramid chosen by the significance score and an early cut; logits within 1e-4,
 * tokens per block as the masks say. Every malformed mask file of the fixtures is refused.
 */
class SlimGoldenTest {
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

    static List<Arguments> maskSets() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : SlimFixtures.manifest().get("cases")) {
            for (JsonNode m : c.get("mask_sets")) {
                out.add(Arguments.of(c.get("name").asText(), m.get("name").asText()));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("maskSets")
    void prunedLogitsMatchPyTorch(String caseName, String maskSet) throws IOException {
        JsonNode c = SlimFixtures.named(SlimFixtures.manifest().get("cases"), caseName);
        JsonNode m = SlimFixtures.named(c.get("mask_sets"), maskSet);
        Path dir = ROOT.resolve(c.get("dir").asText());
        Tensor input = Npy.read(dir.resolve("input.npy"));
        SlimMasks slim = SlimMasks.parse("masks=" + dir.resolve(m.get("masks").asText()));
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"));
             VisionTransformer model = SlimFixtures.load(weights, dir, caseName, backend)) {
            VitConfig config = model.config();
            slim.check(config, config.gridHeight(), config.gridWidth());
            float[] got;
            int[] tokens;
            try (ReductionTrace trace = new ReductionTrace(slim.newReducer(backend, config), config.depth())) {
                got = model.classify(input, trace).toFloatArray();
                tokens = trace.tokensAfterBlock();
            }
            String what = caseName + " " + maskSet;
            assertClose(what + " logits", Npy.read(dir.resolve(m.get("logits").asText())).toFloatArray(), got,
                    absolute(1e-4));
            int[] expected = new int[config.depth()];
            for (int l = 0; l < expected.length; l++) {
                expected[l] = m.get("tokens_per_block").get(l).asInt();
            }
            assertArrayEquals(expected, tokens, what + ": tokens leaving each block");
            if (maskSet.equals("full")) {
                assertArrayEquals(model.classify(input).toFloatArray(), got,
                        "masks that keep every token give exactly the unpruned logits");
            }
        }
    }

    static List<String> invalidFiles() {
        List<String> out = new ArrayList<>();
        for (JsonNode n : SlimFixtures.manifest().get("invalid_masks")) {
            out.add(n.get("file").asText());
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidFiles")
    void malformedMasksAreRefusedWithOneMessage(String file) throws IOException {
        JsonNode entry = null;
        for (JsonNode n : SlimFixtures.manifest().get("invalid_masks")) {
            if (n.get("file").asText().equals(file)) {
                entry = n;
            }
        }
        JsonNode c = SlimFixtures.named(SlimFixtures.manifest().get("cases"), entry.get("model").asText());
        Path path = ROOT.resolve(file);
        Exception e;
        try {
            TokenMasks masks = TokenMasks.read(path);
            int tokens = c.get("tokens").asInt();
            int prefix = c.get("prefix_tokens").asInt();
            e = assertThrows(IllegalArgumentException.class, () -> masks.check(c.get("depth").asInt(), tokens, prefix),
                    file + " (" + entry.get("violation").asText() + ") must be refused");
        } catch (IOException read) {
            e = read;
            assertTrue(read.getMessage().startsWith(path + ": "), read.getMessage());
        }
        String message = e.getMessage();
        assertEquals(-1, message.indexOf('\n'), "one line: " + message);
        System.out.println(file + ": " + message);
    }
}
