package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.Depth;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Npy;

/** {@code hourglass depth}: what it writes, that it equals the API's answer, and how it refuses bad arguments. */
class DepthCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ROOT = Path.of("src/test/resources/golden/dpt");
    private static final Path MODEL = ROOT.resolve("dpt_tiny.pt");
    private static final Path PHOTO = ROOT.resolve("photo.png");

    @Test
    void writesPicturesReportAndDepthThatMatchTheApi(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("out");
        Path npy = tmp.resolve("depth.npy");
        CliRunner r = CliRunner.run("depth", "--model", MODEL.toString(), "--heads", "2", "--image",
                PHOTO.toString(), "--out", out.toString(), "--save-depth", npy.toString(), "--threads", "1",
                "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = JSON.readTree(r.out());
        assertEquals(JSON.readTree(Files.readString(out.resolve("photo.json"))), json);
        assertEquals(157, json.get("input").get("width").asInt());
        assertEquals(96, json.get("input").get("network_width").asInt());
        assertEquals("none", json.get("reduction").get("method").asText());
        BufferedImage sixteen = ImageIO.read(out.resolve("photo.depth.png").toFile());
        assertEquals(16, sixteen.getColorModel().getPixelSize(), "16-bit grey");
        assertEquals(157, sixteen.getWidth());
        BufferedImage beside = ImageIO.read(out.resolve("photo.image.png").toFile());
        assertEquals(2 * 157, beside.getWidth());
        assertEquals(100, ImageIO.read(out.resolve("photo.colour.png").toFile()).getHeight());
        try (DepthEstimator api = DepthEstimator.load(MODEL, new ModelOptions(1, null, new ConvertOptions(null, 2, null)))) {
            Depth d = api.estimate(RgbImage.read(PHOTO));
            assertArrayEquals(d.image(), Npy.read(npy).toFloatArray(), 1e-6f);
        }
    }

    @Test
    void tensorInputWithExpeditReportsTheReducedTokens(@TempDir Path tmp) throws IOException {
        Path npy = tmp.resolve("d.npy");
        CliRunner r = CliRunner.run("depth", "--model", MODEL.toString(), "--heads", "2", "--input-tensor",
                ROOT.resolve("input.npy").toString(), "--reduce", "expedit:alpha=2,grid=2x3,k=1", "--save-depth",
                npy.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = JSON.readTree(r.out());
        assertEquals("[25,7,7,7]", json.get("reduction").get("tokens_after_block").toString());
        assertTrue(json.get("gflops").asDouble() < json.get("unreduced_gflops").asDouble(), json.toString());
        assertArrayEquals(new long[] {64, 96}, Npy.read(npy).shape().dims());
    }

    @Test
    void badArgumentsExitWithTwoAndWriteNothing(@TempDir Path tmp) {
        Path out = tmp.resolve("out");
        CliRunner r = CliRunner.run("depth", "--model", MODEL.toString(), "--heads", "2", "--image",
                PHOTO.toString(), "--preprocess", "opencv", "--out", out.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--preprocess must be monodepth or hugging-face, got 'opencv'"), r.err());
        assertFalse(Files.exists(out));
        CliRunner wrongGrid = CliRunner.run("depth", "--model", MODEL.toString(), "--heads", "2", "--image",
                PHOTO.toString(), "--reduce", "expedit:alpha=2,grid=9x9");
        assertEquals(2, wrongGrid.exitCode(), wrongGrid.err());
        assertTrue(wrongGrid.err().contains("--reduce: "), wrongGrid.err());
    }

    @Test
    void aClassifierIsRefusedAsBadData() {
        CliRunner r = CliRunner.run("depth", "--model",
                "src/main/resources/dev/hourglass/demo/shapes-vit/model.safetensors", "--input-tensor", ROOT.resolve("input.npy").toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().contains("depth estimation runs DPT models"), r.err());
    }
}
