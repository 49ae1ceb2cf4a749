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
            assertEquals(2, files.count(), "only the report and the sheet, no temporary files");
        }
    }
}
