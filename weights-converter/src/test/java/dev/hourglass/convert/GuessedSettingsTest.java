package dev.hourglass.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.testing.Fixtures;

/**
 * Issue 15: a checkpoint without its configuration is not run silently with guessed settings. The head count,
 * which no weight shows, is refused unless given (and so is a timm normalisation: NormalisationTest); the other
 * guesses (input size, resize) are listed.
 */
class GuessedSettingsTest {
    private static final Path ROOT = Fixtures.path("convert");
    private static final ConvertOptions ONE_HEAD = new ConvertOptions(null, 1, null);
    /** What a timm file without its configuration needs given: the heads and the normalisation (NormalisationTest). */
    private static final ConvertOptions GIVEN = ONE_HEAD.withNormalisation(List.of(0.5, 0.5, 0.5),
            List.of(0.5, 0.5, 0.5));

    @Test
    void aTimmFileWithoutConfigJsonNeedsTheHeads() {
        MissingSettingException e = assertThrows(MissingSettingException.class,
                () -> Converter.open(ROOT.resolve("timm_bare_safetensors"), ConvertOptions.NONE));
        assertEquals("--heads", e.option());
        assertEquals("model.safetensors: timm checkpoint without config.json: the number of attention heads cannot"
                + " be read from the weights (width 64 / 64 = 1 would be a guess); give --heads N (ViT-Ti 3, ViT-S 6,"
                + " ViT-B 12, ViT-L 16)", e.getMessage());
    }

    @Test
    void checkpointsWithoutAHeadCountAreRefusedInEveryLayout() {
        // facebookresearch/deit's and CF-ViT's .pth carry no configuration at all.
        for (String fixture : List.of("deit_pth", "cfvit_deit_pth", "cfvit_lvvit_pth")) {
            MissingSettingException e = assertThrows(MissingSettingException.class,
                    () -> Converter.open(ROOT.resolve(fixture), ConvertOptions.NONE), fixture);
            assertTrue(e.getMessage().matches("[^ ]+\\.pth: [a-z]+ checkpoint without config\\.json: .*give --heads N .*"),
                    e.getMessage());
        }
    }

    @Test
    void guessesAreListedWhenTheHeadsAreGiven() throws IOException {
        Path bare = ROOT.resolve("timm_bare_safetensors");
        // Without the normalisation too it is refused, but its guesses can be listed.
        assertEquals(List.of("input size 32x32 (the position embedding's square grid)",
                "normalisation ImageNet mean/std (timm's default; no pretrained_cfg says)",
                "resize bicubic, centre crop 0.875 (timm's default)"), Converter.guesses(bare, ONE_HEAD));
        try (ConvertedModel model = Converter.open(bare, GIVEN)) {
            assertEquals(1, model.config().encoder().numHeads());
            assertEquals(List.of("input size 32x32 (the position embedding's square grid)",
                    "resize bicubic, centre crop 0.875 (timm's default)"), model.guesses());
            assertEquals(model.guesses(), Converter.guesses(bare, GIVEN));
        }
    }

    @Test
    void nothingIsGuessedWhereTheConfigurationSays() throws IOException {
        for (String fixture : List.of("timm_hub", "hf_vit", "hf_deit")) {
            try (ConvertedModel model = Converter.open(ROOT.resolve(fixture), ConvertOptions.NONE)) {
                assertEquals(List.of(), model.guesses(), fixture);
            }
            assertEquals(List.of(), Converter.guesses(ROOT.resolve(fixture), ConvertOptions.NONE), fixture);
        }
    }

    @Test
    void aConvertedFileKeepsSayingWhatWasGuessed(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("bare.safetensors");
        List<String> guesses;
        try (ConvertedModel model = Converter.open(ROOT.resolve("timm_bare_safetensors"), GIVEN)) {
            guesses = model.guesses();
            Converter.write(model, out, null, false, Converter.Progress.NONE);
        }
        // The head count is in the file now: it opens without --heads, and the other guesses are still reported.
        try (ConvertedModel again = Converter.open(out, ConvertOptions.NONE)) {
            assertEquals("hourglass", again.layout());
            assertEquals(guesses, again.guesses());
        }
        assertEquals(guesses, Converter.inspect(out, ConvertOptions.NONE).guesses());
    }

    @Test
    void inspectReportsTheGuessesAndTheMissingHeads() throws IOException {
        Inspection refused = Converter.inspect(ROOT.resolve("timm_bare_safetensors"), ConvertOptions.NONE);
        assertEquals(2, refused.problems().size());
        assertTrue(refused.problems().get(0).startsWith("missing: timm checkpoint without config.json: the number"
                + " of attention heads"), refused.problems().get(0));
        assertTrue(refused.problems().get(1).startsWith("missing: timm checkpoint without config.json: its"
                + " normalisation"), refused.problems().get(1));
        assertTrue(refused.guesses().contains("heads 1 (width 64 / 64)"), refused.guesses().toString());

        Inspection given = Converter.inspect(ROOT.resolve("timm_bare_safetensors"), ONE_HEAD);
        assertEquals(1, given.problems().size(), "the normalisation: " + given.problems());
        assertEquals(List.of(), Converter.inspect(ROOT.resolve("timm_bare_safetensors"), GIVEN).problems());
        String text = given.toText();
        assertTrue(text.contains("guessed     normalisation ImageNet mean/std"), text);
        assertFalse(text.contains("inferred    guessed:"), text);
        assertEquals(3, given.toJson().get("guesses").size(), given.toJson().toString());
    }
}
