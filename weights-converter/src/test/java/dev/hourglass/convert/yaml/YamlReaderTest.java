package dev.hourglass.convert.yaml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link YamlReader} on files written by PyYAML's {@code yaml.dump} (Segmenter's {@code variant.yml} and the fixtures
 * of {@code tools/make_yaml_fixtures.py}, compared with what {@code yaml.load} made of them), and on everything it
 * must refuse, each with its own message and line.
 */
class YamlReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path folder;

    // ---------------------------------------------------------------- Segmenter's variant.yml

    @Test
    void readsTheConverterFixturesVariantYml() throws IOException {
        Map<String, Object> v = YamlReader.readMapping(resource("convert/segmenter_pth/variant.yml"));
        assertEquals(List.of("algorithm_kwargs", "amp", "dataset_kwargs", "inference_kwargs", "log_dir",
                "net_kwargs", "optimizer_kwargs", "resume", "version", "world_batch_size"), List.copyOf(v.keySet()));
        assertEquals(Map.of("batch_size", 8L, "eval_freq", 2L, "num_epochs", 3L, "start_epoch", 0L),
                v.get("algorithm_kwargs"));
        assertEquals(false, v.get("amp"));
        assertEquals(true, v.get("resume"));
        assertEquals("normal", v.get("version"));
        assertEquals("seg_tiny_mask", v.get("log_dir"));
        assertEquals(8L, v.get("world_batch_size"));
        assertEquals(Map.of("im_size", 32L, "window_size", 32L, "window_stride", 16L), v.get("inference_kwargs"));
        Map<?, ?> net = (Map<?, ?>) v.get("net_kwargs");
        assertEquals("vit_tiny_patch16_384", net.get("backbone"));
        assertEquals(32L, net.get("d_model"));
        assertEquals(List.of(32L, 32L), net.get("image_size"));
        assertEquals(5L, net.get("n_cls"));
        assertEquals(2L, net.get("n_heads"));
        assertEquals(2L, net.get("n_layers"));
        assertEquals(8L, net.get("patch_size"));
        assertEquals(false, net.get("distilled"));
        assertEquals(0.1, net.get("drop_path_rate"));
        assertEquals(0.0, net.get("dropout"));
        assertEquals(Map.of("drop_path_rate", 0.0, "dropout", 0.1, "n_cls", 5L, "n_layers", 2L,
                "name", "mask_transformer"), net.get("decoder"));
        Map<?, ?> opt = (Map<?, ?>) v.get("optimizer_kwargs");
        assertTrue(opt.containsKey("clip_grad"));
        assertNull(opt.get("clip_grad"));
        assertEquals(1.0e-05, opt.get("min_lr"));
        assertEquals(0.001, opt.get("lr"));
        assertEquals("sgd", opt.get("opt"));
        assertEquals("polynomial", opt.get("sched"));
    }

    @Test
    void readsALargerSegmenterVariant() throws IOException {
        Map<String, Object> v = YamlReader.readMapping(resource("yaml/segmenter_variant_large.yml"));
        Map<?, ?> net = (Map<?, ?>) v.get("net_kwargs");
        assertEquals(List.of("backbone", "d_model", "decoder", "distilled", "drop_path_rate", "dropout", "image_size",
                "n_cls", "n_heads", "n_layers", "normalization", "patch_size"), List.copyOf(net.keySet()));
        assertEquals("vit_large_patch16_384", net.get("backbone"));
        assertEquals(1024L, net.get("d_model"));
        assertEquals(16L, net.get("n_heads"));
        assertEquals(24L, net.get("n_layers"));
        assertEquals(16L, net.get("patch_size"));
        assertEquals(150L, net.get("n_cls"));
        assertEquals(List.of(640L, 640L), net.get("image_size"));
        assertEquals("mask_transformer", ((Map<?, ?>) net.get("decoder")).get("name"));
        assertEquals(Map.of("im_size", 640L, "window_size", 640L, "window_stride", 512L), v.get("inference_kwargs"));
        assertEquals("seg_large_mask_640/ade20k", v.get("log_dir"));
        assertEquals(64L, ((Map<?, ?>) v.get("optimizer_kwargs")).get("epochs"));
        assertEquals(640L, ((Map<?, ?>) v.get("dataset_kwargs")).get("crop_size"));
        assertEquals("ade20k", ((Map<?, ?>) v.get("dataset_kwargs")).get("dataset"));
    }

    // ---------------------------------------------------------------- against PyYAML's own load

    @ParameterizedTest(name = "{0}")
    @MethodSource("pyyamlFixtures")
    void readsWhatPyYamlLoads(String name) throws IOException {
        Object actual = YamlReader.read(resource("yaml/" + name + ".yml"));
        Object expected = fromTyped(JSON.readTree(resource("yaml/" + name + ".expected.json").toFile()));
        assertEquals(canonical(expected), canonical(actual));
    }

    static Stream<String> pyyamlFixtures() {
        return Stream.of("segmenter_variant_large", "pyyaml_subset", "pyyaml_random");
    }

    @Test
    void pyyamlSubsetSpotChecks() throws IOException {
        Map<String, Object> v = YamlReader.readMapping(resource("yaml/pyyaml_subset.yml"));
        assertEquals(List.of(), v.get("empty_tuple"));
        assertEquals(List.of(0L, 1L, -3L, 42L, Long.MAX_VALUE, Long.MIN_VALUE), v.get("ints"));
        List<?> floats = (List<?>) v.get("floats");
        assertEquals(1.0e-5, floats.get(0));
        assertEquals(2.5e-320, floats.get(6));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double) floats.get(7)));
        assertEquals(Double.POSITIVE_INFINITY, floats.get(11));
        assertEquals(Double.NEGATIVE_INFINITY, floats.get(12));
        assertTrue(((Double) floats.get(13)).isNaN());
        assertEquals(List.of("1e-05", "-.5", "09", "-x", "a,b", "x:y", "1.0e5", "+.5", "0o17", "http://a/b?c=d#e"),
                v.get("plain_lookalikes"));
        assertEquals("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho",
                v.get("long_plain"));
        assertEquals("tab\there ".repeat(12) + "caf\u00e9", v.get("long_double"));
        assertEquals("word ".repeat(17), v.get("long_single"));
        assertEquals("one\n\ntwo\nthree", v.get("newlines"));
        assertEquals("nl\nbell\u0007 nbsp\u00a0 ls\u2028 ps\u2029 nel\u0085 emoji\uD83D\uDE00 bs\\ dq\" esc\u001b end",
                v.get("escapes"));
        assertEquals(List.of(List.of(1L, 2L), List.of(), List.of(List.of(3L, 4L), List.of(5L)),
                Map.of("t", List.of(6L, 7L))), v.get("tuples"));
        assertEquals("string key that looks like an int", v.get("1"));
        assertEquals("non-ASCII key", v.get("caf\u00e9"));
    }

    @Test
    void resultsAreUnmodifiable() throws IOException {
        Map<String, Object> v = YamlReader.readMapping(resource("convert/segmenter_pth/variant.yml"));
        assertThrows(UnsupportedOperationException.class, () -> v.put("x", 1L));
        @SuppressWarnings("unchecked")
        List<Object> size = (List<Object>) ((Map<?, ?>) v.get("net_kwargs")).get("image_size");
        assertThrows(UnsupportedOperationException.class, () -> size.add(1L));
    }

    // ---------------------------------------------------------------- smaller forms

    @Test
    void acceptsMarkersCommentsBomCrlfAndOtherRoots() throws IOException {
        assertEquals(Map.of("a", 1L), YamlReader.parse("\uFEFF# c\n---\na: 1 # one\n\n  # indented comment\n...\n",
                "t.yml"));
        assertEquals(Map.of("a", List.of(1L, 2L), "b", "x"), YamlReader.parse("a:\r\n- 1\r\n- 2\r\nb: x\r\n", "t.yml"));
        assertNull(YamlReader.parse("", "t.yml"));
        assertNull(YamlReader.parse("# only a comment\n", "t.yml"));
        assertEquals(5L, YamlReader.parse("5\n...\n", "t.yml"));
        assertEquals("abc", YamlReader.parse("'abc'\n", "t.yml"));
        assertEquals(Arrays.asList(1L, Arrays.asList(2L, 3L), Map.of("a", 1L), null),
                YamlReader.parse("- 1\n- - 2\n  - 3\n- a: 1\n-\n", "t.yml"));
        assertEquals(Map.of("a", Map.of("b", 1L)), YamlReader.parse("a:\n    b: 1\n", "t.yml"));
        assertEquals(Arrays.asList(null, null, "x"), YamlReader.parse("- ~\n- null\n- x\n", "t.yml"));
        assertEquals(List.of(true, true, true, false, false, false),
                YamlReader.parse("- yes\n- On\n- TRUE\n- no\n- off\n- False\n", "t.yml"));
        assertEquals(List.of(1.0, 0.5, 100000.0, -0.5),
                YamlReader.parse("- 1.\n- .5\n- 1.0e+5\n- -0.5\n", "t.yml"));
        Map<?, ?> m = (Map<?, ?>) YamlReader.parse("a:\nb: # nothing\nc: 'x'\n", "t.yml");
        assertEquals(Arrays.asList(null, null, "x"), new ArrayList<>(m.values()));
    }

    /** Forms yaml.dump does not write but PyYAML reads; each expectation is what PyYAML 6.0's FullLoader gave. */
    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("handwritten")
    void readsHandwrittenFormsAsPyYamlDoes(String text, Object expected) throws IOException {
        assertEquals(expected, YamlReader.parse(text, "t.yml"));
    }

    static Stream<Arguments> handwritten() {
        return Stream.of(
            Arguments.of("a: 'x   \n  y'", Map.of("a", "x y")),
            Arguments.of("a: \"x   \n  y\"", Map.of("a", "x y")),
            Arguments.of("a: \"x \\\n\n  y\"", Map.of("a", "x \ny")),
            Arguments.of("a: x   \n  y  \n\n  z # c\nb: 1", Map.of("a", "x y\nz", "b", 1L)),
            Arguments.of("a:\n- x\n  y\nb: 1", Map.of("a", List.of("x y"), "b", 1L)),
            Arguments.of("-   x\n-    - y\n     - z", List.of("x", List.of("y", "z"))),
            Arguments.of("a:    v", Map.of("a", "v")),
            Arguments.of("a: 'it''s'", Map.of("a", "it's")),
            Arguments.of("a: \"\\x41\\u00e9\\U0001F600\\ \\/\"", Map.of("a", "A\u00e9\uD83D\uDE00 /")),
            Arguments.of("a: x\n\n\n  y", Map.of("a", "x\n\ny")),
            Arguments.of("- - - 1\n    - 2\n  - 3", List.of(List.of(List.of(1L, 2L), 3L))),
            Arguments.of("a: #c\n  b", Map.of("a", "b")),
            Arguments.of("'a b': 1\n\"c\\td\": 2", Map.of("a b", 1L, "c\td", 2L)));
    }

    /**
     * YAML the hand-written reader before snakeyaml-engine refused as outside its subset, and PyYAML reads: each
     * expectation is what PyYAML 6.0's FullLoader gives.
     */
    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("beyondYamlDump")
    void readsYamlBeyondWhatYamlDumpWrites(String text, Object expected) throws IOException {
        assertEquals(expected, YamlReader.parse(text, "t.yml"));
    }

    static Stream<Arguments> beyondYamlDump() {
        return Stream.of(
            Arguments.of("a: 1\nb: &x 2\n", Map.of("a", 1L, "b", 2L)),
            Arguments.of("&a k: v\n", Map.of("k", "v")),
            Arguments.of("a:\n- &id001 !!python/tuple\n  - 1\n", Map.of("a", List.of(List.of(1L)))),
            Arguments.of("a: [1, 2]\n", Map.of("a", List.of(1L, 2L))),
            Arguments.of("a:\n  b: {c: 1, d: [x, 'y']}\n", Map.of("a", Map.of("b", Map.of("c", 1L, "d",
                List.of("x", "y"))))),
            Arguments.of("a: !!python/tuple [1, 2]\n", Map.of("a", List.of(1L, 2L))),
            Arguments.of("%YAML 1.1\n---\na: 1\n", Map.of("a", 1L)),
            Arguments.of("a: |\n  text\n  more\n", Map.of("a", "text\nmore\n")),
            Arguments.of("a: >-\n  text\n  more\n", Map.of("a", "text more")),
            Arguments.of("? a\n: b\n", Map.of("a", "b")),
            Arguments.of("a: 1\n? b\n", withNull("a", 1L, "b")),
            Arguments.of("a: 'x\nb: 1'\n", Map.of("a", "x b: 1")),
            Arguments.of("a: 1\rb: 2\r", Map.of("a", 1L, "b", 2L)),
            Arguments.of("a: \"tab\\there\\L\\P\"\nb: \"\\P\"\n", Map.of("a", "tab\there\u2028\u2029", "b", "\u2029")),
            Arguments.of("a: 'single \\L'\nb: plain \\P\n", Map.of("a", "single \\L", "b", "plain \\P")));
    }

    @Test
    void anAliasIsTheObjectItsAnchorGave() throws IOException {
        Map<String, Object> v = YamlReader.parseMapping("a: &x [1, 2]\nb: *x\nc: &s text\nd: *s\n", "t.yml");
        assertEquals(List.of(1L, 2L), v.get("b"));
        assertSame(v.get("a"), v.get("b"));
        assertEquals("text", v.get("d"));
    }

    @Test
    void aliasesOfCollectionsAreLimited() throws IOException {
        int max = YamlReader.MAX_COLLECTION_ALIASES;
        String upTo = "a: &x [1]\nb: [" + String.join(", ", Collections.nCopies(max, "*x")) + "]\n";
        List<?> b = (List<?>) YamlReader.parseMapping(upTo, "t.yml").get("b");
        assertEquals(max, b.size());
        assertSame(b.get(0), b.get(max - 1));
        String beyond = "a: &x [1]\nb:\n" + "- *x\n".repeat(max + 1);
        YamlException e = assertThrows(YamlException.class, () -> YamlReader.parse(beyond, "t.yml"));
        assertEquals("t.yml: line " + (3 + max) + ": Number of aliases for non-scalar nodes exceeds the specified max="
                + max, e.getMessage());
        // Aliases of scalars copy nothing and are not counted.
        String scalars = "a: &x 1\nb: [" + String.join(", ", Collections.nCopies(4 * max, "*x")) + "]\n";
        assertEquals(4 * max, ((List<?>) YamlReader.parseMapping(scalars, "t.yml").get("b")).size());
        // A "billion laughs" document (2^20 leaves from 40 aliases) is refused.
        StringBuilder laughs = new StringBuilder("l0: &l0 [lol, lol]\n");
        for (int i = 1; i <= 20; i++) {
            laughs.append("l").append(i).append(": &l").append(i).append(" [*l").append(i - 1).append(", *l")
                    .append(i - 1).append("]\n");
        }
        YamlException lol = assertThrows(YamlException.class, () -> YamlReader.parse(laughs.toString(), "t.yml"));
        assertTrue(lol.getMessage().startsWith("t.yml: line 10: Number of aliases for non-scalar nodes exceeds"),
                lol.getMessage());
    }

    @Test
    void textBeyondTheCodePointLimitIsRefused() throws IOException {
        String line = "- " + "x".repeat(1021) + "\n";
        int lines = YamlReader.MAX_BYTES / line.length();
        String atTheLimit = line.repeat(lines);
        assertEquals(YamlReader.MAX_BYTES, atTheLimit.length());
        assertEquals(lines, ((List<?>) YamlReader.parse(atTheLimit, "t.yml")).size());
        YamlException e = assertThrows(YamlException.class, () -> YamlReader.parse(atTheLimit + "- x\n", "big.yml"));
        // The line of the last node read before the limit was found broken.
        assertEquals("big.yml: line " + lines + ": The incoming YAML document exceeds the limit: "
                + YamlReader.MAX_BYTES + " code points.", e.getMessage());
    }

    @Test
    void nestingUpToTheLimitIsRead() throws IOException {
        Object deepest = YamlReader.parse("- ".repeat(YamlReader.MAX_DEPTH) + "x\n", "t.yml");
        for (int i = 0; i < YamlReader.MAX_DEPTH; i++) {
            deepest = ((List<?>) deepest).get(0);
        }
        assertEquals("x", deepest);
        StringBuilder maps = new StringBuilder();
        for (int i = 0; i < YamlReader.MAX_DEPTH; i++) {
            maps.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        assertInstanceOf(Map.class, YamlReader.parse(maps.toString(), "t.yml"));
    }

    // ---------------------------------------------------------------- refused

    static Stream<Arguments> refused() {
        return Stream.of(
            // What this reader refuses, in its own words.
            Arguments.of("a: !!python/object:argparse.Namespace {}\n", 1,
                "the tag \"!!python/object:argparse.Namespace\" is not supported (only !!python/tuple)"),
            Arguments.of("a: !!str 5\n", 1, "the tag \"!!str\" is not supported (only !!python/tuple)"),
            Arguments.of("a: !!binary aGk=\n", 1, "the tag \"!!binary\" is not supported (only !!python/tuple)"),
            Arguments.of("a: !!set {x}\n", 1, "the tag \"!!set\" is not supported (only !!python/tuple)"),
            Arguments.of("a: !ENV ${HOME}\n", 1, "the tag \"!ENV\" is not supported (only !!python/tuple)"),
            Arguments.of("a: 1\nb: !!python/name:os.system\n", 2,
                "the tag \"!!python/name:os.system\" is not supported (only !!python/tuple)"),
            Arguments.of("a: !!python/tuple\nb: 1\n", 1, "!!python/tuple must tag a sequence, not the scalar \"\""),
            Arguments.of("a: !!python/tuple 5\n", 1, "!!python/tuple must tag a sequence, not the scalar \"5\""),
            Arguments.of("a: !!python/tuple {b: 1}\n", 1, "!!python/tuple must tag a sequence, not a mapping"),
            Arguments.of("a: 1\n---\nb: 2\n", 2, "a second document ('---'): multiple documents are not supported"),
            Arguments.of("a: 1\n...\n\nb: 2\n", 4,
                "content after the document end marker '...': multiple documents are not supported"),
            Arguments.of("a: 1\n1: b\n", 2, "the key \"1\" is the integer 1; only string keys are supported"),
            Arguments.of("true: b\n", 1, "the key \"true\" is the boolean true; only string keys are supported"),
            Arguments.of("~: b\n", 1, "the key \"~\" is null; only string keys are supported"),
            Arguments.of("? [a]\n: b\n", 1, "a sequence as a key is not supported; only string keys are"),
            Arguments.of("a: 1\n{b: 1}: c\n", 2, "a mapping as a key is not supported; only string keys are"),
            Arguments.of("<<: b\n", 1, "merge keys ('<<') are not supported"),
            Arguments.of("a: &x {b: 1}\nc:\n  <<: *x\n", 3, "merge keys ('<<') are not supported"),
            Arguments.of("a: <<\n", 1, "merge keys ('<<') are not supported"),
            Arguments.of("a: 1\nb: 2\na: 3\n", 3, "duplicate key \"a\""),
            Arguments.of("a: &x [1, *x]\n", 1,
                "the collection anchored &x contains an alias of itself; recursive structures are not supported"),
            Arguments.of("a: &x\n  b: *x\n", 1,
                "the collection anchored &x contains an alias of itself; recursive structures are not supported"),
            Arguments.of("a: 0x10\n", 1, "the integer \"0x10\" is in a form this reader does not support (binary,"
                + " octal, hexadecimal, sexagesimal or with underscores); write it in decimal"),
            Arguments.of("a: 012\n", 1, "the integer \"012\" is in a form this reader does not support (binary,"
                + " octal, hexadecimal, sexagesimal or with underscores); write it in decimal"),
            Arguments.of("a: 1_000\n", 1, "the integer \"1_000\" is in a form this reader does not support (binary,"
                + " octal, hexadecimal, sexagesimal or with underscores); write it in decimal"),
            Arguments.of("a: 1:30\n", 1, "the integer \"1:30\" is in a form this reader does not support (binary,"
                + " octal, hexadecimal, sexagesimal or with underscores); write it in decimal"),
            Arguments.of("a: 1_0.5\n", 1, "the float \"1_0.5\" is in a form this reader does not support"
                + " (underscores or sexagesimal); write it as a plain decimal"),
            Arguments.of("a: 9223372036854775808\n", 1, "the integer \"9223372036854775808\" does not fit in 64 bits"),
            Arguments.of("a: 2001-12-14\n", 1,
                "timestamps (\"2001-12-14\") are not supported; quote it to make it a string"),
            Arguments.of("a: =\n", 1, "the YAML value key '=' is not supported"),
            Arguments.of("a: b\u0007\n", 1, "control character U+0007 is not allowed in YAML"),
            Arguments.of("a: 1\nb: x\u2028y\n", 2, "the Unicode line break U+2028 is not supported"),
            Arguments.of("a: 1\r\nb: x\u0085y\n", 2, "the Unicode line break U+0085 is not supported"),
            Arguments.of("a: 1\nb: \uD800\n", 2, "unpaired surrogate character"),
            // What snakeyaml-engine refuses, in its words (the problem, then what it was doing).
            Arguments.of("a: 1\nb: *x\n", 2, "found undefined alias x"),
            Arguments.of("--- a: 1\n", 1, "mapping values are not allowed here"),
            Arguments.of("a:\n  b: 1\n\tc: 2\n", 3, "found character '\\t(TAB)' that cannot start any token. (Do"
                + " not use \\t(TAB) for indentation) (while scanning for the next token)"),
            Arguments.of(": b\n", 1, "expected <block end>, but found ':' (while parsing a block mapping)"),
            Arguments.of("a:\n  b: []\n   c: 2\n", 3, "expected <block end>, but found '<block mapping start>' (while"
                + " parsing a block mapping started on line 2)"),
            Arguments.of("a: 1\n- b\n", 2, "expected <block end>, but found '-' (while parsing a block mapping started"
                + " on line 1)"),
            Arguments.of("a: 1\nb\n", 3, "could not find expected ':' (while scanning a simple key started on line 2)"),
            Arguments.of("a: b: c\n", 1, "mapping values are not allowed here"),
            Arguments.of("a: - b\n", 1, "sequence entries are not allowed here"),
            Arguments.of("a: b\n  c: d\n", 2, "mapping values are not allowed here"),
            Arguments.of("a: 1\nb: 'abc\n", 3, "found unexpected end of stream (while scanning a quoted scalar started"
                + " on line 2)"),
            Arguments.of("a: \"x\n---\n\"\n", 2,
                "found unexpected document separator (while scanning a quoted scalar started on line 1)"),
            Arguments.of("a: 'x' y\n", 1, "expected <block end>, but found '<scalar>' (while parsing a block mapping)"),
            Arguments.of("a: \"\\q\"\n", 1,
                "found unknown escape character q(113) (while scanning a double-quoted scalar)"),
            Arguments.of("a: \"\\x4\"\n", 1, "expected escape sequence of 2 hexadecimal numbers, but found: 4\""
                + " (while scanning a double-quoted scalar)"),
            Arguments.of("a: \"\\U00110000\"\n", 1,
                "found unknown escape character 00110000 (while scanning a double-quoted scalar)"),
            Arguments.of("a: @x\n", 1, "found character '@' that cannot start any token. (Do not use @ for"
                + " indentation) (while scanning for the next token)"),
            Arguments.of("a:\n- ,x\n", 2, "expected the node content, but found ',' (while parsing a block node)"));
    }

    @ParameterizedTest(name = "[{index}] line {1}: {2}")
    @MethodSource("refused")
    void refusesWithItsOwnMessageAndLine(String text, int line, String problem) {
        YamlException e = assertThrows(YamlException.class, () -> YamlReader.parse(text, "variant.yml"));
        assertEquals("variant.yml: line " + line + ": " + problem, e.getMessage());
        assertEquals(line, e.line());
        assertEquals("variant.yml", e.source());
    }

    /** snakeyaml-engine 3.2 reads these digits with an unguarded Integer.parseInt: refused all the same. */
    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"a: \"\\UFFFFFFFF\"\n", "a: |\uD835\uDFCF\n  x\n", "%YAML 1.\uD835\uDFCF\n---\na: 1\n"})
    void numbersTheLibraryCannotParseAreRefused(String text) {
        YamlException e = assertThrows(YamlException.class, () -> YamlReader.parse(text, "t.yml"));
        assertTrue(e.getMessage().startsWith("t.yml: line 1: a number YAML cannot read in an escape, a block scalar's"
                + " indentation or a directive (For input string: "), e.getMessage());
    }

    @Test
    void nestingBeyondTheLimitIsRefused() {
        YamlException deep = assertThrows(YamlException.class,
                () -> YamlReader.parse("- ".repeat(YamlReader.MAX_DEPTH + 1) + "x\n", "deep.yml"));
        assertEquals("deep.yml: line 1: collections nested deeper than 64 levels", deep.getMessage());
        StringBuilder maps = new StringBuilder();
        for (int i = 0; i <= YamlReader.MAX_DEPTH; i++) {
            maps.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        YamlException mapping = assertThrows(YamlException.class, () -> YamlReader.parse(maps.toString(),
                "deep.yml"));
        assertEquals("deep.yml: line 65: collections nested deeper than 64 levels", mapping.getMessage());
    }

    @Test
    void filesNameThemselvesAndLimitTheirSize() throws IOException {
        Path big = folder.resolve("big.yml");
        byte[] bytes = new byte[YamlReader.MAX_BYTES + 1];
        Arrays.fill(bytes, (byte) '#');
        Files.write(big, bytes);
        YamlException tooBig = assertThrows(YamlException.class, () -> YamlReader.read(big));
        assertEquals(big + ": file of 1048577 bytes is larger than the 1048576 bytes this reader accepts",
                tooBig.getMessage());
        assertEquals(0, tooBig.line());

        Path exactly = folder.resolve("exactly.yml");
        bytes[bytes.length - 2] = '\n';
        Files.write(exactly, Arrays.copyOf(bytes, YamlReader.MAX_BYTES));
        assertNull(YamlReader.read(exactly));

        Path latin1 = folder.resolve("latin1.yml");
        Files.write(latin1, "a: 1\nb: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        YamlException notUtf8 = assertThrows(YamlException.class, () -> YamlReader.read(latin1));
        assertEquals(latin1 + ": line 2: not valid UTF-8 (byte 11)", notUtf8.getMessage());

        Path list = folder.resolve("list.yml");
        Files.writeString(list, "- 1\n");
        YamlException notMapping = assertThrows(YamlException.class, () -> YamlReader.readMapping(list));
        assertEquals(list + ": the document is a sequence, not a mapping", notMapping.getMessage());

        Path duplicate = folder.resolve("variant.yml");
        Files.writeString(duplicate, "a: 1\na: 2\n");
        YamlException named = assertThrows(YamlException.class, () -> YamlReader.read(duplicate));
        assertEquals(duplicate + ": line 2: duplicate key \"a\"", named.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** {@code {k1: v1, k2: null}}, which Map.of cannot hold. */
    private static Map<String, Object> withNull(String k1, Object v1, String k2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, null);
        return m;
    }

    private static Path resource(String name) {
        try {
            return Path.of(YamlReaderTest.class.getResource("/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test fixture " + name + " is missing; see tools/README.md", e);
        }
    }

    /** tools/make_yaml_fixtures.py's typed JSON back to the reader's Java types. */
    private static Object fromTyped(JsonNode n) {
        if (n.isNull()) {
            return null;
        }
        String kind = n.fieldNames().next();
        JsonNode v = n.get(kind);
        return switch (kind) {
            case "bool" -> v.booleanValue();
            case "int" -> Long.parseLong(v.textValue());
            case "float" -> switch (v.textValue()) {
                case "nan" -> Double.NaN;
                case "inf" -> Double.POSITIVE_INFINITY;
                case "-inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(v.textValue());
            };
            case "str" -> v.textValue();
            case "list" -> {
                List<Object> list = new ArrayList<>();
                v.forEach(x -> list.add(fromTyped(x)));
                yield list;
            }
            case "map" -> {
                Map<String, Object> map = new LinkedHashMap<>();
                v.forEach(e -> map.put(e.get(0).textValue(), fromTyped(e.get(1))));
                yield map;
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** A rendering that shows order, exact types and exact float bits (so -0.0 differs from 0.0). */
    private static String canonical(Object v) {
        return switch (v) {
            case null -> "null";
            case Boolean b -> "bool:" + b;
            case Long l -> "int:" + l;
            case Double d -> "float:" + (d.isNaN() ? "nan" : Double.toHexString(d));
            case String s -> "str:" + json(s);
            case List<?> l -> l.stream().map(YamlReaderTest::canonical).collect(Collectors.joining(",\n", "[", "]"));
            case Map<?, ?> m -> m.entrySet().stream().map(e -> json((String) e.getKey()) + ": "
                    + canonical(e.getValue())).collect(Collectors.joining(",\n", "{", "}"));
            default -> "unexpected " + v.getClass();
        };
    }

    private static String json(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
