package dev.hourglass.reduce.slim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.io.AtomicFiles;

/**
 * Patch Slimming's static token masks (ALGORITHMS.md §2.2): for each block, the tokens it keeps, by their position in
 * the original sequence (0 .. P-1 the prefix tokens, then the patches in row-major order). Block {@code l} computes
 * queries, residual rows and the MLP only for {@code keep(l)}; its keys and values come from {@code keep(l - 1)} (every
 * token before block 0). The file is JSON:
 * <pre>
 * {"format": "hourglass-token-masks", "version": 1, "tokens": N, "prefix_tokens": P,
 *  "keep": [[ids kept by block 0], [ids kept by block 1], ...]}
 * </pre>
 * with optional provenance fields ({@code model}, {@code calibration_images}, {@code tolerance},
 * {@code expected_gflops}, ...), kept as they are. The rules, each refused with one message naming the block, the id
 * and the rule: ids ascending and in {@code [0, N)}, every prefix token kept by every block, nested (a token a block
 * keeps was kept by the block before), one list per block of the model ({@link #check}). Immutable.
 *
 * @param tokens       N, the sequence length the masks are for (prefix tokens included)
 * @param prefixTokens P, class (and distillation) tokens, always kept
 * @param keep         {@code keep[l]}: the ids block {@code l} keeps, ascending
 * @param extras       the file's other fields, in order (provenance)
 */
public record TokenMasks(int tokens, int prefixTokens, int[][] keep, Map<String, JsonNode> extras) {
    public static final String FORMAT = "hourglass-token-masks";
    public static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public TokenMasks {
        if (prefixTokens < 0 || tokens <= prefixTokens) {
            throw new IllegalArgumentException("token masks: tokens = " + tokens + " must exceed prefix_tokens = "
                    + prefixTokens);
        }
        keep = deepCopy(keep);
        extras = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extras));
        for (int l = 0; l < keep.length; l++) {
            int[] k = keep[l];
            for (int j = 0; j < k.length; j++) {
                if (k[j] < 0 || k[j] >= tokens) {
                    throw new IllegalArgumentException("block " + l + ": id " + k[j] + " is out of range [0, "
                            + tokens + ")");
                }
                if (j > 0 && k[j] <= k[j - 1]) {
                    throw new IllegalArgumentException("block " + l + ": id " + k[j] + " after " + k[j - 1]
                            + " (ids must be ascending, each once)");
                }
            }
            for (int p = 0; p < prefixTokens; p++) {
                if (k.length <= p || k[p] != p) {
                    throw new IllegalArgumentException("block " + l + ": prefix token " + p
                            + " is not kept (class and distillation tokens are always kept)");
                }
            }
            if (l > 0) {
                for (int id : k) {
                    if (Arrays.binarySearch(keep[l - 1], id) < 0) {
                        throw new IllegalArgumentException("block " + l + ": id " + id + " was dropped by block "
                                + (l - 1) + " (masks must be nested: a dropped token never returns)");
                    }
                }
            }
        }
    }

    /** Every token kept by every one of {@code depth} blocks: the unpruned model. */
    public static TokenMasks full(int tokens, int prefixTokens, int depth) {
        int[] all = new int[tokens];
        Arrays.setAll(all, i -> i);
        int[][] keep = new int[depth][];
        Arrays.fill(keep, all);
        return new TokenMasks(tokens, prefixTokens, keep, Map.of());
    }

    /** Every block's kept ids (a copy: the masks stay immutable). */
    @Override
    public int[][] keep() {
        return deepCopy(keep);
    }

    /** The same masks with other provenance fields. */
    public TokenMasks withExtras(Map<String, JsonNode> other) {
        return new TokenMasks(tokens, prefixTokens, keep, other);
    }

    /** Blocks the masks are for. */
    public int depth() {
        return keep.length;
    }

    /** The ids block {@code block} keeps, ascending (a copy). */
    public int[] kept(int block) {
        return keep[block].clone();
    }

    /** Tokens each block keeps. */
    public int[] counts() {
        int[] c = new int[keep.length];
        for (int l = 0; l < keep.length; l++) {
            c[l] = keep[l].length;
        }
        return c;
    }

    /**
     * Refuses masks made for another model: the depth, the sequence length or the prefix tokens differ.
     *
     * @throws IllegalArgumentException saying which
     */
    public void check(int depth, int tokens, int prefixTokens) {
        if (keep.length != depth) {
            throw new IllegalArgumentException("token masks have " + keep.length + " blocks, the model has " + depth);
        }
        if (this.tokens != tokens || this.prefixTokens != prefixTokens) {
            throw new IllegalArgumentException("token masks are for " + this.tokens + " tokens (" + this.prefixTokens
                    + " prefix), the model runs " + tokens + " (" + prefixTokens + " prefix) on this input");
        }
    }

    /**
     * Reads a mask file.
     *
     * @throws IOException naming the file and, for a file that breaks a rule, the field, block and id
     */
    public static TokenMasks read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such mask file", e);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** {@link #read} of a parsed document. */
    public static TokenMasks parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a token-mask file is a JSON object");
        }
        JsonNode format = root.get("format");
        if (format == null || !FORMAT.equals(format.asText(null)) || !format.isTextual()) {
            throw new IllegalArgumentException("format must be \"" + FORMAT + "\", got " + format);
        }
        JsonNode version = root.get("version");
        if (version == null || !version.isInt() || version.asInt() != VERSION) {
            throw new IllegalArgumentException("version must be " + VERSION + ", got " + version);
        }
        int tokens = count(root, "tokens");
        int prefix = count(root, "prefix_tokens");
        JsonNode keepNode = root.get("keep");
        if (keepNode == null || !keepNode.isArray() || keepNode.isEmpty()) {
            throw new IllegalArgumentException("keep must be a non-empty array of id lists, one per block, got "
                    + brief(keepNode));
        }
        int[][] keep = new int[keepNode.size()][];
        for (int l = 0; l < keep.length; l++) {
            JsonNode list = keepNode.get(l);
            if (!list.isArray()) {
                throw new IllegalArgumentException("keep[" + l + "] must be an array of ids, got " + brief(list));
            }
            keep[l] = new int[list.size()];
            for (int j = 0; j < keep[l].length; j++) {
                JsonNode id = list.get(j);
                if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                    throw new IllegalArgumentException("block " + l + ": id " + brief(id) + " is not an integer");
                }
                keep[l][j] = id.asInt();
            }
        }
        Map<String, JsonNode> extras = new LinkedHashMap<>();
        root.fields().forEachRemaining(e -> {
            if (!java.util.Set.of("format", "version", "tokens", "prefix_tokens", "keep").contains(e.getKey())) {
                extras.put(e.getKey(), e.getValue());
            }
        });
        return new TokenMasks(tokens, prefix, keep, extras);
    }

    /** The file's JSON: the five fields, then the extras. */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("tokens", tokens);
        root.put("prefix_tokens", prefixTokens);
        ArrayNode lists = root.putArray("keep");
        for (int[] k : keep) {
            ArrayNode a = lists.addArray();
            for (int id : k) {
                a.add(id);
            }
        }
        extras.forEach(root::set);
        return root;
    }

    /** Writes the file whole or not at all (a temporary file renamed into place). */
    public void write(Path file) throws IOException {
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson());
        AtomicFiles.write(file, bytes);
    }

    private static int count(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || !v.isInt() || v.asInt() < 0) {
            throw new IllegalArgumentException(field + " must be a non-negative integer, got " + brief(v));
        }
        return v.asInt();
    }

    private static String brief(JsonNode v) {
        if (v == null) {
            return "nothing";
        }
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static int[][] deepCopy(int[][] a) {
        int[][] c = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }
}
