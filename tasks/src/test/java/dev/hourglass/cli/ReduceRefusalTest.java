package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.reduce.slim.SlimMasks;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.vit.VitConfig;

/**
 * {@code --reduce} with a method the model cannot take is a bad argument: one line naming the method and why, the
 * pointer to the help, exit code 2, never a stack trace. Each command and model of the demo: CF-ViT on a plain ViT and
 * on a Segmenter, the other methods on a CF-ViT checkpoint, Patch Slimming masks made for another depth or sequence
 * length, Expedit beyond the encoder.
 */
class ReduceRefusalTest {
    private static final Path DEMO = Path.of("src/main/resources/dev/hourglass/demo");
    private static final String IMAGE = DEMO.resolve("images/01-circle.png").toString();
    private static final String VIT = DEMO.resolve("shapes-vit").toString();
    private static final String CFVIT = DEMO.resolve("shapes-cfvit").toString();
    private static final String SEGMENTER = DEMO.resolve("shapes-segmenter").toString();

    @TempDir
    Path tmp;

    @Test
    void methodsTheModelCannotTakeAreOneLineAndExitCode2() throws IOException {
        String vitMasksOfThreeBlocks = masks("three-blocks.json", 65, 65, 49, 33);
        String masksOf37Tokens = masks("37-tokens.json", 37, 37, 25, 13, 1);
        String out = tmp.resolve("out").toString();
        // {command, model, --reduce, what the line must say}
        String[][] cases = {
            {"segment", SEGMENTER, "cfvit:threshold=0.5", "--reduce: cfvit: runs only CF-ViT's own checkpoints"},
            {"classify", VIT, "cfvit:threshold=0.5", "--reduce: cfvit: shapes-vit is not a CF-ViT checkpoint"},
            {"classify", CFVIT, "tome:r=4", "--reduce: tome: shapes-cfvit is a CF-ViT checkpoint"},
            {"classify", CFVIT, "expedit:alpha=2,grid=4x4", "--reduce: expedit: shapes-cfvit is a CF-ViT checkpoint"},
            {"classify", CFVIT, "slim:masks=" + masksOf37Tokens, "--reduce: slim: shapes-cfvit is a CF-ViT checkpoint"},
            {"classify", VIT, "slim:masks=" + vitMasksOfThreeBlocks, "token masks have 3 blocks, the model has 4"},
            {"classify", VIT, "slim:masks=" + masksOf37Tokens, "token masks are for 37 tokens (1 prefix), the model"
                    + " runs 65"},
            {"segment", SEGMENTER, "slim:masks=" + masksOf37Tokens, "token masks have 4 blocks, the model has 12"},
            {"segment", SEGMENTER, "expedit:alpha=13,grid=4x4", "alpha=13 is beyond the encoder's 12 blocks"},
            {"segment", SEGMENTER, "tome:r=0", "merges no token"}};
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of(c[0], "--model", c[1], "--image", IMAGE, "--threads", "1",
                    "--reduce", c[2]));
            if (c[0].equals("segment")) {
                args.addAll(List.of("--out", out));
            }
            CliRunner r = CliRunner.run(args.toArray(String[]::new));
            String what = String.join(" ", c[0], c[1], c[2]) + ": ";
            assertEquals(2, r.exitCode(), what + r.err());
            // The line naming the backend comes once the model has loaded: refusals that need the model follow it.
            List<String> lines = r.err().lines().filter(l -> !l.startsWith("backend: ")).toList();
            assertEquals(2, lines.size(), what + "an error line and the pointer to the help, got:\n" + r.err());
            assertTrue(lines.get(0).startsWith("hourglass " + c[0] + ": error: ") && lines.get(0).contains(c[3]),
                    what + lines.get(0));
            assertEquals("Try 'hourglass " + c[0] + " --help'.", lines.get(1), what);
            assertEquals("", r.out(), what + "nothing runs");
        }
    }

    /**
     * Masks that drop tokens leave no features for a segmenter to decode: {@link SlimMasks#checkDense} refuses them
     * (masks that keep every token pass), and {@code segment} says so in one line, exit code 2.
     */
    @Test
    void slimMasksThatDropTokensCannotServeADenseOutput() throws IOException {
        VitConfig encoder;
        try (SemanticSegmenter segmenter = SemanticSegmenter.load(Path.of(SEGMENTER), new ModelOptions(1))) {
            encoder = segmenter.encoderConfig();
        }
        int grid = encoder.gridHeight();
        int tokens = encoder.prefixTokens() + grid * grid;
        int[] pyramid = IntStream.range(0, encoder.depth()).map(l -> tokens - 16 * l).toArray();
        SlimMasks pruning = SlimMasks.parse("masks=" + masks("pyramid.json", tokens, pyramid));
        pruning.check(encoder, grid, grid);
        IllegalArgumentException dense = assertThrows(IllegalArgumentException.class,
                () -> pruning.checkDense(encoder, grid, grid));
        assertTrue(dense.getMessage().startsWith("slim: ") && dense.getMessage().contains("block 1 keeps "
                + (tokens - 16) + " of " + tokens + " tokens"), dense.getMessage());
        int[] all = IntStream.range(0, encoder.depth()).map(l -> tokens).toArray();
        SlimMasks.parse("masks=" + masks("all.json", tokens, all)).checkDense(encoder, grid, grid);

        CliRunner r = CliRunner.run("segment", "--model", SEGMENTER, "--image", IMAGE, "--threads", "1", "--out",
                tmp.resolve("out").toString(), "--reduce", "slim:masks=" + tmp.resolve("pyramid.json"));
        assertEquals(2, r.exitCode(), r.err());
        List<String> lines = r.err().lines().filter(l -> !l.startsWith("backend: ")).toList();
        assertEquals(2, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("hourglass segment: error: --reduce: slim: ")
                && lines.get(0).contains("block 1 keeps " + (tokens - 16) + " of " + tokens + " tokens"), lines.get(0));
    }

    /** A mask file for {@code tokens} tokens (one prefix): block l keeps the first {@code keptPerBlock[l]} ids. */
    private String masks(String name, int tokens, int... keptPerBlock) throws IOException {
        String keep = IntStream.of(keptPerBlock).mapToObj(n -> IntStream.range(0, n).mapToObj(Integer::toString)
                .collect(Collectors.joining(",", "[", "]"))).collect(Collectors.joining(","));
        Path file = tmp.resolve(name);
        Files.writeString(file, "{\"format\": \"hourglass-token-masks\", \"version\": 1, \"tokens\": " + tokens
                + ", \"prefix_tokens\": 1, \"keep\": [" + keep + "]}");
        return file.toString();
    }
}
