package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

class DemoCommandTest {

    @Test
    void demoClassifiesEveryShippedImageAndWritesItsOutputs(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("demo");
        CliRunner r = CliRunner.run("demo", "--out", out.toString(), "--threads", "2", "--repeat", "2");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("backend: cpu (CPU, 2 threads, ")).count(),
                "one backend summary for both models:\n" + r.err());
        assertTrue(r.out().contains("8 of 8 correct"), r.out());
        assertTrue(r.out().contains("logits agree with PyTorch's"), r.out());

        JsonNode report = new ObjectMapper().readTree(out.resolve("classification.json").toFile());
        assertEquals(8, report.get("images").asInt());
        assertEquals(8, report.get("correct").asInt());
        assertTrue(report.get("max_abs_logit_difference_vs_pytorch").asDouble() <= 1e-4);
        for (JsonNode item : report.get("results")) {
            assertEquals(item.get("truth").asText(), item.get("predictions").get(0).get("label").asText());
            assertEquals(3, item.get("predictions").size());
        }
        BufferedImage sheet = ImageIO.read(out.resolve("contact-sheet.png").toFile());
        assertEquals(4 * 160, sheet.getWidth());
        assertEquals(2 * 200, sheet.getHeight());
        try (var files = Files.list(out)) {
            assertEquals(4, files.count(), "the report, the sheet, the cfvit and segmentation folders; no temporary"
                    + " files");
        }

        // CF-ViT: the shipped model's stages and logits are PyTorch's, every image gets its picture.
        assertTrue(r.out().contains("CF-ViT, coarse to fine (cfvit:threshold=0.5)"), r.out());
        JsonNode cf = new ObjectMapper().readTree(out.resolve("cfvit/cfvit.json").toFile());
        assertEquals(8, cf.get("images").size());
        assertTrue(cf.get("max_abs_logit_difference_vs_pytorch").asDouble() <= 1e-4, cf.toString());
        assertTrue(cf.get("average_gflops").asDouble() < cf.get("all_fine_gflops").asDouble(), cf.toString());
        for (JsonNode item : cf.get("images")) {
            assertEquals(4 * 64, ImageIO.read(Path.of(item.get("picture").asText()).toFile()).getWidth());
        }

        // Segmentation: every image scored, PyTorch's prediction reproduced up to its near-ties, pictures written.
        assertTrue(r.out().contains("semantic segmentation, without and with Expedit"), r.out());
        assertTrue(!r.out().contains("MISMATCH"), r.out());
        JsonNode seg = new ObjectMapper().readTree(out.resolve("segmentation/segmentation.json").toFile());
        JsonNode expected;
        try (var in = DemoCommandTest.class.getClassLoader()
                .getResourceAsStream("dev/hourglass/demo/segmentation/expected.json")) {
            expected = new ObjectMapper().readTree(in);
        }
        assertEquals(expected.get("overall").get("miou").asDouble(), seg.get("miou").get("plain").asDouble(), 0.005,
                "mIoU of the plain model against PyTorch's on the same images");
        assertEquals(expected.get("images").size(), seg.get("images").size());
        for (JsonNode item : seg.get("images")) {
            String stem = item.get("file").asText().replaceFirst("^.*/", "").replaceFirst("\\.png$", "");
            for (String suffix : new String[] {".overlay.png", ".expedit.overlay.png", ".clusters.png"}) {
                BufferedImage picture = ImageIO.read(out.resolve("segmentation").resolve(stem + suffix).toFile());
                assertEquals(512, picture.getWidth(), stem + suffix);
            }
        }
    }
}
