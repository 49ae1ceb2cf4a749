package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tasks.segment.SegmentationSheet;

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
            assertEquals(5, files.count(), "the report, the sheet, the cfvit, segmentation and depth folders; no"
                    + " temporary files");
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
        // One picture per image: image, ground truth, both predictions, clusters, 512 pixels each, and a legend.
        List<String> classes = new ArrayList<>();
        expected.get("classes").forEach(c -> classes.add(c.asText()));
        int[] palette = SegmentationPictures.distinctPalette(classes.size());
        BufferedImage blank = new BufferedImage(512, 512, BufferedImage.TYPE_INT_RGB);
        SegmentationSheet layout = new SegmentationSheet("heading", Collections.nCopies(5,
                new SegmentationSheet.Panel("title", blank)), SegmentationSheet.legend(classes, palette,
                IntStream.range(0, classes.size()).toArray()));
        try (var files = Files.list(out.resolve("segmentation"))) {
            assertEquals(seg.get("images").size() + 1, files.count(), "a picture per image and the report");
        }
        for (JsonNode item : seg.get("images")) {
            String stem = item.get("file").asText().replaceFirst("^.*/", "").replaceFirst("\\.png$", "");
            Path file = out.resolve("segmentation").resolve(stem + ".sheet.png");
            assertEquals(file.toString(), item.get("picture").asText());
            BufferedImage picture = ImageIO.read(file.toFile());
            assertEquals(layout.width(), picture.getWidth(), stem);
            assertEquals(layout.height(), picture.getHeight(), stem + ": every class of the demo in one legend row");
            BufferedImage truth = ImageIO.read(DemoCommandTest.class.getClassLoader()
                    .getResource("dev/hourglass/demo/segmentation/labels/" + stem + ".png"));
            BufferedImage scene = ImageIO.read(DemoCommandTest.class.getClassLoader()
                    .getResource("dev/hourglass/demo/segmentation/images/" + stem + ".png"));
            Rectangle image = layout.panelBounds(0);
            Rectangle gt = layout.panelBounds(1);
            for (int y = 0; y < 512; y++) {
                for (int x = 0; x < 512; x++) {
                    int t = truth.getRaster().getSample(x, y, 0);
                    if (picture.getRGB(gt.x + x, gt.y + y) != (0xFF000000 | palette[t])
                            || picture.getRGB(image.x + x, image.y + y) != scene.getRGB(x, y)) {
                        throw new AssertionError(stem + ": the ground-truth and image panels at " + x + "," + y);
                    }
                }
            }
            for (int i = 0; i < classes.size(); i++) {
                Rectangle s = layout.swatchBounds(i);
                assertEquals(palette[i], picture.getRGB(s.x + s.width / 2, s.y + s.height / 2) & 0xFFFFFF,
                        stem + ": the swatch of " + classes.get(i));
            }
        }

        // Depth: every photo's network input is PyTorch's to the bit and its depth within 1e-4 of the range.
        assertTrue(r.out().contains("monocular depth with DPT, without and with Expedit"), r.out());
        JsonNode depth = new ObjectMapper().readTree(out.resolve("depth/depth.json").toFile());
        JsonNode depthExpected;
        try (var in = DemoCommandTest.class.getClassLoader()
                .getResourceAsStream("dev/hourglass/demo/depth/expected.json")) {
            depthExpected = new ObjectMapper().readTree(in);
        }
        assertEquals(depthExpected.get("photos").size(), depth.get("photos").size());
        for (JsonNode photo : depth.get("photos")) {
            String file = photo.get("file").asText();
            assertTrue(photo.get("input_identical_to_pytorch").asBoolean(), file);
            assertTrue(photo.get("max_abs_difference_vs_pytorch").asDouble()
                    <= 1e-4 * photo.get("pytorch_range").asDouble(), photo.toString());
            assertTrue(photo.get("expedit_gflops").asDouble() < photo.get("gflops").asDouble(), photo.toString());
            BufferedImage sheetPicture = ImageIO.read(out.resolve("depth")
                    .resolve(file.replaceFirst("\\.png$", ".sheet.png")).toFile());
            BufferedImage photoPicture = ImageIO.read(DemoCommandTest.class.getClassLoader()
                    .getResource("dev/hourglass/demo/depth/" + file));
            assertTrue(sheetPicture.getWidth() >= 3 * photoPicture.getWidth(), file + ": photo and two depth maps");
        }
    }
}
