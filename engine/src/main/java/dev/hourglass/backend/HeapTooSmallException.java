package dev.hourglass.backend;

import java.nio.file.Path;
import java.util.Locale;

import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;

/**
 * A model's weights did not fit the Java heap. The CPU backend keeps every weight as float32 in heap arrays (the GEMM
 * reads them fastest there, see {@code PackedMatrix}), so a model needs about four bytes per parameter of heap, twice
 * its file's size for a bf16 or fp16 file, whatever memory the machine has: the heap's limit is {@code -Xmx}. The
 * message says how much the model needs, how much the JVM may use and what to do, on one line. It replaces the
 * {@link OutOfMemoryError} thrown while the weights were being prepared; the heap is usable again once the half-made
 * model is dropped.
 */
public final class HeapTooSmallException extends IllegalStateException {
    private final long neededBytes;

    private HeapTooSmallException(String message, long neededBytes, Throwable cause) {
        super(message, cause);
        this.neededBytes = neededBytes;
    }

    /** Bytes of heap the weights need (float32), as far as known; 0 when unknown. */
    public long neededBytes() {
        return neededBytes;
    }

    /** For a weight store: preparing one tensor of {@code bytes} failed with {@code held} bytes already prepared. */
    public static HeapTooSmallException preparing(long bytes, long held, OutOfMemoryError cause) {
        return new HeapTooSmallException("the model's weights do not fit the Java heap: " + mb(held)
                + " prepared, the next weight needs " + mb(bytes) + ", this JVM's maximum heap is "
                + mb(Runtime.getRuntime().maxMemory()) + "; " + ADVICE, 0, cause);
    }

    /**
     * The same failure, put in terms of the whole model: {@code weights}' float32 size against the maximum heap.
     * An exception that already names a model is returned as it is.
     */
    public static HeapTooSmallException forModel(TensorSource weights, HeapTooSmallException e) {
        if (e.neededBytes > 0) {
            return e;
        }
        long needed = float32Bytes(weights);
        Path file = weights.path();
        // Room for the activations and the JVM's own use of the heap: half the weights again and 256 MB.
        long suggestedGb = Math.max(1, (needed + needed / 2 + (256L << 20) + (1L << 30) - 1) >> 30);
        String message = file + ": the model needs about " + mb(needed) + " of Java heap for its float32 weights"
                + " and more for its activations, this JVM's maximum heap is " + mb(Runtime.getRuntime().maxMemory())
                + "; start java with -Xmx" + suggestedGb + "g or more (bin/hourglass: HOURGLASS_JAVA_OPTS=-Xmx"
                + suggestedGb + "g)";
        return new HeapTooSmallException(message, needed, e.getCause());
    }

    private static final String ADVICE = "start java with a larger -Xmx (bin/hourglass: HOURGLASS_JAVA_OPTS)";

    /** Float32 bytes of every floating-point tensor in {@code weights}: what the CPU backend keeps of it. */
    static long float32Bytes(TensorSource weights) {
        long total = 0;
        for (TensorInfo t : weights.tensors()) {
            total += Math.multiplyExact(t.shape().elementCount(), (long) Float.BYTES);
        }
        return total;
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%,d MB", (bytes + (1 << 19)) >> 20);
    }
}
