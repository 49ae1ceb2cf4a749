package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tensor.Npy;

/** {@code classify --reduce cfvit:threshold=T} on CF-ViT's own checkpoint, and refused on any other model. */
class CfVitCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = Path.of("src/test/resources/golden/cfvit");
    private static final Path CHECKPOINT = DIR.resolve("cf_d6_7x7.pth");

    private static JsonNode expected() throws IOException {
        return JSON.readTree(Files.readString(DIR.resolve("cf_d6_7x7.expected.json")));
    }

    private static float[] flat(JsonNode rows) {
        int n = 0;
        for (JsonNode r : rows) {
            n += r.size();
        }
        float[] out = new float[n];
        int i = 0;
        for (JsonNode r : rows) {
            for (JsonNode v : r) {
                out[i++] = (float) v.asDouble();
            }
        }
        return out;
    }

    @Test
    void classifyReportsEachImagesStageAndTheGflops(@TempDir Path tmp) throws IOException {
        JsonNode e = expected();
        Path logits = tmp.resolve("logits.npy");
        CliRunner r = CliRunner.run("classify", "--model", CHECKPOINT.toString(), "--heads", "4",
                "--input-tensor", DIR.resolve("cf_d6_7x7.input.npy").toString(), "--reduce",
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
        assertArrayEquals(flat(e.get("final_logits")), Npy.read(logits).toFloatArray(), 1e-4f);
        CliRunner notCf = CliRunner.run("classify", "--model",
                "src/main/resources/dev/hourglass/demo/shapes-vit", "--image",
                "src/main/resources/dev/hourglass/demo/images/01-circle.png", "--reduce", "cfvit:threshold=0.5");
        assertEquals(2, notCf.exitCode(), notCf.err());
        assertTrue(notCf.err().contains("is not a CF-ViT checkpoint"), notCf.err());
    }
}
