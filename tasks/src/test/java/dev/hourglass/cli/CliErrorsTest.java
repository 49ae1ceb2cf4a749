package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.classify.TinyModels;
import picocli.CommandLine;

/**
 * What a new user sees when something is wrong: one line naming the file, option and value; exit code 2 for a bad
 * argument (with a pointer to --help, never the whole usage text), 1 for bad data or a file-system problem; nothing
 * computed when an output path cannot be written.
 */
class CliErrorsTest {
    private static final Path SEGMENTER = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");
    private static final Path DEMO = Path.of("src/main/resources/dev/hourglass/demo");

    /** A usage error: exit code 2, the error on one line, then where to look; no usage text. */
    private static void assertUsageError(CliRunner r, String command, String expected) {
        assertEquals(2, r.exitCode(), r.err());
        List<String> lines = r.err().lines().filter(l -> !l.startsWith("backend: ")).toList();
        assertEquals(2, lines.size(), "one line and the pointer to --help:\n" + r.err());
        assertTrue(lines.get(0).startsWith("hourglass " + command + ": error: ") && lines.get(0).contains(expected),
                "expected '" + expected + "' in:\n" + r.err());
        assertEquals("Try 'hourglass " + command + " --help'.", lines.get(1));
        assertFalse(r.err().contains("Usage:"), r.err());
    }

    /** A data or file-system error: exit code 1 and exactly this line, before anything was loaded or computed. */
    private static void assertFileError(CliRunner r, String command, String expected) {
        assertEquals(1, r.exitCode(), r.err());
        assertEquals("hourglass " + command + ": error: " + expected, r.err().strip(), "one line, nothing loaded");
    }

    @Test
    void everyBadArgumentIsOneLineAndExitCodeTwo(@TempDir Path tmp) throws IOException {
        String img = CliRunner.image(tmp).toString();
        String out = tmp.resolve("o").toString();
        String[] segment = {"segment", "--model", SEGMENTER.toString(), "--image", img, "--out", out};
        String[][] cases = {
                {"--threads", "0"}, {"--threads must be at least 1, got 0"},
                {"--threads", "x"}, {"Invalid value for option '--threads': 'x' is not an int"},
                {"--threads", "100000"}, {"--threads 100000 is more than"},
                {"--repeat", "0"}, {"--repeat must be at least 1, got 0"},
                {"--max-pixels", "0"}, {"--max-pixels must be at least 1, got 0"},
                {"--expedite", "gird=4"}, {"unknown key 'gird'"},
                {"--expedite", "alpha=13"}, {"--expedite: expedit: alpha=13 is beyond the encoder's 4 blocks"},
                {"--expedite", "alpha=2,grid=100x100"}, {"grid=100x100 is not smaller than the 6x6 token grid"},
                {"--reduce", "shrink:r=2"}, {"--reduce: unknown token reduction method 'shrink'"},
                {"--thread", "1"}, {"Unknown options: '--thread', '1' (did you mean --threads?)"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = concat(segment, cases[i]);
            assertUsageError(CliRunner.run(args), "segment", cases[i + 1][0]);
        }
        assertUsageError(CliRunner.run("segment", "--image", img), "segment",
                "Missing required option: '--model=MODEL'");
        assertUsageError(CliRunner.run("classify", "--model", "m", "--image", img, "--top-k", "0"), "classify",
                "--top-k must be at least 1, got 0");
        assertUsageError(CliRunner.run("demo", "--threads", "-1"), "demo", "--threads must be at least 1, got -1");
        assertUsageError(CliRunner.run("backends", "--threads", "0"), "backends", "--threads must be at least 1");
        assertUsageError(CliRunner.run("convert", "a", "b", "--dtype", "f8"), "convert", "--dtype f8 is not one of");
        assertUsageError(CliRunner.run("convert", "a", "b", "--heads", "0"), "convert",
                "--heads must be at least 1, got 0");
        assertUsageError(CliRunner.run("inspect", "a", "--heads", "-2"), "inspect",
                "--heads must be at least 1, got -2");
        assertUsageError(CliRunner.run("classify", "--model", "m", "--image", img, "--decoder-heads", "0"),
                "classify", "--decoder-heads must be at least 1, got 0");

        CliRunner typo = CliRunner.run("clasify", "--model", "m");
        assertEquals(2, typo.exitCode());
        assertEquals(List.of("hourglass: error: unknown command 'clasify'; the commands are classify, segment, depth,"
                + " convert, inspect, demo, backends, slim-search, help", "Try 'hourglass --help'."),
                typo.err().lines().toList());
        CliRunner none = CliRunner.run();
        assertEquals(2, none.exitCode());
        assertEquals(List.of("hourglass: error: a command is required", "Try 'hourglass --help'."),
                none.err().lines().toList());
    }

    @Test
    void outputPathsThatCannotBeWrittenAreRefusedBeforeTheModelLoads(@TempDir Path tmp) throws IOException {
        String img = CliRunner.image(tmp).toString();
        Path file = Files.writeString(tmp.resolve("afile"), "keep");
        String model = SEGMENTER.toString();
        // A file where a folder is needed, or a folder where a file is: a bad argument, exit code 2.
        assertUsageError(CliRunner.run("segment", "--model", model, "--image", img, "--out", file.toString()),
                "segment", "--out " + file + ": is a file; it names a folder (NAME.classes.png, NAME.json, ... for"
                        + " each image)");
        Path under = file.resolve("sub");
        assertUsageError(CliRunner.run("segment", "--model", model, "--image", img, "--out", under.toString()),
                "segment", "--out " + under + ": cannot create folder " + under.toAbsolutePath() + ": "
                        + file.toAbsolutePath() + " is a file");
        assertUsageError(CliRunner.run("classify", "--model", model, "--image", img, "--save-logits", tmp.toString()),
                "classify", "--save-logits " + tmp + ": is a folder; give a file name");
        assertUsageError(CliRunner.run("classify", "--model", model, "--image", img, "--save-logits",
                under.toString()), "classify", "--save-logits " + under + ": " + file.toAbsolutePath()
                + " is not a folder");
        assertUsageError(CliRunner.run("classify", "--model", model, "--image", img, "--out", file.toString()),
                "classify", "--out " + file + ": is a file; it names a folder (one NAME.cfvit.png per image)");
        assertUsageError(CliRunner.run("demo", "--out", file.toString()), "demo",
                "--out " + file + ": is a file; it names a folder (classification.json, contact-sheet.png, cfvit/,"
                        + " segmentation/, depth/)");
        assertUsageError(CliRunner.run("convert", model, tmp.toString()), "convert",
                "OUT " + tmp + ": is a folder; give a file name");
        // What the file system lacks is not the argument's kind: exit code 1.
        Path logits = tmp.resolve("no/such/logits.npy");
        assertFileError(CliRunner.run("segment", "--model", model, "--image", img, "--out", tmp.toString(),
                "--save-logits", logits.toString()), "segment", "--save-logits " + logits + ": no folder "
                + logits.toAbsolutePath().getParent());
        Path converted = tmp.resolve("missing/m.safetensors");
        assertFileError(CliRunner.run("convert", model, converted.toString()), "convert",
                "OUT " + converted + ": no folder " + converted.toAbsolutePath().getParent());
        assertEquals("keep", Files.readString(file));
        try (var left = Files.list(tmp)) {
            assertEquals(List.of("afile", "in.png"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing written, no temporary files");
        }
    }

    @Test
    void aFileGivenForAFolderIsTheSameUsageErrorWithOneImageOrMany(@TempDir Path tmp) throws IOException {
        String a = CliRunner.image(tmp).toString();
        Path second = Files.copy(Path.of(a), tmp.resolve("second.png"));
        Path file = Files.writeString(tmp.resolve("afile"), "keep");
        String model = SEGMENTER.toString();
        String expected = "--out " + file + ": is a file; it names a folder (NAME.classes.png, NAME.json, ... for each"
                + " image)";
        CliRunner one = CliRunner.run("segment", "--model", model, "--image", a, "--out", file.toString());
        CliRunner two = CliRunner.run("segment", "--model", model, "--image", a, second.toString(), "--out",
                file.toString());
        assertUsageError(one, "segment", expected);
        assertUsageError(two, "segment", expected);
        assertEquals(one.err(), two.err(), "the same line whatever the number of images");
        Path folder = Files.createDirectory(tmp.resolve("logits"));
        assertUsageError(CliRunner.run("segment", "--model", model, "--image", a, "--out", tmp.resolve("o").toString(),
                "--save-logits", folder.toString()), "segment", "--save-logits " + folder + ": is a folder; give a file"
                + " name");
        assertUsageError(CliRunner.run("classify", "--model", model, "--image", a, second.toString(), "--out",
                file.toString()), "classify", "--out " + file + ": is a file; it names a folder (one NAME.cfvit.png"
                + " per image)");
        assertFalse(Files.exists(tmp.resolve("o")), "nothing created");
    }

    @Test
    void aWriteThatFailsWhileRunningIsExitCodeOne(@TempDir Path tmp) throws IOException {
        Path out = Files.createDirectory(tmp.resolve("o"));
        Path taken = Files.createDirectory(out.resolve("in.json")); // the report's name, taken by a folder
        Files.writeString(taken.resolve("keep"), "keep");
        CliRunner r = CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image",
                CliRunner.image(tmp).toString(), "--out", out.toString(), "--threads", "1");
        assertEquals(1, r.exitCode(), r.err());
        assertEquals("hourglass segment: error: cannot write " + taken + ": a folder of that name exists",
                r.err().lines().filter(l -> !l.startsWith("backend: ")).reduce((x, y) -> y).orElseThrow(), r.err());
    }

    @Test
    void aMissingLabelsOrPaletteFileIsNamedWithItsOption(@TempDir Path tmp) throws IOException {
        String img = CliRunner.image(tmp).toString();
        Path missing = tmp.resolve("labels.txt");
        assertFileError(CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", img, "--out",
                tmp.toString(), "--labels", missing.toString()), "segment", "--labels " + missing + ": no such file");
        assertFileError(CliRunner.run("convert", SEGMENTER.toString(), tmp.resolve("x.safetensors").toString(),
                "--labels", missing.toString()), "convert", "--labels " + missing + ": no such file");
        Path palette = tmp.resolve("palette.txt");
        assertFileError(CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", img, "--out",
                tmp.toString(), "--palette", palette.toString()), "segment", "--palette " + palette + ": no such file");
        assertFileError(CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image", img, "--out",
                tmp.toString(), "--palette", tmp.toString()), "segment", "--palette " + tmp + ": is a folder, not a"
                + " file");
    }

    @Test
    void aMissingInputTensorIsNamedWithItsOption(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 31);
        Path missing = tmp.resolve("x.npy");
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--input-tensor", missing.toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().endsWith("hourglass classify: error: --input-tensor " + missing + ": no such file"
                + System.lineSeparator()), r.err());
    }

    @Test
    void aTruncatedJpegIsRefusedNamingTheFile(@TempDir Path tmp) throws IOException {
        byte[] jpeg = Files.readAllBytes(Path.of("src/test/resources/preprocess/formats/chelsea_420.jpg"));
        Path truncated = Files.write(tmp.resolve("cut.jpg"), Arrays.copyOf(jpeg, jpeg.length * 2 / 3));
        CliRunner r = CliRunner.run("classify", "--model", DEMO.resolve("shapes-vit").toString(), "--image",
                truncated.toString(), "--threads", "1");
        assertEquals(1, r.exitCode(), r.out());
        assertTrue(r.err().contains("hourglass classify: error: " + truncated + ": the file is truncated"), r.err());
        assertEquals("", r.out(), "nothing classified");
    }

    @Test
    void maxPixelsRaisesOrLowersTheImageLimitAndTheRefusalSaysSo(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 32);
        String img = CliRunner.image(tmp).toString();
        CliRunner refused = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--max-pixels",
                "1072", "--threads", "1");
        assertEquals(1, refused.exitCode());
        assertTrue(refused.err().contains("37x29 = 1073 pixels is over the limit of 1072 pixels")
                && refused.err().contains("--max-pixels"), refused.err());
        CliRunner exact = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--max-pixels",
                "1073", "--threads", "1");
        assertEquals(0, exact.exitCode(), exact.err());
        assertTrue(CliRunner.run("segment", "--help").out().contains("--max-pixels"));
    }

    @Test
    void versionIsTheProjectVersion() throws IOException {
        CliRunner r = CliRunner.run("--version");
        assertEquals(0, r.exitCode());
        Matcher parent = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL)
                .matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(parent.find(), "tasks/pom.xml names its parent's version");
        assertEquals("hourglass " + parent.group(1), r.out().lines().findFirst().orElseThrow(), r.out());
        assertTrue(r.out().contains("Java " + Runtime.version()), r.out());
    }

    @Test
    void threadsBeyondTheProcessorsAreWarnedAboutOnceAndFarBeyondRefused() {
        CommandLine cl = HourglassCommand.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertEquals(2, Threads.resolve(cl, null, 2));
        assertEquals(2, Threads.resolve(cl, 2, 2));
        assertEquals("", err.toString());
        assertEquals(8, Threads.resolve(cl, 8, 2));
        assertEquals(List.of("warning: --threads 8 is more than the 2 processors available; the extra threads take"
                + " turns on them (slower)"), err.toString().lines().toList());
        CommandLine.ParameterException tooMany = assertThrows(CommandLine.ParameterException.class,
                () -> Threads.resolve(cl, 9, 2));
        assertEquals("--threads 9 is more than 8 (4 per processor; this machine has 2)", tooMany.getMessage());
        assertEquals(64, Threads.resolve(cl, 64, 16), "4 per processor");
        assertThrows(CommandLine.ParameterException.class, () -> Threads.resolve(cl, 0, 16));
    }

    @Test
    void theBackendIsNamedOnceAndTheSegmenterInWords(@TempDir Path tmp) throws IOException {
        CliRunner r = CliRunner.run("segment", "--model", SEGMENTER.toString(), "--image",
                CliRunner.image(tmp).toString(), "--out", tmp.resolve("o").toString(), "--threads", "1");
        assertEquals(0, r.exitCode(), r.err());
        String all = r.out() + r.err();
        assertEquals(1, all.lines().filter(l -> l.contains("CPU, 1 thread")).count(), "backend once:\n" + all);
        assertFalse(all.contains("SemanticSegmenter["), all);
        assertTrue(r.out().contains("model    checkpoint.pth: Segmenter, ViT encoder of 4 blocks, width 64"
                + ", 2 heads, patch 8; mask-transformer decoder (2 blocks, width 64); 5 classes; 48x48 windows,"
                + " stride 32"), r.out());
    }

    @Test
    void theReadmesExpediteSettingFitsTheDemoSegmenterAndTheDefaultIsRefused(@TempDir Path tmp) throws IOException {
        // The README's command, as written there, from the repository root (the tests run in tasks/).
        String readme = Files.readString(Path.of("../README.md"));
        Matcher command = Pattern.compile("bin/hourglass segment (--model \\S*shapes-segmenter\\S*[^#]*?)\\s*#")
                .matcher(readme);
        assertTrue(command.find(), "the README shows an --expedite setting for the demo Segmenter");
        List<String> args = new java.util.ArrayList<>(List.of("segment"));
        for (String word : command.group(1).replace("\\\n", " ").trim().split("\\s+")) {
            args.add(word.startsWith("tasks/") ? "../" + word : word);
        }
        int repeat = args.indexOf("--repeat");
        assertTrue(repeat > 0 && args.contains("--expedite"), args.toString());
        args.set(repeat + 1, "1");
        args.addAll(List.of("--out", tmp.toString(), "--json", "--threads", "2"));
        CliRunner r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        String tokens = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out()).get("reduction")
                .get("tokens_after_block").toString();
        assertEquals("[257,257,257,101,101,101,101,101,101,101,101,101]", tokens, "16x16 tokens, 10x10 after block 4");

        // Expedit's ViT-L defaults (a 28x28 grid) cannot reduce 16x16 tokens: refused before anything runs.
        int expedite = args.indexOf("--expedite");
        args.remove(expedite + 1);
        assertUsageError(CliRunner.run(args.toArray(String[]::new)), "segment",
                "grid=28x28 is not smaller than the 16x16 token grid; nothing would be saved");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
