package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.classify.TinyModels;

/**
 * Issue 15: a timm folder without config.json is not classified silently with guessed settings. Without --heads it is
 * refused (one line, exit 2, as for a missing argument), and then without --mean and --std (NormalisationCommandTest);
 * with them, what was still guessed is named in one line on stderr by classify, convert and inspect.
 */
class GuessedSettingsCommandTest {
    /** The normalisation the refusal asks for (timm's augreg ViTs'). */
    private static final String[] NORMALISATION = {"--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5"};

    private static String[] args(String[] normalisation, String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + normalisation.length);
        System.arraycopy(normalisation, 0, all, args.length, normalisation.length);
        return all;
    }

    @Test
    void classifyRefusesToGuessTheHeads(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 7);
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--input-tensor",
                CliRunner.zeroInput(tmp).toString());
        assertEquals(2, r.exitCode(), r.err());
        assertEquals("", r.out());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("hourglass classify: error: model.safetensors: timm checkpoint without"
                + " config.json: the number of attention heads cannot be read from the weights"), lines.get(0));
        assertTrue(lines.get(0).endsWith("give --heads N (ViT-Ti 3, ViT-S 6, ViT-B 12, ViT-L 16)"), lines.get(0));
    }

    @Test
    void classifyWithTheHeadsNamesWhatItStillGuessed(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 7);
        CliRunner r = CliRunner.run(args(NORMALISATION, "classify", "--model", model.toString(), "--heads", "2",
                "--input-tensor", CliRunner.zeroInput(tmp).toString()));
        assertEquals(0, r.exitCode(), r.err());
        List<String> w = r.warnings();
        assertEquals(1, w.size(), r.err());
        assertEquals("hourglass classify: warning: " + model + ": guessed, not read from the checkpoint: input size"
                + " 16x16 (the position embedding's square grid); resize bicubic, centre crop 0.875 (timm's default)"
                + " (a config.json beside the weights says them exactly)", w.get(0));
    }

    @Test
    void nothingIsSaidWhenTheConfigurationSaysEverything(@TempDir Path tmp) throws IOException {
        Path model = TinyModels.write(tmp.resolve("full"), 7);
        CliRunner r = CliRunner.run("classify", "--model", model.toString(), "--input-tensor",
                CliRunner.zeroInput(tmp).toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of(), r.warnings(), r.err());
        CliRunner inspect = CliRunner.run("inspect", model.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertEquals("", inspect.err());
    }

    @Test
    void convertRefusesThenWarnsAndTheFileKeepsTheGuesses(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 7);
        Path out = tmp.resolve("bare.safetensors");
        CliRunner refused = CliRunner.run("convert", model.toString(), out.toString());
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().startsWith("hourglass convert: error: ") && refused.err().contains("--heads N"),
                refused.err());
        assertTrue(Files.notExists(out));

        CliRunner converted = CliRunner.run(args(NORMALISATION, "convert", model.toString(), out.toString(),
                "--heads", "2"));
        assertEquals(0, converted.exitCode(), converted.err());
        List<String> w = converted.warnings();
        assertEquals(1, w.size(), converted.err());
        assertTrue(w.get(0).startsWith("hourglass convert: warning: " + model + ": guessed, not read from the"
                + " checkpoint: input size 16x16"), w.get(0));

        // The converted file carries the heads and the normalisation (neither needs giving again) and still says
        // its resize and crop were a guess.
        CliRunner classify = CliRunner.run("classify", "--model", out.toString(), "--input-tensor",
                CliRunner.zeroInput(tmp).toString());
        assertEquals(0, classify.exitCode(), classify.err());
        assertEquals(1, classify.warnings().size(), classify.err());
        assertTrue(classify.warnings().get(0).contains("resize bicubic, centre crop 0.875"), classify.err());
        assertFalse(classify.warnings().get(0).contains("normalisation"), classify.err());
    }

    @Test
    void inspectShowsTheMissingHeadsAsAProblemAndTheGuessesOnStderr(@TempDir Path tmp) throws IOException {
        Path model = CliRunner.bareTimmFolder(tmp, 7);
        CliRunner r = CliRunner.run("inspect", model.toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.out().contains("problem     missing: timm checkpoint without config.json: the number of"
                + " attention heads"), r.out());
        assertTrue(r.out().contains("problem     missing: timm checkpoint without config.json: its normalisation"),
                r.out());
        assertTrue(r.out().contains("guessed     heads "), r.out());
        assertEquals(1, r.warnings().size(), r.err());
        assertTrue(r.warnings().get(0).startsWith("hourglass inspect: warning: " + model + ": guessed, not read from"
                + " the checkpoint: input size 16x16"), r.err());

        CliRunner given = CliRunner.run(args(NORMALISATION, "inspect", model.toString(), "--heads", "2", "--json"));
        assertEquals(0, given.exitCode(), given.err());
        assertTrue(given.out().contains("\"guesses\" : [ \"input size 16x16"), given.out());
        assertEquals(1, given.warnings().size(), given.err());
    }

    @Test
    void helpSaysWhenTheHeadsAreRequired() {
        for (String command : List.of("classify", "convert", "inspect")) {
            CliRunner r = CliRunner.run(command, "--help");
            assertEquals(0, r.exitCode());
            assertTrue(r.out().replaceAll("\\s+", " ").contains("Required when the checkpoint does not say"),
                    command + ":\n" + r.out());
        }
    }
}
