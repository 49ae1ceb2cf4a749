package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tasks.classify.CfVitFixture;
import dev.hourglass.tensor.Npy;

/** {@code classify --reduce cfvit:threshold=T} on CF-ViT's own checkpoint, and refused on any other model. */
class CfVitCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @Test
    void classifyReportsEachImagesStageAndTheGflops(@TempDir Path tmp) throws IOException {
        JsonNode e = CfVitFixture.DEIT.expected();
        Path logits = tmp.resolve("logits.npy");
        CliRunner r = CliRunner.run("classify", "--model", CfVitFixture.DEIT.checkpoint().toString(), "--heads", "4",
                "--input-tensor", CfVitFixture.DEIT.input().toString(), "--reduce",
                "cfvit:threshold=" + e.get("threshold"), "--json", "--threads", "1", "--save-logits",
                logits.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode red = JSON.readTree(r.out()).get("reduction");
        assertEquals("cfvit", red.get("method").asText());
        assertEquals(1 / 3.0, red.get("early_exit_share").asDouble(), 1e-9);
        for (int b = 0; b < 3; b++) {
            assertEquals(e.get("stages").get(b).asText(), red.get("images").get(b).get("stage").asText());
            assertTrue(red.get("images").get(b).get("gflops").asDouble() > 0);
        }
        assertArrayEquals(CfVitFixture.flat(e.get("final_logits")), Npy.read(logits).toFloatArray(), 1e-4f);
        CliRunner notCf = CliRunner.run("classify", "--model",
                "src/main/resources/dev/hourglass/demo/shapes-vit", "--image",
                "src/main/resources/dev/hourglass/demo/images/01-circle.png", "--reduce", "cfvit:threshold=0.5");
        assertEquals(2, notCf.exitCode(), notCf.err());
        assertTrue(notCf.err().contains("is not a CF-ViT checkpoint"), notCf.err());
    }

    @Test
    void outDrawsTheReSplitRegionsOfAnImage(@TempDir Path tmp) throws IOException {
        Path image = tmp.resolve("photo.png");
        java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(150, 120,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 120; y++) {
            for (int x = 0; x < 150; x++) {
                rgb.setRGB(x, y, (x * 7 % 256) << 16 | (y * 5 % 256) << 8 | (x * y % 256));
            }
        }
        javax.imageio.ImageIO.write(rgb, "png", image.toFile());
        CliRunner r = CliRunner.run("classify", "--model", CfVitFixture.DEIT.checkpoint().toString(), "--heads", "4", "--image",
                image.toString(), "--reduce", "cfvit:threshold=1", "--out", tmp.resolve("pictures").toString(),
                "--threads", "1");
        assertEquals(0, r.exitCode(), r.err());
        java.awt.image.BufferedImage picture = javax.imageio.ImageIO.read(tmp.resolve("pictures/photo.cfvit.png")
                .toFile());
        assertEquals(4 * 112, picture.getWidth(), "the 112-pixel input the model saw, drawn 4 times larger");
        CliRunner notCf = CliRunner.run("classify", "--model", "src/main/resources/dev/hourglass/demo/shapes-vit",
                "--image", image.toString(), "--out", tmp.toString());
        assertEquals(2, notCf.exitCode());
        assertTrue(notCf.err().contains("needs a CF-ViT checkpoint"), notCf.err());
    }
}
