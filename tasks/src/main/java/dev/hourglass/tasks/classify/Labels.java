package dev.hourglass.tasks.classify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Class names for a model's outputs: its own {@code label_names} (top level of {@code config.json} or inside
 * {@code pretrained_cfg}) when given, ImageNet-1k's when it has 1000 classes, otherwise {@code "class N"}.
 */
final class Labels {
    private static final String IMAGENET_1K = "dev/hourglass/tasks/imagenet-1k.txt";

    private Labels() {
    }

    static List<String> forModel(JsonNode config, int classes, String source) throws IOException {
        JsonNode names = config == null ? null : config.get("label_names");
        if (names == null && config != null && config.has("pretrained_cfg")) {
            names = config.get("pretrained_cfg").get("label_names");
        }
        if (names != null && !names.isNull()) {
            if (!names.isArray() || names.size() != classes) {
                throw new IOException(source + ": label_names must be an array of " + classes + " names, got "
                        + (names.isArray() ? names.size() + " entries" : names.getNodeType().toString()));
            }
            List<String> out = new ArrayList<>(classes);
            for (JsonNode n : names) {
                out.add(n.asText());
            }
            return List.copyOf(out);
        }
        if (classes == 1000) {
            return ImageNet.NAMES;
        }
        List<String> out = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) {
            out.add("class " + i);
        }
        return List.copyOf(out);
    }

    /** Loaded on first use only. */
    private static final class ImageNet {
        static final List<String> NAMES = load();

        private static List<String> load() {
            try (InputStream in = Labels.class.getClassLoader().getResourceAsStream(IMAGENET_1K)) {
                if (in == null) {
                    throw new IllegalStateException("packaging bug: " + IMAGENET_1K + " is missing from the jar");
                }
                List<String> names = new ArrayList<>(1000);
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null) {
                    names.add(line);
                }
                if (names.size() != 1000) {
                    throw new IllegalStateException("packaging bug: " + IMAGENET_1K + " has " + names.size()
                            + " names, not 1000");
                }
                return List.copyOf(names);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
