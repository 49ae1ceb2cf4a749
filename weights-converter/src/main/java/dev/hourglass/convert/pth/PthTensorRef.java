package dev.hourglass.convert.pth;

import dev.hourglass.tensor.Shape;

/**
 * A tensor of a checkpoint as the pickle describes it: a view of a storage record of the zip, with PyTorch's storage
 * offset and strides (in elements). It holds no data; {@link PthFile#tensor(String)} and {@link PthFile#bytes(String)}
 * read it. Every reference handed out has been checked when the file was opened: strides are non-negative, and every
 * element the view can reach lies inside its storage, which in turn lies inside its zip record.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class PthTensorRef {
    private final Storage storage;
    private final PthDtype dtype;
    private final Shape shape;
    private final long[] stride;
    private final long storageOffset;
    private final boolean requiresGrad;
    private final boolean parameter;

    PthTensorRef(Storage storage, PthDtype dtype, Shape shape, long[] stride, long storageOffset,
                 boolean requiresGrad, boolean parameter) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.stride = stride;
        this.storageOffset = storageOffset;
        this.requiresGrad = requiresGrad;
        this.parameter = parameter;
    }

    /** The same view, as an {@code nn.Parameter}. */
    PthTensorRef asParameter(boolean requiresGrad) {
        return new PthTensorRef(storage, dtype, shape, stride, storageOffset, requiresGrad, true);
    }

    Storage storage() {
        return storage;
    }

    /** The key of the storage record ({@code <top>/data/<key>} in the zip); tensors sharing a storage share it. */
    public String storageKey() {
        return storage.key();
    }

    public PthDtype dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    /** Strides in elements, one per dimension (a copy). A stride of 0 repeats an element (an expanded tensor). */
    public long[] stride() {
        return stride.clone();
    }

    /** Position of the first element in the storage, in elements of {@link #dtype()}. */
    public long storageOffset() {
        return storageOffset;
    }

    /** The {@code requires_grad} flag saved with the tensor; it has no effect on reading. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Whether the tensor was saved as an {@code nn.Parameter} (through {@code _rebuild_parameter}). */
    public boolean isParameter() {
        return parameter;
    }

    /**
     * Whether the elements lie row-major and without gaps in the storage, so that {@link PthFile#tensor} can hand out
     * a slice of the file instead of a copy. Dimensions of size 1 may have any stride; an empty tensor is contiguous.
     */
    public boolean isContiguous() {
        if (shape.elementCount() == 0) {
            return true;
        }
        long expected = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            long size = shape.dim(i);
            if (size != 1) {
                if (stride[i] != expected) {
                    return false;
                }
                expected *= size;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "PthTensorRef[" + dtype + " " + shape + ", stride " + Quote.list(stride) + ", storage "
                + Quote.quote(storage.key()) + " offset " + storageOffset + (parameter ? ", parameter" : "") + "]";
    }
}
