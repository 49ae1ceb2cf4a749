package dev.hourglass.safetensors;

import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import java.util.Objects;
import java.util.Optional;

/**
 * One tensor entry of a safetensors header, as validated when the file was opened.
 *
 * @param name  the tensor's name (the key in the header)
 * @param dtype the dtype as written in the header, e.g. {@code "F32"} or {@code "I64"}; always one of the format's
 *              standard types
 * @param shape the tensor's shape; {@code []} is a scalar, a zero dimension makes an empty tensor
 * @param begin first byte of the tensor, relative to the start of its file's data buffer
 * @param end   byte after the last byte of the tensor (exclusive), relative to the start of the data buffer
 */
public record TensorInfo(String name, String dtype, Shape shape, long begin, long end) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("data offsets [" + begin + ", " + end + "] are not a byte range");
        }
    }

    /** The engine's float type for this tensor, or empty for a type the engine does not compute with (e.g. I64). */
    public Optional<DType> floatType() {
        return DType.fromSafetensorsName(dtype);
    }

    /** Number of bytes the tensor occupies ({@code end - begin}). */
    public long byteSize() {
        return end - begin;
    }
}
