package dev.hourglass.tasks.classify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;

class ImageClassifierTest {

    static RgbImage gradient(int w, int h, int seed) {
        byte[] px = new byte[w * h * 3];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) ((i * (seed + 7) + i / 3 * seed) & 0xff);
        }
        return RgbImage.of(w, h, px);
    }

    @Test
    void loadsAFolderAndReportsScoresThatSumToOne(@TempDir Path tmp) throws IOException {
        Path dir = TinyModels.write(tmp.resolve("tiny"), 1);
        try (ImageClassifier c = ImageClassifier.load(dir, new ModelOptions(2))) {
            List<Prediction> all = c.classify(gradient(40, 30, 3), TinyModels.CLASSES);
            assertEquals(TinyModels.CLASSES, all.size());
            double sum = 0;
            for (int i = 0; i < all.size(); i++) {
                sum += all.get(i).score();
                if (i > 0) {
                    assertTrue(all.get(i - 1).logit() >= all.get(i).logit(), "sorted by logit");
                }
            }
            assertEquals(1.0, sum, 1e-5);
            assertEquals(List.of("apple", "banana", "cherry", "damson"), c.labels());
            assertTrue(c.describe().contains("1 blocks, width 32"), c.describe());
        }
    }

    @Test
    void streamsFolderAndBufferedImageGiveTheSameAnswer(@TempDir Path tmp) throws IOException {
        Path dir = TinyModels.write(tmp.resolve("tiny"), 2);
        RgbImage image = gradient(33, 21, 5);
        List<Prediction> fromFolder;
        try (ImageClassifier c = ImageClassifier.load(dir, new ModelOptions(1))) {
            fromFolder = c.classify(image, 3);
        }
        try (InputStream w = Files.newInputStream(dir.resolve("model.safetensors"));
             InputStream cfg = Files.newInputStream(dir.resolve("config.json"));
             ImageClassifier c = ImageClassifier.load(w, cfg, "tiny", new ModelOptions(1))) {
            BufferedImage buffered = image.toBufferedImage();
            assertEquals(fromFolder, c.classify(buffered, 3));
        }
        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith("hourglass-")
                    && p.toString().endsWith(".safetensors") && isRecent(p)), "temporary weight file left behind");
        }
    }

    private static boolean isRecent(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis() > System.currentTimeMillis() - 60_000;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void oneClassifierServesManyThreads(@TempDir Path tmp) throws Exception {
        Path dir = TinyModels.write(tmp.resolve("tiny"), 3);
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            images.add(gradient(20 + i, 17 + 2 * i, i));
        }
        try (ImageClassifier c = ImageClassifier.load(dir, new ModelOptions(2))) {
            List<float[]> serial = new ArrayList<>();
            for (RgbImage im : images) {
                serial.add(c.logits(c.preprocess(im)).toFloatArray());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<float[]>> futures = new ArrayList<>();
                    for (RgbImage im : images) {
                        futures.add(pool.submit(() -> c.logits(c.preprocess(im)).toFloatArray()));
                    }
                    for (int i = 0; i < images.size(); i++) {
                        assertArrayEquals(serial.get(i), futures.get(i).get(), 1e-5f, "image " + i);
                    }
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void errorsNameTheFileAndTheProblem(@TempDir Path tmp) throws IOException {
        IOException missing = assertThrows(IOException.class, () -> ImageClassifier.load(tmp.resolve("nope")));
        assertTrue(missing.getMessage().contains("nope") && missing.getMessage().contains("no such"),
                missing.getMessage());

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        IOException noWeights = assertThrows(IOException.class, () -> ImageClassifier.load(empty));
        assertTrue(noWeights.getMessage().contains("no weights found") && noWeights.getMessage().contains(
                "model.safetensors"), noWeights.getMessage());

        // Without config.json the weights load as a bare timm state dict: shapes tell the architecture, timm's
        // defaults the resize and crop (a guess, reported), but the heads and the normalisation must be given: no
        // shape shows them.
        Path dir = TinyModels.write(tmp.resolve("noconfig"), 4);
        Files.delete(dir.resolve("config.json"));
        IOException noHeads = assertThrows(dev.hourglass.convert.MissingSettingException.class,
                () -> ImageClassifier.load(dir, new ModelOptions(1)));
        assertTrue(noHeads.getMessage().contains("--heads"), noHeads.getMessage());
        IOException noNormalisation = assertThrows(dev.hourglass.convert.MissingSettingException.class,
                () -> ImageClassifier.load(dir, new ModelOptions(1, null,
                        new dev.hourglass.convert.ConvertOptions(null, 1, null))));
        assertTrue(noNormalisation.getMessage().contains("--mean and --std"), noNormalisation.getMessage());
        try (ImageClassifier bare = ImageClassifier.load(dir, new ModelOptions(1, null,
                new dev.hourglass.convert.ConvertOptions(null, 1, null).withNormalisation(List.of(0.5, 0.5, 0.5),
                        List.of(0.25, 0.5, 1.0))))) {
            assertEquals(0.875, bare.preprocessing().cropPct());
            assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, bare.preprocessing().mean());
            assertArrayEquals(new float[] {0.25f, 0.5f, 1.0f}, bare.preprocessing().std());
            assertEquals(1, bare.config().numHeads());
            assertEquals(List.of("class 0", "class 1", "class 2", "class 3"), bare.labels());
        }

        Path bad = TinyModels.write(tmp.resolve("badcfg"), 5);
        // (the heads and the normalisation are given, so that the interpolation is what is refused, not a guess)
        Files.writeString(bad.resolve("config.json"), "{\"model_args\": {\"num_heads\": 2},"
                + " \"pretrained_cfg\": {\"input_size\": [3, 16, 16], \"mean\": [0.5, 0.5, 0.5],"
                + " \"std\": [0.5, 0.5, 0.5], \"interpolation\": \"lanczos\"}}");
        IOException badCfg = assertThrows(IOException.class, () -> ImageClassifier.load(bad));
        assertTrue(badCfg.getMessage().contains("interpolation") && badCfg.getMessage().contains("lanczos"),
                badCfg.getMessage());

        Path labels = TinyModels.write(tmp.resolve("labels"), 6);
        Files.writeString(labels.resolve("config.json"), Files.readString(labels.resolve("config.json"))
                .replace("\"damson\"", ""). replace("\"cherry\",", "\"cherry\""));
        IOException badLabels = assertThrows(IOException.class, () -> ImageClassifier.load(labels));
        assertTrue(badLabels.getMessage().contains("config.json has 3 class names for a model"),
                badLabels.getMessage());
    }

    @Test
    void classPathResourcesThatDoNotExistAreNamed() {
        IOException e = assertThrows(IOException.class,
                () -> ImageClassifier.loadResource("no/such/model", ModelOptions.defaults()));
        assertTrue(e.getMessage().contains("no/such/model/model.safetensors"), e.getMessage());
    }
}
