package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.reduce.slim.TokenMasks;

/**
 * {@code hourglass slim-search} on the demo classifier with the shipped demo images: a valid, nested mask file with its
 * provenance, that {@code classify --reduce slim:masks=} runs; the same file for the same seed; refusals.
 */
class SlimSearchCommandTest {
    private static final String MODEL = "src/main/resources/dev/hourglass/demo/shapes-vit";
    private static final String IMAGES = "src/main/resources/dev/hourglass/demo/images";

    @Test
    void writesMasksThatClassifyRuns(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("masks.json");
        CliRunner r = CliRunner.run("slim-search", "--model", MODEL, "--images", IMAGES, "--tolerance", "0.05",
                "--limit", "6", "--seed", "3", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("training-free"), r.out());
        assertTrue(r.err().contains("block  0 keeps"), r.err());
        TokenMasks m = TokenMasks.read(out);
        assertEquals(65, m.tokens());
        assertEquals(4, m.depth());
        assertEquals(1, m.kept(3).length, "the last block keeps the class token only");
        JsonNode json = new ObjectMapper().readTree(Files.readString(out));
        assertEquals(6, json.get("calibration_images").asInt());
        assertTrue(json.get("training_free").asBoolean());
        assertEquals(0.05, json.get("tolerance").asDouble());
        assertTrue(json.get("expected_gflops").asDouble() < json.get("unpruned_gflops").asDouble());

        Path again = tmp.resolve("again.json");
        assertEquals(0, CliRunner.run("slim-search", "--model", MODEL, "--images", IMAGES, "--tolerance", "0.05",
                "--limit", "6", "--seed", "3", "--threads", "1", "--out", again.toString()).exitCode());
        assertEquals(Files.readString(out), Files.readString(again), "the same seed gives the same file");

        CliRunner c = CliRunner.run("classify", "--model", MODEL, "--image", IMAGES + "/01-circle.png", "--reduce",
                "slim:masks=" + out, "--threads", "1");
        assertEquals(0, c.exitCode(), c.err());

        CliRunner exists = CliRunner.run("slim-search", "--model", MODEL, "--images", IMAGES, "--out", out.toString());
        assertEquals(2, exists.exitCode());
        assertTrue(exists.err().contains("exists; --force replaces it"), exists.err());
        CliRunner badTolerance = CliRunner.run("slim-search", "--model", MODEL, "--images", IMAGES, "--tolerance",
                "-1", "--out", tmp.resolve("x.json").toString());
        assertEquals(2, badTolerance.exitCode());
        assertTrue(badTolerance.err().contains("tolerance must be a finite number >= 0, got -1.0"),
                badTolerance.err());
        CliRunner noImages = CliRunner.run("slim-search", "--model", MODEL, "--images", tmp.resolve("none").toString(),
                "--out", tmp.resolve("y.json").toString());
        assertEquals(1, noImages.exitCode());
        assertTrue(noImages.err().contains("none: not a folder of images"), noImages.err());
    }
}
