package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.convert.pth.StateDictPth;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.TinyModels;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Npy;

/**
 * Issue 15: a timm checkpoint whose normalisation nothing says is refused (one line, exit 2) until {@code --mean} and
 * {@code --std} give it; given, they are what the preprocessing uses and what a converted file records, they replace a
 * checkpoint's own values with a warning, and bad values are usage errors. A DeiT {@code .pth} is not refused: its
 * family settles the normalisation.
 */
class NormalisationCommandTest {
    private static final String REFUSAL = "model.safetensors: timm checkpoint without config.json: its normalisation"
            + " cannot be read from the weights; timm's ViTs use mean/std 0.5 (augreg and the original ViT weights, the"
            + " default tags) or ImageNet's 0.485,0.456,0.406 / 0.229,0.224,0.225 (DeiT, DINO); give --mean and"
            + " --std, e.g. --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5";
    private static final List<Double> MEAN = List.of(0.25, 0.5, 0.75);
    private static final List<Double> STD = List.of(0.2, 0.3, 0.4);

    @Test
    void everyCommandThatReadsATimmFileWithoutItRefusesToGuess(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 8);
        String x = CliRunner.zeroInput(tmp).toString();
        Path images = Files.createDirectories(tmp.resolve("images"));
        CliRunner.image(images);
        for (String[] args : List.of(
                new String[] {"classify", "--model", model.toString(), "--heads", "2", "--input-tensor", x},
                new String[] {"convert", model.toString(), tmp.resolve("out.safetensors").toString(), "--heads", "2"},
                new String[] {"slim-search", "--model", model.toString(), "--heads", "2", "--images",
                    images.toString(), "--out", tmp.resolve("masks.json").toString()})) {
            CliRunner r = CliRunner.run(args);
            assertEquals(2, r.exitCode(), args[0] + ": " + r.err());
            assertEquals("", r.out(), args[0]);
            assertEquals(List.of("hourglass " + args[0] + ": error: " + REFUSAL), r.err().lines().toList(), args[0]);
        }
        assertTrue(Files.notExists(tmp.resolve("out.safetensors")));
        assertTrue(Files.notExists(tmp.resolve("masks.json")));
        CliRunner inspect = CliRunner.run("inspect", model.toString(), "--heads", "2");
        assertEquals(1, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("problem     missing: timm checkpoint without config.json: its"
                + " normalisation cannot be read from the weights;"), inspect.out());
    }

    @Test
    void classifyPreprocessesWithTheGivenNormalisation(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 8);
        Path img = CliRunner.image(tmp);
        Path logits = tmp.resolve("logits.npy");
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--heads", "2", "--mean",
                "0.25,0.5,0.75", "--std", " 0.2, 0.3,0.4", "--image", img.toString(), "--threads", "1",
                "--save-logits", logits.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1, r.warnings().size(), r.err());
        assertFalse(r.warnings().get(0).contains("normalisation"), r.err());

        ConvertOptions given = new ConvertOptions(null, 2, null).withNormalisation(MEAN, STD);
        try (ImageClassifier api = ImageClassifier.load(model, new ModelOptions(1, null, given));
             ImageClassifier other = ImageClassifier.load(model, new ModelOptions(1, null,
                     given.withNormalisation(List.of(0.5, 0.5, 0.5), List.of(0.5, 0.5, 0.5))))) {
            assertArrayEquals(new float[] {0.25f, 0.5f, 0.75f}, api.preprocessing().mean());
            assertArrayEquals(new float[] {0.2f, 0.3f, 0.4f}, api.preprocessing().std());
            RgbImage image = RgbImage.read(img);
            float[] saved = Npy.read(logits).toFloatArray();
            assertArrayEquals(api.logits(api.preprocess(image)).toFloatArray(), saved, 1e-5f);
            assertFalse(java.util.Arrays.equals(other.logits(other.preprocess(image)).toFloatArray(), saved),
                    "another normalisation gives other logits");
        }
    }

    @Test
    void theConvertedFileRecordsTheNormalisation(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 8);
        Path out = tmp.resolve("bare.safetensors");
        CliRunner converted = CliRunner.run("convert", model.toString(), out.toString(), "--heads", "2", "--mean",
                "0.25,0.5,0.75", "--std", "0.2,0.3,0.4");
        assertEquals(0, converted.exitCode(), converted.err());
        assertTrue(converted.out().contains("inferred normalisation mean 0.25,0.5,0.75 std 0.2,0.3,0.4 given (--mean,"
                + " --std)"), converted.out());
        assertFalse(String.join("\n", converted.warnings()).contains("normalisation"), converted.err());
        try (ConvertedModel file = Converter.open(out, ConvertOptions.NONE)) {
            assertEquals("[0.25,0.5,0.75]", file.config().preprocessing().get("mean").toString());
            assertEquals("[0.2,0.3,0.4]", file.config().preprocessing().get("std").toString());
        }
        // Neither --heads nor --mean/--std is needed again, and nothing about the normalisation is said.
        CliRunner classify = CliRunner.run("classify", "--model", out.toString(), "--input-tensor",
                CliRunner.zeroInput(tmp).toString());
        assertEquals(0, classify.exitCode(), classify.err());
        assertFalse(String.join("\n", classify.warnings()).contains("normalisation"), classify.err());
    }

    @Test
    void givenValuesReplaceTheCheckpointsWithAWarning(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("full"), 9);   // its pretrained_cfg says 0.5, 0.5
        String x = CliRunner.zeroInput(tmp).toString();
        String line = ": warning: " + model + ": --mean and --std replace the normalisation the checkpoint gives:"
                + " mean 0.5,0.5,0.5 std 0.5,0.5,0.5";
        String[] imagenet = {"--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"};
        CliRunner classify = CliRunner.run(concat(new String[] {"classify", "--model", model.toString(),
            "--input-tensor", x}, imagenet));
        assertEquals(0, classify.exitCode(), classify.err());
        assertEquals(List.of("hourglass classify" + line), classify.warnings(), classify.err());
        CliRunner inspect = CliRunner.run(concat(new String[] {"inspect", model.toString()}, imagenet));
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertEquals(List.of("hourglass inspect" + line), inspect.warnings(), inspect.err());
        CliRunner convert = CliRunner.run(concat(new String[] {"convert", model.toString(),
            tmp.resolve("m.safetensors").toString()}, imagenet));
        assertEquals(0, convert.exitCode(), convert.err());
        assertEquals(List.of("hourglass convert" + line), convert.warnings(), convert.err());

        // The values the checkpoint gives replace nothing: no warning.
        CliRunner same = CliRunner.run("classify", "--model", model.toString(), "--input-tensor", x, "--mean",
                "0.5,0.5,0.5", "--std", "0.5,0.5,0.5");
        assertEquals(0, same.exitCode(), same.err());
        assertEquals(List.of(), same.warnings(), same.err());
    }

    @Test
    void segmentTakesThemToo(@TempDir Path tmp) throws IOException {
        // A Segmenter's variant.yml gives its normalisation ('vit': 0.5); --mean and --std replace it.
        Path model = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");
        Path x = tmp.resolve("x.npy");
        Npy.write(x, new float[3 * 48 * 48], 1, 3, 48, 48);
        CliRunner r = CliRunner.run("segment", "--model", model.toString(), "--input-tensor", x.toString(), "--out",
                tmp.resolve("out").toString(), "--threads", "1", "--mean", "0.485,0.456,0.406", "--std",
                "0.229,0.224,0.225");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("hourglass segment: warning: " + model + ": --mean and --std replace the normalisation"
                + " the checkpoint gives: mean 0.5,0.5,0.5 std 0.5,0.5,0.5"), r.warnings(), r.err());
    }

    @Test
    void aDeitPthIsNotRefusedATimmTrainingPthIs(@TempDir Path tmp) throws IOException {
        Path weights = TinyModels.write(tmp.resolve("weights"), 10).resolve("model.safetensors");
        Path deit = Files.createDirectories(tmp.resolve("deit"));
        Path timm = Files.createDirectories(tmp.resolve("timm"));
        try (SafetensorsFile w = SafetensorsFile.open(weights)) {
            StateDictPth.write(deit.resolve("checkpoint.pth"), "model", w);
            StateDictPth.write(timm.resolve("checkpoint.pth"), "state_dict", w);
        }
        String x = CliRunner.zeroInput(tmp).toString();
        CliRunner r = CliRunner.run("classify", "--model", deit.toString(), "--heads", "2", "--input-tensor", x);
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1, r.warnings().size(), r.err());
        assertFalse(r.warnings().get(0).contains("normalisation"), r.err());
        CliRunner inspect = CliRunner.run("inspect", deit.toString(), "--heads", "2");
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("inferred    normalisation ImageNet mean/std, as DeiT's training code uses"),
                inspect.out());

        CliRunner refused = CliRunner.run("classify", "--model", timm.toString(), "--heads", "2", "--input-tensor", x);
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().startsWith("hourglass classify: error: checkpoint.pth: timm checkpoint without"
                + " config.json: its normalisation cannot be read"), refused.err());
    }

    @Test
    void badValuesAreUsageErrors() {
        String[][] cases = {
            {"--mean", "0.5,0.5", "--std", "0.5,0.5,0.5"},
            {"--mean 0.5,0.5: expected 3 numbers R,G,B separated by commas, got 2"},
            {"--mean", "0.5,0.5,0.5", "--std", "0.5,0,0.5"}, {"--std 0.5,0,0.5: '0' is not a finite number above 0"},
            {"--mean", "0.5,0.5,0.5", "--std", "0.5,-1,0.5"}, {"--std 0.5,-1,0.5: '-1' is not a finite number above 0"},
            {"--mean", "NaN,0.5,0.5", "--std", "0.5,0.5,0.5"}, {"--mean NaN,0.5,0.5: 'NaN' is not a finite number"},
            {"--mean", "0.5,Infinity,0.5", "--std", "1,1,1"}, {"'Infinity' is not a finite number"},
            {"--mean", "0.5,x,0.5", "--std", "1,1,1"}, {"--mean 0.5,x,0.5: 'x' is not a finite number"},
            {"--mean", "0.5,,0.5", "--std", "1,1,1"}, {"--mean 0.5,,0.5: an empty value is not a finite number"},
            {"--mean", "0.5,0.5,0.5"}, {"give --mean and --std together: the normalisation needs both (--mean given"
                + " alone)"},
            {"--std", "0.5,0.5,0.5"}, {"(--std given alone)"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            for (String command : List.of("convert", "inspect", "classify", "segment", "slim-search")) {
                String[] base = switch (command) {
                    case "convert" -> new String[] {"convert", "no-such-in", "no-such-out.safetensors"};
                    case "inspect" -> new String[] {"inspect", "no-such-file"};
                    case "slim-search" -> new String[] {"slim-search", "--model", "no-such-model", "--images", "none",
                        "--out", "no-such-masks.json"};
                    default -> new String[] {command, "--model", "no-such-model", "--input-tensor", "no-such.npy"};
                };
                CliRunner r = CliRunner.run(concat(base, cases[i]));
                String what = String.join(" ", concat(base, cases[i])) + ":\n" + r.err();
                assertEquals(2, r.exitCode(), what);
                List<String> lines = r.err().lines().toList();
                assertEquals(2, lines.size(), what);
                assertTrue(lines.get(0).startsWith("hourglass " + command + ": error: ")
                        && lines.get(0).contains(cases[i + 1][0]), what);
                assertEquals("Try 'hourglass " + command + " --help'.", lines.get(1), what);
            }
        }
    }

    @Test
    void helpSaysWhatTheOptionsAreFor() {
        for (String command : List.of("classify", "segment", "convert", "inspect", "slim-search")) {
            CliRunner r = CliRunner.run(command, "--help");
            assertEquals(0, r.exitCode());
            String help = r.out().replaceAll("\\s+", " ");
            assertTrue(help.contains("--mean=R,G,B") && help.contains("--std=R,G,B"), command + ":\n" + r.out());
            assertTrue(help.contains("Required for a timm checkpoint without a pretrained_cfg giving it"),
                    command + ":\n" + r.out());
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
