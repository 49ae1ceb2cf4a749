package dev.hourglass.vit;

import static dev.hourglass.testing.Assertions2.absolute;
import static dev.hourglass.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;

/**
 * The whole ViT/DeiT forward pass against the PyTorch reference in {@code tools/hourglass_ref/vit.py} (fixtures from
 * {@code tools/make_vit_golden.py}): random weights in timm's names, every bias and norm parameter random, so a term
 * left out cannot hide. Logits and final tokens must match to 1e-4 (max abs). Cases: class token, distilled DeiT, a
 * non-square input other than the trained size (position embedding resized), BF16 and F16 weight files, batch of 3,
 * and a ViT-Ti width at 224 (197 tokens).
 */
class VitGoldenTest {
    private static final Path ROOT = Fixtures.path("golden/vit");
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
        for (JsonNode c : Fixtures.json(ROOT.resolve("cases.json")).get("cases")) {
            names.add(c.get("name").asText());
        }
        return names;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsAndFeaturesMatchPyTorch(String name) throws IOException {
        Path dir = ROOT.resolve(name);
        Tensor input = Npy.read(dir.resolve("input.npy"));
        Tensor expectedLogits = Npy.read(dir.resolve("logits.npy"));
        Tensor expectedFeatures = Npy.read(dir.resolve("features.npy"));
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            VitConfig config = TimmVitConfig.read(Fixtures.json(dir.resolve("config.json")), weights);
            try (VisionTransformer model = VisionTransformer.create(config, weights, backend)) {
                Tensor logits = model.classify(input);
                assertEquals(expectedLogits.shape(), logits.shape());
                assertClose(name + " logits", expectedLogits.toFloatArray(), logits.toFloatArray(), absolute(1e-4));

                Tensor features = model.features(input, TokenReducer.NONE);
                assertEquals(expectedFeatures.shape(), features.shape());
                assertClose(name + " features", expectedFeatures.toFloatArray(), features.toFloatArray(),
                        absolute(1e-4));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hooksSeeEveryBlockAndCanReplaceTheSequence(String name) throws IOException {
        Path dir = ROOT.resolve(name);
        Tensor input = Npy.read(dir.resolve("input.npy"));
        try (SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            VitConfig config = TimmVitConfig.read(Fixtures.json(dir.resolve("config.json")), weights);
            try (VisionTransformer model = VisionTransformer.create(config, weights, backend)) {
                Tensor plain = model.classify(input);
                List<String> seen = new ArrayList<>();
                // A reducer that copies the sequence into a new buffer at both of its points changes nothing but
                // must be honoured.
                Tensor copied = model.classify(input, new TokenReducer() {
                    @Override
                    public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
                        seen.add("attention " + block);
                        return copy(state);
                    }

                    @Override
                    public TokenState afterBlock(int block, TokenState state) {
                        seen.add("block " + block);
                        return copy(state);
                    }

                    private TokenState copy(TokenState state) {
                        TokenSequence tokens = state.tokens();
                        float[] host = new float[(int) tokens.size()];
                        backend.download(tokens.data(), 0, host, 0, host.length);
                        return state.reduced(new TokenSequence(backend.upload(host, 0, host.length), tokens.batch(),
                                tokens.tokens(), tokens.dim(), tokens.prefixTokens(), tokens.gridHeight(),
                                tokens.gridWidth()), state.sizes(), state.sources());
                    }
                });
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < config.depth(); i++) {
                    expected.add("attention " + i);
                    expected.add("block " + i);
                }
                assertEquals(expected, seen);
                // Bit for bit: the kernels' results do not depend on the JIT's state (KernelJitStateTest).
                assertArrayEquals(plain.toFloatArray(), copied.toFloatArray(), name + " logits through a copying"
                        + " reducer");
                assertEquals(Shape.of(input.shape().dim(0), config.numClasses()), copied.shape());
            }
        }
    }
}
