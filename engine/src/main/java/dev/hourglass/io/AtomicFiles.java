package dev.hourglass.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that nobody ever sees half of it: the content goes to a temporary file in the destination's folder
 * (created with the usual permissions), which is flushed to disk and then renamed over the destination in one atomic
 * step. If anything fails, the temporary file is removed and the destination is left as it was.
 */
public final class AtomicFiles {

    /** Writes the content of a file to the channel it is given. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel out) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Replaces {@code destination} with what {@code content} writes. */
    public static void write(Path destination, Content content) throws IOException {
        Path folder = destination.toAbsolutePath().getParent();
        Path temp = folder.resolve("." + destination.getFileName() + "."
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
        // CREATE_NEW: the cleanup below may only ever delete a file this call created.
        FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            try (out) {
                content.writeTo(out);
                out.force(true);
            }
            Files.move(temp, destination, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable t) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                t.addSuppressed(cleanup);
            }
            throw t;
        }
    }

    /** Replaces {@code destination} with {@code bytes}. */
    public static void write(Path destination, byte[] bytes) throws IOException {
        write(destination, out -> writeFully(out, ByteBuffer.wrap(bytes)));
    }

    /** Replaces {@code destination} with {@code text} in UTF-8. */
    public static void writeString(Path destination, String text) throws IOException {
        write(destination, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes all of {@code buffer}. */
    public static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
