package dev.hourglass.convert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.convert.pth.PthFile;
import dev.hourglass.convert.yaml.YamlReader;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.TensorSource;

/**
 * A checkpoint as a user hands it over: its tensors (safetensors, sharded safetensors or a PyTorch {@code .pth}), and
 * the configuration files that travel with it: {@code config.json} (timm or Hugging Face), Hugging Face's
 * {@code preprocessor_config.json}, Segmenter's {@code variant.yml}. Nothing is modified; closing releases the files.
 */
public final class Checkpoint implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The largest configuration file read; an ImageNet-21k {@code id2label} takes under 1 MB. */
    static final int MAX_JSON_BYTES = 16 << 20;
    /** What a folder may hold, in the order it is looked for. */
    private static final List<String> WEIGHT_FILES = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "checkpoint.pth", "model.pth", "model.pt");

    private final Path input;
    private final TensorSource tensors;
    private final JsonNode config;
    private final JsonNode preprocessorConfig;
    private final Map<String, Object> variant;

    private Checkpoint(Path input, TensorSource tensors, JsonNode config, JsonNode preprocessorConfig,
                       Map<String, Object> variant) {
        this.input = input;
        this.tensors = tensors;
        this.config = config;
        this.preprocessorConfig = preprocessorConfig;
        this.variant = variant;
    }

    /**
     * Opens a checkpoint: a folder (holding one of {@code model.safetensors}, {@code model.safetensors.index.json},
     * {@code pytorch_model.bin}, {@code checkpoint.pth}, {@code model.pth}, {@code model.pt}, or a single other
     * {@code .pth}/{@code .pt} file) or a weight file, with the configuration files found beside it.
     */
    public static Checkpoint open(Path input) throws IOException {
        if (!Files.exists(input)) {
            throw new IOException(input + ": no such file or folder");
        }
        Path weights = Files.isDirectory(input) ? weightsIn(input) : input;
        Path dir = weights.toAbsolutePath().getParent();
        JsonNode config = json(dir.resolve("config.json"));
        JsonNode preprocessor = json(dir.resolve("preprocessor_config.json"));
        Map<String, Object> variant = Files.isRegularFile(dir.resolve("variant.yml"))
                ? YamlReader.readMapping(dir.resolve("variant.yml")) : null;
        TensorSource tensors = openTensors(weights);
        return new Checkpoint(input, tensors, config, preprocessor, variant);
    }

    private static Path weightsIn(Path dir) throws IOException {
        for (String name : WEIGHT_FILES) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        List<Path> torch = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.filter(p -> p.toString().endsWith(".pth") || p.toString().endsWith(".pt")).forEach(torch::add);
        }
        if (torch.size() == 1) {
            return torch.get(0);
        }
        throw new IOException(dir + ": no weights found: expected one of " + String.join(", ", WEIGHT_FILES)
                + (torch.isEmpty() ? ", or a single .pth/.pt file" : ", or a single .pth/.pt file (found "
                + torch.size() + ": name the one to use)"));
    }

    private static TensorSource openTensors(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors") || name.endsWith(".json")) {
            return Safetensors.open(file);
        }
        byte[] magic;
        try (InputStream in = Files.newInputStream(file)) {
            magic = in.readNBytes(8);
        }
        if (magic.length >= 4 && magic[0] == 'P' && magic[1] == 'K') {
            return PthFile.open(file);
        }
        if (magic.length == 8 && magic[7] == 0 && magic[6] == 0) {
            // An 8-byte little-endian header length: safetensors under another name.
            return Safetensors.open(file);
        }
        // Let the PyTorch reader explain legacy and other non-zip files.
        return PthFile.open(file);
    }

    /**
     * A configuration file as a JSON object, or null if there is none. JSON files are UTF-8 (RFC 8259): the bytes are
     * decoded strictly here, so that no other encoding is guessed from the first bytes.
     */
    private static JsonNode json(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        long size = Files.size(file);
        if (size > MAX_JSON_BYTES) {
            throw new IOException(file + ": " + size + " bytes, more than the " + MAX_JSON_BYTES + " a configuration"
                    + " file may have");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_JSON_BYTES + 1);
        }
        if (bytes.length > MAX_JSON_BYTES) {
            throw new IOException(file + ": grew beyond " + MAX_JSON_BYTES + " bytes while being read");
        }
        String json;
        try {
            json = StrictUtf8.decode(bytes);
        } catch (StrictUtf8.MalformedException e) {
            throw new IOException(file + ": not UTF-8 text, as JSON must be (byte " + e.offset() + ")");
        }
        try {
            JsonNode node = JSON.readTree(json.startsWith("\uFEFF") ? json.substring(1) : json);
            if (node == null || !node.isObject()) {
                throw new IOException(file + ": not a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** What the user named. */
    public Path input() {
        return input;
    }

    /** The tensors, with the names the original project gave them. */
    public TensorSource tensors() {
        return tensors;
    }

    /** The file name of the weights, for messages. */
    public String fileName() {
        return String.valueOf(tensors.path().getFileName());
    }

    /** {@code config.json} beside the weights. */
    public Optional<JsonNode> config() {
        return Optional.ofNullable(config);
    }

    /** Hugging Face's {@code preprocessor_config.json} beside the weights. */
    public Optional<JsonNode> preprocessorConfig() {
        return Optional.ofNullable(preprocessorConfig);
    }

    /** Segmenter's {@code variant.yml} beside the weights. */
    public Optional<Map<String, Object>> variant() {
        return Optional.ofNullable(variant);
    }

    /** The unpickled object tree, when the weights are a PyTorch checkpoint. */
    public Optional<Object> pickleRoot() {
        return tensors instanceof PthFile p ? Optional.ofNullable(p.root()) : Optional.empty();
    }

    @Override
    public void close() {
        tensors.close();
    }
}
