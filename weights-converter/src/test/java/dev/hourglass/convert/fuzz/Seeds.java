package dev.hourglass.convert.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The seed corpus: the module's own test fixtures, valid files of every format the fuzz tests mutate. */
final class Seeds {
    private Seeds() {
    }

    /** The test resource {@code name} (e.g. {@code "yaml/pyyaml_subset.yml"}). */
    static Path resource(String name) {
        try {
            var url = Seeds.class.getResource("/" + name);
            if (url == null) {
                throw new IllegalStateException("test fixture " + name + " is missing; see tools/README.md");
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The bytes of the named test resources. */
    static List<byte[]> read(String... names) {
        List<byte[]> out = new ArrayList<>();
        for (String name : names) {
            try {
                out.add(Files.readAllBytes(resource(name)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }
}
