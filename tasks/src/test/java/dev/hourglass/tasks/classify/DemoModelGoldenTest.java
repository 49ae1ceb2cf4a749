package dev.hourglass.tasks.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;

/**
 * The whole classification pipeline against PyTorch on the shipped demo model and images
 * ({@code tools/train_demo_classifier.py} wrote {@code expected.json}): the preprocessed input must be bit-identical
 * to timm's (same SHA-256 of the float32 tensor), the logits within 1e-4, and the top-5 the same classes in the same
 * order.
 */
class DemoModelGoldenTest {
    private static final String DEMO = "dev/hourglass/demo/";
    private static ImageClassifier classifier;

    @BeforeAll
    static void load() throws IOException {
        classifier = ImageClassifier.loadResource(DEMO + "shapes-vit", new ModelOptions(2));
    }

    @AfterAll
    static void close() {
        classifier.close();
    }

    static List<JsonNode> images() throws IOException {
        try (InputStream in = resource(DEMO + "expected.json")) {
            List<JsonNode> out = new ArrayList<>();
            new ObjectMapper().readTree(in).get("images").forEach(out::add);
            return out;
        }
    }

    private static InputStream resource(String name) {
        InputStream in = DemoModelGoldenTest.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is missing; regenerate with tools/train_demo_classifier.py");
        }
        return in;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void inputIsTimmsBitForBitAndLogitsMatchPyTorch(JsonNode item) throws Exception {
        RgbImage image;
        try (InputStream in = resource(DEMO + item.get("file").asText())) {
            image = RgbImage.from(ImageIO.read(in));
        }
        Tensor input = classifier.preprocess(image);
        assertEquals(item.get("input_sha256").asText(), sha256(input.toFloatArray()),
                "preprocessed input differs from timm's");

        Tensor logits = classifier.logits(input);
        float[] got = logits.toFloatArray();
        JsonNode expected = item.get("logits");
        assertEquals(expected.size(), got.length);
        double max = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(got[i] - expected.get(i).asDouble()));
        }
        assertTrue(max <= 1e-4, "max abs logit difference " + max);

        List<Prediction> top = classifier.topK(logits, 5).get(0);
        JsonNode top5 = item.get("top5");
        for (int i = 0; i < 5; i++) {
            assertEquals(top5.get(i).get("index").asInt(), top.get(i).index(), "rank " + (i + 1));
            assertEquals(top5.get(i).get("label").asText(), top.get(i).label());
            assertEquals(top5.get(i).get("probability").asDouble(), top.get(i).score(), 1e-5);
        }
    }

    private static String sha256(float[] values) throws NoSuchAlgorithmException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }
}
