package dev.hourglass.convert.yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.composer.Composer;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.ScannerException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;

import dev.hourglass.convert.StrictUtf8;

/**
 * Reads YAML files as PyYAML's {@code yaml.load(f, Loader=yaml.FullLoader)} reads what {@code yaml.dump} writes
 * (Segmenter's {@code variant.yml}), with snakeyaml-engine's parser and a safe constructor that builds plain Java
 * values only. Every problem is a {@link YamlException} naming the file and the line.
 *
 * <p>The parser is snakeyaml-engine's (YAML 1.2 syntax: block and flow collections, plain, quoted and block scalars,
 * comments, anchors and aliases, directives). What differs between YAML 1.2 and the YAML 1.1 that PyYAML reads is
 * done as PyYAML does it ({@link PyYamlSchema}): plain scalars resolve by PyYAML's rules ({@code yes}, {@code off}
 * are booleans; {@code 1e-05}, which has no dot, is a string), and the characters U+0085, U+2028 and U+2029, line
 * breaks to PyYAML but not to YAML 1.2, are refused rather than read differently.
 *
 * <p>Results: {@code Map<String, Object>} (unmodifiable, in file order), {@code List<Object>} (unmodifiable; also for
 * {@code !!python/tuple}), {@code String}, {@code Long}, {@code Double}, {@code Boolean} or null; an alias gives the
 * very object its anchor gave.
 *
 * <p>Refused with a message: files over {@value #MAX_BYTES} bytes, malformed UTF-8, text that is not YAML, more than
 * one document, collections nested deeper than {@value #MAX_DEPTH}, more than {@value #MAX_COLLECTION_ALIASES}
 * aliases of collections, a collection that contains itself through an alias, any explicit tag but
 * {@code !!python/tuple} (so no Python objects, no {@code !!binary}, no {@code !!set}), keys that are not strings,
 * duplicate keys, merge keys ({@code <<}), and scalars PyYAML would turn into something this reader does not
 * build: timestamps, integers outside 64 bits, integers and floats in binary, octal, hexadecimal, sexagesimal or with
 * underscores.
 */
public final class YamlReader {
    /** The largest file read, in bytes; {@link #parse} takes as many code points. */
    public static final int MAX_BYTES = 1 << 20;
    /** The deepest nesting of collections read (the root collection is level 1). */
    public static final int MAX_DEPTH = 64;
    /**
     * The most aliases of collections one document may hold: {@code yaml.dump} writes one for each object that occurs
     * twice, which a configuration rarely has; the limit stops "billion laughs" documents.
     */
    public static final int MAX_COLLECTION_ALIASES = 16;

    /** How many double-quoted strings with the escapes backslash-L or backslash-P are read (see {@link #parse}). */
    private static final int MAX_ESCAPE_REWRITES = 16;

    private YamlReader() {
    }

    /** Reads a YAML file: a mapping, list, scalar or null (an empty document). */
    public static Object read(Path file) throws IOException {
        String name = file.toString();
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new YamlException(name, "file of " + size + " bytes is larger than the " + MAX_BYTES
                    + " bytes this reader accepts");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new YamlException(name, "file grew beyond " + MAX_BYTES + " bytes while being read");
        }
        return parse(decode(bytes, name), name);
    }

    /** Reads a YAML file whose document is a mapping, as Segmenter's {@code variant.yml} is. */
    public static Map<String, Object> readMapping(Path file) throws IOException {
        return asMapping(read(file), file.toString());
    }

    /** Parses YAML text; {@code source} names it in error messages. */
    public static Object parse(String text, String source) throws YamlException {
        refusePyYamlLineBreaks(text, source);
        String yaml = text;
        for (int rewrites = 0; ; rewrites++) {
            LoadSettings settings = LoadSettings.builder()
                    .setLabel(source)
                    .setSchema(new PyYamlSchema())
                    .setAllowDuplicateKeys(false)
                    .setAllowRecursiveKeys(false)
                    .setAllowNonScalarKeys(false)
                    .setMaxAliasesForCollections(MAX_COLLECTION_ALIASES)
                    .setCodePointLimit(MAX_BYTES)
                    .setParseComments(false)
                    .setEnvConfig(Optional.empty())
                    .build();
            CheckedEvents events = new CheckedEvents(new ParserImpl(settings, new StreamReader(settings, yaml)));
            try {
                Optional<Node> root = new CheckedComposer(settings, events).getSingleNode();
                return new PyYamlConstructor(settings).constructSingleDocument(root);
            } catch (Refusal e) {
                throw new YamlException(source, e.line(), e.problem());
            } catch (ScannerException e) {
                String rewritten = rewrites < MAX_ESCAPE_REWRITES ? withLineSeparatorEscapes(yaml, e) : null;
                if (rewritten == null) {
                    throw new YamlException(source, lineOf(e, events), describe(e));
                }
                yaml = rewritten;
            } catch (MarkedYamlEngineException e) {
                throw new YamlException(source, lineOf(e, events), describe(e));
            } catch (ReaderException e) {
                throw new YamlException(source, lineOfCodePoint(yaml, e.getPosition()),
                        describeCharacter(e.getCodePoint()));
            } catch (NumberFormatException e) {
                // snakeyaml-engine 3.2 reads the digits of a \U escape, of a block scalar's indentation indicator and
                // of a %YAML version with Integer.parseInt, unguarded: a \U escape beyond 7FFFFFFF or a digit outside
                // the BMP (U+1D7CF) escapes its scanner as this exception.
                if (Arrays.stream(e.getStackTrace()).noneMatch(f -> f.getClassName().startsWith("org.snakeyaml."))) {
                    throw e;
                }
                throw new YamlException(source, events.line(), "a number YAML cannot read in an escape, a block"
                        + " scalar's indentation or a directive (" + oneLine(e.getMessage()) + ")");
            } catch (YamlEngineException e) {
                if (e.getCause() instanceof RuntimeException bug && !(bug instanceof YamlEngineException)) {
                    throw bug;  // a defect of this reader's own code, wrapped by the library: not the file's fault
                }
                // The library's unmarked refusals (the alias and size limits) follow the event that broke them.
                throw new YamlException(source, events.line(), oneLine(e.getMessage()));
            }
        }
    }

    private static int lineOf(MarkedYamlEngineException e, CheckedEvents events) {
        return e.getProblemMark().or(e::getContextMark).map(m -> m.getLine() + 1).orElse(events.line());
    }

    /**
     * snakeyaml-engine lacks two escapes of double-quoted strings that YAML (1.1 and 1.2) has and {@code yaml.dump}
     * writes: backslash-L (U+2028) and backslash-P (U+2029). Where its scanner stops at one, every such escape in the
     * string it was scanning (whose opening quote the exception marks) is rewritten as the equivalent 4-digit
     * hexadecimal escape, and the text is read again. Null if the exception is about something else.
     */
    private static String withLineSeparatorEscapes(String yaml, ScannerException e) {
        if (e.getProblemMark().isEmpty() || e.getContextMark().isEmpty()) {
            return null;
        }
        int codePoints = yaml.codePointCount(0, yaml.length());
        int at = e.getProblemMark().get().getIndex();
        int open = e.getContextMark().get().getIndex();
        if (at < 1 || at >= codePoints || open < 0 || open >= at) {
            return null;
        }
        int escape = yaml.offsetByCodePoints(0, at);
        int quote = yaml.offsetByCodePoints(0, open);
        char c = yaml.charAt(escape);
        if (yaml.charAt(quote) != '"' || yaml.charAt(escape - 1) != '\\' || (c != 'L' && c != 'P')) {
            return null;
        }
        StringBuilder out = new StringBuilder(yaml.length() + 16).append(yaml, 0, quote + 1);
        int i = quote + 1;
        while (i < yaml.length() && yaml.charAt(i) != '"') {
            if (yaml.charAt(i) == '\\' && i + 1 < yaml.length()) {
                char next = yaml.charAt(i + 1);
                out.append(next == 'L' ? "\\u2028" : next == 'P' ? "\\u2029" : "\\" + next);
                i += 2;
            } else {
                out.append(yaml.charAt(i++));
            }
        }
        return out.append(yaml, i, yaml.length()).toString();
    }

    /** Parses YAML text whose document must be a mapping. */
    public static Map<String, Object> parseMapping(String text, String source) throws YamlException {
        return asMapping(parse(text, source), source);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMapping(Object root, String source) throws YamlException {
        if (root instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new YamlException(source, "the document is " + describe(root) + ", not a mapping");
    }

    // ---------------------------------------------------------------- characters

    private static String decode(byte[] bytes, String source) throws YamlException {
        try {
            return StrictUtf8.decode(bytes);
        } catch (StrictUtf8.MalformedException e) {
            int lineNo = 1;
            for (int i = 0; i < e.offset(); i++) {
                if (bytes[i] == '\n') {
                    lineNo++;
                }
            }
            throw new YamlException(source, lineNo, "not valid UTF-8 (byte " + e.offset() + ")");
        }
    }

    /** U+0085, U+2028 and U+2029 break lines for PyYAML (YAML 1.1), not for YAML 1.2: refused, never misread. */
    private static void refusePyYamlLineBreaks(String text, String source) throws YamlException {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u0085' || c == '\u2028' || c == '\u2029') {
                throw new YamlException(source, lineOfChar(text, i), String.format("the Unicode line break U+%04X"
                        + " is not supported", (int) c));
            }
        }
    }

    private static String describeCharacter(int codePoint) {
        if (codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE) {
            return "unpaired surrogate character";
        }
        return String.format("control character U+%04X is not allowed in YAML", codePoint);
    }

    /** The 1-based line of the character at {@code index} (line breaks: LF, CRLF, CR). */
    private static int lineOfChar(String text, int index) {
        int line = 1;
        for (int i = 0; i < index && i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || (c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n'))) {
                line++;
            }
        }
        return line;
    }

    private static int lineOfCodePoint(String text, int codePointIndex) {
        int chars = codePointIndex <= text.codePointCount(0, text.length())
                ? text.offsetByCodePoints(0, codePointIndex) : text.length();
        return lineOfChar(text, chars);
    }

    // ---------------------------------------------------------------- messages

    /** The library's problem and, where it gives one, what it was doing and from which line. */
    private static String describe(MarkedYamlEngineException e) {
        String problem = e.getProblem() == null ? "" : e.getProblem();
        String context = e.getContext() == null ? "" : e.getContext();
        if (context.isEmpty()) {
            return oneLine(problem);
        }
        Optional<Mark> from = e.getContextMark();
        Optional<Mark> at = e.getProblemMark();
        String started = from.isPresent() && at.isPresent() && from.get().getLine() != at.get().getLine()
                ? " started on line " + (from.get().getLine() + 1) : "";
        return oneLine(problem + " (" + context + started + ")");
    }

    /** {@code s} with control characters escaped, so that a message stays on one line. */
    static String oneLine(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }

    /** {@code s} in double quotes, control characters escaped, cut after ~80 characters. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder().append('"');
        int shown = 0;
        for (; shown < s.length() && shown < 80; shown++) {
            char c = s.charAt(shown);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
        if (shown < s.length()) {
            out.append("...(").append(s.length()).append(" chars)");
        }
        return out.toString();
    }

    /** A value as a message names it: "the integer 1", "a sequence". */
    static String describe(Object value) {
        return switch (value) {
            case null -> "null";
            case Boolean b -> "the boolean " + b;
            case Long n -> "the integer " + n;
            case Double d -> "the float " + d;
            case String str -> "the string " + quote(str);
            case List<?> list -> "a sequence";
            case Map<?, ?> map -> "a mapping";
            default -> "a " + value.getClass().getSimpleName();
        };
    }

    /**
     * snakeyaml-engine's composer, refusing with a line what it would refuse without one (keys that are collections)
     * or would act on (merge keys, which it merges while composing).
     */
    private static final class CheckedComposer extends Composer {
        CheckedComposer(LoadSettings settings, CheckedEvents events) {
            super(settings, events);
        }

        @Override
        protected Node composeKeyNode(MappingNode node) {
            Node key = super.composeKeyNode(node);
            switch (key.getNodeType()) {
                case SCALAR -> {
                    if (key.getTag().equals(Tag.MERGE)) {
                        throw Refusal.at(key, "merge keys ('<<') are not supported");
                    }
                    return key;
                }
                case SEQUENCE -> throw Refusal.at(key, "a sequence as a key is not supported; only string keys are");
                default -> throw Refusal.at(key, "a mapping as a key is not supported; only string keys are");
            }
        }
    }
}
