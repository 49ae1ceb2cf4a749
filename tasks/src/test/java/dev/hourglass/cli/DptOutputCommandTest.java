package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.convert.DptOutput;
import dev.hourglass.model.DptConfig;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.depth.DepthQuantity;
import dev.hourglass.tensor.Npy;

/**
 * {@code --dpt-output}: isl-org's KITTI and NYU DPT-Hybrid checkpoints as run_monodepth.py runs them (metric depth at
 * their own network sizes), the note a KITTI or NYU file name gets without it, and its refusals.
 */
class DptOutputCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ROOT = Path.of("src/test/resources/golden/dpt");
    private static final Path HYBRID = ROOT.resolve("dpt_hybrid_tiny.pt");
    private static final ConvertOptions TWO_HEADS = new ConvertOptions(null, 2, null);

    @Test
    void depthWithKittiReportsMetricDepthInMetres(@TempDir Path tmp) throws IOException {
        Path npy = tmp.resolve("d.npy");
        CliRunner r = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--dpt-output", "kitti",
                "--input-tensor", ROOT.resolve("hybrid_input.npy").toString(), "--save-depth", npy.toString(),
                "--threads", "1", "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertFalse(r.err().contains("--dpt-output"), r.err());
        JsonNode depth = JSON.readTree(r.out()).get("depth");
        assertEquals("metric depth", depth.get("quantity").asText());
        assertEquals("m", depth.get("unit").asText());
        assertEquals("farther", depth.get("larger_is").asText());
        assertTrue(depth.get("min").asDouble() > 150, depth.toString());
        assertArrayEquals(Npy.read(ROOT.resolve("hybrid_depth_kitti.npy")).toFloatArray(),
                Npy.read(npy).toFloatArray(), 2e-3f, "the reference's metric depth (range ~13 m)");
        assertTrue(JSON.readTree(r.out()).get("model").get("description").asText()
                .contains("output metric depth in metres, larger is farther"), r.out());

        CliRunner text = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--dpt-output", "kitti",
                "--input-tensor", ROOT.resolve("hybrid_input.npy").toString(), "--threads", "1", "--out",
                tmp.resolve("out").toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("depth    metric depth in metres, larger is farther: 159.7 m to 172.7 m"),
                text.out());
        assertTrue(Files.exists(tmp.resolve("out").resolve("hybrid_input.colour.png")));

        // --reduce is checked before the run at the network size of KITTI's preprocessing (1216x352: 76x22 tokens),
        // not at the trained 64x64 (4x4), where a grid of 8x8 clusters does not fit.
        String grid = "expedit:alpha=2,grid=8x8,k=1,tau=1.0";
        CliRunner reduced = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--dpt-output",
                "kitti", "--image", ROOT.resolve("photo.png").toString(), "--reduce", grid, "--threads", "1", "--json");
        assertEquals(0, reduced.exitCode(), reduced.err());
        String tokens = JSON.readTree(reduced.out()).get("reduction").get("tokens_after_block").toString();
        assertTrue(tokens.contains(",65,") || tokens.endsWith(",65]"), "64 clusters and the class token: " + tokens);
        CliRunner refused = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--image",
                ROOT.resolve("photo.png").toString(), "--reduce", grid, "--threads", "1");
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().contains("--reduce: "), refused.err());

        CliRunner relative = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--input-tensor",
                ROOT.resolve("hybrid_input.npy").toString(), "--threads", "1", "--json");
        assertEquals(0, relative.exitCode(), relative.err());
        JsonNode rel = JSON.readTree(relative.out()).get("depth");
        assertEquals("relative inverse depth", rel.get("quantity").asText());
        assertTrue(rel.get("unit").isNull(), rel.toString());
        assertEquals("nearer", rel.get("larger_is").asText());
    }

    @Test
    void theEstimatorUsesRunMonodepthsNetSizeAndSaysItsQuantity() throws IOException {
        try (DepthEstimator kitti = DepthEstimator.load(HYBRID, new ModelOptions(1, null,
                TWO_HEADS.withDptOutput(DptOutput.KITTI)));
             DepthEstimator nyu = DepthEstimator.load(HYBRID, new ModelOptions(1, null,
                     TWO_HEADS.withDptOutput(DptOutput.NYU)));
             DepthEstimator relative = DepthEstimator.load(HYBRID, new ModelOptions(1, null, TWO_HEADS))) {
            assertEquals(DepthQuantity.METRIC, kitti.quantity());
            assertEquals(DepthQuantity.RELATIVE_INVERSE, relative.quantity());
            // run_monodepth's resize of a KITTI frame (1242x375) at net 1216x352: 1216x352 (multiples of 32 near it
            // with the aspect ratio kept), and an NYU frame (640x480) at 640x480.
            assertArrayEquals(new int[] {1216, 352}, kitti.preprocessing().outputSize(1242, 375));
            assertArrayEquals(new int[] {640, 480}, nyu.preprocessing().outputSize(640, 480));
            assertArrayEquals(new int[] {64, 64}, relative.preprocessing().outputSize(64, 64),
                    "relative: the encoder's trained size");
            assertArrayEquals(new int[] {1216, 352}, kitti.preprocessing(
                    dev.hourglass.tasks.image.DptPreprocessing.Source.MONODEPTH).outputSize(1242, 375));
            assertEquals(DepthQuantity.METRIC, kitti.estimate(Npy.read(ROOT.resolve("hybrid_input.npy")), null)
                    .quantity());
        }
    }

    @Test
    void aKittiOrNyuFileNameGetsANoteAndTheOutputIsUnchanged(@TempDir Path tmp) throws IOException {
        Path kitti = Files.copy(HYBRID, tmp.resolve("dpt_hybrid_kitti-cb926ef4.pt"));
        Path nyu = Files.copy(HYBRID, tmp.resolve("dpt_hybrid_nyu-2ce69ec7.pt"));
        try (ConvertedModel c = Converter.open(kitti, TWO_HEADS)) {
            assertNull(c.config().decoder(DptConfig.class).metric(), "no option: the output is not changed");
            assertFalse(c.config().preprocessing().has("net_width"));
            assertEquals(java.util.List.of("output relative inverse depth: dpt_hybrid_kitti-cb926ef4.pt looks like"
                    + " isl-org's KITTI checkpoint, which run_monodepth.py runs as metric depth at 1216x352; give"
                    + " --dpt-output kitti for that"), outputNotes(c));
        }
        try (ConvertedModel c = Converter.open(nyu, TWO_HEADS)) {
            assertTrue(outputNotes(c).get(0).contains("--dpt-output nyu"), c.guesses().toString());
        }
        for (DptOutput given : DptOutput.values()) {
            try (ConvertedModel c = Converter.open(kitti, TWO_HEADS.withDptOutput(given))) {
                assertEquals(java.util.List.of(), outputNotes(c), given.toString());
            }
        }
        try (ConvertedModel c = Converter.open(HYBRID, TWO_HEADS)) {
            assertEquals(java.util.List.of(), outputNotes(c), "another name: no note");
        }

        CliRunner inspect = CliRunner.run("inspect", kitti.toString(), "--heads", "2");
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("give --dpt-output kitti"), inspect.out());
        CliRunner depth = CliRunner.run("depth", "--model", kitti.toString(), "--heads", "2", "--input-tensor",
                ROOT.resolve("hybrid_input.npy").toString(), "--threads", "1");
        assertEquals(0, depth.exitCode(), depth.err());
        String warning = depth.err().lines().filter(l -> l.contains("--dpt-output")).findFirst().orElse("");
        assertEquals("hourglass depth: warning: " + kitti + ": output relative inverse depth: dpt_hybrid_kitti-cb926ef4"
                + ".pt looks like isl-org's KITTI checkpoint, which run_monodepth.py runs as metric depth at 1216x352;"
                + " give --dpt-output kitti for that", warning, depth.err());
        assertTrue(depth.out().contains("relative inverse depth, larger is nearer"), depth.out());
    }

    /** The converter's guesses about the output (the .pt's input size is guessed too: another note). */
    private static java.util.List<String> outputNotes(ConvertedModel c) {
        return c.guesses().stream().filter(g -> g.startsWith(DptOutput.GUESS)).toList();
    }

    @Test
    void badValuesAndModelsThatHaveNoMetricOutputAreRefused(@TempDir Path tmp) throws IOException {
        CliRunner bad = CliRunner.run("depth", "--model", HYBRID.toString(), "--heads", "2", "--dpt-output", "metres",
                "--input-tensor", ROOT.resolve("hybrid_input.npy").toString());
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains("--dpt-output must be one of relative, kitti, nyu, got 'metres'"), bad.err());
        CliRunner convert = CliRunner.run("convert", HYBRID.toString(), tmp.resolve("x.safetensors").toString(),
                "--heads", "2", "--dpt-output", "KITTI");
        assertEquals(2, convert.exitCode(), convert.err());

        Path classifier = Path.of("src/main/resources/dev/hourglass/demo/shapes-vit/model.safetensors");
        IOException notDpt = assertThrows(IOException.class,
                () -> Converter.open(classifier, ConvertOptions.NONE.withDptOutput(DptOutput.RELATIVE)).close());
        assertTrue(notDpt.getMessage().startsWith("model.safetensors: --dpt-output applies to DPT depth models; this"
                + " is a vit model"), notDpt.getMessage());
        CliRunner classify = CliRunner.run("inspect", classifier.toString(), "--dpt-output", "kitti");
        assertEquals(1, classify.exitCode(), classify.err());
        assertEquals(1, classify.err().strip().lines().count(), classify.err());

        IOException plain = assertThrows(IOException.class, () -> Converter.open(ROOT.resolve("dpt_tiny.pt"),
                TWO_HEADS.withDptOutput(DptOutput.NYU)).close());
        assertTrue(plain.getMessage().contains("--dpt-output nyu: run_monodepth.py's NYU setting is DPT-Hybrid's"
                + " (dpt_hybrid_nyu); this DPT is a plain ViT"), plain.getMessage());

        IOException hf = assertThrows(IOException.class, () -> Converter.open(ROOT.resolve("hf_hybrid"),
                ConvertOptions.NONE.withDptOutput(DptOutput.KITTI)).close());
        assertTrue(hf.getMessage().contains("--dpt-output kitti: a Hugging Face DPTForDepthEstimation has no metric"
                + " output"), hf.getMessage());
        try (ConvertedModel c = Converter.open(ROOT.resolve("hf_hybrid"),
                ConvertOptions.NONE.withDptOutput(DptOutput.RELATIVE))) {
            assertNull(c.config().decoder(DptConfig.class).metric());
        }

        Path written = tmp.resolve("relative.safetensors");
        try (ConvertedModel c = Converter.open(HYBRID, TWO_HEADS)) {
            Converter.write(c, written, null, false, Converter.Progress.NONE);
        }
        IOException kept = assertThrows(IOException.class,
                () -> Converter.open(written, ConvertOptions.NONE.withDptOutput(DptOutput.NYU)).close());
        assertEquals("relative.safetensors: --dpt-output nyu: this Hourglass file was converted with relative inverse"
                + " depth and keeps it; convert the original .pt again with the option", kept.getMessage());
    }
}
