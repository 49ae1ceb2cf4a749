package dev.hourglass.model;

import java.io.IOException;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.safetensors.TensorSource;

/**
 * Hourglass's own model file: a safetensors file with canonical tensor names (timm's for the ViT encoder, a family
 * prefix for heads and decoders) and its whole configuration as JSON in the {@code __metadata__}, so that one file is
 * a complete model the engine loads with zero copy.
 *
 * <p>Metadata keys: {@value #FORMAT_KEY} = {@value #FORMAT_VALUE}, and {@value #CONFIG_KEY} = the configuration (see
 * {@link ModelConfig}).
 */
public final class ModelFormat {
    public static final String FORMAT_KEY = "format";
    public static final String FORMAT_VALUE = "hourglass";
    public static final String CONFIG_KEY = "hourglass.config";
    /** Version of the configuration's layout; files of a newer version are refused with a clear message. */
    public static final int VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFormat() {
    }

    /** Whether a tensor source is an Hourglass model file. */
    public static boolean isHourglass(TensorSource source) {
        return FORMAT_VALUE.equals(source.metadata().get(FORMAT_KEY));
    }

    /** The configuration stored in an Hourglass model file. */
    public static ModelConfig config(TensorSource source) throws IOException {
        String file = String.valueOf(source.path().getFileName());
        String text = source.metadata().get(CONFIG_KEY);
        if (!isHourglass(source) || text == null) {
            throw new IOException(file + ": not an Hourglass model file (no " + CONFIG_KEY + " in its metadata)");
        }
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": metadata " + CONFIG_KEY + " is not valid JSON: " + e.getOriginalMessage(),
                    e);
        }
        if (!(node instanceof ObjectNode object)) {
            throw new IOException(file + ": metadata " + CONFIG_KEY + " is not a JSON object");
        }
        return ModelConfig.fromJson(object, file + ": " + CONFIG_KEY);
    }

    /** The safetensors metadata that makes a file an Hourglass model file with this configuration. */
    public static Map<String, String> metadata(ModelConfig config) {
        return Map.of(FORMAT_KEY, FORMAT_VALUE, CONFIG_KEY, config.toJson().toString());
    }
}
