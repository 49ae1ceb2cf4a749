package dev.hourglass.convert.pth;

import dev.hourglass.tensor.DType;
import java.util.Optional;

/**
 * Element types of the tensors a PyTorch checkpoint can hold and this reader understands. The constant names are the
 * safetensors names ({@link dev.hourglass.safetensors.TensorInfo#dtype()} of a {@link PthFile} tensor is one of them),
 * so {@link dev.hourglass.safetensors.TensorInfo#floatType()} is present exactly for {@link #F32}, {@link #F16} and
 * {@link #BF16}. All are little-endian in the file.
 */
public enum PthDtype {
    /** {@code torch.float64}, {@code torch.DoubleStorage}. */
    F64(8),
    /** {@code torch.float32}, {@code torch.FloatStorage}. */
    F32(4),
    /** {@code torch.float16}, {@code torch.HalfStorage}. */
    F16(2),
    /** {@code torch.bfloat16}, {@code torch.BFloat16Storage}. */
    BF16(2),
    /** {@code torch.int64}, {@code torch.LongStorage}. */
    I64(8),
    /** {@code torch.int32}, {@code torch.IntStorage}. */
    I32(4),
    /** {@code torch.int16}, {@code torch.ShortStorage}. */
    I16(2),
    /** {@code torch.int8}, {@code torch.CharStorage}. */
    I8(1),
    /** {@code torch.uint8}, {@code torch.ByteStorage}; also the element type of {@code torch.UntypedStorage}. */
    U8(1),
    /** {@code torch.bool}, {@code torch.BoolStorage}: one byte per element, 0 or 1. */
    BOOL(1),
    /** {@code torch.uint16} (PyTorch 2.3+, through {@code _rebuild_tensor_v3}). */
    U16(2),
    /** {@code torch.uint32} (PyTorch 2.3+, through {@code _rebuild_tensor_v3}). */
    U32(4),
    /** {@code torch.uint64} (PyTorch 2.3+, through {@code _rebuild_tensor_v3}). */
    U64(8);

    private final int byteSize;

    PthDtype(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The engine's float type ({@code F32}, {@code F16}, {@code BF16}), or empty for the others. */
    public Optional<DType> floatType() {
        return DType.fromSafetensorsName(name());
    }
}
