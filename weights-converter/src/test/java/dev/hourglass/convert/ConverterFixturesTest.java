package dev.hourglass.convert;

import static dev.hourglass.testing.Assertions2.absolute;
import static dev.hourglass.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Every source layout's fixture ({@code tools/make_converter_fixtures.py}: tiny models with the original projects'
 * names and shapes, random weights) converted and checked three ways: every canonical tensor bit-identical to the one
 * the script derived; the configuration as the script records it; and, where the encoder runs, the converted model's
 * outputs equal to the same weights loaded in timm's layout (exactly, for F32) and to PyTorch's (1e-4).
 */
class ConverterFixturesTest {
    private static final Path ROOT = Fixtures.path("convert");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static List<String> layouts() {
        List<String> out = new ArrayList<>();
        for (JsonNode f : Fixtures.json(ROOT.resolve("fixtures.json")).get("fixtures")) {
            out.add(f.get("layout").asText());
        }
        return out;
    }

    /**
     * The options a user would give: the heads the files do not carry, and a normalisation where a timm file has no
     * preprocessing at all (its fixture's input is already normalised; 0.5 is timm's ViT default).
     */
    static ConvertOptions options(JsonNode fixture) {
        Set<String> missing = new LinkedHashSet<>();
        fixture.path("not_in_source").forEach(n -> missing.add(n.asText()));
        Integer heads = missing.contains("num_heads") ? fixture.get("encoder").get("num_heads").asInt() : null;
        Integer decoderHeads = missing.contains("decoder_heads")
                ? fixture.get("segmenter").get("decoder_heads").asInt() : null;
        List<Double> half = missing.contains("preprocessing") ? List.of(0.5, 0.5, 0.5) : null;
        return new ConvertOptions(null, heads, decoderHeads, null, half, half);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void canonicalTensorsAreTheScriptsBitForBit(String layout) throws IOException {
        Path dir = ROOT.resolve(layout);
        JsonNode fixture = Fixtures.json(dir.resolve("fixture.json"));
        try (ConvertedModel model = Converter.open(dir, options(fixture));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected/canonical.safetensors"))) {
            assertEquals(Set.copyOf(expected.names()), Set.copyOf(model.names()), "canonical tensor names");
            for (TensorInfo t : expected.tensors()) {
                Tensor want = expected.tensor(t.name());
                Tensor got = model.tensor(t.name());
                assertEquals(want.shape(), got.shape(), t.name());
                assertEquals(want.dtype(), got.dtype(), t.name());
                assertEquals(-1L, want.data().mismatch(got.data()), t.name() + " differs");
            }
            checkEncoderConfig(fixture.get("encoder"), model.config().encoder(), layout);
        }
    }

    static List<String> layoutsWithPreprocessing() {
        List<String> out = new ArrayList<>();
        for (String l : layouts()) {
            if (Fixtures.json(ROOT.resolve(l).resolve("fixture.json")).has("preprocessing")) {
                out.add(l);
            }
        }
        return out;
    }

    /** The fixtures whose script records the processor's resize (Hugging Face's). */
    static List<String> layoutsWithResize() {
        return layoutsWithPreprocessing().stream()
                .filter(l -> Fixtures.json(ROOT.resolve(l).resolve("fixture.json")).get("preprocessing").has("resize"))
                .toList();
    }

    /**
     * The normalisation the original project uses, as the script records it, is the conversion's without being given:
     * read from the checkpoint's configuration, or the family's (DeiT's and CF-ViT's .pth), never a guess.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("layoutsWithPreprocessing")
    void theNormalisationIsTheOriginalProjects(String layout) throws IOException {
        Path dir = ROOT.resolve(layout);
        JsonNode fixture = Fixtures.json(dir.resolve("fixture.json"));
        ConvertOptions options = options(fixture);
        assertFalse(options.normalisationGiven(), layout);
        try (ConvertedModel model = Converter.open(dir, options)) {
            JsonNode p = model.config().preprocessing();
            for (String key : List.of("mean", "std")) {
                JsonNode want = fixture.get("preprocessing").get(key);
                assertEquals(want.size(), p.get(key).size(), layout + " " + key);
                for (int i = 0; i < want.size(); i++) {
                    assertEquals(want.get(i).doubleValue(), p.get(key).get(i).doubleValue(), layout + " " + key);
                }
            }
            assertTrue(model.guesses().stream().noneMatch(g -> g.startsWith("normalisation")),
                    layout + ": " + model.guesses());
        }
    }

    /**
     * Where the script records a Hugging Face processor's resize (and centre crop), the conversion's preprocessing
     * does the same: timm's squash to exactly that size, then the crop (DeiT's processor resizes to 36 and crops 32).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("layoutsWithResize")
    void theResizeAndCropAreTheOriginalProjects(String layout) throws IOException {
        Path dir = ROOT.resolve(layout);
        JsonNode fixture = Fixtures.json(dir.resolve("fixture.json"));
        JsonNode resize = fixture.get("preprocessing").get("resize");
        JsonNode crop = fixture.get("preprocessing").has("center_crop") ? fixture.get("preprocessing")
                .get("center_crop") : resize;
        try (ConvertedModel model = Converter.open(dir, options(fixture))) {
            JsonNode p = model.config().preprocessing();
            assertEquals("squash", p.get("crop_mode").asText(), layout);
            double cropPct = p.get("crop_pct").asDouble();
            for (int axis = 0; axis < 2; axis++) {
                int input = p.get("input_size").get(axis + 1).asInt();
                assertEquals(crop.get(axis).asInt(), input, layout + " input size, axis " + axis);
                assertEquals(resize.get(axis).asInt(), (int) Math.floor(input / cropPct), layout + " resize, axis "
                        + axis);
            }
        }
    }

    /** The crop_pct found for a crop of a squash resize gives back exactly that size, for every pair up to 1024. */
    @org.junit.jupiter.api.Test
    void theSquashCropPctGivesBackTheSizeExactly() {
        for (int size = 1; size <= 1024; size++) {
            for (int crop = 1; crop <= size; crop++) {
                double pct = HfVitLayout.squashCropPct(crop, size);
                if (Math.floor(crop / pct) != size) {
                    throw new AssertionError("crop " + crop + " of " + size + ": crop_pct " + pct + " gives "
                            + Math.floor(crop / pct));
                }
            }
        }
    }

    private static void checkEncoderConfig(JsonNode e, VitConfig c, String layout) {
        assertEquals(e.get("img_size").asInt(), c.imageHeight(), layout + " image size");
        assertEquals(e.get("patch_size").asInt(), c.patchSize(), layout + " patch");
        assertEquals(e.get("embed_dim").asInt(), c.embedDim(), layout + " width");
        assertEquals(e.get("depth").asInt(), c.depth(), layout + " depth");
        assertEquals(e.get("num_heads").asInt(), c.numHeads(), layout + " heads");
        assertEquals(e.get("mlp_hidden").asInt(), c.mlpHidden(), layout + " MLP");
        assertEquals(e.get("qkv_bias").asBoolean(), c.qkvBias(), layout + " qkv bias");
        assertEquals(e.get("class_token").asBoolean(), c.classToken(), layout + " class token");
        assertEquals(e.get("dist_token").asBoolean(), c.distilled(), layout + " distillation token");
        assertEquals(e.get("num_classes").asInt(), c.numClasses(), layout + " classes");
        if (!layout.equals("segmenter_mmseg_pth")) {
            // Expedit's mmseg configs build the encoder with eps 1e-6 (ALGORITHMS.md 1.7); the script used 1e-5.
            assertEquals((float) e.get("norm_eps").asDouble(), c.normEps(), layout + " LayerNorm eps");
        }
    }

    /** The configuration as JSON text parsed back, so that an int and a long of the same value compare equal. */
    private static JsonNode normalized(ModelConfig config) throws IOException {
        return JSON.readTree(config.toJson().toString());
    }

    static List<String> runnableLayouts() {
        List<String> out = new ArrayList<>();
        for (String l : layouts()) {
            if (Files.exists(ROOT.resolve(l).resolve("expected/features.npy"))) {
                out.add(l);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runnableLayouts")
    void convertedModelRunsLikeTheTimmLayoutAndPyTorch(String layout) throws IOException {
        Path dir = ROOT.resolve(layout);
        JsonNode fixture = Fixtures.json(dir.resolve("fixture.json"));
        Tensor input = Npy.read(dir.resolve("expected/input.npy"));
        try (ConvertedModel model = Converter.open(dir, options(fixture));
             SafetensorsFile timm = SafetensorsFile.open(dir.resolve("expected/canonical.safetensors"));
             VisionTransformer converted = VisionTransformer.create(model.config().encoder(), model, backend);
             VisionTransformer reference = VisionTransformer.create(model.config().encoder(), timm, backend)) {
            Tensor features = converted.features(input, TokenReducer.NONE);
            assertArrayEquals(reference.features(input, TokenReducer.NONE).toFloatArray(), features.toFloatArray(),
                    layout + ": converted and timm-layout features differ");
            if (!layout.equals("segmenter_mmseg_pth")) {
                assertClose(layout + " features vs PyTorch", Npy.read(dir.resolve("expected/features.npy"))
                        .toFloatArray(), features.toFloatArray(), absolute(1e-4));
            }
            Path logits = dir.resolve("expected/logits.npy");
            if (Files.exists(logits)) {
                assertClose(layout + " logits vs PyTorch", Npy.read(logits).toFloatArray(),
                        converted.classify(input).toFloatArray(), absolute(1e-4));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void writtenFileRoundTripsThroughInspectAndLoad(String layout, @TempDir Path tmp) throws IOException {
        Path dir = ROOT.resolve(layout);
        JsonNode fixture = Fixtures.json(dir.resolve("fixture.json"));
        Path out = tmp.resolve("model.safetensors");
        ModelConfig config;
        try (ConvertedModel model = Converter.open(dir, options(fixture))) {
            config = model.config();
            Converter.write(model, out, null, false, Converter.Progress.NONE);
        }
        Inspection inspection = Converter.inspect(out, ConvertOptions.NONE);
        assertEquals("hourglass", inspection.layout());
        assertEquals(List.of(), inspection.problems());
        assertEquals(normalized(config), normalized(inspection.config()));
        try (ConvertedModel again = Converter.open(out, ConvertOptions.NONE);
             TensorSource expected = SafetensorsFile.open(dir.resolve("expected/canonical.safetensors"))) {
            assertEquals(normalized(config), normalized(again.config()));
            for (TensorInfo t : expected.tensors()) {
                assertEquals(-1L, expected.tensor(t.name()).data().mismatch(again.tensor(t.name()).data()), t.name());
            }
        }
        try (var files = Files.list(tmp)) {
            assertEquals(1, files.count(), "temporary files left behind");
        }
    }
}
