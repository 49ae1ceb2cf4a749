package dev.hourglass.backend;

import java.util.SplittableRandom;

import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * A short measurement of what a backend computes: ViT-B/16's fc1 GEMM ({@code 197 x 768 -> 3072}, bias, GELU), the
 * shape that dominates a ViT forward pass, run until about a quarter of a second has passed after two warm-up calls,
 * each call ending with a download so that a device backend's queued work is timed to completion. For {@code hourglass
 * backends --probe}; {@code auto} does not depend on it (its rule needs no measurement, see {@link Backends}).
 */
public final class BackendProbe {
    private static final int ROWS = 197;
    private static final int IN = 768;
    private static final int OUT = 3072;
    private static final long BUDGET_NANOS = 250_000_000L;

    private BackendProbe() {
    }

    /** GFLOP/s of the fc1 GEMM on {@code backend}, multiply-adds counted as two. */
    public static double gflops(Backend backend) {
        SplittableRandom r = new SplittableRandom(1);
        float[] w = new float[OUT * IN];
        float[] b = new float[OUT];
        float[] x = new float[ROWS * IN];
        for (float[] a : new float[][] {w, b, x}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextDouble(-0.05, 0.05);
            }
        }
        float[] one = new float[1];
        try (WeightStore store = backend.newWeightStore();
             Buffer input = backend.upload(x, 0, x.length);
             Buffer out = backend.allocate((long) ROWS * OUT)) {
            LinearWeights layer = store.linear(Tensor.ofFloats(w, OUT, IN), Tensor.ofFloats(b, OUT));
            for (int i = 0; i < 2; i++) {
                backend.linear(input, 0, ROWS, layer, out, 0, Epilogue.GELU);
                backend.download(out, 0, one, 0, 1);
            }
            int calls = 0;
            long start = System.nanoTime();
            long elapsed;
            do {
                backend.linear(input, 0, ROWS, layer, out, 0, Epilogue.GELU);
                backend.download(out, 0, one, 0, 1);
                calls++;
                elapsed = System.nanoTime() - start;
            } while (elapsed < BUDGET_NANOS);
            return 2.0 * ROWS * IN * OUT * calls / elapsed;
        }
    }
}
