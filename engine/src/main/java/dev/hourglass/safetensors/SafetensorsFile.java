package dev.hourglass.safetensors;

import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One safetensors file, memory-mapped read-only. The whole file is mapped once, in its own shared {@link Arena}; the
 * header is validated completely before {@link #open} returns, and each {@link Tensor} is a slice of the mapping, so
 * nothing is copied and only the pages a computation touches are read from disk.
 *
 * <p>Thread safety: after {@code open} the object is immutable; any number of threads may call its methods and read
 * its tensors at the same time. {@link #close()} unmaps the file: every tensor obtained from it becomes invalid, and a
 * read through one (from any thread) then fails with an {@link IllegalStateException} instead of touching unmapped
 * memory. The file must not be modified or truncated while it is open: the mapping would show the change.
 */
public final class SafetensorsFile implements TensorSource {
    /** Size of the little-endian u64 that starts the file and gives the header's length. */
    static final int LENGTH_PREFIX_BYTES = 8;

    /** Largest header accepted, in bytes (100 MB, as in the reference implementation). */
    public static final long MAX_HEADER_BYTES = StrictJson.MAX_DOCUMENT_BYTES;

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment dataBuffer;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> tensorsByName;
    private final Map<String, String> metadata;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path path, Arena arena, MemorySegment dataBuffer, ParsedHeader header) {
        this.path = path;
        this.arena = arena;
        this.dataBuffer = dataBuffer;
        this.tensors = header.tensors();
        this.metadata = header.metadata();
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
        this.tensorsByName = byName;
    }

    /**
     * Maps and validates a safetensors file.
     *
     * @throws SafetensorsException if the file is not a regular file or is not a valid safetensors file; the mapping
     *                              is released before the exception is thrown
     * @throws IOException          if the file cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new SafetensorsException(path, Files.exists(path) ? "not a regular file" : "no such file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < LENGTH_PREFIX_BYTES) {
                throw new SafetensorsException(path, "file is " + fileSize + " bytes, shorter than the "
                        + LENGTH_PREFIX_BYTES + "-byte header length that starts a safetensors file");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, arena);
            long headerLength = headerLength(path, file);
            byte[] header = file.asSlice(LENGTH_PREFIX_BYTES, headerLength).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment dataBuffer = file.asSlice(LENGTH_PREFIX_BYTES + headerLength);
            ParsedHeader parsed = HeaderParser.parse(path, header, dataBuffer.byteSize());
            return new SafetensorsFile(path, arena, dataBuffer, parsed);
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    /** The header length, checked against the limit and the file size before anything is allocated from it. */
    private static long headerLength(Path path, MemorySegment file) throws SafetensorsException {
        long length = file.get(U64_LE, 0);
        long available = file.byteSize() - LENGTH_PREFIX_BYTES;
        // Unsigned compare: a u64 above 2^63 reads as a negative long and is over the limit too.
        if (Long.compareUnsigned(length, MAX_HEADER_BYTES) > 0) {
            throw new SafetensorsException(path, "header length " + Long.toUnsignedString(length)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (length == 0) {
            throw new SafetensorsException(path, "header length is 0; the header must hold at least a JSON object");
        }
        if (length > available) {
            throw new SafetensorsException(path, "header length " + length + " goes beyond the end of the file: the"
                    + " file is " + file.byteSize() + " bytes, so at most " + available + " bytes follow the length");
        }
        return length;
    }

    @Override
    public Path path() {
        return path;
    }

    /** The {@code __metadata__} strings of the header, in header order; empty if there are none. */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    @Override
    public boolean contains(String name) {
        return tensorsByName.containsKey(name);
    }

    /**
     * The tensor called {@code name}: a slice of the mapped file, valid until {@link #close()}. Its bytes need not be
     * aligned; {@link DType} reads them with unaligned little-endian accesses.
     */
    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        TensorInfo info = tensorsByName.get(name);
        if (info == null) {
            throw new SafetensorsException(path, "no " + Messages.tensor(name) + " in this file (it holds "
                    + tensors.size() + " tensors)");
        }
        DType type = info.floatType().orElseThrow(() -> new SafetensorsException(path, Messages.tensor(name)
                + " has dtype " + info.dtype() + ", which is valid in safetensors but not a float weight type"
                + " (supported: F32, F16, BF16)"));
        if (closed.get()) {
            throw new IllegalStateException(path + ": file is closed");
        }
        return Tensor.of(info.shape(), type, dataBuffer.asSlice(info.begin(), info.byteSize()));
    }

    /** Unmaps the file; every tensor obtained from it becomes invalid. Closing twice does nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
