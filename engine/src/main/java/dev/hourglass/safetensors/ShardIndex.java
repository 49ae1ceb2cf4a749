package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.Messages.quote;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The contents of a sharded checkpoint's index ({@code model.safetensors.index.json}):
 * {@code {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}}. Shard file names are checked to
 * stay inside the index's folder before any of them is opened.
 *
 * @param metadata   the index's metadata, numbers and booleans written as text (e.g. {@code total_size})
 * @param weightMap  tensor name to shard file name, in index order
 * @param shardPaths shard file name to its path next to the index, in order of first appearance
 */
record ShardIndex(Map<String, String> metadata, Map<String, String> weightMap, Map<String, Path> shardPaths) {

    static ShardIndex read(Path indexFile) throws IOException {
        if (!Files.isRegularFile(indexFile)) {
            throw new SafetensorsException(indexFile, Files.exists(indexFile) ? "not a regular file" : "no such file");
        }
        byte[] content;
        try (InputStream in = Files.newInputStream(indexFile)) {
            // Bounded read: the size is never taken from the file system and then trusted.
            content = in.readNBytes(StrictJson.MAX_DOCUMENT_BYTES + 1);
        }
        if (content.length > StrictJson.MAX_DOCUMENT_BYTES) {
            throw new SafetensorsException(indexFile, "index is over the limit of " + StrictJson.MAX_DOCUMENT_BYTES
                    + " bytes");
        }
        try (JsonParser json = StrictJson.FACTORY.createParser(content)) {
            return parse(indexFile, json);
        } catch (JsonProcessingException e) {
            throw StrictJson.invalid(indexFile, "index", e);
        } catch (java.io.CharConversionException e) {
            // Jackson guesses UTF-16/32 from zero bytes at the start; JSON files are UTF-8 (RFC 8259).
            throw new SafetensorsException(indexFile, "index is not UTF-8 JSON (" + e.getMessage() + ")");
        }
    }

    private static ShardIndex parse(Path indexFile, JsonParser json) throws IOException {
        if (json.nextToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(indexFile, "index is " + StrictJson.describe(json)
                    + "; expected a JSON object with a \"weight_map\"");
        }
        Map<String, String> metadata = Map.of();
        Map<String, String> weightMap = null;
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String key = json.currentName();
            json.nextToken();
            switch (key) {
                case "metadata" -> metadata = readMetadata(indexFile, json);
                case "weight_map" -> weightMap = readWeightMap(indexFile, json);
                default -> json.skipChildren(); // other keys belong to other tools' conventions
            }
        }
        if (json.nextToken() != null) {
            throw new SafetensorsException(indexFile, "index has more JSON after its object, at byte "
                    + json.currentTokenLocation().getByteOffset());
        }
        if (weightMap == null) {
            throw new SafetensorsException(indexFile, "index has no \"weight_map\" object");
        }
        Map<String, Path> shardPaths = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            if (!shardPaths.containsKey(e.getValue())) {
                shardPaths.put(e.getValue(), shardPath(indexFile, e.getKey(), e.getValue()));
            }
        }
        return new ShardIndex(metadata, weightMap, Collections.unmodifiableMap(shardPaths));
    }

    /** The index's metadata; HF writes {@code total_size} as a number, so scalars are accepted and kept as text. */
    private static Map<String, String> readMetadata(Path indexFile, JsonParser json) throws IOException {
        if (json.currentToken() == JsonToken.VALUE_NULL) {
            return Map.of();
        }
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(indexFile, "\"metadata\" is " + StrictJson.describe(json)
                    + "; expected an object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String key = json.currentName();
            JsonToken value = json.nextToken();
            if (!value.isScalarValue() || value == JsonToken.VALUE_NULL) {
                throw new SafetensorsException(indexFile, "\"metadata\" value of " + quote(key) + " is "
                        + StrictJson.describe(json) + "; expected a string, number or boolean");
            }
            metadata.put(key, json.getText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Map<String, String> readWeightMap(Path indexFile, JsonParser json) throws IOException {
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(indexFile, "\"weight_map\" is " + StrictJson.describe(json)
                    + "; expected an object from tensor names to shard file names");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String tensor = json.currentName();
            if (json.nextToken() != JsonToken.VALUE_STRING) {
                throw new SafetensorsException(indexFile, "weight_map value of " + Messages.tensor(tensor) + " is "
                        + StrictJson.describe(json) + "; expected a shard file name");
            }
            weightMap.put(tensor, json.getText());
        }
        return Collections.unmodifiableMap(weightMap);
    }

    /**
     * Resolves a shard file name against the index's folder, refusing names that could reach outside it: a hostile
     * index must not make the reader map arbitrary files. The check is on the name only; symbolic links inside the
     * folder are followed.
     */
    private static Path shardPath(Path indexFile, String tensor, String shardName) throws SafetensorsException {
        String entry = "weight_map puts " + Messages.tensor(tensor) + " in shard " + quote(shardName);
        if (shardName.isEmpty()) {
            throw new SafetensorsException(indexFile, entry + ": the shard file name is empty");
        }
        Path relative;
        try {
            relative = Path.of(shardName);
        } catch (InvalidPathException e) {
            throw new SafetensorsException(indexFile, entry + ", which is not a valid file name: " + e.getReason());
        }
        if (relative.isAbsolute() || relative.getRoot() != null) {
            throw new SafetensorsException(indexFile, entry + ", an absolute path; shards must be in the index's"
                    + " folder");
        }
        for (Path part : relative) {
            if (part.toString().equals("..")) {
                throw new SafetensorsException(indexFile, entry + ", which leaves the index's folder through \"..\"");
            }
        }
        Path folder = indexFile.getParent();
        return (folder == null ? relative : folder.resolve(relative)).normalize();
    }
}
