package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link EvalPreprocessing} against timm's eval transform (torchvision 0.14 Resize, CenterCrop, ToTensor, Normalize
 * on Pillow 9.4 images), compared at the rows and columns the fixture sampled. The bound is one 8-bit level before
 * normalisation: |java - python| * std <= 1/255.
 */
class EvalPreprocessingParityTest {

    private static final double ONE_LEVEL = 1.0 / 255 + 1e-6;

    static Stream<JsonNode> pipelineCases() {
        return StreamSupport.stream(PreprocessFixtures.cases("pipeline").spliterator(), false);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pipelineCases")
    void matchesTimm(JsonNode c) throws Exception {
        EvalPreprocessing preprocessing = EvalPreprocessing.fromPretrainedCfg(c.get("pretrained_cfg"));
        RgbImage image = RgbImage.read(PreprocessFixtures.file(c.get("input").asText()));
        NpyFloatReader.NpyFloats expected = NpyFloatReader.read(PreprocessFixtures.file(c.get("expected").asText()));
        int[] rows = ints(c.get("rows"));
        int[] cols = ints(c.get("cols"));
        assertArrayEquals(new int[] {3, rows.length, cols.length}, expected.shape(), "fixture shape");

        float[] actual = preprocessing.apply(image);
        int h = preprocessing.height();
        int w = preprocessing.width();
        float[] std = preprocessing.std();
        double maxError = 0;
        double sumError = 0;
        long exact = 0;
        int n = 0;
        for (int ch = 0; ch < 3; ch++) {
            for (int i = 0; i < rows.length; i++) {
                for (int j = 0; j < cols.length; j++, n++) {
                    float py = expected.data()[n];
                    float java = actual[ch * h * w + rows[i] * w + cols[j]];
                    double error = Math.abs((double) java - py) * Math.abs(std[ch]);
                    maxError = Math.max(maxError, error);
                    sumError += error;
                    exact += java == py ? 1 : 0;
                }
            }
        }
        String summary = String.format("%s: max |diff|*std %.3g, mean %.3g, %d of %d values bit-identical",
                c.get("name").asText(), maxError, sumError / n, exact, n);
        System.out.println("pipeline " + summary);
        assertTrue(maxError <= ONE_LEVEL, summary + " (bound " + ONE_LEVEL + ")");
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
