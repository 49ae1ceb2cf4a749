package dev.hourglass.backend.cpu;

import java.util.concurrent.atomic.AtomicLong;

import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.HeapTooSmallException;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.kernels.PackedMatrix;
import dev.hourglass.tensor.Tensor;

/**
 * CPU weights: linear weights packed into heap arrays ({@link PackedMatrix}), constants as heap arrays; the garbage
 * collector frees them once the model is unreachable, so closing drops nothing of its own. A weight that came from a
 * memory-mapped file is asked to leave physical memory once packed, so that a model's resident size is its packed
 * weights rather than packed weights plus the mapped file. A heap too small for the weights is a
 * {@link HeapTooSmallException}, not an {@link OutOfMemoryError}.
 */
final class CpuWeightStore implements WeightStore {
    private final AtomicLong bytes = new AtomicLong();

    @Override
    public LinearWeights linear(Tensor weight, Tensor bias) {
        if (bias != null && (bias.shape().rank() != 1 || bias.shape().dim(0) != weight.shape().dim(0))) {
            throw new IllegalArgumentException("bias of shape " + bias.shape() + " does not match weight of shape "
                    + weight.shape());
        }
        PackedMatrix packed;
        try {
            packed = Kernels.pack(weight);
        } catch (OutOfMemoryError e) {
            throw HeapTooSmallException.preparing(weight.shape().elementCount() * Float.BYTES, bytes.get(), e);
        }
        release(weight);
        bytes.addAndGet(packed.byteSize());
        return new CpuLinear(packed, bias == null ? null : floats(bias));
    }

    @Override
    public Buffer constant(Tensor tensor) {
        return constant(floats(tensor));
    }

    @Override
    public Buffer constant(float[] values) {
        bytes.addAndGet((long) values.length * Float.BYTES);
        return new CpuBuffer(values, null);
    }

    @Override
    public long byteSize() {
        return bytes.get();
    }

    private float[] floats(Tensor t) {
        float[] values;
        try {
            values = t.toFloatArray();
        } catch (OutOfMemoryError e) {
            throw HeapTooSmallException.preparing(t.shape().elementCount() * Float.BYTES, bytes.get(), e);
        }
        release(t);
        return values;
    }

    /** Drops a mapped tensor's pages from memory (they are re-read from the file if anyone touches them again). */
    private static void release(Tensor t) {
        if (t.data().isMapped()) {
            t.data().unload();
        }
    }

    @Override
    public void close() {
        // Nothing off-heap to free: the arrays go with the model.
    }
}
