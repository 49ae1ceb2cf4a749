package dev.hourglass.kernels;


import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Expedit's token reconstruction layer for one image (ALGORITHMS.md §1.3): every full-resolution token becomes a
 * combination of the cluster values, weighted by {@code exp(-τ·d²)} between its features before clustering and the
 * final centres, cut to the {@code k} largest weights (all ties at the threshold kept) and L2-normalised with the
 * 1e-12 clamp. A token whose weights all underflow to zero becomes zero, as in the original.
 */
final class TokenReconstructionKernel {
    private static final float NORM_FLOOR = 1e-12f;

    private final KernelSupport k;
    private final CpuKernels kernels;

    TokenReconstructionKernel(CpuKernels kernels) {
        this.kernels = kernels;
        this.k = kernels.support();
    }

    /** {@code topK < 0} keeps every weight (the original's {@code k < 0} branch). */
    void reconstruct(ComputePool pool, float[] values, int valuesOffset, int m, int channels, float[] before,
                     int beforeOffset, int n, float[] after, int afterOffset, int dim, int topK, float temperature,
                     float[] out, int outOffset) {
        float[] ff = new float[n];
        for (int t = 0; t < n; t++) {
            ff[t] = k.dot(before, beforeOffset + t * dim, before, beforeOffset + t * dim, dim);
        }
        float[] centres = new float[m * dim];
        System.arraycopy(after, afterOffset, centres, 0, m * dim);
        float[] gg = new float[m];
        for (int c = 0; c < m; c++) {
            gg[c] = k.dot(centres, c * dim, centres, c * dim, dim);
        }
        // The before · centres products for all pairs: the one dense step, a GEMM with the centres as weights.
        float[] weights = new float[n * m];
        PackedMatrix packed = kernels.pack(Tensor.ofFloats(centres, m, dim));
        float[] workspace = new float[Math.toIntExact(kernels.linearWorkspace(dim, pool.threads()))];
        kernels.linear(pool, before, beforeOffset, n, packed, null, weights, 0, Epilogue.NONE, workspace);
        float negTau = -temperature;
        float[][] scratch = new float[pool.threads()][m];
        pool.parallelFor(n, (t, worker) -> {
            int row = t * m;
            for (int c = 0; c < m; c++) {
                float d = (ff[t] + gg[c]) - 2f * weights[row + c];
                weights[row + c] = (float) Math.exp(negTau * d);
            }
            float threshold = topK < 0 ? Float.NEGATIVE_INFINITY
                    : kthLargest(weights, row, m, topK, scratch[worker]);
            float squares = 0f;
            for (int c = 0; c < m; c++) {
                float v = weights[row + c];
                if (v >= threshold) {
                    squares += v * v;
                } else {
                    weights[row + c] = 0f;
                }
            }
            float inv = 1f / Math.max((float) Math.sqrt(squares), NORM_FLOOR);
            int o = outOffset + t * channels;
            java.util.Arrays.fill(out, o, o + channels, 0f);
            for (int c = 0; c < m; c++) {
                float v = weights[row + c];
                if (v != 0f) {
                    k.axpy(v * inv, values, valuesOffset + c * channels, out, o, channels);
                }
            }
        });
    }

    /** The {@code kth} largest of {@code length} values, counting repeats (what {@code min(topk(...))} gives). */
    static float kthLargest(float[] values, int offset, int length, int kth, float[] scratch) {
        System.arraycopy(values, offset, scratch, 0, length);
        // Quickselect for ascending position length - kth.
        int target = length - kth;
        int lo = 0;
        int hi = length - 1;
        while (lo < hi) {
            float pivot = scratch[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (scratch[i] < pivot) {
                    i++;
                }
                while (scratch[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    float tmp = scratch[i];
                    scratch[i] = scratch[j];
                    scratch[j] = tmp;
                    i++;
                    j--;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                break;
            }
        }
        return scratch[target];
    }
}
