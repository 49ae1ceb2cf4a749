package dev.hourglass.reduce.cfvit;

import static dev.hourglass.testing.Assertions2.absolute;
import static dev.hourglass.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Resize;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VitConfig;

/**
 * CF-ViT's coarse-to-fine inference against a PyTorch reference written from the paper and ALGORITHMS.md §3
 * ({@code tools/hourglass_ref/cfvit.py}, fixtures from {@code tools/make_cfvit_fixtures.py}): tiny models with every
 * weight random, depth 6 and 12, 7x7 and 9x9 coarse grids, DeiT and LV-ViT (convolutional stem, skip_lam, token-labelling
 * head), real photos, thresholds that split each batch. The coarse
 * input, coarse logits, global class attention, the re-split tokens (as sets), fine logits, exit decisions and final
 * logits must all match, logits within 1e-4.
 */
class CfVitGoldenTest {
    private static final Path ROOT = Fixtures.path("golden/cfvit");
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
        for (JsonNode c : cases(ROOT)) {
            names.add(c.get("name").asText());
        }
        return names;
    }

    private static JsonNode cases(Path root) {
        JsonNode all = Fixtures.json(root.resolve("cases.json"));
        return all.isArray() ? all : all.get("cases");
    }

    private static JsonNode caseNamed(String name) {
        for (JsonNode c : cases(ROOT)) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException(name);
    }

    /** The fine model's configuration from the transformer's tensors (the CF-ViT extras are CfVit's to read). */
    private static VitConfig deitConfig(SafetensorsFile weights, JsonNode config, String name) throws IOException {
        java.util.Map<String, dev.hourglass.tensor.Shape> shapes = new java.util.LinkedHashMap<>();
        weights.tensors().stream().filter(t -> !t.name().startsWith("cfvit."))
                .forEach(t -> shapes.put(t.name(), t.shape()));
        return TimmVitConfig.infer(shapes, TimmVitConfig.hints(config), name).config();
    }

    /** LV-ViT's stem is not timm's: its configuration comes from the fixture's model arguments. */
    private static VitConfig lvvitConfig(JsonNode a, int classes) {
        int d = a.get("embed_dim").asInt();
        int size = a.get("img_size").asInt();
        return new VitConfig(size, size, a.get("patch_size").asInt(), 3, d, a.get("depth").asInt(),
                a.get("num_heads").asInt(), (int) (a.get("mlp_ratio").asDouble() * d), a.get("qkv_bias").asBoolean(),
                true, false, classes, (float) a.get("norm_eps").asDouble(), Resize.Mode.BICUBIC, true);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyStageMatchesPyTorch(String name) throws IOException {
        JsonNode c = caseNamed(name);
        Path dir = ROOT.resolve(name);
        Tensor input = Npy.read(dir.resolve("input.npy"));
        double threshold = c.get("threshold").asDouble();
        JsonNode config = Fixtures.json(dir.resolve("config.json"));
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            boolean lvvit = c.path("variant").asText("deit").equals("lvvit");
            VitConfig vit = lvvit ? lvvitConfig(config.get("model_args"), config.get("num_classes").asInt())
                    : deitConfig(weights, config, name);
            CfVitSettings settings = CfVitSettings.fromJson(config.get("cfvit"), lvvit, name + ": cfvit");
            assertEquals(lvvit, settings.auxHead(), name + ": LV-ViT's token-labelling head");
            try (CfVit model = CfVit.create(vit, settings, weights, backend)) {
                int batch = input.shape().intDim(0);
                assertClose(name + " coarse input", Npy.read(dir.resolve("coarse_input.npy")).toFloatArray(),
                        CfVit.downsample(input.toFloatArray(), batch, model.fineSize(), model.coarseSize()),
                        absolute(1e-6));
                CfVit.Result r = model.classify(input, threshold);
                assertClose(name + " coarse logits", Npy.read(dir.resolve("coarse_logits.npy")).toFloatArray(),
                        r.coarseLogits().toFloatArray(), absolute(1e-4));
                assertClose(name + " global class attention",
                        Npy.read(dir.resolve("global_attention.npy")).toFloatArray(), r.globalAttention(),
                        absolute(1e-6));
                JsonNode stages = c.get("stages");
                float[] fineExpected = Npy.read(dir.resolve("fine_logits.npy")).toFloatArray();
                float[] fineGot = r.fineLogits().toFloatArray();
                int classes = vit.numClasses();
                JsonNode important = Fixtures.json(dir.resolve("important.json")).get("important");
                for (int b = 0; b < batch; b++) {
                    boolean fine = stages.get(b).asText().equals("fine");
                    assertEquals(fine, r.fine()[b], name + " image " + b + " stage");
                    if (fine) {
                        assertClose(name + " fine logits of image " + b,
                                Arrays.copyOfRange(fineExpected, b * classes, (b + 1) * classes),
                                Arrays.copyOfRange(fineGot, b * classes, (b + 1) * classes), absolute(1e-4));
                        int[] expected = new int[important.get(b).size()];
                        for (int i = 0; i < expected.length; i++) {
                            expected[i] = important.get(b).get(i).asInt();
                        }
                        int[] got = r.important()[b].clone();
                        Arrays.sort(expected);
                        Arrays.sort(got);
                        assertArrayEquals(expected, got, name + " image " + b + ": the re-split tokens, as a set");
                    } else {
                        assertEquals(0, r.important()[b].length, "an exited image re-splits nothing");
                    }
                }
                assertClose(name + " final logits", Npy.read(dir.resolve("final_logits.npy")).toFloatArray(),
                        r.logits().toFloatArray(), absolute(1e-4));
                assertTrue(Arrays.stream(r.gflops()).allMatch(g -> g > 0));
            }
        }
    }
}
