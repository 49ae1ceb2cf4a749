package dev.hourglass.convert.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.convert.yaml.YamlException;
import dev.hourglass.convert.yaml.YamlReader;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link YamlReader} on mutants of PyYAML-written files (Segmenter's {@code variant.yml} and the PyYAML fixtures):
 * each is read into the reader's plain value types or refused with a {@link YamlException} naming the file. A read
 * value is walked to its leaves, so a structure that contains itself would show as a crash. Short run by default; see
 * {@link Fuzzer} for a long one.
 */
class YamlFuzzTest {
    private static final List<byte[]> TOKENS = Mutator.utf8("&a ", "*a", "&id001 ", "*id001", "!!python/tuple",
            "!!python/tuple [", "!!python/object:argparse.Namespace", "!!str ", "!!binary ", "!!set ", "!!merge ",
            "!ENV ", "!<tag:yaml.org,2002:python/tuple> ", "%YAML 1.1\n", "%TAG !p! tag:yaml.org,2002:python/\n",
            "---\n", "--- ", "...\n", "- ", "? ", ": ", "<<: ", "<<: *a\n", "[", "]", "{", "}", ", ", "|\n", ">-\n",
            "|2+\n",
            "'", "\"", "\"\\L", "\"\\P", "\"\\U0001F600", "\"\\UFFFFFFFF\"", "\"\\x4", "\\", "\t", "\r", "\r\n", "\n  ",
            "\n    - ", "# ", "~", "null", "yes", "off", ".inf", ".nan", "0x1F", "0o17", "0b101", "012", "1_000",
            "1:30:00", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "9223372036854775808", "1e-05", "1.0e+309",
            "=", "\uFEFF", "\u0085", "\u2028", "\uD83D\uDE00", "[[[[[[[[[[[[[[[[[[[[", "- - - - - - - - - - - - ",
            "{a: {a: {a: {a: {a: {a: {a: ", "&a [*a]", "&b {k: *b}");

    @TempDir
    Path folder;

    @Test
    void everyMutantIsReadOrRefusedWithAYamlException() {
        Mutator mutator = new Mutator(Seeds.read("convert/segmenter_pth/variant.yml",
                "convert/segmenter_linear_pth/variant.yml", "yaml/segmenter_variant_large.yml",
                "yaml/pyyaml_subset.yml", "yaml/pyyaml_random.yml"), TOKENS);
        Fuzzer.Report report = Fuzzer.run("yaml", mutator::mutant, 400, folder.resolve("variant.yml"),
                file -> walk(YamlReader.read(file)), Fuzzer.documented(YamlException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    /**
     * Visits every value once (aliases share values), requiring the reader's result types only, then hashes and
     * prints the whole value as a user would: a structure containing itself would overflow the stack there.
     */
    private static void walk(Object root) {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object> todo = new ArrayDeque<>();
        todo.push(root == null ? "" : root);
        while (!todo.isEmpty()) {
            Object v = todo.pop();
            if (!seen.add(v)) {
                continue;
            }
            switch (v) {
                case Map<?, ?> m -> m.forEach((k, x) -> {
                    if (!(k instanceof String)) {
                        throw new AssertionError("a key of type " + k.getClass().getName());
                    }
                    todo.push(x == null ? "" : x);
                });
                case List<?> l -> l.forEach(x -> todo.push(x == null ? "" : x));
                case String s -> { }
                case Long n -> { }
                case Double d -> { }
                case Boolean b -> { }
                default -> throw new AssertionError("a value of type " + v.getClass().getName());
            }
        }
        Objects.hashCode(root);
        String.valueOf(root);
    }
}
