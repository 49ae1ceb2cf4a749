package dev.hourglass.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.file.Path;

/** The one Jackson configuration used to read untrusted JSON (headers and shard indexes), plus error helpers. */
final class StrictJson {
    /** Largest header (and shard index) accepted, in bytes; the limit of the reference implementation. */
    static final int MAX_DOCUMENT_BYTES = 100_000_000;

    /** Headers nest three deep (header, entry, shape); anything much deeper is hostile. */
    private static final int MAX_NESTING_DEPTH = 16;

    /** No number in a header needs more than 20 digits; longer ones are rejected before any parsing. */
    private static final int MAX_NUMBER_CHARS = 100;

    /**
     * Strict duplicate detection, because a repeated tensor name would silently shadow the first one. Field names are
     * not interned: each header is parsed once, and interning would only fill the JVM's string table with whatever
     * names a hostile file chooses. (Canonicalization stays on: turning it off makes Jackson parse through a Reader and
     * lose byte offsets in its error locations.)
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxDocumentLength(MAX_DOCUMENT_BYTES)
                    .maxStringLength(MAX_DOCUMENT_BYTES)
                    .maxNameLength(MAX_DOCUMENT_BYTES)
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxNumberLength(MAX_NUMBER_CHARS)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();

    private StrictJson() {
    }

    /** The current value in words, quoting it when it is a scalar: {@code the string "F33"}, {@code an array}. */
    static String describe(JsonParser json) throws IOException {
        return switch (json.currentToken()) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "the string " + Messages.quote(json.getText());
            case VALUE_NUMBER_INT -> "the integer " + json.getText();
            case VALUE_NUMBER_FLOAT -> "the number " + json.getText();
            case VALUE_TRUE -> "true";
            case VALUE_FALSE -> "false";
            case VALUE_NULL -> "null";
            case null, default -> "empty";
        };
    }

    /** Wraps a Jackson syntax or limit error, keeping the position it reports. */
    static SafetensorsException invalid(Path file, String what, JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String where = at == null || at.getByteOffset() < 0 ? ""
                : " at " + what + " byte " + at.getByteOffset()
                        + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        return new SafetensorsException(file, what + " is not valid JSON" + where + ": " + e.getOriginalMessage(), e);
    }
}
