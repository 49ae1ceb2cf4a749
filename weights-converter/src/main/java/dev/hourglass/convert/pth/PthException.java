package dev.hourglass.convert.pth;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A PyTorch checkpoint that cannot be opened: not a {@code torch.save} zip archive, damaged, inconsistent, or asking
 * the unpickler for something it refuses to build (a global outside the allow-list, a hostile size). The message
 * always starts with the file's path, then names the zip entry or pickle position, the field and the offending value,
 * for example {@code model.pth: archive/data.pkl byte 58: global os.system is not allowed in a checkpoint ...}.
 *
 * <p>Lookups of single tensors through {@link dev.hourglass.safetensors.TensorSource} report their problems (no such
 * tensor, a dtype the engine does not compute with) as {@link dev.hourglass.safetensors.SafetensorsException}, as that
 * interface specifies.
 */
public final class PthException extends IOException {
    /** Transient because {@link Path} is not serializable; the path is part of the message anyway. */
    private final transient Path file;

    public PthException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public PthException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file the problem was found in (null after deserialization). */
    public Path file() {
        return file;
    }
}
