package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link EvalPreprocessing}: pretrained_cfg parsing, its errors, the resize geometry and the output layout. */
class EvalPreprocessingTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static EvalPreprocessing parse(String json) throws Exception {
        return EvalPreprocessing.fromPretrainedCfg(JSON.readTree(json));
    }

    @Test
    void absentKeysTakeTimmsDefaults() throws Exception {
        EvalPreprocessing p = parse("{\"input_size\": [3, 224, 224], \"crop_pct\": null, \"num_classes\": 1000}");
        assertEquals(new EvalPreprocessing(224, 224, 0.875, Filter.BICUBIC, new float[] {0.485f, 0.456f, 0.406f},
                new float[] {0.229f, 0.224f, 0.225f}), p);
    }

    @Test
    void readsEveryKey() throws Exception {
        EvalPreprocessing p = parse("{\"input_size\": [3, 256, 320], \"crop_pct\": 0.95, \"interpolation\":"
                + " \"bilinear\", \"crop_mode\": \"center\", \"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.5, 1]}");
        assertEquals(256, p.height());
        assertEquals(320, p.width());
        assertEquals(0.95, p.cropPct());
        assertEquals(Filter.BILINEAR, p.interpolation());
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, p.mean());
        assertArrayEquals(new float[] {0.25f, 0.5f, 1f}, p.std());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{}|pretrained_cfg: input_size is missing; expected [3, height, width]",
        "{\"input_size\": [3, 224]}|pretrained_cfg: unsupported input_size [3,224]: expected [3, height, width] with"
            + " positive integers",
        "{\"input_size\": [1, 224, 224]}|pretrained_cfg: unsupported input_size [1,224,224]: only 3-channel (RGB)"
            + " inputs are supported",
        "{\"input_size\": [3, 224, 224], \"crop_pct\": \"0.9\"}|pretrained_cfg: unsupported crop_pct \"0.9\": expected"
            + " a positive number such as 0.875",
        "{\"input_size\": [3, 224, 224], \"crop_pct\": 0}|pretrained_cfg: unsupported crop_pct 0: expected a positive"
            + " number such as 0.875",
        "{\"input_size\": [3, 224, 224], \"interpolation\": \"nearest\"}|pretrained_cfg: unsupported interpolation"
            + " \"nearest\": expected 'bicubic' or 'bilinear'",
        "{\"input_size\": [3, 224, 224], \"crop_mode\": \"border\"}|pretrained_cfg: unsupported crop_mode \"border\":"
            + " only 'center' and 'squash' are supported",
        "{\"input_size\": [3, 224, 224], \"mean\": [0.5, 0.5]}|pretrained_cfg: unsupported mean [0.5,0.5]: expected 3"
            + " numbers (R, G, B)",
        "{\"input_size\": [3, 224, 224], \"std\": [0.5, 0, 0.5]}|pretrained_cfg: std must be 3 finite, non-zero"
            + " numbers, got [0.5, 0.0, 0.5]",
        "{\"input_size\": [3, 2, 2], \"crop_pct\": 3}|pretrained_cfg: crop_pct 3.0 resizes a 2x2 input to less than"
            + " one pixel",
        "[3, 224, 224]|pretrained_cfg must be a JSON object, got [3,224,224]",
    })
    void badConfigsNameTheKeyAndValue(String json, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertEquals(message, e.getMessage());
    }

    @Test
    void squareTargetsResizeTheShorterSideAndTruncateTheLonger() {
        EvalPreprocessing p = new EvalPreprocessing(224, 224, 0.875, Filter.BICUBIC,
                EvalPreprocessing.imagenetDefaultMean(), EvalPreprocessing.imagenetDefaultStd());
        assertEquals(new ResizeTarget(384, 256), p.resizeTarget(451, 300), "256 * 451 / 300 = 384.85");
        assertEquals(new ResizeTarget(256, 341), p.resizeTarget(300, 400), "256 * 400 / 300 = 341.33");
        assertEquals(new ResizeTarget(256, 256), p.resizeTarget(512, 512));
        EvalPreprocessing tight = new EvalPreprocessing(224, 224, 0.9, Filter.BICUBIC,
                EvalPreprocessing.imagenetDefaultMean(), EvalPreprocessing.imagenetDefaultStd());
        assertEquals(new ResizeTarget(248, 248), tight.resizeTarget(10, 10), "floor(224 / 0.9) = 248");
    }

    @Test
    void nonSquareTargetsResizeToExactlyTheScaledSize() {
        EvalPreprocessing p = new EvalPreprocessing(256, 320, 0.875, Filter.BILINEAR,
                EvalPreprocessing.imagenetDefaultMean(), EvalPreprocessing.imagenetDefaultStd());
        assertEquals(new ResizeTarget(365, 292), p.resizeTarget(203, 257), "floor(320 / 0.875), floor(256 / 0.875)");
    }

    @Test
    void squashResizesEvenASquareTargetToExactlyItsSize() throws Exception {
        EvalPreprocessing p = parse("{\"input_size\": [3, 224, 224], \"crop_pct\": 1.0, \"crop_mode\": \"squash\"}");
        assertEquals(EvalPreprocessing.CropMode.SQUASH, p.cropMode());
        assertEquals(new ResizeTarget(224, 224), p.resizeTarget(451, 300), "no aspect ratio kept");
        RgbImage out = p.resizeAndCrop(RgbImage.of(451, 300, new byte[451 * 300 * 3]));
        assertEquals(224, out.width());
        assertEquals(224, out.height());
    }

    @Test
    void outputIsChannelMajorAndNormalised() {
        EvalPreprocessing p = new EvalPreprocessing(1, 2, 1.0, Filter.BICUBIC, new float[] {0.5f, 0f, 1f},
                new float[] {0.5f, 1f, 2f});
        RgbImage image = RgbImage.of(2, 1, new byte[] {(byte) 255, 0, 51, 0, (byte) 255, 102});
        float[] out = p.apply(image);
        assertArrayEquals(new float[] {
            (1f - 0.5f) / 0.5f, (0f - 0.5f) / 0.5f,
            0f, 1f,
            (51 / 255f - 1f) / 2f, (102 / 255f - 1f) / 2f}, out);
    }

    @Test
    void arraysAreCopied() {
        float[] mean = {0.1f, 0.2f, 0.3f};
        EvalPreprocessing p = new EvalPreprocessing(4, 4, 1.0, Filter.BICUBIC, mean, new float[] {1, 1, 1});
        mean[0] = 9;
        p.mean()[1] = 9;
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f}, p.mean());
    }

    @Test
    void isSafeToShareBetweenThreads() throws Exception {
        JsonNode cfg = JSON.readTree("{\"input_size\": [3, 224, 224], \"crop_pct\": 0.9}");
        EvalPreprocessing p = EvalPreprocessing.fromPretrainedCfg(cfg);
        RgbImage chelsea = RgbImage.read(PreprocessFixtures.file("inputs/chelsea.png"));
        RgbImage coffee = RgbImage.read(PreprocessFixtures.file("inputs/coffee.png"));
        float[] chelseaAlone = p.apply(chelsea);
        float[] coffeeAlone = p.apply(coffee);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                RgbImage image = i % 2 == 0 ? chelsea : coffee;
                results.add(pool.submit(() -> p.apply(image)));
            }
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(i % 2 == 0 ? chelseaAlone : coffeeAlone, results.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
