package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tasks.classify.TinyModels;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * {@code classify} and {@code segment} over many images in one process: several {@code --image} values and folders,
 * one JSON line per image, a bad image among good ones, inputs and outputs refused before the model loads.
 */
class ManyImagesCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SEGMENTER = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");

    /** A {@code width x height} PNG whose pixels depend on {@code seed}, so that images classify differently. */
    private static Path png(Path file, int width, int height, int seed) throws IOException {
        byte[] px = new byte[width * height * 3];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * (31 + 2 * seed) + seed * 50);
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(RgbImage.of(width, height, px).toBufferedImage(), "png", file.toFile());
        return file;
    }

    private static List<JsonNode> jsonLines(String out) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.lines().toList()) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    private static List<String> lines(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).toList();
    }

    @Test
    void classifyRunsAFolderAndMoreImagesWithOneModelAndOneJsonLineEach(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 21);
        Path folder = tmp.resolve("photos");
        Path b = png(folder.resolve("b.png"), 37, 29, 1);
        Path a = png(folder.resolve("a.png"), 20, 24, 2);
        Files.writeString(folder.resolve("notes.txt"), "not an image");
        png(folder.resolve(".hidden.png"), 16, 16, 3);
        png(folder.resolve("sub/c.png"), 16, 16, 4);
        Path extra = png(tmp.resolve("extra.png"), 30, 30, 5);
        Path logits = tmp.resolve("logits");

        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", folder.toString(), "--image",
                extra.toString(), "--json", "--top-k", "3", "--threads", "1", "--save-logits", logits.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1, lines(r.err(), "backend: ").size(), "the model loads once:\n" + r.err());
        assertEquals(1, r.err().lines().count(), "no progress bar, no other line when stderr is not a terminal:\n"
                + r.err());
        List<JsonNode> json = jsonLines(r.out());
        List<Path> expected = List.of(a, b, extra);
        assertEquals(expected.size(), json.size(), "one line per image, the folder's by name, not sub-folders,"
                + " hidden or other files:\n" + r.out());
        try (ImageClassifier api = ImageClassifier.load(model, new ModelOptions(1))) {
            for (int i = 0; i < expected.size(); i++) {
                JsonNode line = json.get(i);
                assertEquals(expected.get(i).toString(), line.get("input").get("image").asText());
                JsonNode preds = line.get("results").get(0).get("predictions");
                List<Prediction> top = api.classify(expected.get(i), 3);
                assertEquals(3, preds.size());
                for (int k = 0; k < 3; k++) {
                    assertEquals(top.get(k).label(), preds.get(k).get("label").asText(), line.toString());
                    assertEquals(top.get(k).score(), preds.get(k).get("score").floatValue(), 1e-5f);
                }
                assertTrue(line.get("timing_ms").get("forward_median").asDouble() > 0, line.toString());
                String stem = expected.get(i).getFileName().toString().replace(".png", "");
                Tensor saved = Npy.read(logits.resolve(stem + ".logits.npy"));
                assertArrayEquals(api.logits(api.preprocess(RgbImage.read(expected.get(i)))).toFloatArray(),
                        saved.toFloatArray(), 1e-5f);
            }
        }
        CliRunner text = CliRunner.run("classify", "--model", model.toString(), "--image", a.toString(),
                b.toString(), "--threads", "1");
        assertEquals(0, text.exitCode(), text.err());
        assertEquals(1, lines(text.out(), "model    ").size(), text.out());
        assertEquals(List.of("input    " + a + " -> [1, 3, 16, 16]", "input    " + b + " -> [1, 3, 16, 16]"),
                lines(text.out(), "input    "));
        List<String> times = lines(text.out(), "time     ");
        assertEquals(2, times.size(), text.out());
        assertTrue(times.get(0).startsWith("time     preprocess ") && times.get(0).contains(" ms, forward "),
                "each image its own time, the load once:\n" + text.out());
        List<String> total = lines(text.out(), "total    ");
        assertEquals(1, total.size(), text.out());
        assertTrue(total.get(0).startsWith("total    2 images in ") && total.get(0).contains("the model loaded once"),
                total.get(0));
    }

    @Test
    void aFolderOfOneImageIsRunAsManyImagesAre(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 25);
        Path only = png(tmp.resolve("one/only.png"), 20, 20, 1);
        Path logits = tmp.resolve("logits");
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", only.getParent().toString(),
                "--save-logits", logits.toString(), "--threads", "1");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.isRegularFile(logits.resolve("only.logits.npy")), "a folder in, a folder out");
        assertTrue(lines(r.out(), "total    ").get(0).startsWith("total    1 image in "), r.out());
    }

    @Test
    void aBadImageAmongGoodOnesIsNamedTheOthersRunAndTheExitCodeIsOne(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 22);
        Path folder = tmp.resolve("photos");
        png(folder.resolve("a.png"), 20, 20, 1);
        Files.writeString(folder.resolve("b.png"), "not a png"); // refused from its header, before the model loads
        byte[] whole = Files.readAllBytes(png(tmp.resolve("whole.png"), 40, 40, 2));
        Files.write(folder.resolve("c.png"), Arrays.copyOf(whole, whole.length * 2 / 3)); // fails while decoding
        png(folder.resolve("d.png"), 24, 24, 3);

        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", folder.toString(), "--json",
                "--threads", "1");
        assertEquals(1, r.exitCode(), r.err());
        List<JsonNode> json = jsonLines(r.out());
        assertEquals(4, json.size(), r.out());
        for (int i : new int[] {0, 3}) {
            assertFalse(json.get(i).has("error"), json.get(i).toString());
            assertEquals(TinyModels.CLASSES, json.get(i).get("results").get(0).get("predictions").size());
        }
        assertEquals(folder.resolve("b.png").toString(), json.get(1).get("input").get("image").asText());
        assertTrue(json.get(1).get("error").asText().startsWith(folder.resolve("b.png") + ": unsupported format"),
                json.get(1).toString());
        assertEquals(folder.resolve("c.png").toString(), json.get(2).get("input").get("image").asText());
        assertTrue(json.get(2).get("error").asText().startsWith(folder.resolve("c.png") + ": "),
                json.get(2).toString());
        assertFalse(json.get(1).has("results"));

        List<String> errors = lines(r.err(), "hourglass classify: error: ");
        assertEquals(3, errors.size(), r.err());
        assertTrue(errors.get(0).contains(folder.resolve("b.png").toString()), r.err());
        assertTrue(errors.get(1).contains(folder.resolve("c.png").toString()), r.err());
        assertEquals("hourglass classify: error: 2 of 4 images failed (each named above); the other 2 were processed",
                errors.get(2));

        CliRunner text = CliRunner.run("classify", "--model", model.toString(), "--image", folder.toString(),
                "--threads", "1");
        assertEquals(1, text.exitCode(), text.err());
        assertEquals(2, lines(text.out(), "input    ").size(), text.out());
        assertTrue(lines(text.out(), "total    ").get(0).contains("4 images") && text.out().contains("2 failed"),
                text.out());
    }

    @Test
    void oneImageThatFailsIsOneErrorLineAndWithJsonAnErrorObject(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 23);
        byte[] whole = Files.readAllBytes(png(tmp.resolve("whole.png"), 40, 40, 2));
        Path cut = Files.write(tmp.resolve("cut.png"), Arrays.copyOf(whole, whole.length * 2 / 3));
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", cut.toString(), "--json",
                "--threads", "1");
        assertEquals(1, r.exitCode(), r.err());
        List<String> errors = lines(r.err(), "hourglass classify: error: ");
        assertEquals(1, errors.size(), "no count of failures for one image:\n" + r.err());
        assertTrue(errors.get(0).startsWith("hourglass classify: error: " + cut + ": "), r.err());
        JsonNode line = JSON.readTree(r.out());
        assertEquals(cut.toString(), line.get("input").get("image").asText());
        assertEquals(errors.get(0).substring("hourglass classify: error: ".length()), line.get("error").asText());
    }

    @Test
    void imagesThatCannotBeReadAreRefusedBeforeTheModelLoads(@TempDir Path tmp) throws IOException {
        String noModel = tmp.resolve("no-model").toString();
        Path good = png(tmp.resolve("good.png"), 20, 20, 1);
        Path missing = tmp.resolve("missing.png");
        // The model does not exist either: the image's error is the one reported, so nothing tried to load it.
        for (String command : List.of("classify", "segment")) {
            CliRunner r = CliRunner.run(command, "--model", noModel, "--image", good.toString(), missing.toString(),
                    "--out", tmp.resolve("out").toString());
            assertEquals(1, r.exitCode(), r.err());
            assertEquals("hourglass " + command + ": error: --image " + missing + ": no such file", r.err().strip());
            assertEquals("", r.out());
        }
        CliRunner two = CliRunner.run("classify", "--model", noModel, "--image", missing.toString(),
                tmp.resolve("nofolder/x.png").toString());
        assertEquals("hourglass classify: error: --image " + missing + ": no such file (and 1 more --image value"
                + " that cannot be read)", two.err().strip());

        Path tensor = tmp.resolve("x.npy");
        CliRunner t = CliRunner.run("segment", "--model", noModel, "--input-tensor", tensor.toString(), "--out",
                tmp.resolve("out").toString());
        assertEquals(1, t.exitCode());
        assertEquals("hourglass segment: error: --input-tensor " + tensor + ": no such file", t.err().strip());

        Path empty = Files.createDirectory(tmp.resolve("empty"));
        Files.writeString(empty.resolve("notes.txt"), "no image here");
        CliRunner none = CliRunner.run("classify", "--model", noModel, "--image", empty.toString());
        assertEquals(1, none.exitCode());
        assertEquals("hourglass classify: error: --image " + empty + ": no images in the folder (files ending .png,"
                + " .jpg, .jpeg, .bmp, .gif)", none.err().strip());

        // Every image refused from its header: each named, the count, and still no model.
        Path bad = Files.writeString(tmp.resolve("bad.png"), "not a png");
        CliRunner headers = CliRunner.run("classify", "--model", noModel, "--image", bad.toString(), bad.toString(),
                "--json");
        assertEquals(1, headers.exitCode(), headers.err());
        assertEquals(List.of("hourglass classify: error: " + bad + ": unsupported format",
                        "hourglass classify: error: " + bad + ": unsupported format",
                        "hourglass classify: error: 2 of 2 images failed (each named above); none was processed"),
                headers.err().lines().map(l -> l.replaceAll("; readable formats: .*", "")).toList());
        assertEquals(2, jsonLines(headers.out()).size());
    }

    @Test
    void anImageOverTheLimitIsRefusedFromItsHeaderBeforeTheSegmenterLoads(@TempDir Path tmp) throws IOException {
        Path big = png(tmp.resolve("big.png"), 37, 29, 1);
        CliRunner r = CliRunner.run("segment", "--model", tmp.resolve("no-model").toString(), "--image",
                big.toString(), "--max-pixels", "1000", "--out", tmp.resolve("out").toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().strip().startsWith("hourglass segment: error: " + big + ": the image is too large: 37x29 ="
                + " 1073 pixels is over the limit of 1000 pixels"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
    }

    @Test
    void withSeveralImagesOutputOptionsNameFoldersAndRefuseFiles(@TempDir Path tmp) throws IOException {
        String noModel = tmp.resolve("no-model").toString();
        String a = png(tmp.resolve("a.png"), 20, 20, 1).toString();
        String b = png(tmp.resolve("b.png"), 20, 20, 2).toString();
        Path file = Files.writeString(tmp.resolve("afile"), "keep");
        CliRunner out = CliRunner.run("segment", "--model", noModel, "--image", a, b, "--out", file.toString());
        assertEquals(2, out.exitCode(), out.err());
        assertEquals(List.of("hourglass segment: error: --out " + file + ": is a file; it names a folder"
                + " (NAME.classes.png, NAME.json, ... for each image)", "Try 'hourglass segment --help'."),
                out.err().lines().toList());
        CliRunner logits = CliRunner.run("classify", "--model", noModel, "--image", a, b, "--save-logits",
                file.toString());
        assertEquals(2, logits.exitCode(), logits.err());
        assertTrue(logits.err().startsWith("hourglass classify: error: --save-logits " + file + ": is a file; with 2"
                + " images it names a folder (one NAME.logits.npy per image)"), logits.err());
        Path npy = tmp.resolve("logits.npy");
        CliRunner named = CliRunner.run("segment", "--model", noModel, "--image", tmp.toString(), "--out",
                tmp.resolve("o").toString(), "--save-logits", npy.toString());
        assertEquals(2, named.exitCode(), named.err());
        assertTrue(named.err().contains("--save-logits " + npy + ": names a file; with 2 images it names a folder"),
                named.err());
        assertEquals("keep", Files.readString(file));
        assertFalse(Files.exists(npy) || Files.exists(tmp.resolve("o")), "nothing created");
    }

    @Test
    void twoImagesThatWouldWriteTheSameNamesAreRefused(@TempDir Path tmp) throws IOException {
        Path x1 = png(tmp.resolve("one/x.png"), 20, 20, 1);
        Path other = png(tmp.resolve("one/x.y.png"), 20, 20, 2);
        Path x2 = png(tmp.resolve("two/X.bmp"), 20, 20, 3);
        CliRunner seg = CliRunner.run("segment", "--model", tmp.resolve("no-model").toString(), "--image",
                x1.toString(), other.toString(), x2.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(2, seg.exitCode(), seg.err());
        assertEquals(List.of("hourglass segment: error: --image " + x1 + " and " + x2 + " would both write X.* to"
                + " --out " + tmp.resolve("o") + "; rename one or run them separately",
                "Try 'hourglass segment --help'."), seg.err().lines().toList(), "the same name but for case");

        Path model = TinyModels.write(tmp.resolve("m"), 24);
        Path y = png(tmp.resolve("two/x.png"), 20, 20, 4);
        CliRunner cls = CliRunner.run("classify", "--model", model.toString(), "--image", x1.toString(), y.toString(),
                "--save-logits", tmp.resolve("l").toString());
        assertEquals(2, cls.exitCode(), cls.err());
        assertTrue(cls.err().contains("--image " + x1 + " and " + y + " would both write x.* to --save-logits"),
                cls.err());
        CliRunner noOutputs = CliRunner.run("classify", "--model", model.toString(), "--image", x1.toString(),
                y.toString(), "--threads", "1", "--json");
        assertEquals(0, noOutputs.exitCode(), "no file to write, no clash: " + noOutputs.err());
        assertEquals(2, jsonLines(noOutputs.out()).size());
    }

    @Test
    void segmentWritesEachImagesFilesAndPrintsEachReportOnOneLine(@TempDir Path tmp) throws IOException {
        Path folder = tmp.resolve("scenes");
        Path wide = png(folder.resolve("wide.png"), 70, 52, 1);
        Path small = png(folder.resolve("small.png"), 40, 36, 2);
        Path out = tmp.resolve("masks");
        Path logits = tmp.resolve("logits");
        CliRunner r = CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", folder.toString(), "--out",
                out.toString(), "--save-logits", logits.toString(), "--json", "--threads", "1");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1, lines(r.err(), "backend: ").size(), r.err());
        List<JsonNode> json = jsonLines(r.out());
        assertEquals(2, json.size(), r.out());
        List<Path> order = List.of(small, wide);
        try (SemanticSegmenter api = SemanticSegmenter.load(SEGMENTER, new ModelOptions(1))) {
            for (int i = 0; i < 2; i++) {
                Path image = order.get(i);
                String stem = image.getFileName().toString().replace(".png", "");
                JsonNode line = json.get(i);
                assertEquals(image.toString(), line.get("input").get("image").asText());
                assertEquals(JSON.readTree(Files.readString(out.resolve(stem + ".json"))), line,
                        "the line is the image's report file");
                List<String> outputs = new ArrayList<>();
                line.get("outputs").forEach(o -> outputs.add(o.asText()));
                assertEquals(List.of(stem + ".classes.png", stem + ".colour.png", stem + ".overlay.png",
                        stem + ".json"), outputs.stream().map(o -> Path.of(o).getFileName().toString()).toList());
                for (String o : outputs) {
                    assertTrue(Files.isRegularFile(Path.of(o)), o);
                }
                RgbImage rgb = RgbImage.read(image);
                Tensor saved = Npy.read(logits.resolve(stem + ".logits.npy"));
                assertArrayEquals(new long[] {api.classNames().size(), rgb.height(), rgb.width()},
                        saved.shape().dims());
                double total = 0;
                for (JsonNode c : line.get("classes")) {
                    total += c.get("fraction").asDouble();
                }
                assertEquals(1.0, total, 1e-5);
            }
        }

        CliRunner text = CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", wide.toString(),
                "--image", small.toString(), "--out", tmp.resolve("text").toString(), "--threads", "1");
        assertEquals(0, text.exitCode(), text.err());
        assertEquals(1, lines(text.out(), "model    ").size(), text.out());
        assertEquals(2, lines(text.out(), "wrote    ").size(), text.out());
        assertTrue(lines(text.out(), "time     ").get(1).startsWith("time     preprocess "), text.out());
        assertTrue(lines(text.out(), "total    ").get(0).startsWith("total    2 images in "), text.out());
    }

    @Test
    void aReductionTheSegmenterRefusesIsAUsageErrorBeforeAnyImageRuns(@TempDir Path tmp) throws IOException {
        Path a = png(tmp.resolve("in/a.png"), 20, 20, 1);
        png(tmp.resolve("in/b.png"), 20, 20, 2);
        CliRunner r = CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", a.getParent().toString(),
                "--out", tmp.resolve("o").toString(), "--expedite", "alpha=13", "--json");
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--expedite: expedit: alpha=13 is beyond the encoder's 4 blocks"), r.err());
        assertEquals("", r.out(), "no image ran");
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void anInputFileIsCheckedInWordsWithItsOption(@TempDir Path tmp) throws IOException {
        Path file = png(tmp.resolve("a.png"), 4, 4, 1);
        FileErrors.checkInputFile("--image", file, false);
        FileErrors.checkInputFile("--image", tmp, true);
        assertEquals("--input-tensor " + tmp + ": is a folder, not a file", assertThrows(
                FileErrors.FileException.class, () -> FileErrors.checkInputFile("--input-tensor", tmp, false))
                .getMessage());
        Path missing = tmp.resolve("b.png");
        assertEquals("--image " + missing + ": no such file", assertThrows(FileErrors.FileException.class,
                () -> FileErrors.checkInputFile("--image", missing, true)).getMessage());
        Path nowhere = tmp.resolve("no/b.png");
        assertEquals("--image " + nowhere + ": no such file (no folder " + nowhere.toAbsolutePath().getParent() + ")",
                assertThrows(FileErrors.FileException.class, () -> FileErrors.checkInputFile("--image", nowhere,
                        true)).getMessage());
    }

    @Test
    void theProgressBarCountsImagesOnATerminalAndClearsItsLine() {
        StringWriter screen = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(screen), "classify", true);
        bar.images(0, 4, 0);
        assertEquals("\rclassify [" + " ".repeat(30) + "] 0/4 images", screen.toString());
        bar.images(2, 4, 3000);
        String half = "classify [" + "#".repeat(15) + " ".repeat(15) + "] 2/4 images, 1500 ms per image, 3 s left";
        assertTrue(screen.toString().endsWith("\r" + half), screen.toString());
        bar.images(3, 4, 300);
        assertTrue(screen.toString().endsWith("] 3/4 images, 100 ms per image, 0 s left "), "padded over the"
                + " longer line before: '" + screen + "'");
        screen.getBuffer().setLength(0);
        bar.clear();
        assertEquals("\r" + " ".repeat(half.length()) + "\r", screen.toString(),
                "the line erased for the next output line");
        screen.getBuffer().setLength(0);
        bar.clear();
        assertEquals("", screen.toString(), "nothing to erase twice");

        StringWriter log = new StringWriter();
        ProgressBar quiet = new ProgressBar(new PrintWriter(log), "classify", false);
        quiet.images(1, 4, 10);
        quiet.clear();
        assertEquals("", log.toString(), "no bar in a log or a pipe");
    }
}
