package dev.hourglass.backend;

/**
 * A run of float32 values in a backend's memory (host arrays for the CPU backend, device memory for a GPU backend).
 * Only the backend that made a buffer may use it. Closing it releases device memory; using it afterwards is an error.
 */
public interface Buffer extends AutoCloseable {

    /** Number of float values. */
    long size();

    @Override
    void close();
}
