package dev.hourglass.tasks.classify;

import dev.hourglass.backend.Backends;

/**
 * How a classifier computes.
 *
 * @param threads compute threads, at least 1 (the calling thread is one of them)
 * @param backend which backend computes: {@code auto} (the best one that can run here), {@code cpu}, {@code tornado},
 *                any name a provider has (see {@link Backends}); null means {@code auto}
 */
public record ClassifierOptions(int threads, String backend) {

    public ClassifierOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        backend = backend == null || backend.isBlank() ? Backends.AUTO : backend;
    }

    /** {@code threads} compute threads on the best backend that can run here. */
    public ClassifierOptions(int threads) {
        this(threads, Backends.AUTO);
    }

    /** One thread per available processor, best backend. */
    public static ClassifierOptions defaults() {
        return new ClassifierOptions(Runtime.getRuntime().availableProcessors());
    }

    public ClassifierOptions withThreads(int n) {
        return new ClassifierOptions(n, backend);
    }

    public ClassifierOptions withBackend(String name) {
        return new ClassifierOptions(threads, name);
    }
}
