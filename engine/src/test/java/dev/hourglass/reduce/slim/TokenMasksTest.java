package dev.hourglass.reduce.slim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.VitConfig;

/** The mask file's format and rules: every violation is one message naming the file, block, id and rule. */
class TokenMasksTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private static final String HEAD = "{\"format\": \"hourglass-token-masks\", \"version\": 1, \"tokens\": 6, "
            + "\"prefix_tokens\": 1, \"keep\": ";

    private static Path write(Path dir, String json) throws IOException {
        Path f = dir.resolve("masks.json");
        Files.writeString(f, json);
        return f;
    }

    @Test
    void readsNestedMasksAndKeepsTheProvenance(@TempDir Path dir) throws IOException {
        Path f = write(dir, HEAD + "[[0,1,2,3,4,5],[0,2,3,5],[0,3],[0]], \"tolerance\": 0.01}");
        TokenMasks m = TokenMasks.read(f);
        assertEquals(4, m.depth());
        assertArrayEquals(new int[] {6, 4, 2, 1}, m.counts());
        assertArrayEquals(new int[] {0, 2, 3, 5}, m.kept(1));
        assertEquals(0.01, m.extras().get("tolerance").asDouble());
        Path again = dir.resolve("again.json");
        m.write(again);
        TokenMasks back = TokenMasks.read(again);
        assertArrayEquals(m.counts(), back.counts());
        assertArrayEquals(m.kept(2), back.kept(2));
        assertEquals(0.01, back.extras().get("tolerance").asDouble());
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "[[0,1,2,3],[0,1,4]]                      | block 1: id 4 was dropped by block 0 (masks must be nested: a dropped token never returns)",
            "[[0,1,2],[1,2]]                          | block 1: prefix token 0 is not kept (class and distillation tokens are always kept)",
            "[[0,1,6]]                                | block 0: id 6 is out of range [0, 6)",
            "[[0,2,1]]                                | block 0: id 1 after 2 (ids must be ascending, each once)",
            "[[0,1,1]]                                | block 0: id 1 after 1 (ids must be ascending, each once)",
            "[[0,1.5]]                                | block 0: id 1.5 is not an integer",
            "[]                                       | keep must be a non-empty array of id lists, one per block, got []",
            "[[0],3]                                  | keep[1] must be an array of ids, got 3"})
    void refusesAFileThatBreaksARule(String keep, String message, @TempDir Path dir) throws IOException {
        Path f = write(dir, HEAD + keep + "}");
        IOException e = assertThrows(IOException.class, () -> TokenMasks.read(f));
        assertEquals(f + ": " + message, e.getMessage());
    }

    @Test
    void refusesOtherFormatsAndBrokenJson(@TempDir Path dir) throws IOException {
        Path f = write(dir, HEAD.replace("hourglass-token-masks", "masks") + "[[0]]}");
        assertEquals(f + ": format must be \"hourglass-token-masks\", got \"masks\"",
                assertThrows(IOException.class, () -> TokenMasks.read(f)).getMessage());
        Path g = write(dir, HEAD.replace("\"version\": 1", "\"version\": 2") + "[[0]]}");
        assertEquals(g + ": version must be 1, got 2", assertThrows(IOException.class, () -> TokenMasks.read(g))
                .getMessage());
        Path h = write(dir, HEAD + "[[0]]");
        assertTrue(assertThrows(IOException.class, () -> TokenMasks.read(h)).getMessage()
                .startsWith(h + ": not valid JSON"));
        Path missing = dir.resolve("nope.json");
        assertEquals(missing + ": no such mask file", assertThrows(IOException.class,
                () -> TokenMasks.read(missing)).getMessage());
    }

    @Test
    void theSpecReadsTheFileAndChecksTheModel(@TempDir Path dir) throws IOException {
        Path f = write(dir, HEAD + "[[0,1,2,3,4,5],[0,2,3,5],[0,3],[0]]}");
        ReductionMethod m = Reductions.parse("slim:masks=" + f);
        assertEquals("slim", m.name());
        assertEquals("slim:masks=" + f, m.spec());
        VitConfig fourBlocks = config(4, false);
        m.check(fourBlocks, 1, 5); // 1 + 5 tokens
        assertEquals("slim: " + f + ": token masks have 4 blocks, the model has 6",
                assertThrows(IllegalArgumentException.class, () -> m.check(config(6, false), 1, 5)).getMessage());
        assertEquals("slim: " + f + ": token masks are for 6 tokens (1 prefix), the model runs 7 (2 prefix) on this input",
                assertThrows(IllegalArgumentException.class, () -> m.check(config(4, true), 1, 5)).getMessage());
        assertEquals("slim: masks=FILE is required (a mask file, see hourglass slim-search)",
                assertThrows(IllegalArgumentException.class, () -> Reductions.parse("slim")).getMessage());
        UncheckedIOException bad = assertThrows(UncheckedIOException.class,
                () -> Reductions.parse("slim:masks=" + dir.resolve("missing.json")));
        assertTrue(bad.getCause().getMessage().endsWith("missing.json: no such mask file"));
    }

    @Test
    void theReducerAsksEachBlockForItsKeptRowsAmongTheTokensItReceives(@TempDir Path dir) throws IOException {
        Path f = write(dir, HEAD + "[[0,1,2,3,4,5],[0,2,3,5],[0,3],[0]]}");
        ReductionMethod m = Reductions.parse("slim:masks=" + f);
        try (TokenReducer r = m.newReducer(null, config(4, false))) {
            assertTrue(r.attention(0, state(6)).isPlain(), "block 0 keeps all 6: plain attention");
            AttentionOptions b1 = r.attention(1, state(6));
            assertArrayEquals(new int[] {0, 2, 3, 5}, b1.queryRows());
            assertArrayEquals(new int[] {0, 2}, r.attention(2, state(4)).queryRows(), "ids 0, 3 among 0, 2, 3, 5");
            assertArrayEquals(new int[] {0}, r.attention(3, state(2)).queryRows());
            IllegalStateException wrong = assertThrows(IllegalStateException.class, () -> r.attention(3, state(5)));
            assertEquals("slim: block 3 receives 5 tokens, the masks expect 1", wrong.getMessage());
        }
    }

    @AfterAll
    static void stop() {
        CPU.close();
    }

    private static TokenState state(int tokens) {
        return TokenState.initial(TokenSequence.withoutGrid(CPU.allocate(tokens * 8L), 1, tokens, 8, 1));
    }

    private static VitConfig config(int depth, boolean distilled) {
        return new VitConfig(8, 10, 2, 3, 8, depth, 2, 16, true, true, distilled, 10, 1e-6f, Resize.Mode.BICUBIC,
                true);
    }
}
