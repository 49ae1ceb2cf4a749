package dev.hourglass.tasks.classify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;


/**
 * Class names for a model's outputs: its own (timm's {@code label_names}, Hugging Face's {@code id2label}) when given,
 * ImageNet-1k's when it has 1000 classes, otherwise {@code "class N"}.
 */
final class Labels {
    private static final String IMAGENET_1K = "dev/hourglass/tasks/imagenet-1k.txt";

    private Labels() {
    }

    /**
     * The model's own names if it has them (one per class), else ImageNet-1k's for 1000 classes, else
     * {@code "class N"}.
     */
    static List<String> of(List<String> names, int classes, String source) throws IOException {
        if (!names.isEmpty()) {
            if (names.size() != classes) {
                throw new IOException(source + ": label_names must be an array of " + classes + " names, got "
                        + names.size() + " entries");
            }
            return List.copyOf(names);
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
