package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.Converter;

/**
 * {@code --family} with a name the converter does not know is a bad argument for every command that reads a
 * checkpoint: one line listing the valid names, exit code 2, before any model is read; and the converter knows every
 * name the command line lists.
 */
class FamilyOptionTest {
    private static final Path DEMO = Path.of("src/main/resources/dev/hourglass/demo");
    private static final String VIT = DEMO.resolve("shapes-vit").toString();
    private static final String IMAGE = DEMO.resolve("images/01-circle.png").toString();
    private static final String VALID = String.join(", ", ConversionOptions.FAMILIES);

    @TempDir
    Path tmp;

    @Test
    void anUnknownFamilyIsOneLineListingTheValidOnesWithExitCode2() {
        String[][] commands = {
            {"convert", VIT, tmp.resolve("out.safetensors").toString()},
            {"inspect", VIT},
            {"classify", "--model", VIT, "--image", IMAGE},
            {"segment", "--model", DEMO.resolve("shapes-segmenter").toString(), "--image", IMAGE, "--out",
                tmp.resolve("pictures").toString()},
            {"slim-search", "--model", VIT, "--images", DEMO.resolve("images").toString(), "--out",
                tmp.resolve("masks.json").toString()}};
        for (String[] command : commands) {
            String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(command),
                    java.util.stream.Stream.of("--family", "nosuch")).toArray(String[]::new);
            CliRunner r = CliRunner.run(args);
            assertEquals(2, r.exitCode(), command[0] + ": " + r.err());
            assertEquals(List.of("hourglass " + command[0] + ": error: --family nosuch is not a known layout; use one"
                    + " of " + VALID, "Try 'hourglass " + command[0] + " --help'."), r.err().lines().toList(),
                    command[0]);
        }
        assertFalse(tmp.resolve("out.safetensors").toFile().exists());
    }

    @Test
    void theHelpListsTheFamilies() {
        CliRunner r = CliRunner.run("inspect", "--help");
        assertTrue(r.out().replaceAll("\\s+", " ").contains("is not enough: " + VALID + "."), r.out());
    }

    /** The converter checks the name only once it has read the checkpoint, and says which names it knows. */
    @Test
    void theNamesAreTheConvertersOwn() throws IOException {
        Path model = Path.of(VIT);
        IOException unknown = assertThrows(IOException.class,
                () -> Converter.inspect(model, new ConvertOptions("nosuch", null, null)));
        assertTrue(unknown.getMessage().endsWith("is not a known layout; use one of " + VALID), unknown.getMessage());
        for (String family : ConversionOptions.FAMILIES) {
            try {
                Converter.inspect(model, new ConvertOptions(family, 3, null));
            } catch (IOException e) {
                // Another layout need not fit this checkpoint; the name must be known all the same.
                assertFalse(e.getMessage().contains("not a known layout"), family + ": " + e.getMessage());
            }
        }
    }
}
