package dev.hourglass.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.convert.pth.StateDictPth;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.testing.Fixtures;

/**
 * Issue 15: a timm checkpoint's normalisation is not guessed. timm's ViTs use mean = std = 0.5 or ImageNet's, so
 * without a pretrained_cfg giving them the conversion is refused until they are given; where the family settles them
 * (DeiT, CF-ViT) they are the family's, not a guess. Given, they replace what any checkpoint says, and a converted file
 * records them.
 */
class NormalisationTest {
    private static final Path ROOT = Fixtures.path("convert");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<Double> HALF = List.of(0.5, 0.5, 0.5);
    private static final List<Double> IMAGENET_MEAN = List.of(0.485, 0.456, 0.406);
    private static final List<Double> IMAGENET_STD = List.of(0.229, 0.224, 0.225);
    private static final ConvertOptions ONE_HEAD = new ConvertOptions(null, 1, null);
    private static final String CANDIDATES = ": its normalisation cannot be read from the weights; timm's ViTs use"
            + " mean/std 0.5 (augreg and the original ViT weights, the default tags) or ImageNet's 0.485,0.456,0.406"
            + " / 0.229,0.224,0.225 (DeiT, DINO); give --mean and --std, e.g. --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5";

    private static List<Double> values(JsonNode array) {
        List<Double> out = new ArrayList<>();
        array.forEach(v -> out.add(v.doubleValue()));
        return out;
    }

    private static void assertNormalisation(List<Double> mean, List<Double> std, ConvertedModel model) {
        ObjectNode p = model.config().preprocessing();
        assertEquals(mean, values(p.get("mean")), p.toString());
        assertEquals(std, values(p.get("std")), p.toString());
    }

    private static boolean guessesNormalisation(List<String> guesses) {
        return guesses.stream().anyMatch(g -> g.startsWith("normalisation"));
    }

    @Test
    void aTimmFileWithoutConfigJsonIsRefusedUntilTheNormalisationIsGiven() {
        MissingSettingException e = assertThrows(MissingSettingException.class,
                () -> Converter.open(ROOT.resolve("timm_bare_safetensors"), ONE_HEAD));
        assertEquals("--mean", e.option());
        assertEquals("model.safetensors: timm checkpoint without config.json" + CANDIDATES, e.getMessage());
    }

    @Test
    void aPretrainedCfgWithoutMeanAndStdIsRefusedToo(@TempDir Path tmp) throws IOException {
        Path dir = copyOf("timm_hub", tmp);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        ((ObjectNode) config.get("pretrained_cfg")).remove("std");
        Files.writeString(dir.resolve("config.json"), config.toString());
        MissingSettingException e = assertThrows(MissingSettingException.class,
                () -> Converter.open(dir, ConvertOptions.NONE));
        assertEquals("model.safetensors: timm checkpoint whose config.json gives no mean and std (pretrained_cfg)"
                + CANDIDATES, e.getMessage());
        try (ConvertedModel model = Converter.open(dir, ConvertOptions.NONE.withNormalisation(HALF, HALF))) {
            assertNormalisation(HALF, HALF, model);
            assertEquals(Optional.empty(), model.replacedNormalisation(), "a guess is not the checkpoint's");
        }
    }

    @Test
    void theGivenNormalisationIsUsedRecordedAndNotAGuess(@TempDir Path tmp) throws IOException {
        List<Double> mean = List.of(0.1, 0.2, 0.3);
        List<Double> std = List.of(0.4, 0.5, 0.6);
        ConvertOptions given = ONE_HEAD.withNormalisation(mean, std);
        Path out = tmp.resolve("bare.safetensors");
        try (ConvertedModel model = Converter.open(ROOT.resolve("timm_bare_safetensors"), given)) {
            assertNormalisation(mean, std, model);
            assertFalse(guessesNormalisation(model.guesses()), model.guesses().toString());
            assertTrue(model.config().inferred().contains("normalisation mean 0.1,0.2,0.3 std 0.4,0.5,0.6 given"
                    + " (--mean, --std)"), model.config().inferred().toString());
            assertEquals(Optional.empty(), model.replacedNormalisation());
            Converter.write(model, out, null, false, Converter.Progress.NONE);
        }
        // The file is opened without the options: it carries the values, says where they came from, refuses nothing.
        try (ConvertedModel again = Converter.open(out, ConvertOptions.NONE)) {
            assertNormalisation(mean, std, again);
            assertFalse(guessesNormalisation(again.guesses()), again.guesses().toString());
        }
        Inspection inspection = Converter.inspect(out, ConvertOptions.NONE);
        assertEquals(List.of(), inspection.problems());
        assertTrue(inspection.toText().contains("inferred    normalisation mean 0.1,0.2,0.3 std 0.4,0.5,0.6 given"),
                inspection.toText());
    }

    @Test
    void givenValuesReplaceTheCheckpointsAndSayWhich(@TempDir Path tmp) throws IOException {
        Path hub = ROOT.resolve("timm_hub");
        ConvertOptions imagenet = ConvertOptions.NONE.withNormalisation(IMAGENET_MEAN, IMAGENET_STD);
        try (ConvertedModel model = Converter.open(hub, imagenet)) {
            assertNormalisation(IMAGENET_MEAN, IMAGENET_STD, model);
            assertEquals(Optional.of("mean 0.5,0.5,0.5 std 0.5,0.5,0.5"), model.replacedNormalisation());
            assertEquals(List.of(), model.guesses());
            Converter.write(model, tmp.resolve("m.safetensors"), null, false, Converter.Progress.NONE);
        }
        assertEquals(Optional.of("mean 0.5,0.5,0.5 std 0.5,0.5,0.5"), Converter.replacedNormalisation(hub, imagenet));
        assertEquals(Optional.of("mean 0.5,0.5,0.5 std 0.5,0.5,0.5"),
                Converter.inspect(hub, imagenet).replacedNormalisation());
        // The same values replace nothing; no values given, nothing is replaced.
        ConvertOptions same = ConvertOptions.NONE.withNormalisation(HALF, HALF);
        assertEquals(Optional.empty(), Converter.replacedNormalisation(hub, same));
        assertEquals(Optional.empty(), Converter.replacedNormalisation(hub, ConvertOptions.NONE));
        // A converted file is a checkpoint like any other: new values replace the ones it records.
        Path file = tmp.resolve("m.safetensors");
        try (ConvertedModel again = Converter.open(file, same)) {
            assertNormalisation(HALF, HALF, again);
            assertEquals(Optional.of("mean 0.485,0.456,0.406 std 0.229,0.224,0.225"), again.replacedNormalisation());
            assertEquals(1, again.config().inferred().stream().filter(n -> n.startsWith("normalisation")).count(),
                    again.config().inferred().toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"deit_pth", "cfvit_deit_pth", "cfvit_lvvit_pth"})
    void deitAndCfVitPthAreNotRefusedTheirFamilySettlesIt(String fixture) throws IOException {
        JsonNode f = Fixtures.json(ROOT.resolve(fixture).resolve("fixture.json"));
        ConvertOptions heads = new ConvertOptions(null, f.get("encoder").get("num_heads").asInt(), null);
        try (ConvertedModel model = Converter.open(ROOT.resolve(fixture), heads)) {
            assertNormalisation(IMAGENET_MEAN, IMAGENET_STD, model);
            assertFalse(guessesNormalisation(model.guesses()), model.guesses().toString());
            assertTrue(model.config().inferred().stream().anyMatch(n -> n.startsWith("normalisation ImageNet"
                    + " mean/std, as ") && n.contains("training code")), model.config().inferred().toString());
        }
        assertEquals(List.of(), Converter.inspect(ROOT.resolve(fixture), heads).problems());
    }

    /** A timm-named state dict in a .pth: DeiT's {'model': ...} settles it; timm's own packagings do not. */
    @Test
    void aPthIsDeitsOnlyInDeitsPackaging(@TempDir Path tmp) throws IOException {
        Path deit = Files.createDirectories(tmp.resolve("deit"));
        Path trained = Files.createDirectories(tmp.resolve("trained"));
        Path released = Files.createDirectories(tmp.resolve("released"));
        try (SafetensorsFile weights = SafetensorsFile.open(ROOT.resolve("timm_bare_safetensors/model.safetensors"))) {
            StateDictPth.write(deit.resolve("checkpoint.pth"), "model", weights);
            StateDictPth.write(trained.resolve("checkpoint.pth"), "state_dict", weights);
            StateDictPth.write(released.resolve("vit.pth"), null, weights);
        }
        try (ConvertedModel model = Converter.open(deit, ONE_HEAD)) {
            assertEquals("timm", model.layout());
            assertNormalisation(IMAGENET_MEAN, IMAGENET_STD, model);
            assertTrue(model.config().inferred().contains("normalisation ImageNet mean/std, as DeiT's training code"
                    + " uses (a .pth holding {'model': state_dict}, as facebookresearch/deit saves it)"),
                    model.config().inferred().toString());
        }
        for (Path dir : List.of(trained, released)) {
            MissingSettingException e = assertThrows(MissingSettingException.class,
                    () -> Converter.open(dir, ONE_HEAD), dir.toString());
            assertTrue(e.getMessage().endsWith(".pth: timm checkpoint without config.json" + CANDIDATES),
                    e.getMessage());
        }
    }

    @Test
    void aDistillationTokenMakesADeit(@TempDir Path tmp) throws IOException {
        // deit_pth's canonical tensors are a timm-named distilled DeiT: as a bare model.safetensors, still a DeiT.
        Path dir = Files.createDirectories(tmp.resolve("distilled"));
        Files.copy(ROOT.resolve("deit_pth/expected/canonical.safetensors"), dir.resolve("model.safetensors"));
        try (ConvertedModel model = Converter.open(dir, new ConvertOptions(null, 2, null))) {
            assertEquals(ModelFamily.DEIT, model.config().family());
            assertNormalisation(IMAGENET_MEAN, IMAGENET_STD, model);
            assertFalse(guessesNormalisation(model.guesses()), model.guesses().toString());
        }
    }

    @Test
    void inspectListsTheMissingNormalisationAsAProblem() throws IOException {
        Inspection refused = Converter.inspect(ROOT.resolve("timm_bare_safetensors"), ONE_HEAD);
        assertEquals(List.of("missing: timm checkpoint without config.json" + CANDIDATES), refused.problems());
        assertTrue(refused.guesses().contains("normalisation ImageNet mean/std (timm's default; no pretrained_cfg"
                + " says)"), refused.guesses().toString());
        Inspection given = Converter.inspect(ROOT.resolve("timm_bare_safetensors"),
                ONE_HEAD.withNormalisation(HALF, HALF));
        assertEquals(List.of(), given.problems());
        assertTrue(given.toText().contains("\"mean\":[0.5,0.5,0.5],\"std\":[0.5,0.5,0.5]"), given.toText());
    }

    @Test
    void theOptionsRefuseWhatCannotBeANormalisation() {
        for (var bad : List.<List<List<Double>>>of(
                List.of(HALF, List.of(0.5, 0.0, 0.5)), List.of(HALF, List.of(0.5, -1.0, 0.5)),
                List.of(List.of(0.5, Double.NaN, 0.5), HALF), List.of(HALF, List.of(0.5, Double.POSITIVE_INFINITY, 1.0)),
                List.of(List.of(0.5, 0.5), HALF), List.of(HALF, List.of(0.5, 0.5, 0.5, 0.5)))) {
            assertThrows(IllegalArgumentException.class, () -> ONE_HEAD.withNormalisation(bad.get(0), bad.get(1)),
                    bad.toString());
        }
        IllegalArgumentException alone = assertThrows(IllegalArgumentException.class,
                () -> ONE_HEAD.withNormalisation(HALF, null));
        assertEquals("mean and std are given together or not at all; got only the mean", alone.getMessage());
        assertEquals(ONE_HEAD, new ConvertOptions(null, 1, null, null, null, null), "the old constructors still work");
    }

    private static Path copyOf(String fixture, Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(fixture));
        for (String name : List.of("model.safetensors", "config.json")) {
            Files.copy(ROOT.resolve(fixture).resolve(name), dir.resolve(name));
        }
        return dir;
    }
}
