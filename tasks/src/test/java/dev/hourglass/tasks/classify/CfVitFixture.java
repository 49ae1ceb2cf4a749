package dev.hourglass.tasks.classify;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A CF-ViT checkpoint in CF-ViT's own layout and PyTorch's answers for it ({@code tools/make_cfvit_fixtures.py}):
 * {@link #DEIT} ({@code cf_d6_7x7}, CF-DeiT) or {@link #LVVIT} ({@code lv_d6_7x7}, CF-LV-ViT).
 *
 * @param name       the case, the files' common prefix
 * @param checkpoint the {@code .pth}
 * @param input      the normalised input batch
 */
public record CfVitFixture(String name, Path checkpoint, Path input) {
    public static final Path DIR = Path.of("src/test/resources/golden/cfvit");
    public static final CfVitFixture DEIT = of("cf_d6_7x7");
    public static final CfVitFixture LVVIT = of("lv_d6_7x7");

    private static CfVitFixture of(String name) {
        return new CfVitFixture(name, DIR.resolve(name + ".pth"), DIR.resolve(name + ".input.npy"));
    }

    /** {@code NAME.expected.json}: threshold, stages, coarse and final logits. */
    public JsonNode expected() throws IOException {
        return new ObjectMapper().readTree(Files.readString(DIR.resolve(name + ".expected.json")));
    }

    @Override
    public String toString() {
        return name;
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
