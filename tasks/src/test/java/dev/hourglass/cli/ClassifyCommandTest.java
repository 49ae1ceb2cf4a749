package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.TinyModels;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

class ClassifyCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void jsonHasPredictionsAndTimingsAndMatchesTheApi(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 11);
        Path img = CliRunner.image(tmp);
        Path logits = tmp.resolve("logits.npy");
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", img.toString(), "--json",
                "--top-k", "2", "--threads", "1", "--repeat", "3", "--save-logits", logits.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = JSON.readTree(r.out());
        JsonNode preds = json.get("results").get(0).get("predictions");
        assertEquals(2, preds.size());
        assertEquals(3, json.get("timing_ms").get("repeat").asInt());
        assertTrue(json.get("timing_ms").get("forward_median").asDouble() > 0);

        try (ImageClassifier api = ImageClassifier.load(model, new ModelOptions(1))) {
            var expected = api.classify(img, 2);
            assertEquals(expected.get(0).label(), preds.get(0).get("label").asText());
            assertEquals(expected.get(0).index(), preds.get(0).get("index").asInt());
            Tensor saved = Npy.read(logits);
            assertArrayEquals(api.logits(api.preprocess(RgbImage.read(img))).toFloatArray(), saved.toFloatArray(),
                    1e-5f);
        }
    }

    @Test
    void inputTensorGivesTheSameLogitsAsTheImageItCameFrom(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 12);
        Path img = CliRunner.image(tmp);
        Path tensor = tmp.resolve("x.npy");
        try (ImageClassifier api = ImageClassifier.load(model, new ModelOptions(1))) {
            Tensor x = api.preprocess(RgbImage.read(img));
            Npy.write(tensor, x.toFloatArray(), 3, 16, 16);
        }
        Path a = tmp.resolve("a.npy");
        Path b = tmp.resolve("b.npy");
        assertEquals(0, CliRunner.run("classify", "--model", model.toString(), "--image", img.toString(),
                "--save-logits", a.toString()).exitCode());
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--input-tensor", tensor.toString(),
                "--save-logits", b.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("time     load"), r.out());
        assertArrayEquals(Npy.read(a).toFloatArray(), Npy.read(b).toFloatArray(), 1e-5f);
    }

    @Test
    void badInputIsOneLineWithTheFileAndExitCode(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 13);
        CliRunner missing = CliRunner.run("classify", "--model", model.toString(), "--image",
                tmp.resolve("nope.png").toString());
        assertEquals(1, missing.exitCode());
        // Refused before the model loads: no backend line.
        assertEquals(List.of("hourglass classify: error: --image " + tmp.resolve("nope.png") + ": no such file"),
                missing.err().lines().toList());

        Path wrong = tmp.resolve("wrong.npy");
        Npy.write(wrong, new float[6], 2, 3);
        CliRunner shape = CliRunner.run("classify", "--model", model.toString(), "--input-tensor", wrong.toString());
        assertEquals(1, shape.exitCode());
        assertTrue(shape.err().contains("wrong.npy") && shape.err().contains("[2, 3]"), shape.err());

        CliRunner size = CliRunner.run("classify", "--model", model.toString(), "--input-tensor",
                writeTensor(tmp.resolve("odd.npy"), 1, 3, 12, 16).toString());
        assertEquals(1, size.exitCode());
        assertTrue(size.err().contains("12x16") && size.err().contains("patch size 8"), size.err());

        CliRunner both = CliRunner.run("classify", "--model", model.toString());
        assertEquals(2, both.exitCode());
        assertTrue(both.err().contains("--image") && both.err().contains("--input-tensor"), both.err());

        CliRunner k = CliRunner.run("classify", "--model", model.toString(), "--image", "x.png", "--top-k", "0");
        assertEquals(2, k.exitCode());
        assertTrue(k.err().contains("--top-k must be at least 1"), k.err());
    }

    @Test
    void backendCpuComputesOnTheCpuAndSaysSoOnceOnStandardError(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 14);
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", CliRunner.image(tmp).toString(),
                "--threads", "1", "--backend", "cpu");
        assertEquals(0, r.exitCode(), r.err());
        List<String> summaries = r.err().lines().filter(l -> l.startsWith("backend: ")).toList();
        assertEquals(1, summaries.size(), r.err());
        assertTrue(summaries.get(0).startsWith("backend: cpu (CPU, 1 thread, "), r.err());
        assertFalse(r.out().contains("CPU, 1 thread, "), "standard output does not repeat it:\n" + r.out());
    }

    @Test
    void anUnknownBackendIsAOneLineErrorListingTheBackendsThereAre(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("m"), 15);
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", CliRunner.image(tmp).toString(),
                "--backend", "nosuch");
        assertEquals(1, r.exitCode());
        assertEquals("hourglass classify: error: no backend named 'nosuch' here (available: cpu). Choose auto, cpu",
                r.err().strip());
        assertEquals("", r.out());
    }

    private static Path writeTensor(Path file, long... dims) throws IOException {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        Npy.write(file, new float[(int) n], dims);
        return file;
    }

    @Test
    void helpListsEveryOption() {
        CliRunner r = CliRunner.run("classify", "--help");
        assertEquals(0, r.exitCode());
        for (String option : new String[] {"--model", "--image", "--input-tensor", "--top-k", "--json",
                "--save-logits", "--threads", "--repeat", "--backend"}) {
            assertTrue(r.out().contains(option), option + " missing from --help:\n" + r.out());
        }
    }

    private static final Path DEMO = Path.of("src/main/resources/dev/hourglass/demo");

    @Test
    void reduceReportsTokensAfterEveryBlockAndTheGflops() throws IOException {
        Path model = DEMO.resolve("shapes-vit");
        String img = DEMO.resolve("images/01-circle.png").toString();
        CliRunner plain = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--json",
                "--threads", "1");
        assertEquals(0, plain.exitCode(), plain.err());
        JsonNode none = JSON.readTree(plain.out()).get("reduction");
        assertEquals("none", none.get("method").asText());
        assertEquals("[65,65,65,65]", none.get("tokens_after_block").toString());

        CliRunner tome = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--json",
                "--threads", "1", "--reduce", "tome:r=4");
        assertEquals(0, tome.exitCode(), tome.err());
        JsonNode t = JSON.readTree(tome.out()).get("reduction");
        assertEquals("tome", t.get("method").asText());
        assertEquals("[61,57,53,49]", t.get("tokens_after_block").toString());
        assertTrue(t.get("gflops").asDouble() < t.get("gflops_unreduced").asDouble(), t.toString());
        assertEquals(none.get("gflops").asDouble(), t.get("gflops_unreduced").asDouble());

        CliRunner expedit = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--json",
                "--threads", "1", "--reduce", "expedit:alpha=2,grid=4x4,tau=1");
        assertEquals(0, expedit.exitCode(), expedit.err());
        JsonNode e = JSON.readTree(expedit.out()).get("reduction");
        assertEquals("[65,17,17,17]", e.get("tokens_after_block").toString());
        assertEquals(2, e.get("settings").get("alpha").asInt());
        try (ImageClassifier api = ImageClassifier.load(model, new ModelOptions(1))) {
            ImageClassifier.Reduced r = api.logits(api.preprocess(RgbImage.read(Path.of(img))),
                    dev.hourglass.reduce.Reductions.parse("tome:r=4"));
            List<List<dev.hourglass.tasks.classify.Prediction>> top = api.topK(r.logits(), 1);
            assertEquals(top.get(0).get(0).label(), JSON.readTree(tome.out()).get("results").get(0)
                    .get("predictions").get(0).get("label").asText());
        }
    }

    @Test
    void reduceSpecsThatCannotApplyAreUsageErrors() {
        Path model = DEMO.resolve("shapes-vit");
        String img = DEMO.resolve("images/01-circle.png").toString();
        String[][] cases = {
                {"merge:r=4", "unknown token reduction method 'merge'", "known: expedit, tome, cfvit"},
                {"tome:r=0", "merges no token", "r of 1 or more"},
                {"expedit:alpha=9", "alpha=9 is beyond the encoder's 4 blocks", "never run"},
                {"expedit:alpha=2,grid=8x8", "not smaller than the 8x8 token grid", "nothing would be saved"},
                {"tome:r=4,prop_attn=maybe", "prop_attn=maybe is not true or false", "tome"}};
        for (String[] c : cases) {
            CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--image", img, "--reduce", c[0]);
            assertEquals(2, r.exitCode(), c[0] + ": " + r.err());
            assertTrue(r.err().contains(c[1]) && r.err().contains(c[2]), c[0] + ": " + r.err());
            assertTrue(r.err().contains("--reduce: "), r.err());
        }
    }
}
