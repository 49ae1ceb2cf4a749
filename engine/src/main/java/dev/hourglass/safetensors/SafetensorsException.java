package dev.hourglass.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or shard index) that cannot be used: malformed, inconsistent, or lacking a requested tensor.
 * The message always starts with the file's path, then says what is wrong, quoting the field and the offending value,
 * for example {@code model.safetensors: tensor "blocks.0.attn.qkv.weight": data_offsets [1024, 900] end is before
 * begin}.
 */
public final class SafetensorsException extends IOException {
    /** Transient because {@link Path} is not serializable; the path is part of the message anyway. */
    private final transient Path file;

    public SafetensorsException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public SafetensorsException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file the problem was found in (null after deserialization). */
    public Path file() {
        return file;
    }
}
