package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Npy;

class SegmentCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path MODEL = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");

    private static Path image(Path dir) throws IOException {
        byte[] px = new byte[70 * 52 * 3];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) ((i / 3 % 70) * 3 + (i / 210) * 2 + i % 3 * 40);
        }
        Path file = dir.resolve("scene.png");
        ImageIO.write(RgbImage.of(70, 52, px).toBufferedImage(), "png", file.toFile());
        return file;
    }

    @Test
    void writesEveryPictureAndAReportThatMatchesTheApi(@TempDir Path tmp) throws IOException {
        Path img = image(tmp);
        Path out = tmp.resolve("out");
        Path logits = tmp.resolve("logits.npy");
        CliRunner r = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                out.toString(), "--expedite", "alpha=2,grid=4x4,iters=3,window=3,k=4", "--threads", "1", "--repeat",
                "2", "--json", "--save-logits", logits.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = JSON.readTree(r.out());
        assertEquals("alpha=2,grid=4x4,iters=3,window=3,tau=0.02,k=4,tau_r=0.02", json.get("expedite").asText());
        assertEquals(2, json.get("timing_ms").get("repeat").asInt());
        assertEquals(JSON.readTree(Files.readString(out.resolve("scene.json"))), json);
        for (String suffix : new String[] {"classes", "colour", "overlay", "clusters"}) {
            BufferedImage picture = ImageIO.read(out.resolve("scene." + suffix + ".png").toFile());
            assertNotNull(picture, suffix);
            assertEquals(70, picture.getWidth(), suffix);
            assertEquals(52, picture.getHeight(), suffix);
        }
        ExpeditSettings settings = ExpeditSettings.parse("alpha=2,grid=4x4,iters=3,window=3,k=4");
        try (SemanticSegmenter api = SemanticSegmenter.load(MODEL, new ModelOptions(1))) {
            RgbImage rgb = RgbImage.read(img);
            Segmentation s = api.segment(rgb, settings, true);
            BufferedImage classes = ImageIO.read(out.resolve("scene.classes.png").toFile());
            int[] written = classes.getRaster().getSamples(0, 0, 70, 52, 0, new int[70 * 52]);
            assertArrayEquals(s.labels(), written, "class-index PNG");
            double total = 0;
            for (JsonNode c : json.get("classes")) {
                assertEquals(s.classFractions()[c.get("index").asInt()], c.get("fraction").asDouble(), 1e-6);
                total += c.get("fraction").asDouble();
            }
            assertEquals(1.0, total, 1e-5);
            // Not bit for bit: the Vector API's exp differs in the last bit before and after C2 compiles it.
            assertArrayEquals(api.logits(api.normalize(rgb), settings).toFloatArray(),
                    Npy.read(logits).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void withoutExpediteThereIsNoClusterPicture(@TempDir Path tmp) throws IOException {
        Path img = image(tmp);
        Path out = tmp.resolve("o");
        CliRunner r = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                out.toString(), "--threads", "1", "--backend", "CPU");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().startsWith("backend: cpu (CPU, 1 thread, ") && r.err().lines().count() == 1, r.err());
        assertTrue(r.out().contains("reduce   off"), r.out());
        assertTrue(Files.exists(out.resolve("scene.overlay.png")));
        assertFalse(Files.exists(out.resolve("scene.clusters.png")));
        assertNull(JSON.readTree(Files.readString(out.resolve("scene.json"))).get("expedite").textValue());
    }

    @Test
    void badSettingsAreOneLineErrors(@TempDir Path tmp) throws IOException {
        Path img = image(tmp);
        CliRunner unknown = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--expedite", "alpha=2,gird=4");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("unknown key 'gird'"), unknown.err());
        CliRunner even = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--expedite", "window=4");
        assertEquals(2, even.exitCode());
        assertTrue(even.err().contains("odd"), even.err());
        CliRunner deep = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--expedite", "alpha=9,grid=4");
        assertEquals(2, deep.exitCode());
        assertTrue(deep.err().contains("alpha=9 is beyond the encoder's 4 blocks"), deep.err());
        Path palette = tmp.resolve("palette.txt");
        Files.writeString(palette, "1 2 3\n4 5 300\n");
        CliRunner badPalette = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(),
                "--out", tmp.toString(), "--palette", palette.toString());
        assertEquals(1, badPalette.exitCode());
        assertTrue(badPalette.err().contains("line 2: '300' is not a value in 0..255"), badPalette.err());
    }

    @Test
    void anUnavailableTornadoBackendSaysWhereItComesFrom(@TempDir Path tmp) throws IOException {
        CliRunner r = CliRunner.run("segment", "--model", MODEL.toString(), "--image", image(tmp).toString(),
                "--out", tmp.toString(), "--backend", "tornado");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("hourglass segment: error: no backend named 'tornado' here (available: cpu)")
                && r.err().contains("TORNADOVM_HOME") && r.err().lines().count() == 1, r.err());
    }

    @Test
    void aClassifierIsNotASegmenter(@TempDir Path tmp) throws IOException {
        Path model = dev.hourglass.tasks.classify.TinyModels.write(tmp.resolve("m"), 3);
        CliRunner r = CliRunner.run("segment", "--model", model.toString(), "--image", image(tmp).toString(),
                "--out", tmp.toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("segmentation runs Segmenter models"), r.err());
    }

    @Test
    void reduceExpeditGivesExactlyWhatExpediteGives(@TempDir Path tmp) throws IOException {
        Path img = image(tmp);
        Path a = tmp.resolve("a.npy");
        Path b = tmp.resolve("b.npy");
        CliRunner alias = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.resolve("a").toString(), "--threads", "1", "--expedite", "alpha=2,grid=4", "--save-logits",
                a.toString());
        assertEquals(0, alias.exitCode(), alias.err());
        CliRunner reduce = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.resolve("b").toString(), "--threads", "1", "--reduce", "expedit:alpha=2,grid=4", "--save-logits",
                b.toString(), "--json");
        assertEquals(0, reduce.exitCode(), reduce.err());
        assertArrayEquals(Npy.read(a).toFloatArray(), Npy.read(b).toFloatArray());
        JsonNode json = JSON.readTree(reduce.out());
        assertEquals("expedit", json.get("reduction").get("method").asText());
        JsonNode tokens = json.get("reduction").get("tokens_after_block");
        assertEquals(4, tokens.size());
        assertEquals(1 + 16, tokens.get(1).asInt(), "clustered to 4x4 after block 2");
        CliRunner both = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--reduce", "tome:r=2", "--expedite", "alpha=2");
        assertEquals(2, both.exitCode());
        assertTrue(both.err().contains("not both"), both.err());
    }

    @Test
    void tomeMergesInTheEncoderAndUnmergesBeforeTheDecoder(@TempDir Path tmp) throws IOException {
        Path img = image(tmp);
        CliRunner r = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--threads", "1", "--reduce", "tome:r=3", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode red = JSON.readTree(r.out()).get("reduction");
        assertEquals("tome:r=3,inflect=0,prop_attn=true", red.get("spec").asText());
        JsonNode tokens = red.get("tokens_after_block");
        int previous = Integer.MAX_VALUE;
        for (JsonNode t : tokens) {
            assertTrue(t.asInt() < previous, "tokens shrink every block: " + tokens);
            previous = t.asInt();
        }
        CliRunner unknown = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                tmp.toString(), "--reduce", "tome:rate=3");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("known: r, inflect, prop_attn"), unknown.err());
    }
}
