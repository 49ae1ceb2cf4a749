package dev.hourglass.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads a model computes on. Its size is the user's choice ({@code --threads N}); the calling thread is one of
 * them, so a pool of N runs N - 1 worker threads.
 *
 * <p>{@link #parallelFor} hands out task indices dynamically, so uneven tasks balance themselves. Several callers may
 * use one pool at the same time (each call's tasks are independent); then up to callers + N - 1 threads compute.
 * Thread-safe.
 */
public final class ComputePool implements AutoCloseable {

    /** The body of a parallel loop: a task index in {@code [0, tasks)} and the index of the worker running it. */
    @FunctionalInterface
    public interface Body {
        /**
         * @param task   the task to run
         * @param worker in {@code [0, threads())}; tasks run by the same worker never overlap in time, so per-worker
         *               scratch space indexed by it is safe
         */
        void run(int task, int worker);
    }

    private final int threads;
    private final ForkJoinPool workers;

    private ComputePool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = threads == 1 ? null : new ForkJoinPool(threads - 1, pool -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("hourglass-compute-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** A pool of {@code threads} threads (the caller included). */
    public static ComputePool of(int threads) {
        return new ComputePool(threads);
    }

    /** A pool as large as the machine: {@link Runtime#availableProcessors()}. */
    public static ComputePool ofAvailableProcessors() {
        return new ComputePool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} for every task in {@code [0, tasks)} and returns when all are done. An exception thrown by a
     * task is rethrown here (after the other workers have stopped taking tasks).
     */
    public void parallelFor(int tasks, Body body) {
        if (tasks <= 0) {
            return;
        }
        int helpers = Math.min(threads, tasks) - 1;
        if (helpers == 0) {
            for (int t = 0; t < tasks; t++) {
                body.run(t, 0);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        ForkJoinTask<?>[] submitted = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            int worker = h + 1;
            submitted[h] = workers.submit(() -> drain(next, tasks, body, worker));
        }
        RuntimeException failure = null;
        try {
            drain(next, tasks, body, 0);
        } catch (RuntimeException | Error e) {
            next.set(tasks);
            throw e;
        } finally {
            for (ForkJoinTask<?> f : submitted) {
                try {
                    f.join();
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    }
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static void drain(AtomicInteger next, int tasks, Body body, int worker) {
        int t;
        while ((t = next.getAndIncrement()) < tasks) {
            try {
                body.run(t, worker);
            } catch (RuntimeException | Error e) {
                next.set(tasks);
                throw e;
            }
        }
    }

    /** Stops the worker threads. Calls made after closing fail. */
    @Override
    public void close() {
        if (workers != null) {
            workers.shutdown();
        }
    }

    @Override
    public String toString() {
        return "ComputePool[" + threads + " threads]";
    }
}
