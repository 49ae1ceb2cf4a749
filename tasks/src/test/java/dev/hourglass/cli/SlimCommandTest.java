package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tensor.Npy;

/**
 * {@code classify --reduce slim:masks=FILE} on the shipped demo classifier (64x64, patch 8: 1 + 64 tokens, 4 blocks):
 * masks that keep everything give the unpruned logits; a pyramid is reported per block with fewer GFLOPs; a bad mask
 * file is bad data (exit 1, one line naming it), a spec without the file a bad argument (exit 2).
 */
class SlimCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "src/main/resources/dev/hourglass/demo/shapes-vit";
    private static final String IMAGE = "src/main/resources/dev/hourglass/demo/images/03-triangle.png";

    private static Path masks(Path dir, String name, int... keptPerBlock) throws IOException {
        StringBuilder keep = new StringBuilder();
        for (int l = 0; l < keptPerBlock.length; l++) {
            // The first patches of the row-major grid, plus the class token.
            keep.append(l == 0 ? "" : ",").append('[').append(IntStream.range(0, keptPerBlock[l])
                    .mapToObj(Integer::toString).collect(Collectors.joining(","))).append(']');
        }
        Path f = dir.resolve(name);
        Files.writeString(f, "{\"format\": \"hourglass-token-masks\", \"version\": 1, \"tokens\": 65,"
                + " \"prefix_tokens\": 1, \"keep\": [" + keep + "]}");
        return f;
    }

    @Test
    void prunedClassificationReportsTokensAndGflops(@TempDir Path tmp) throws IOException {
        Path plain = tmp.resolve("plain.npy");
        assertEquals(0, CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--threads", "1",
                "--save-logits", plain.toString()).exitCode());
        Path full = tmp.resolve("full.npy");
        CliRunner r = CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--threads", "1", "--reduce",
                "slim:masks=" + masks(tmp, "full.json", 65, 65, 65, 65), "--save-logits", full.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(Npy.read(plain).toFloatArray(), Npy.read(full).toFloatArray(), 0f,
                "masks that keep every token give the unpruned logits");

        CliRunner p = CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--threads", "1", "--json",
                "--reduce", "slim:masks=" + masks(tmp, "pyramid.json", 65, 49, 33, 1));
        assertEquals(0, p.exitCode(), p.err());
        JsonNode red = JSON.readTree(p.out()).get("reduction");
        assertEquals("slim", red.get("method").asText());
        assertEquals("[65,49,33,1]", red.get("tokens_after_block").toString());
        assertTrue(red.get("gflops").asDouble() < 0.75 * red.get("gflops_unreduced").asDouble(), red.toString());
    }

    @Test
    void aBadMaskFileIsBadDataAndAMissingFileArgumentABadArgument(@TempDir Path tmp) throws IOException {
        Path notNested = masks(tmp, "bad.json", 65, 10, 20, 1);
        CliRunner bad = CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--reduce",
                "slim:masks=" + notNested);
        assertEquals(1, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains(notNested + ": block 2: id 10 was dropped by block 1"), bad.err());
        Path wrongDepth = masks(tmp, "deep.json", 65, 65);
        CliRunner deep = CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--reduce",
                "slim:masks=" + wrongDepth);
        assertEquals(2, deep.exitCode(), deep.err());
        assertTrue(deep.err().contains("token masks have 2 blocks, the model has 4"), deep.err());
        CliRunner none = CliRunner.run("classify", "--model", MODEL, "--image", IMAGE, "--reduce", "slim");
        assertEquals(2, none.exitCode(), none.err());
        assertTrue(none.err().contains("slim: masks=FILE is required"), none.err());
    }
}
