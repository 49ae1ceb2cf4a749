package dev.hourglass.tasks.classify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * A CF-ViT checkpoint in CF-ViT's own {@code .pth} layout, read through the converter, runs coarse to fine through
 * {@link ImageClassifier} with the PyTorch reference's stages and final logits ({@code tools/make_cfvit_fixtures.py}; the same model as the engine's {@code cf_d6_7x7} case).
 */
class CfVitClassifierTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = Path.of("src/test/resources/golden/cfvit");
    private static final Path CHECKPOINT = DIR.resolve("cf_d6_7x7.pth");

    private static JsonNode expected() throws IOException {
        return JSON.readTree(Files.readString(DIR.resolve("cf_d6_7x7.expected.json")));
    }

    private static float[] flat(JsonNode rows) {
        int n = 0;
        for (JsonNode r : rows) {
            n += r.size();
        }
        float[] out = new float[n];
        int i = 0;
        for (JsonNode r : rows) {
            for (JsonNode v : r) {
                out[i++] = (float) v.asDouble();
            }
        }
        return out;
    }

    @Test
    void theOriginalCheckpointRunsCoarseToFineAsThePyTorchReferenceDoes() throws IOException {
        JsonNode e = expected();
        Tensor input = Npy.read(DIR.resolve("cf_d6_7x7.input.npy"));
        try (ImageClassifier c = ImageClassifier.load(CHECKPOINT, new ClassifierOptions(1),
                new ConvertOptions(null, 4, null))) {
            assertNotNull(c.coarseToFine(), "a CF-ViT checkpoint runs coarse to fine");
            ImageClassifier.Reduced r = c.logits(input, Reductions.parse("cfvit:threshold=" + e.get("threshold")));
            assertArrayEquals(flat(e.get("final_logits")), r.logits().toFloatArray(), 1e-4f);
            for (int b = 0; b < 3; b++) {
                assertEquals(e.get("stages").get(b).asText().equals("fine"), r.coarseToFine().fine()[b], "image " + b);
            }
            assertTrue(r.gflops() < r.unreducedGflops(), r.gflops() + " vs " + r.unreducedGflops());
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                    () -> c.logits(input, Reductions.parse("tome:r=4")));
            assertTrue(wrong.getMessage().contains("runs coarse to fine"), wrong.getMessage());
            ImageClassifier.Reduced coarseOnly = c.logits(input, Reductions.parse("cfvit:threshold=0"));
            for (boolean fine : coarseOnly.coarseToFine().fine()) {
                assertTrue(!fine, "threshold 0 stops every image at the coarse stage");
            }
            assertArrayEquals(flat(e.get("coarse_logits")), coarseOnly.logits().toFloatArray(), 1e-4f);
            ImageClassifier.Reduced allFine = c.logits(input, Reductions.parse("cfvit:threshold=1"));
            for (boolean fine : allFine.coarseToFine().fine()) {
                assertTrue(fine, "threshold 1 sends every image to the fine stage");
            }
        }
    }
}
