package dev.hourglass.tasks.classify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * A CF-ViT checkpoint in CF-ViT's own {@code .pth} layout, read through the converter, runs coarse to fine through
 * {@link ImageClassifier} with the PyTorch reference's stages and logits ({@code tools/make_cfvit_fixtures.py}; the same
 * models as the engine's {@code cf_d6_7x7} and {@code lv_d6_7x7} cases): CF-DeiT and CF-LV-ViT.
 */
class CfVitClassifierTest {
    static List<CfVitFixture> checkpoints() {
        return List.of(CfVitFixture.DEIT, CfVitFixture.LVVIT);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void theOriginalCheckpointRunsCoarseToFineAsThePyTorchReferenceDoes(CfVitFixture f) throws IOException {
        JsonNode e = f.expected();
        Tensor input = Npy.read(f.input());
        try (ImageClassifier c = ImageClassifier.load(f.checkpoint(),
                new ModelOptions(1, null, new ConvertOptions(null, 4, null)))) {
            assertNotNull(c.coarseToFine(), "a CF-ViT checkpoint runs coarse to fine");
            ImageClassifier.Reduced r = c.logits(input, Reductions.parse("cfvit:threshold=" + e.get("threshold")));
            assertArrayEquals(CfVitFixture.flat(e.get("final_logits")), r.logits().toFloatArray(), 1e-4f);
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
            assertArrayEquals(CfVitFixture.flat(e.get("coarse_logits")), coarseOnly.logits().toFloatArray(), 1e-4f);
            ImageClassifier.Reduced allFine = c.logits(input, Reductions.parse("cfvit:threshold=1"));
            for (boolean fine : allFine.coarseToFine().fine()) {
                assertTrue(fine, "threshold 1 sends every image to the fine stage");
            }
            assertArrayEquals(CfVitFixture.flat(e.get("fine_logits")), allFine.logits().toFloatArray(), 1e-4f);
        }
    }
}
