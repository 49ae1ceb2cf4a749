package dev.hourglass.bench;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the machine's float32 FMA peak with the Vector API: twelve independent multiply-add chains (more than
 * latency x throughput), nothing loaded from memory. The result is the ceiling a GEMM can reach on this JVM, the
 * denominator of "share of peak".
 */
final class FmaPeak {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private FmaPeak() {
    }

    /** GFLOP/s of one thread. */
    static double singleThread() {
        run(20_000_000L);
        double best = 0;
        for (int r = 0; r < 5; r++) {
            long n = 50_000_000L;
            long t0 = System.nanoTime();
            float sink = run(n);
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (sink == 42f) {
                System.out.print("");
            }
            best = Math.max(best, n * 12.0 * 2 * S.length() / seconds / 1e9);
        }
        return best;
    }

    /** GFLOP/s of {@code threads} threads running at once. */
    static double threads(int threads) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = 0;
            for (int r = 0; r < 3; r++) {
                long n = 50_000_000L;
                List<Callable<Float>> jobs = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    jobs.add(() -> run(n));
                }
                long t0 = System.nanoTime();
                List<Future<Float>> done = pool.invokeAll(jobs);
                for (Future<Float> f : done) {
                    f.get();
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, threads * n * 12.0 * 2 * S.length() / seconds / 1e9);
            }
            return best;
        } finally {
            pool.shutdown();
        }
    }

    static int lanes() {
        return S.length();
    }

    private static float run(long n) {
        FloatVector a = FloatVector.broadcast(S, 0.9999f);
        FloatVector b = FloatVector.broadcast(S, 1e-4f);
        FloatVector c0 = FloatVector.broadcast(S, 0.1f), c1 = c0.add(1), c2 = c0.add(2), c3 = c0.add(3);
        FloatVector c4 = c0.add(4), c5 = c0.add(5), c6 = c0.add(6), c7 = c0.add(7);
        FloatVector c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11);
        for (long i = 0; i < n; i++) {
            c0 = c0.fma(a, b);
            c1 = c1.fma(a, b);
            c2 = c2.fma(a, b);
            c3 = c3.fma(a, b);
            c4 = c4.fma(a, b);
            c5 = c5.fma(a, b);
            c6 = c6.fma(a, b);
            c7 = c7.fma(a, b);
            c8 = c8.fma(a, b);
            c9 = c9.fma(a, b);
            c10 = c10.fma(a, b);
            c11 = c11.fma(a, b);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
