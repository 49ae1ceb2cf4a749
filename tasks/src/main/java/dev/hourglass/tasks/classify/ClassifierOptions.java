package dev.hourglass.tasks.classify;

/**
 * How a classifier computes.
 *
 * @param threads compute threads, at least 1 (the calling thread is one of them)
 */
public record ClassifierOptions(int threads) {

    public ClassifierOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }

    /** One thread per available processor. */
    public static ClassifierOptions defaults() {
        return new ClassifierOptions(Runtime.getRuntime().availableProcessors());
    }

    public ClassifierOptions withThreads(int n) {
        return new ClassifierOptions(n);
    }
}
