package dev.hourglass.tornado;

import dev.hourglass.backend.Buffer;

/** A {@link Buffer} of the TornadoVM backend: a (possibly larger, pooled) device array and the length asked for. */
final class TornadoBuffer implements Buffer {
    private final TornadoBackend owner;
    private DeviceArray array;
    private final long size;

    TornadoBuffer(TornadoBackend owner, DeviceArray array, long size) {
        this.owner = owner;
        this.array = array;
        this.size = size;
    }

    DeviceArray array() {
        DeviceArray a = array;
        if (a == null) {
            throw new IllegalStateException("buffer of " + size + " floats used after close");
        }
        return a;
    }

    TornadoBackend owner() {
        return owner;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void close() {
        DeviceArray a = array;
        if (a != null) {
            array = null;
            if (!a.constant) {
                owner.release(a);
            }
        }
    }

    @Override
    public String toString() {
        return "TornadoBuffer[" + size + "]";
    }
}
