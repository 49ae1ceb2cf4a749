package dev.hourglass.backend;

import java.util.Objects;

/**
 * A backend opened by {@link Backends#open}, with one line saying which backend and device were picked, and why any
 * other backend was not (for logs and command lines). Closing it closes the backend.
 *
 * @param backend the backend, owned by whoever holds this choice
 * @param summary one line, e.g. {@code backend: cpu (CPU, 2 threads, Vector API 512-bit); tornado not used: ...}
 */
public record BackendChoice(Backend backend, String summary) implements AutoCloseable {

    public BackendChoice {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(summary, "summary");
        if (summary.contains("\n")) {
            throw new IllegalArgumentException("summary must be one line: " + summary);
        }
    }

    @Override
    public void close() {
        backend.close();
    }
}
