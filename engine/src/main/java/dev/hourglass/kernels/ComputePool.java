package dev.hourglass.kernels;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The threads a model computes on. Its size is the user's choice ({@code --threads N}); the calling thread is one of
 * them, so a pool of N runs N - 1 worker threads.
 *
 * <p>A forward pass is a few hundred short parallel loops (one per GEMM, attention, LayerNorm) with microseconds
 * between them. Workers therefore spin for a short while after each loop before they park, so that the next loop
 * finds them awake: waking a parked thread costs tens of microseconds, and on a two-core machine that showed as a
 * 10-20% slower and noisier forward pass. A worker parks after {@link #SPIN_NANOS} without work, so an idle pool
 * costs nothing.
 *
 * <p>{@link #parallelFor} hands out task indices dynamically, so uneven tasks balance themselves. Thread-safe: while
 * one caller's loop runs on the pool, another caller's loop runs on its own thread alone (it does not wait).
 * {@link #close} may be called from any thread at any time except from inside a loop's body: a loop already running
 * on the workers finishes first, a loop that started before and finds the workers stopped runs on its caller's
 * thread, and a loop started after fails.
 */
public final class ComputePool implements AutoCloseable {

    /** How long an idle worker keeps spinning for the next loop before it parks. */
    static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

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

    /** One parallel loop, shared by the caller and the workers it was handed to. */
    private static final class Job {
        final int tasks;
        final Body body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pendingHelpers;
        final Thread caller = Thread.currentThread();
        volatile Throwable failure;

        Job(int tasks, Body body, int helpers) {
            this.tasks = tasks;
            this.body = body;
            this.pendingHelpers = new AtomicInteger(helpers);
        }

        void drain(int worker) {
            int t;
            while ((t = next.getAndIncrement()) < tasks) {
                try {
                    body.run(t, worker);
                } catch (Throwable e) {
                    if (failure == null) {
                        failure = e;
                    }
                    next.set(tasks);
                }
            }
        }
    }

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock owner = new ReentrantLock();
    /** Set first by {@link #close}: new loops are refused. */
    private volatile boolean closed;
    /** Set by {@link #close} while it holds {@link #owner}, so never while a loop runs on the workers: they exit. */
    private volatile boolean stopped;

    private ComputePool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
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
     * Runs {@code body} for every task in {@code [0, tasks)} and returns when all are done. If a task throws, no new
     * tasks start, and the first exception is rethrown here once the running ones have finished.
     *
     * @throws IllegalStateException if the pool is closed
     */
    public void parallelFor(int tasks, Body body) {
        if (closed) {
            throw new IllegalStateException("compute pool is closed");
        }
        if (tasks <= 0) {
            return;
        }
        int helpers = Math.min(workers.length, tasks - 1);
        if (helpers == 0 || owner.isHeldByCurrentThread() || !owner.tryLock()) {
            // One thread's worth of work, a loop nested in one of this pool's tasks, or another caller's loop holding
            // the workers: run it here, alone.
            Job alone = new Job(tasks, body, 0);
            alone.drain(0);
            rethrow(alone.failure);
            return;
        }
        try {
            if (stopped) {
                // Closed between the check above and taking the workers: they are gone, run it here.
                Job alone = new Job(tasks, body, 0);
                alone.drain(0);
                rethrow(alone.failure);
                return;
            }
            Job job = new Job(tasks, body, helpers);
            for (int i = 0; i < helpers; i++) {
                workers[i].assign(job);
            }
            job.drain(0);
            awaitHelpers(job);
            rethrow(job.failure);
        } finally {
            owner.unlock();
        }
    }

    /** Spins while the helpers finish their last task (usually microseconds), then parks until the last one is done. */
    private static void awaitHelpers(Job job) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (job.pendingHelpers.get() > 0) {
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(job);
            }
        }
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Stops the worker threads once the loop running on them, if any, has finished; loops started after this fail
     * with {@link IllegalStateException}. Idempotent. Must not be called from inside a loop's body (it would wait for
     * that loop).
     */
    @Override
    public void close() {
        closed = true;
        owner.lock();
        try {
            stopped = true;
        } finally {
            owner.unlock();
        }
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
    }

    @Override
    public String toString() {
        return "ComputePool[" + threads + " threads]";
    }

    /** A worker thread: waits for a job (spinning, then parked), runs its share, tells the caller it is done. */
    private final class Worker implements Runnable {
        private final int index;
        private final Thread thread;
        private volatile Job job;

        Worker(int index) {
            this.index = index;
            this.thread = new Thread(this, "hourglass-compute-" + index);
            this.thread.setDaemon(true);
        }

        void assign(Job j) {
            job = j;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            while (!stopped) {
                Job j = awaitJob();
                if (j == null) {
                    continue;
                }
                job = null;
                j.drain(index);
                if (j.pendingHelpers.decrementAndGet() == 0) {
                    LockSupport.unpark(j.caller);
                }
            }
        }

        private Job awaitJob() {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            Job j;
            while ((j = job) == null && !stopped) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            return j;
        }
    }
}
