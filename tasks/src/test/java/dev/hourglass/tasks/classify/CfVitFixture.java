package dev.hourglass.tasks.classify;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The CF-ViT checkpoint in CF-ViT's own layout and PyTorch's answers for it ({@code tools/make_cfvit_fixtures.py}). */
public final class CfVitFixture {
    public static final Path DIR = Path.of("src/test/resources/golden/cfvit");
    public static final Path CHECKPOINT = DIR.resolve("cf_d6_7x7.pth");
    public static final Path INPUT = DIR.resolve("cf_d6_7x7.input.npy");

    private CfVitFixture() {
    }

    /** {@code cf_d6_7x7.expected.json}: threshold, stages, coarse and final logits. */
    public static JsonNode expected() throws IOException {
        return new ObjectMapper().readTree(Files.readString(DIR.resolve("cf_d6_7x7.expected.json")));
    }

    /** A JSON array of rows as one float array, row after row. */
    public static float[] flat(JsonNode rows) {
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
}
