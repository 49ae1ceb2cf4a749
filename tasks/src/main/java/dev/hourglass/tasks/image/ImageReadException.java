package dev.hourglass.tasks.image;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An image file could not be turned into an {@link RgbImage}: missing, empty, not in a format that can be decoded,
 * corrupt, of zero size, over the pixel limit, or in a pixel layout with no RGB meaning. The message starts with the
 * file and says which.
 */
public final class ImageReadException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path path;

    ImageReadException(Path path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    ImageReadException(Path path, String problem, Throwable cause) {
        super(path + ": " + problem, cause);
        this.path = path;
    }

    /** The file that could not be read. */
    public Path path() {
        return path;
    }
}
