package dev.hourglass.safetensors;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.hourglass.io.AtomicFiles;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a safetensors file. Tensors are laid out in the order they are added, back to back, and the header is padded
 * with spaces so that the data buffer starts at a file offset that is a multiple of 8.
 *
 * <p>The file is written to a temporary file next to the destination and renamed into place atomically once complete,
 * so readers never see a partial file; on any failure the temporary file is removed and the destination is left as it
 * was. Tensor bytes are streamed from their segments through a small buffer: the file is never held in memory.
 *
 * <p>Not thread-safe; the segments handed to {@link #add} must stay alive and unchanged until {@link #write} returns.
 */
public final class SafetensorsWriter {
    private static final int COPY_CHUNK_BYTES = 1 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, PendingTensor> tensors = new LinkedHashMap<>();
    /** Total tensor bytes, summed with overflow checks so that no written offset can wrap around. */
    private long dataBytes;

    private record PendingTensor(String name, String dtype, Shape shape, long byteSize, Bytes bytes) {
    }

    /** A tensor's bytes, produced when the writer reaches it (so that converted tensors need not all be in memory). */
    @FunctionalInterface
    public interface Bytes {
        MemorySegment get() throws IOException;
    }

    /** Told how far the data part of a {@link #write} is: bytes written so far and in all. */
    @FunctionalInterface
    public interface Progress {
        void written(long bytes, long total);
    }

    private Progress progress = (done, total) -> { };

    /** Adds (or replaces) one {@code __metadata__} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds a tensor of any standard safetensors dtype.
     *
     * @param dtype a safetensors dtype name, e.g. {@code "F32"} or {@code "I64"}
     * @param data  the tensor's bytes, already little-endian and row-major; not copied until {@link #write}
     * @throws IllegalArgumentException if the name is taken or reserved, the dtype is unknown, or the segment's size is
     *                                  not the shape's size in that dtype
     */
    public SafetensorsWriter add(String name, String dtype, Shape shape, MemorySegment data) {
        Objects.requireNonNull(data, "data");
        long expected = pending(name, dtype, shape);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(Messages.tensor(name) + ": shape " + shape + " of " + dtype + " needs "
                    + expected + " bytes, the segment has " + data.byteSize());
        }
        return add(name, dtype, shape, () -> data, expected);
    }

    /**
     * Adds a tensor whose bytes are produced only when {@link #write} reaches it, so that a writer of many converted
     * tensors holds one at a time. The bytes must then have the size of the shape in the dtype.
     */
    public SafetensorsWriter add(String name, String dtype, Shape shape, Bytes bytes) {
        Objects.requireNonNull(bytes, "bytes");
        return add(name, dtype, shape, bytes, pending(name, dtype, shape));
    }

    private SafetensorsWriter add(String name, String dtype, Shape shape, Bytes bytes, long byteSize) {
        dataBytes = Math.addExact(dataBytes, byteSize);
        tensors.put(name, new PendingTensor(name, dtype, shape, byteSize, bytes));
        return this;
    }

    /** Checks a new tensor's name, dtype and shape; returns its size in bytes. */
    private long pending(String name, String dtype, Shape shape) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        if (name.equals(HeaderParser.METADATA_KEY) || tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor name " + Messages.quote(name) + " is reserved or already used");
        }
        FormatDtype type = FormatDtype.named(dtype).orElseThrow(() -> new IllegalArgumentException(
                "dtype " + dtype + " is not a safetensors dtype (known: " + FormatDtype.ALL_NAMES + ")"));
        return Math.multiplyExact(shape.elementCount(), type.byteSize);
    }

    /** Reports the progress of {@link #write}'s data part. */
    public SafetensorsWriter progress(Progress listener) {
        this.progress = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Adds a tensor with its own dtype, shape and bytes. */
    public SafetensorsWriter add(String name, Tensor tensor) {
        return add(name, tensor.dtype().safetensorsName(), tensor.shape(), tensor.data());
    }

    /**
     * Writes all tensors and metadata to {@code destination}, replacing an existing file atomically.
     *
     * @throws IOException if writing fails; the destination is then untouched and no temporary file remains
     */
    public void write(Path destination) throws IOException {
        byte[] header = paddedHeader(destination);
        AtomicFiles.write(destination, out -> {
            ByteBuffer length = ByteBuffer.allocate(SafetensorsFile.LENGTH_PREFIX_BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicFiles.writeFully(out, length);
            AtomicFiles.writeFully(out, ByteBuffer.wrap(header));
            writeData(out);
        });
    }

    /** The JSON header followed by the spaces that put the data buffer at a multiple of 8 in the file. */
    private byte[] paddedHeader(Path destination) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = StrictJson.FACTORY.createGenerator(out)) {
            json.writeStartObject();
            if (!metadata.isEmpty()) {
                json.writeObjectFieldStart(HeaderParser.METADATA_KEY);
                for (Map.Entry<String, String> e : metadata.entrySet()) {
                    json.writeStringField(e.getKey(), e.getValue());
                }
                json.writeEndObject();
            }
            long offset = 0;
            for (PendingTensor t : tensors.values()) {
                json.writeObjectFieldStart(t.name());
                json.writeStringField("dtype", t.dtype());
                json.writeArrayFieldStart("shape");
                for (long dim : t.shape().dims()) {
                    json.writeNumber(dim);
                }
                json.writeEndArray();
                json.writeArrayFieldStart("data_offsets");
                json.writeNumber(offset);
                offset += t.byteSize();
                json.writeNumber(offset);
                json.writeEndArray();
                json.writeEndObject();
            }
            json.writeEndObject();
        }
        int unpadded = out.size();
        int padding = (8 - (SafetensorsFile.LENGTH_PREFIX_BYTES + unpadded) % 8) % 8;
        for (int i = 0; i < padding; i++) {
            out.write(' ');
        }
        if (out.size() > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new SafetensorsException(destination, "header would be " + out.size() + " bytes, over the limit of "
                    + SafetensorsFile.MAX_HEADER_BYTES + " bytes");
        }
        return out.toByteArray();
    }

    /** Copies each tensor through one off-heap chunk, which works for heap segments of any array type too. */
    private void writeData(FileChannel out) throws IOException {
        long written = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chunk = arena.allocate(COPY_CHUNK_BYTES);
            ByteBuffer buffer = chunk.asByteBuffer();
            for (PendingTensor t : tensors.values()) {
                MemorySegment data = t.bytes().get();
                if (data.byteSize() != t.byteSize()) {
                    throw new IOException(Messages.tensor(t.name()) + ": produced " + data.byteSize()
                            + " bytes, its shape " + t.shape() + " of " + t.dtype() + " needs " + t.byteSize());
                }
                for (long done = 0; done < data.byteSize(); ) {
                    int n = (int) Math.min(COPY_CHUNK_BYTES, data.byteSize() - done);
                    MemorySegment.copy(data, done, chunk, 0, n);
                    AtomicFiles.writeFully(out, buffer.clear().limit(n));
                    done += n;
                    written += n;
                    progress.written(written, dataBytes);
                }
            }
        }
    }

}
