package dev.hourglass.backend.cpu;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recycles the float arrays of closed buffers and kernel scratch space. A forward pass allocates the same sizes every
 * time, so after the first call it finds them all here and makes no garbage: without this, tens of megabytes per call
 * go to the garbage collector, which answers by growing the heap (and the process's resident memory) far past what
 * the model needs. Arrays are kept by exact length, up to {@code maxRetainedBytes} in all. Thread-safe.
 */
final class ArrayPool {
    private final Map<Integer, ConcurrentLinkedDeque<float[]>> free = new ConcurrentHashMap<>();
    private final AtomicLong retainedBytes = new AtomicLong();
    private final long maxRetainedBytes;

    ArrayPool(long maxRetainedBytes) {
        this.maxRetainedBytes = maxRetainedBytes;
    }

    /** An array of exactly {@code length} floats; its contents are whatever the last user left. */
    float[] take(int length) {
        ConcurrentLinkedDeque<float[]> q = free.get(length);
        float[] a = q == null ? null : q.pollFirst();
        if (a == null) {
            return new float[length];
        }
        retainedBytes.addAndGet(-4L * length);
        return a;
    }

    /** Returns an array for reuse; the caller must not touch it afterwards. */
    void give(float[] a) {
        long bytes = 4L * a.length;
        if (retainedBytes.addAndGet(bytes) > maxRetainedBytes) {
            retainedBytes.addAndGet(-bytes);
            return;
        }
        free.computeIfAbsent(a.length, k -> new ConcurrentLinkedDeque<>()).offerFirst(a);
    }

    long retainedBytes() {
        return retainedBytes.get();
    }
}
