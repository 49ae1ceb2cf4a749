package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ComputePoolTest {

    @Test
    void everyTaskRunsExactlyOnceOverManyLoops() {
        try (ComputePool pool = ComputePool.of(3)) {
            for (int round = 0; round < 2000; round++) {
                int tasks = 1 + round % 37;
                AtomicIntegerArray hits = new AtomicIntegerArray(tasks);
                pool.parallelFor(tasks, (t, w) -> {
                    assertTrue(w >= 0 && w < 3);
                    hits.incrementAndGet(t);
                });
                for (int t = 0; t < tasks; t++) {
                    assertEquals(1, hits.get(t), "round " + round + " task " + t);
                }
            }
        }
    }

    @Test
    void loopsResumeAfterTheWorkersHaveParked() throws InterruptedException {
        try (ComputePool pool = ComputePool.of(2)) {
            for (int round = 0; round < 5; round++) {
                Thread.sleep(2 + TimeUnit.NANOSECONDS.toMillis(ComputePool.SPIN_NANOS));
                AtomicIntegerArray hits = new AtomicIntegerArray(64);
                pool.parallelFor(64, (t, w) -> hits.incrementAndGet(t));
                for (int t = 0; t < 64; t++) {
                    assertEquals(1, hits.get(t));
                }
            }
        }
    }

    @Test
    void aFailingTaskStopsTheLoopAndItsExceptionReachesTheCaller() {
        try (ComputePool pool = ComputePool.of(3)) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.parallelFor(1000,
                    (t, w) -> {
                        if (t == 17) {
                            throw boom;
                        }
                    }));
            assertSame(boom, thrown);
            // The pool still works afterwards.
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            pool.parallelFor(10, (t, w) -> hits.incrementAndGet(t));
            for (int t = 0; t < 10; t++) {
                assertEquals(1, hits.get(t));
            }
        }
    }

    @Test
    void concurrentCallersAndNestedLoopsAllComplete() throws Exception {
        try (ComputePool pool = ComputePool.of(2)) {
            ExecutorService callers = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int c = 0; c < 8; c++) {
                    results.add(callers.submit(() -> {
                        AtomicIntegerArray hits = new AtomicIntegerArray(50);
                        for (int r = 0; r < 200; r++) {
                            pool.parallelFor(50, (t, w) -> {
                                // A loop inside a task runs on that task's thread.
                                pool.parallelFor(3, (u, v) -> { });
                                hits.incrementAndGet(t);
                            });
                        }
                        int sum = 0;
                        for (int t = 0; t < 50; t++) {
                            sum += hits.get(t);
                        }
                        return sum;
                    }));
                }
                for (Future<Integer> f : results) {
                    assertEquals(50 * 200, f.get());
                }
            } finally {
                callers.shutdown();
            }
        }
    }

    @Test
    void closedPoolsRefuseWork() {
        ComputePool pool = ComputePool.of(2);
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.parallelFor(4, (t, w) -> { }));
        assertThrows(IllegalArgumentException.class, () -> ComputePool.of(0));
    }

    /**
     * Closing from another thread while loops run never hangs a caller: each loop either completes whole (every task
     * once) or is refused as closed, and the workers end. Many rounds, the close landing at different points.
     */
    @Test
    void closingWhileLoopsRunNeverHangsAndLoopsCompleteOrAreRefused() throws Exception {
        ExecutorService caller = Executors.newSingleThreadExecutor();
        try {
            for (int round = 0; round < 300; round++) {
                ComputePool pool = ComputePool.of(3);
                int tasks = 64;
                Future<Integer> loops = caller.submit(() -> {
                    int completed = 0;
                    while (true) {
                        AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                        try {
                            pool.parallelFor(tasks, (t, w) -> runs.incrementAndGet(t));
                        } catch (IllegalStateException refused) {
                            assertEquals("compute pool is closed", refused.getMessage());
                            return completed;
                        }
                        for (int t = 0; t < tasks; t++) {
                            assertEquals(1, runs.get(t), "task " + t);
                        }
                        completed++;
                    }
                });
                if (round % 3 != 0) {
                    Thread.sleep(0, 1000 * (round % 50));
                }
                pool.close();
                pool.close();
                assertTrue(loops.get(10, TimeUnit.SECONDS) >= 0);
            }
        } finally {
            caller.shutdownNow();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (computeThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, computeThreads(), "worker threads left after closing every pool");
    }

    private static long computeThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("hourglass-compute-") && t.isAlive()).count();
    }
}
