package dev.hourglass.reduce.slim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.backend.Backend;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.tensor.Shape;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/** The Patch Slimming fixtures of {@code tools/make_slim_fixtures.py}: the manifest, its cases, their models. */
final class SlimFixtures {
    static final Path ROOT = Fixtures.path("golden/slim");

    private SlimFixtures() {
    }

    static JsonNode manifest() {
        return Fixtures.json(ROOT.resolve("cases.json"));
    }

    /** The element of {@code array} whose {@code name} is {@code name}. */
    static JsonNode named(JsonNode array, String name) {
        for (JsonNode n : array) {
            if (n.get("name").asText().equals(name)) {
                return n;
            }
        }
        throw new IllegalArgumentException(name);
    }

    static JsonNode caseNamed(String name) {
        return named(manifest().get("cases"), name);
    }

    /** A case's model (timm names, config.json beside it) on {@code backend}. */
    static VisionTransformer load(SafetensorsFile weights, Path dir, String name, Backend backend) throws IOException {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        weights.tensors().forEach(t -> shapes.put(t.name(), t.shape()));
        VitConfig config = TimmVitConfig.infer(shapes, TimmVitConfig.hints(Fixtures.json(dir.resolve("config.json"))),
                name).config();
        return VisionTransformer.create(config, weights, backend);
    }
}
