package dev.hourglass.tasks.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The fixtures made by {@code tools/make_preprocess_fixtures.py}, under the test resources' {@code preprocess/}. */
final class PreprocessFixtures {

    private static final Path ROOT = locateRoot();
    private static final JsonNode MANIFEST = readManifest();

    private PreprocessFixtures() {
    }

    static Path file(String relative) {
        return ROOT.resolve(relative);
    }

    /** One section of manifest.json: "resize", "pipeline", "formats" or "refused". */
    static JsonNode cases(String section) {
        return MANIFEST.get(section);
    }

    private static Path locateRoot() {
        URL url = PreprocessFixtures.class.getResource("/preprocess/manifest.json");
        if (url == null) {
            throw new IllegalStateException("preprocess/manifest.json is not on the test class path");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readManifest() {
        try {
            return new ObjectMapper().readTree(ROOT.resolve("manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
