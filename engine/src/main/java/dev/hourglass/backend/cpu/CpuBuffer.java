package dev.hourglass.backend.cpu;

import dev.hourglass.backend.Buffer;

/**
 * A CPU backend buffer: a heap {@code float[]} the kernels index directly. Closing returns the array to the backend's
 * pool; the buffer then refuses every use, so a stale reference cannot read or write memory another call now owns.
 */
final class CpuBuffer implements Buffer {
    private final ArrayPool pool;
    private volatile float[] data;

    CpuBuffer(float[] data, ArrayPool pool) {
        this.data = data;
        this.pool = pool;
    }

    float[] data() {
        float[] d = data;
        if (d == null) {
            throw new IllegalStateException("buffer used after close");
        }
        return d;
    }

    @Override
    public long size() {
        return data().length;
    }

    @Override
    public synchronized void close() {
        if (data != null && pool != null) {
            pool.give(data);
        }
        data = null;
    }
}
