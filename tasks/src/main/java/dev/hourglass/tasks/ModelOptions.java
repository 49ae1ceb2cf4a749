package dev.hourglass.tasks;

import java.util.Objects;

import dev.hourglass.backend.Backends;
import dev.hourglass.convert.ConvertOptions;

/**
 * How a task model ({@code ImageClassifier}, {@code SemanticSegmenter}) is loaded and computes: the same options for
 * every task ({@link LoadedModel}).
 *
 * @param threads    compute threads, at least 1 (the calling thread is one of them)
 * @param backend    which backend computes: {@code auto} (the best one that can run here), {@code cpu},
 *                   {@code tornado}, any name a provider has (see {@link Backends}); null means {@code auto}
 * @param conversion what an original checkpoint does not say (heads, layout, normalisation, class names); null means
 *                   {@link ConvertOptions#NONE}
 */
public record ModelOptions(int threads, String backend, ConvertOptions conversion) {

    public ModelOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        backend = backend == null || backend.isBlank() ? Backends.AUTO : backend;
        conversion = conversion == null ? ConvertOptions.NONE : conversion;
    }

    /** {@code threads} compute threads on {@code backend}, the checkpoint as it is. */
    public ModelOptions(int threads, String backend) {
        this(threads, backend, ConvertOptions.NONE);
    }

    /** {@code threads} compute threads on the best backend that can run here. */
    public ModelOptions(int threads) {
        this(threads, Backends.AUTO);
    }

    /** One thread per available processor, best backend. */
    public static ModelOptions defaults() {
        return new ModelOptions(Runtime.getRuntime().availableProcessors());
    }

    public ModelOptions withThreads(int n) {
        return new ModelOptions(n, backend, conversion);
    }

    public ModelOptions withBackend(String name) {
        return new ModelOptions(threads, name, conversion);
    }

    public ModelOptions withConversion(ConvertOptions options) {
        return new ModelOptions(threads, backend, Objects.requireNonNullElse(options, ConvertOptions.NONE));
    }
}
