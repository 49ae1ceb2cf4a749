package dev.hourglass.tornado;

import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * One model's weights for the TornadoVM backend, as float32 arrays marked constant: each execution plan sends them to
 * its device memory on its first execution only. F16 and BF16 tensors are widened on the host.
 */
final class TornadoWeightStore implements WeightStore {
    private final TornadoBackend backend;
    private final List<DeviceArray> arrays = new ArrayList<>();
    private long bytes;
    private boolean closed;

    TornadoWeightStore(TornadoBackend backend) {
        this.backend = backend;
    }

    /** A linear layer as the TornadoVM backend keeps it. */
    record Linear(DeviceArray weight, DeviceArray bias, int inFeatures, int outFeatures) implements LinearWeights {
    }

    @Override
    public synchronized LinearWeights linear(Tensor weight, Tensor bias) {
        if (weight.shape().rank() != 2) {
            throw new IllegalArgumentException("a linear weight is [out, in], got " + weight.shape());
        }
        int out = Math.toIntExact(weight.shape().dim(0));
        int in = Math.toIntExact(weight.shape().dim(1));
        if (bias != null && bias.elementCount() != out) {
            throw new IllegalArgumentException("bias of " + bias.elementCount() + " values for " + out + " outputs");
        }
        return new Linear(add(weight), bias == null ? null : add(bias), in, out);
    }

    @Override
    public synchronized Buffer constant(Tensor tensor) {
        DeviceArray a = add(tensor);
        return new TornadoBuffer(backend, a, a.length());
    }

    @Override
    public synchronized Buffer constant(float[] values) {
        DeviceArray a = backend.constantArray(values);
        track(a);
        return new TornadoBuffer(backend, a, a.length());
    }

    private DeviceArray add(Tensor t) {
        float[] values = new float[Math.toIntExact(t.elementCount())];
        t.copyToFloats(0, values, 0, values.length);
        DeviceArray a = backend.constantArray(values);
        track(a);
        return a;
    }

    private void track(DeviceArray a) {
        if (closed) {
            throw new IllegalStateException("weight store is closed");
        }
        arrays.add(a);
        bytes += (long) a.length() * Float.BYTES;
    }

    @Override
    public synchronized long byteSize() {
        return bytes;
    }

    @Override
    public synchronized void close() {
        closed = true;
        backend.forget(arrays);
        arrays.clear();
    }
}
