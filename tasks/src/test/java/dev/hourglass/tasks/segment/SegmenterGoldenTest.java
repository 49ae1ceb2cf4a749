package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * Whole Segmenters, loaded from Segmenter's own {@code checkpoint.pth} + {@code variant.yml} (mask transformer and
 * linear decoder), through sliding-window inference with and without Expedit, against the PyTorch reference of the
 * original code ({@code tools/make_expedit_fixtures.py}): images smaller than the window (scaled up), exactly one
 * window, and overlapping windows. Merged logits before the softmax must match to 1e-4 (max abs).
 */
class SegmenterGoldenTest {
    private static final Path ROOT = Path.of("src/test/resources/golden/segmenter");
    private static final double TOLERANCE = 1e-4;

    static List<Arguments> cases() throws IOException {
        JsonNode all = new ObjectMapper().readTree(Files.readString(ROOT.resolve("cases.json")));
        JsonNode e = all.get("expedit");
        ExpeditSettings settings = new ExpeditSettings(e.get("alpha").asInt(), e.get("grid").get(0).asInt(),
                e.get("grid").get(1).asInt(), e.get("iters").asInt(), e.get("window").asInt(),
                (float) e.get("tau").asDouble(), e.get("k").asInt(), (float) e.get("tau_r").asDouble());
        List<Arguments> out = new ArrayList<>();
        for (JsonNode model : all.get("models")) {
            for (JsonNode c : model.get("cases")) {
                out.add(Arguments.of(model.get("name").asText(), c.get("name").asText(),
                        ROOT.resolve(model.get("checkpoint").asText()), c,
                        c.get("expedit").asBoolean() ? settings : null));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsMatchReference(String model, String name, Path checkpoint, JsonNode c, ExpeditSettings expedit)
            throws IOException {
        Tensor input = Npy.read(ROOT.resolve(c.get("files").get("input").asText()));
        float[] expected = Npy.read(ROOT.resolve(c.get("files").get("logits").asText())).toFloatArray();
        try (SemanticSegmenter segmenter = SemanticSegmenter.load(checkpoint, new ModelOptions(2))) {
            Tensor logits = segmenter.logits(input, expedit);
            assertEquals(List.of(5L, input.shape().dim(2), input.shape().dim(3)), List.of(logits.shape().dims()[0],
                    logits.shape().dims()[1], logits.shape().dims()[2]));
            float[] actual = logits.toFloatArray();
            double max = 0;
            double sum = 0;
            int worst = 0;
            for (int i = 0; i < expected.length; i++) {
                double err = Math.abs((double) expected[i] - actual[i]);
                if (!(err <= max)) {
                    max = err;
                    worst = i;
                }
                sum += err;
            }
            if (!(max <= TOLERANCE)) {
                fail(String.format("%s %s: max abs error %.3g at [%d] (expected %.6f, got %.6f), mean %.3g",
                        model, name, max, worst, expected[worst], actual[worst], sum / expected.length));
            }
            Segmentation s = segmenter.segment(input, expedit);
            int expectedWindows = c.get("stats").get("windows").asInt();
            assertEquals(expectedWindows, s.windows(), "windows run");
            // segment() finds the labels without the resized logits: the argmax of logits(), ties to the first class.
            int plane = (int) (input.shape().dim(2) * input.shape().dim(3));
            int[] argmax = new int[plane];
            for (int p = 0; p < plane; p++) {
                for (int k = 1; k < 5; k++) {
                    if (actual[k * plane + p] > actual[argmax[p] * plane + p]) {
                        argmax[p] = k;
                    }
                }
            }
            assertArrayEquals(argmax, s.labels(), model + " " + name + ": labels");
        }
    }
}
