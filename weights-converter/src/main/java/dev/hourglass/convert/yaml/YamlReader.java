package dev.hourglass.convert.yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A small, strict reader for the YAML that PyYAML's {@code yaml.dump} writes in its default block style, which is how
 * Segmenter saves {@code variant.yml}. It reads exactly what {@code yaml.load(f, Loader=yaml.FullLoader)} would give
 * for that subset, and refuses everything else with a {@link YamlException} naming the file, the line and the
 * feature, rather than guessing.
 *
 * <p>Read:
 * <ul>
 * <li>block mappings ({@code key: value}, nested by indentation) with string keys, plain or quoted; a duplicate key
 * is an error;</li>
 * <li>block sequences ({@code - item}), also the "indentless" form PyYAML writes under a key ({@code key:} then
 * {@code - 1} at the key's own indentation), and the compact forms {@code - - x} and {@code - key: value};</li>
 * <li>plain scalars, resolved as PyYAML resolves them (YAML 1.1): {@code null}, {@code Null}, {@code NULL},
 * {@code ~} and empty → null; {@code true/false/yes/no/on/off} in lower, capitalised or upper case → Boolean; decimal
 * integers → Long; floats with a dot ({@code 1.0}, {@code 1.0e-05}, {@code .5}, {@code 1.}), {@code .inf},
 * {@code -.inf}, {@code .nan} → Double; anything else → String (so {@code 1e-05}, which has no dot, is the string
 * PyYAML also makes of it). Plain scalars may continue on more-indented lines (folded with spaces, as PyYAML wraps
 * long values);</li>
 * <li>single-quoted ({@code ''} for a quote) and double-quoted strings (all YAML escapes: {@code \n}, {@code \t},
 * {@code \xE9}, {@code \L}, {@code \U0001F600}, escaped line breaks, ...), also spread over several lines;</li>
 * <li>the tag {@code !!python/tuple} before a block sequence or {@code []}, read as a list;</li>
 * <li>the empty flow collections {@code {}} and {@code []};</li>
 * <li>comments, blank lines, a leading byte order mark, one optional {@code ---} document start and a final
 * {@code ...} document end.</li>
 * </ul>
 *
 * <p>Refused with a message: anchors and aliases, any other tag, flow collections with content, block scalars
 * ({@code |}, {@code >}), explicit keys ({@code ?}), non-string keys (e.g. {@code 1: x}, {@code true: x}), merge keys
 * ({@code <<}), more than one document, directives, tabs, control characters and Unicode line separators, integers
 * in binary, octal, hexadecimal, sexagesimal or with underscores (and floats in those forms), integers outside the
 * 64-bit range, timestamps, files over {@value #MAX_BYTES} bytes, malformed UTF-8, and nesting deeper than
 * {@value #MAX_DEPTH} collections.
 *
 * <p>Results: {@code Map<String, Object>} (unmodifiable, in file order), {@code List<Object>} (unmodifiable),
 * {@code String}, {@code Long}, {@code Double}, {@code Boolean} or null.
 */
public final class YamlReader {
    /** The largest file read, in bytes. */
    public static final int MAX_BYTES = 1 << 20;
    /** The deepest nesting of collections read (the root collection is level 1). */
    public static final int MAX_DEPTH = 64;

    private static final String PYTHON_TUPLE = "!!python/tuple";

    // PyYAML's implicit resolvers (yaml/resolver.py), used on plain scalars only.
    private static final Pattern BOOL = Pattern.compile(
            "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
    private static final Pattern TRUE = Pattern.compile("yes|Yes|YES|true|True|TRUE|on|On|ON");
    private static final Pattern NULL = Pattern.compile("~|null|Null|NULL|");
    private static final Pattern PY_INT = Pattern.compile("[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
            + "|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+");
    private static final Pattern PY_FLOAT = Pattern.compile("[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?"
            + "|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*"
            + "|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");
    private static final Pattern TIMESTAMP = Pattern.compile("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
            + "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]"
            + "(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?");
    // The forms of those this reader converts.
    private static final Pattern DECIMAL_INT = Pattern.compile("[-+]?(?:0|[1-9][0-9]*)");
    private static final Pattern DECIMAL_FLOAT = Pattern.compile(
            "[-+]?[0-9]+\\.[0-9]*(?:[eE][-+][0-9]+)?|\\.[0-9]+(?:[eE][-+][0-9]+)?");
    private static final Pattern INF = Pattern.compile("[-+]?\\.(?:inf|Inf|INF)");

    private final String source;
    private final String[] lines;
    /** The line being read (0-based); after a node is read, the first line after it. */
    private int line;
    /** The column being read on {@link #line}. */
    private int col;
    private int depth;

    private YamlReader(String source, String[] lines) {
        this.source = source;
        this.lines = lines;
    }

    // ---------------------------------------------------------------- entry points

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
        if (text.length() > MAX_BYTES) {
            throw new YamlException(source, "text of " + text.length() + " characters is larger than the "
                    + MAX_BYTES + " this reader accepts");
        }
        return new YamlReader(source, splitLines(text, source)).document();
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

    // ---------------------------------------------------------------- characters and lines

    private static String decode(byte[] bytes, String source) throws YamlException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            int lineNo = 1;
            for (int i = 0; i < in.position(); i++) {
                if (bytes[i] == '\n') {
                    lineNo++;
                }
            }
            throw new YamlException(source, lineNo, "not valid UTF-8 (byte " + in.position() + ")");
        }
        return out.flip().toString();
    }

    /** Splits at LF or CRLF, refusing characters PyYAML would refuse or that YAML 1.1 treats as line breaks. */
    private static String[] splitLines(String text, String source) throws YamlException {
        List<String> result = new ArrayList<>();
        int start = text.startsWith("\uFEFF") ? 1 : 0;
        int lineNo = 1;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                int end = i > start && text.charAt(i - 1) == '\r' ? i - 1 : i;
                result.add(text.substring(start, end));
                start = i + 1;
                lineNo++;
            } else if (c == '\t') {
                throw new YamlException(source, lineNo, "tab characters are not supported (indent with spaces)");
            } else if (c == '\r') {
                if (i + 1 >= text.length() || text.charAt(i + 1) != '\n') {
                    throw new YamlException(source, lineNo, "a carriage return not followed by a line feed is"
                            + " not supported");
                }
            } else if (c == '\u0085' || c == '\u2028' || c == '\u2029') {
                throw new YamlException(source, lineNo, String.format("the Unicode line break U+%04X is not"
                        + " supported", (int) c));
            } else if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xFFFE || c == 0xFFFF) {
                throw new YamlException(source, lineNo, String.format("control character U+%04X is not allowed in"
                        + " YAML", (int) c));
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < text.length()
                        && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    throw new YamlException(source, lineNo, "unpaired surrogate character");
                }
            }
        }
        if (start < text.length()) {
            result.add(text.substring(start));
        }
        return result.toArray(String[]::new);
    }

    private static int indentOf(String s) {
        int i = 0;
        while (i < s.length() && s.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    private int indent(int l) {
        return indentOf(lines[l]);
    }

    /** Blank, or only a comment. */
    private boolean isBlankOrComment(int l) {
        String s = lines[l];
        int i = indentOf(s);
        return i == s.length() || s.charAt(i) == '#';
    }

    private boolean isBlank(int l) {
        return indentOf(lines[l]) == lines[l].length();
    }

    /** The first line at or after {@code from} with content (not blank, not only a comment). */
    private int nextContent(int from) {
        int l = from;
        while (l < lines.length && isBlankOrComment(l)) {
            l++;
        }
        return l;
    }

    private boolean isDocumentMarker(int l) {
        return isMarker(lines[l], "---") || isMarker(lines[l], "...");
    }

    private static boolean isMarker(String s, String marker) {
        return s.startsWith(marker) && (s.length() == 3 || s.charAt(3) == ' ');
    }

    /** {@code -} followed by a space or the end of the line, at column {@code at}. */
    private static boolean isEntry(String s, int at) {
        return at < s.length() && s.charAt(at) == '-' && (at + 1 == s.length() || s.charAt(at + 1) == ' ');
    }

    /** Only spaces and possibly a comment from column {@code from} on. */
    private static boolean restIsEmpty(String s, int from) {
        int i = from;
        while (i < s.length() && s.charAt(i) == ' ') {
            i++;
        }
        return i == s.length() || (s.charAt(i) == '#' && (i == 0 || s.charAt(i - 1) == ' '));
    }

    private static int skipSpaces(String s, int from) {
        int i = from;
        while (i < s.length() && s.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    private YamlException error(int l, String problem) {
        return new YamlException(source, Math.min(l, Math.max(lines.length - 1, 0)) + 1, problem);
    }

    // ---------------------------------------------------------------- structure

    private Object document() throws YamlException {
        int l = nextContent(0);
        if (l < lines.length && lines[l].startsWith("%")) {
            throw error(l, "directives (" + quote(lines[l]) + ") are not supported");
        }
        if (l < lines.length && isMarker(lines[l], "---")) {
            if (!restIsEmpty(lines[l], 3)) {
                throw error(l, "content on the '---' line is not supported; start it on the next line");
            }
            l = nextContent(l + 1);
        }
        Object root = null;
        if (l < lines.length && !isDocumentMarker(l)) {
            line = l;
            col = indent(l);
            root = node(-1, false, false);
            l = nextContent(line);
        }
        if (l < lines.length) {
            if (isMarker(lines[l], "...")) {
                int after = nextContent(l + 1);
                if (after < lines.length) {
                    throw error(after, "content after the document end marker '...': multiple documents are not"
                            + " supported");
                }
            } else if (isMarker(lines[l], "---")) {
                throw error(l, "a second document ('---'): multiple documents are not supported");
            } else {
                throw error(l, "unexpected content " + quote(lines[l].strip()) + " at indentation " + indent(l)
                        + " after the end of the document's root node");
            }
        }
        return root;
    }

    /**
     * The node starting at ({@link #line}, {@link #col}), the first character of its content. {@code parentIndent}:
     * the indentation of the collection holding it (-1 for the root); {@code afterKey}: it follows {@code key:} on
     * the same line (no block collection may start there); {@code inMapping}: a value in a mapping (a block sequence
     * may then sit at the mapping's own indentation).
     */
    private Object node(int parentIndent, boolean afterKey, boolean inMapping) throws YamlException {
        String s = lines[line];
        char c = s.charAt(col);
        int at = col;
        if (isEntry(s, at)) {
            if (afterKey) {
                throw error(line, "a block sequence cannot start on the line of its key; put '- ' on the next"
                        + " line");
            }
            return sequence(at);
        }
        switch (c) {
            case '&' -> throw error(line, "anchors (" + quote(token(s, at)) + ") are not supported");
            case '*' -> throw error(line, "aliases (" + quote(token(s, at)) + ") are not supported");
            case '!' -> {
                return tagged(parentIndent, inMapping);
            }
            case '[', '{' -> {
                return emptyFlow();
            }
            case '|', '>' -> throw error(line, "block scalars ('" + c + "') are not supported");
            case ']', '}', ',', '%', '@', '`' -> throw error(line, "a plain scalar cannot start with '" + c + "'");
            default -> {
                // fall through to keys and scalars
            }
        }
        if ((c == '?' || c == ':') && (at + 1 == s.length() || s.charAt(at + 1) == ' ')) {
            throw error(line, c == '?' ? "explicit keys ('? ') are not supported" : "a ':' without a key");
        }
        if (startsMappingEntry(s, at)) {
            if (afterKey) {
                throw error(line, "a mapping cannot start on the line of its key (mapping values are not allowed"
                        + " here); put it on the next line, indented");
            }
            return mapping(at);
        }
        if (c == '\'' || c == '"') {
            String value = quoted(parentIndent);
            String rest = lines[line];
            if (!restIsEmpty(rest, col)) {
                throw error(line, "unexpected text " + quote(rest.substring(skipSpaces(rest, col)))
                        + " after a quoted string");
            }
            line++;
            return value;
        }
        int start = line;
        return resolve(plain(parentIndent), start);
    }

    /** The {@code !!python/tuple} tag, before {@code []} or a block sequence on the following lines. */
    private Object tagged(int parentIndent, boolean inMapping) throws YamlException {
        String s = lines[line];
        String tag = token(s, col);
        if (!tag.equals(PYTHON_TUPLE)) {
            throw error(line, "the tag " + quote(tag) + " is not supported (only " + PYTHON_TUPLE + ")");
        }
        int after = skipSpaces(s, col + tag.length());
        if (after < s.length() && s.charAt(after) != '#') {
            col = after;
            if (s.charAt(after) == '[' || s.charAt(after) == '{') {
                return emptyFlowList(tag);
            }
            throw error(line, PYTHON_TUPLE + " must be followed by a block sequence or [], not "
                    + quote(s.substring(after)));
        }
        int l = nextContent(line + 1);
        if (l < lines.length && !isDocumentMarker(l)) {
            int ind = indent(l);
            if ((ind > parentIndent || (inMapping && ind == parentIndent)) && isEntry(lines[l], ind)) {
                line = l;
                col = ind;
                return sequence(ind);
            }
        }
        throw error(line, PYTHON_TUPLE + " must be followed by a block sequence (lines starting with '- ') or []");
    }

    private Object emptyFlow() throws YamlException {
        String s = lines[line];
        if (s.startsWith("{}", col) && restIsEmpty(s, col + 2)) {
            line++;
            return Collections.unmodifiableMap(new LinkedHashMap<String, Object>());
        }
        if (s.startsWith("[]", col) && restIsEmpty(s, col + 2)) {
            line++;
            return Collections.unmodifiableList(new ArrayList<>());
        }
        throw error(line, "flow collections with content (" + quote(s.substring(col)) + ") are not supported;"
                + " only the empty {} and []");
    }

    private Object emptyFlowList(String tag) throws YamlException {
        String s = lines[line];
        if (s.startsWith("[]", col) && restIsEmpty(s, col + 2)) {
            line++;
            return Collections.unmodifiableList(new ArrayList<>());
        }
        throw error(line, tag + " with a flow sequence with content (" + quote(s.substring(col)) + ") is not"
                + " supported; only [] or a block sequence");
    }

    private void enter() throws YamlException {
        if (++depth > MAX_DEPTH) {
            throw error(line, "collections nested deeper than " + MAX_DEPTH + " levels");
        }
    }

    /** A block mapping whose first key is at ({@link #line}, {@link #col}) and whose keys are at {@code indent}. */
    private Map<String, Object> mapping(int indent) throws YamlException {
        enter();
        Map<String, Object> map = new LinkedHashMap<>();
        while (true) {
            int keyLine = line;
            String s0 = lines[line];
            if (s0.charAt(col) == '?' && (col + 1 == s0.length() || s0.charAt(col + 1) == ' ')) {
                throw error(line, "explicit keys ('? ') are not supported");
            }
            if (!startsMappingEntry(s0, col)) {
                throw error(line, "expected the mapping's next key ('key: value'), found "
                        + quote(lines[line].substring(col)));
            }
            String key = key();
            if (map.containsKey(key)) {
                throw error(keyLine, "duplicate key " + quote(key));
            }
            String s = lines[line];
            Object value;
            if (restIsEmpty(s, col)) {
                int l = nextContent(line + 1);
                if (l < lines.length && !isDocumentMarker(l) && indent(l) > indent) {
                    line = l;
                    col = indent(l);
                    value = node(indent, false, true);
                } else if (l < lines.length && indent(l) == indent && isEntry(lines[l], indent)) {
                    line = l;
                    col = indent;
                    value = sequence(indent);
                } else {
                    value = null;
                    line++;
                }
            } else {
                value = node(indent, true, true);
            }
            map.put(key, value);

            int l = nextContent(line);
            if (l == lines.length || isDocumentMarker(l) || indent(l) < indent) {
                line = l;
                break;
            }
            if (indent(l) > indent) {
                throw error(l, "unexpected indentation: " + indent(l) + " spaces where the mapping's next key"
                        + " (indentation " + indent + ") or its end was expected");
            }
            if (isEntry(lines[l], indent)) {
                throw error(l, "a sequence entry where the mapping's next key was expected");
            }
            line = l;
            col = indent;
        }
        depth--;
        return Collections.unmodifiableMap(map);
    }

    /** A block sequence whose first {@code -} is at ({@link #line}, {@link #col}), all at {@code indent}. */
    private List<Object> sequence(int indent) throws YamlException {
        enter();
        List<Object> list = new ArrayList<>();
        while (true) {
            String s = lines[line];
            col = skipSpaces(s, indent + 1);
            Object item;
            if (restIsEmpty(s, col)) {
                int l = nextContent(line + 1);
                if (l < lines.length && !isDocumentMarker(l) && indent(l) > indent) {
                    line = l;
                    col = indent(l);
                    item = node(indent, false, false);
                } else {
                    item = null;
                    line++;
                }
            } else {
                item = node(indent, false, false);
            }
            list.add(item);

            int l = nextContent(line);
            if (l == lines.length || isDocumentMarker(l) || indent(l) < indent) {
                line = l;
                break;
            }
            if (indent(l) > indent) {
                throw error(l, "unexpected indentation: " + indent(l) + " spaces where the sequence's next '- '"
                        + " (indentation " + indent + ") or its end was expected");
            }
            if (!isEntry(lines[l], indent)) {
                line = l;       // the holder decides: the next key of a mapping, or an error
                break;
            }
            line = l;
        }
        depth--;
        return Collections.unmodifiableList(list);
    }

    // ---------------------------------------------------------------- keys

    /** Whether a mapping entry ({@code key:} then a space or the end of the line) starts at column {@code at}. */
    private boolean startsMappingEntry(String s, int at) {
        char c = s.charAt(at);
        if (c == '\'' || c == '"') {
            int end = closingQuote(s, at);
            if (end < 0) {
                return false;
            }
            int i = skipSpaces(s, end + 1);
            return i < s.length() && s.charAt(i) == ':' && (i + 1 == s.length() || s.charAt(i + 1) == ' ');
        }
        return plainKeyColon(s, at) >= 0;
    }

    /** The column of the ':' ending a plain key that starts at {@code at}, or -1. */
    private static int plainKeyColon(String s, int at) {
        for (int i = at; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ':' && (i + 1 == s.length() || s.charAt(i + 1) == ' ')) {
                return i;
            }
            if (c == '#' && i > at && s.charAt(i - 1) == ' ') {
                return -1;
            }
        }
        return -1;
    }

    /** The column of the quote closing a quoted scalar that opens at {@code at} on this line, or -1. */
    private static int closingQuote(String s, int at) {
        char q = s.charAt(at);
        for (int i = at + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (q == '\'' && c == '\'') {
                if (i + 1 < s.length() && s.charAt(i + 1) == '\'') {
                    i++;
                } else {
                    return i;
                }
            } else if (q == '"' && c == '\\') {
                i++;
            } else if (q == '"' && c == '"') {
                return i;
            }
        }
        return -1;
    }

    /** Reads {@code key:} at ({@link #line}, {@link #col}) and leaves {@link #col} after the ':'. */
    private String key() throws YamlException {
        String s = lines[line];
        char c = s.charAt(col);
        String key;
        if (c == '\'' || c == '"') {
            int keyLine = line;
            key = quoted(-1);
            if (line != keyLine) {
                throw error(keyLine, "a quoted key must fit on one line");
            }
            col = skipSpaces(s, col);
        } else {
            if (c == '?' && (col + 1 == s.length() || s.charAt(col + 1) == ' ')) {
                throw error(line, "explicit keys ('? ') are not supported");
            }
            checkPlainStart(s, col);
            int colon = plainKeyColon(s, col);
            String text = s.substring(col, colon).stripTrailing();
            Object resolved = resolve(text, line);
            if (!(resolved instanceof String k)) {
                throw error(line, "the key " + quote(text) + " is " + describe(resolved) + "; only string keys are"
                        + " supported");
            }
            key = k;
            col = colon;
        }
        if (col >= s.length() || s.charAt(col) != ':') {
            throw error(line, "expected ':' after the key " + quote(key));
        }
        col++;
        col = skipSpaces(s, col);
        return key;
    }

    // ---------------------------------------------------------------- scalars

    private void checkPlainStart(String s, int at) throws YamlException {
        char c = s.charAt(at);
        boolean followedBySpace = at + 1 == s.length() || s.charAt(at + 1) == ' ';
        switch (c) {
            case '&' -> throw error(line, "anchors (" + quote(token(s, at)) + ") are not supported");
            case '*' -> throw error(line, "aliases (" + quote(token(s, at)) + ") are not supported");
            case '!' -> throw error(line, "tags (" + quote(token(s, at)) + ") are not supported here");
            case '|', '>' -> throw error(line, "block scalars ('" + c + "') are not supported");
            case '[', '{' -> throw error(line, "flow collections (" + quote(s.substring(at)) + ") are not supported"
                    + " here");
            case ']', '}', ',', '%', '@', '`', '#' -> throw error(line, "a plain scalar cannot start with '" + c
                    + "'");
            case '-', '?', ':' -> {
                if (followedBySpace) {
                    throw error(line, "a plain scalar cannot start with '" + c + " '");
                }
            }
            default -> {
                // a plain scalar
            }
        }
    }

    /**
     * A plain scalar from ({@link #line}, {@link #col}), with its continuation lines (indented more than
     * {@code parentIndent}), folded as YAML folds them. Leaves {@link #line} after its last line.
     */
    private String plain(int parentIndent) throws YamlException {
        String s = lines[line];
        checkPlainStart(s, col);
        StringBuilder out = new StringBuilder();
        boolean comment = appendPlainLine(out, s, col);
        int last = line;
        while (!comment) {
            int l = last + 1;
            int breaks = 0;
            while (l < lines.length && isBlank(l)) {
                l++;
                breaks++;
            }
            if (l == lines.length || isDocumentMarker(l) || indent(l) <= parentIndent
                    || lines[l].charAt(indent(l)) == '#') {
                break;
            }
            out.append(breaks == 0 ? " " : "\n".repeat(breaks));
            line = l;
            comment = appendPlainLine(out, lines[l], indent(l));
            last = l;
        }
        line = last + 1;
        return out.toString();
    }

    /** Appends one line of a plain scalar; true if a comment ends it. */
    private boolean appendPlainLine(StringBuilder out, String s, int from) throws YamlException {
        int end = s.length();
        boolean comment = false;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '#' && i > from && s.charAt(i - 1) == ' ') {
                end = i;
                comment = true;
                break;
            }
            if (c == ':' && (i + 1 == s.length() || s.charAt(i + 1) == ' ')) {
                throw error(line, "mapping values are not allowed here (': ' inside the plain scalar "
                        + quote(s.substring(from).strip()) + ")");
            }
        }
        out.append(s, from, end);
        int keep = out.length();
        while (keep > 0 && out.charAt(keep - 1) == ' ') {
            keep--;
        }
        out.setLength(keep);
        return comment;
    }

    /**
     * A quoted scalar opening at ({@link #line}, {@link #col}), possibly over several lines (continuation lines
     * indented more than {@code parentIndent}). Leaves {@link #line} and {@link #col} just after the closing quote.
     */
    private String quoted(int parentIndent) throws YamlException {
        int startLine = line;
        char q = lines[line].charAt(col);
        StringBuilder out = new StringBuilder();
        int i = col + 1;
        while (true) {
            String s = lines[line];
            int keep = out.length();    // literal trailing spaces of a line are dropped when it is folded
            boolean escapedBreak = false;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == q) {
                    if (q == '\'' && i + 1 < s.length() && s.charAt(i + 1) == '\'') {
                        out.append('\'');
                        keep = out.length();
                        i += 2;
                        continue;
                    }
                    col = i + 1;
                    return out.toString();
                }
                if (q == '"' && c == '\\') {
                    if (i + 1 == s.length()) {
                        escapedBreak = true;
                        i++;
                        break;
                    }
                    i = escape(s, i + 1, out);
                    keep = out.length();
                    continue;
                }
                out.append(c);
                if (c != ' ') {
                    keep = out.length();
                }
                i++;
            }
            if (!escapedBreak) {
                out.setLength(keep);
            }
            int l = line + 1;
            int breaks = 0;
            while (l < lines.length && isBlank(l)) {
                l++;
                breaks++;
            }
            if (l == lines.length) {
                throw error(startLine, "unterminated quoted string (the file ends before its closing " + q + ")");
            }
            if (isDocumentMarker(l)) {
                throw error(l, "a document marker inside the quoted string opened on line " + (startLine + 1));
            }
            if (indent(l) <= parentIndent) {
                throw error(l, "the quoted string opened on line " + (startLine + 1) + " continues on a line that"
                        + " is not indented more than its parent");
            }
            if (breaks > 0) {
                out.append("\n".repeat(breaks));
            } else if (!escapedBreak) {
                out.append(' ');
            }
            line = l;
            i = indent(l);
        }
    }

    /** Decodes the escape after a backslash at {@code at}; returns the index after it. */
    private int escape(String s, int at, StringBuilder out) throws YamlException {
        char c = s.charAt(at);
        switch (c) {
            case '0' -> out.append('\0');
            case 'a' -> out.append('\u0007');
            case 'b' -> out.append('\b');
            case 't' -> out.append('\t');
            case 'n' -> out.append('\n');
            case 'v' -> out.append('\u000B');
            case 'f' -> out.append('\f');
            case 'r' -> out.append('\r');
            case 'e' -> out.append('\u001B');
            case ' ' -> out.append(' ');
            case '"' -> out.append('"');
            case '/' -> out.append('/');
            case '\\' -> out.append('\\');
            case 'N' -> out.append('\u0085');
            case '_' -> out.append('\u00A0');
            case 'L' -> out.append('\u2028');
            case 'P' -> out.append('\u2029');
            case 'x', 'u', 'U' -> {
                int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                if (at + 1 + digits > s.length()) {
                    throw error(line, "the escape \\" + c + " needs " + digits + " hexadecimal digits");
                }
                String hex = s.substring(at + 1, at + 1 + digits);
                if (!hex.chars().allMatch(h -> (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f')
                        || (h >= 'A' && h <= 'F'))) {
                    throw error(line, "the escape \\" + c + " needs " + digits + " hexadecimal digits, not "
                            + quote(hex));
                }
                long code = Long.parseLong(hex, 16);
                if (code > Character.MAX_CODE_POINT) {
                    throw error(line, "the escape \\" + c + hex + " is not a Unicode code point");
                }
                out.appendCodePoint((int) code);
                return at + 1 + digits;
            }
            default -> throw error(line, "unknown escape \\" + c + " in a double-quoted string");
        }
        return at + 1;
    }

    /** A plain scalar's value, as PyYAML's resolver and constructor make it. */
    private Object resolve(String text, int l) throws YamlException {
        if (NULL.matcher(text).matches()) {
            return null;
        }
        if (BOOL.matcher(text).matches()) {
            return TRUE.matcher(text).matches();
        }
        if (PY_FLOAT.matcher(text).matches()) {
            if (DECIMAL_FLOAT.matcher(text).matches()) {
                return Double.parseDouble(text);
            }
            if (INF.matcher(text).matches()) {
                return text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            }
            if (text.startsWith(".")) {
                return Double.NaN;
            }
            throw error(l, "the float " + quote(text) + " is in a form this reader does not support (underscores or"
                    + " sexagesimal); write it as a plain decimal");
        }
        if (PY_INT.matcher(text).matches()) {
            if (DECIMAL_INT.matcher(text).matches()) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException e) {
                    throw error(l, "the integer " + quote(text) + " does not fit in 64 bits");
                }
            }
            throw error(l, "the integer " + quote(text) + " is in a form this reader does not support (binary, octal,"
                    + " hexadecimal, sexagesimal or with underscores); write it in decimal");
        }
        if (text.equals("<<")) {
            throw error(l, "merge keys ('<<') are not supported");
        }
        if (text.equals("=")) {
            throw error(l, "the YAML value key '=' is not supported");
        }
        if (TIMESTAMP.matcher(text).matches()) {
            throw error(l, "timestamps (" + quote(text) + ") are not supported; quote it to make it a string");
        }
        return text;
    }

    // ---------------------------------------------------------------- messages

    /** The run of characters from {@code at} up to a space or the end of the line. */
    private static String token(String s, int at) {
        int end = s.indexOf(' ', at);
        return s.substring(at, end < 0 ? s.length() : end);
    }

    /** {@code s} in double quotes, control characters escaped, cut after ~80 characters. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder().append('"');
        int shown = 0;
        for (; shown < s.length() && shown < 80; shown++) {
            char c = s.charAt(shown);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
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

    private static String describe(Object value) {
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
}
