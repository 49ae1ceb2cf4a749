package dev.hourglass.backend.cpu;

import dev.hourglass.backend.Buffer;

/** A CPU backend buffer: a heap {@code float[]}, which the kernels index directly. */
final class CpuBuffer implements Buffer {
    final float[] data;

    CpuBuffer(float[] data) {
        this.data = data;
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public void close() {
        // Heap memory: the garbage collector frees it.
    }
}
