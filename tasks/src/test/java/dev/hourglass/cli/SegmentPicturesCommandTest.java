package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tasks.segment.SemanticSegmenter;

/**
 * What {@code segment} draws (the demo's palette, Expedit's clusters outlined) and says in its help, and an image too
 * large for the segmenter refused from its header once the model has loaded, before any image runs.
 */
class SegmentPicturesCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path MODEL = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");
    private static final String EXPEDITE = "alpha=2,grid=4x4,iters=3,window=3,k=4";

    private static Path image(Path file, int width, int height) throws IOException {
        byte[] px = new byte[width * height * 3];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) ((i / 3 % width) * 3 + (i / (3 * width)) * 2 + i % 3 * 40);
        }
        ImageIO.write(RgbImage.of(width, height, px).toBufferedImage(), "png", file.toFile());
        return file;
    }

    /** A PNG of nothing but its header: signature, IHDR for {@code width x height} 8-bit RGB, IEND. */
    private static Path headerOnlyPng(Path file, int width, int height) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream data = new DataOutputStream(ihdr);
        data.writeInt(width);
        data.writeInt(height);
        data.write(new byte[] {8, 2, 0, 0, 0});
        chunk(out, "IHDR", ihdr.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return Files.write(file, bytes.toByteArray());
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] name = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(data);
        out.writeInt(data.length);
        out.write(name);
        out.write(data);
        out.writeInt((int) crc.getValue());
    }

    private static int[] rgb(BufferedImage picture) {
        return picture.getRGB(0, 0, picture.getWidth(), picture.getHeight(), null, 0, picture.getWidth());
    }

    private static int[] rgb(Path file) throws IOException {
        return rgb(ImageIO.read(file.toFile()));
    }

    @Test
    void picturesUseTheDemosPaletteAndOutlineExpeditsClusters(@TempDir Path tmp) throws IOException {
        Path img = image(tmp.resolve("scene.png"), 70, 52);
        Path out = tmp.resolve("out");
        CliRunner r = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                out.toString(), "--expedite", EXPEDITE, "--threads", "1");
        assertEquals(0, r.exitCode(), r.err());
        try (SemanticSegmenter api = SemanticSegmenter.load(MODEL, new ModelOptions(1))) {
            RgbImage rgb = RgbImage.read(img);
            Segmentation s = api.segment(rgb, ExpeditSettings.parse(EXPEDITE), true);
            int[] palette = SegmentationPictures.distinctPalette(api.classNames().size());
            assertArrayEquals(rgb(SegmentationPictures.colours(s, palette)), rgb(out.resolve("scene.colour.png")),
                    "tab10 colours, as the demo's sheets");
            assertArrayEquals(rgb(SegmentationPictures.overlay(rgb, s, palette)), rgb(out.resolve("scene.overlay.png")));
            assertArrayEquals(rgb(SegmentationPictures.clusterOutlines(rgb, s)), rgb(out.resolve("scene.clusters.png")),
                    "outlines over the dimmed image, not a mosaic");
        }

        // --palette still overrides the default.
        Path palette = Files.writeString(tmp.resolve("palette.txt"), "10 20 30\n40 50 60\n70 80 90\n1 2 3\n4 5 6\n");
        Path own = tmp.resolve("own");
        CliRunner p = CliRunner.run("segment", "--model", MODEL.toString(), "--image", img.toString(), "--out",
                own.toString(), "--palette", palette.toString(), "--threads", "1");
        assertEquals(0, p.exitCode(), p.err());
        int[] classes = ImageIO.read(own.resolve("scene.classes.png").toFile()).getRaster()
                .getSamples(0, 0, 70, 52, 0, new int[70 * 52]);
        int[] given = {0x0A141E, 0x28323C, 0x46505A, 0x010203, 0x040506};
        int[] colours = rgb(own.resolve("scene.colour.png"));
        for (int i = 0; i < classes.length; i++) {
            assertEquals(given[classes[i]], colours[i] & 0xFFFFFF, "pixel " + i);
        }
    }

    @Test
    void theHelpSaysWhatIsWritten() {
        String segment = CliRunner.run("segment", "--help").out().replaceAll("\\s+", " ");
        assertTrue(segment.contains("<name>.clusters.png (Expedit's clusters outlined over the dimmed image"), segment);
        assertTrue(segment.contains("matplotlib's tab10 then tab20 colours for up to 20 classes"), segment);
        String demo = CliRunner.run("demo", "--help").out().replaceAll("\\s+", " ");
        assertTrue(demo.contains("one NAME.sheet.png per scene (the scene, its ground truth, the predictions without"
                + " and with Expedit, Expedit's clusters outlined, a legend of the classes' colours) and"
                + " segmentation.json"), demo);
        assertFalse(demo.contains("overlays"), demo);
    }

    @Test
    void anImageTooLargeToMergeIsRefusedFromItsHeaderBeforeAnyImageRuns(@TempDir Path tmp) throws IOException {
        // 30000 x 30000 in the header, no pixel data: refused for its size, never decoded (decoding would fail).
        Path big = headerOnlyPng(tmp.resolve("big.png"), 30000, 30000);
        Path out = tmp.resolve("out");
        CliRunner one = CliRunner.run("segment", "--model", MODEL.toString(), "--image", big.toString(),
                "--max-pixels", "1000000000", "--out", out.toString(), "--threads", "1");
        assertEquals(1, one.exitCode(), one.err());
        List<String> errors = one.err().lines().filter(l -> !l.startsWith("backend: ")).toList();
        assertEquals(1, errors.size(), one.err());
        assertTrue(errors.get(0).startsWith("hourglass segment: error: " + big + ": a 30000x30000 image needs ")
                && errors.get(0).contains("a Java array holds at most 2^31 values"), one.err());
        assertFalse(Files.exists(out), "nothing written");

        Path folder = Files.createDirectory(tmp.resolve("in"));
        Files.copy(big, folder.resolve("a-big.png"));
        image(folder.resolve("b-small.png"), 40, 36);
        CliRunner many = CliRunner.run("segment", "--model", MODEL.toString(), "--image", folder.toString(),
                "--max-pixels", "1000000000", "--out", out.toString(), "--threads", "1", "--json");
        assertEquals(1, many.exitCode(), many.err());
        List<JsonNode> lines = new ArrayList<>();
        for (String line : many.out().lines().toList()) {
            lines.add(JSON.readTree(line));
        }
        assertEquals(2, lines.size(), many.out());
        assertTrue(lines.get(0).get("error").asText().startsWith(folder.resolve("a-big.png")
                + ": a 30000x30000 image needs "), lines.get(0).toString());
        assertFalse(lines.get(1).has("error"), lines.get(1).toString());
        assertTrue(Files.exists(out.resolve("b-small.json")));
        assertFalse(Files.exists(out.resolve("a-big.json")));
        assertTrue(many.err().contains("1 of 2 images failed (each named above); the other 1 was processed"),
                many.err());
    }
}
