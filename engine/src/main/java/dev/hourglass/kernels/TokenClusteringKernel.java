package dev.hourglass.kernels;


import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Expedit's token clustering layer for one image (ALGORITHMS.md §1.2), as the original computes it up to float
 * rounding: average-pooled starting centres with PyTorch's floor/ceil bins, the nearest-neighbour cell map computed in
 * float32, soft k-means restricted to a window of cells around each token's starting cell, weighted means with the
 * 1e-16 clamp, and hard labels from the unrestricted distances.
 *
 * <p>The original builds the full {@code [clusters, tokens]} distance matrix and masks it; a token's softmax only ever
 * has mass on the at most {@code window²} cells around its starting cell (the others get {@code exp(-τ·1e16) = 0}),
 * so this computes those entries only: {@code tokens · window²} distances per round instead of
 * {@code tokens · clusters}.
 */
final class TokenClusteringKernel {
    private static final float MASS_FLOOR = 1e-16f;

    private final KernelSupport k;
    private final CpuKernels kernels;

    TokenClusteringKernel(CpuKernels kernels) {
        this.kernels = kernels;
        this.k = kernels.support();
    }

    void cluster(ComputePool pool, float[] x, int xOffset, int gh, int gw, int dim, ClusteringParameters p,
                 float[] centres, int centresOffset, int[] labels, int labelsOffset) {
        int n = gh * gw;
        int h = p.clustersHigh();
        int w = p.clustersWide();
        int m = h * w;
        int r = p.window() / 2;
        int side = 2 * r + 1;
        int slots = side * side;

        float[] s = new float[m * dim];
        averagePool(x, xOffset, gh, gw, dim, h, w, s);

        // Each token's starting cell, and the tokens of each cell (in token order).
        int[] rowCell = nearestIndices(gh, h);
        int[] colCell = nearestIndices(gw, w);
        int[] cellOf = new int[n];
        int[] cellCount = new int[m + 1];
        for (int t = 0; t < n; t++) {
            cellOf[t] = rowCell[t / gw] * w + colCell[t % gw];
            cellCount[cellOf[t] + 1]++;
        }
        int[] cellStart = new int[m + 1];
        for (int c = 0; c < m; c++) {
            cellStart[c + 1] = cellStart[c] + cellCount[c + 1];
        }
        int[] cellTokens = new int[n];
        int[] fill = cellStart.clone();
        for (int t = 0; t < n; t++) {
            cellTokens[fill[cellOf[t]]++] = t;
        }

        float[] xx = new float[n];
        for (int t = 0; t < n; t++) {
            xx[t] = k.dot(x, xOffset + t * dim, x, xOffset + t * dim, dim);
        }
        float[] ss = new float[m];
        float[] affinity = new float[n * slots];
        float[] next = new float[m * dim];
        float tau = p.temperature();
        for (int iter = 0; iter < p.iterations(); iter++) {
            float[] cur = s;
            for (int c = 0; c < m; c++) {
                ss[c] = k.dot(cur, c * dim, cur, c * dim, dim);
            }
            // Soft assignment of each token over the cells of its window.
            pool.parallelFor(n, (t, worker) -> {
                int cell = cellOf[t];
                int ci = cell / w;
                int cj = cell % w;
                int base = t * slots;
                float max = Float.NEGATIVE_INFINITY;
                for (int dy = -r; dy <= r; dy++) {
                    for (int dx = -r; dx <= r; dx++) {
                        int slot = base + (dy + r) * side + dx + r;
                        int si = ci + dy;
                        int sj = cj + dx;
                        if (si < 0 || si >= h || sj < 0 || sj >= w) {
                            affinity[slot] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        int c = si * w + sj;
                        // The original's expanded form, in its order: (|x|² + |s|²) - 2 x·s, then (-d) * τ.
                        float d = (xx[t] + ss[c]) - 2f * k.dot(cur, c * dim, x, xOffset + t * dim, dim);
                        float logit = -d * tau;
                        affinity[slot] = logit;
                        max = Math.max(max, logit);
                    }
                }
                float sum = 0f;
                for (int j = base; j < base + slots; j++) {
                    float e = affinity[j] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(affinity[j] - max);
                    affinity[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = base; j < base + slots; j++) {
                    affinity[j] *= inv;
                }
            });
            // Each centre: the affinity-weighted mean of the tokens whose window holds it.
            pool.parallelFor(m, (c, worker) -> {
                int si = c / w;
                int sj = c % w;
                int out = c * dim;
                java.util.Arrays.fill(next, out, out + dim, 0f);
                float mass = 0f;
                for (int ci = Math.max(0, si - r); ci <= Math.min(h - 1, si + r); ci++) {
                    for (int cj = Math.max(0, sj - r); cj <= Math.min(w - 1, sj + r); cj++) {
                        int cell = ci * w + cj;
                        // This centre's slot in the windows of the tokens that start in that cell.
                        int slot = (si - ci + r) * side + (sj - cj + r);
                        for (int q = cellStart[cell]; q < cellStart[cell + 1]; q++) {
                            int t = cellTokens[q];
                            float a = affinity[t * slots + slot];
                            if (a != 0f) {
                                k.axpy(a, x, xOffset + t * dim, next, out, dim);
                                mass += a;
                            }
                        }
                    }
                }
                float inv = 1f / Math.max(mass, MASS_FLOOR);
                for (int i = out; i < out + dim; i++) {
                    next[i] *= inv;
                }
            });
            System.arraycopy(next, 0, s, 0, m * dim);
        }
        System.arraycopy(s, 0, centres, centresOffset, m * dim);
        if (labels != null) {
            hardLabels(pool, x, xOffset, n, dim, s, m, xx, labels, labelsOffset);
        }
    }

    /** {@code argmin} over all centres of the unmasked distance, first index on ties (as {@code torch.argmin}). */
    private void hardLabels(ComputePool pool, float[] x, int xOffset, int n, int dim, float[] s, int m, float[] xx,
                            int[] labels, int labelsOffset) {
        float[] ss = new float[m];
        for (int c = 0; c < m; c++) {
            ss[c] = k.dot(s, c * dim, s, c * dim, dim);
        }
        float[] dots = new float[n * m];
        PackedMatrix packed = kernels.pack(Tensor.ofFloats(s, m, dim));
        float[] workspace = new float[Math.toIntExact(kernels.linearWorkspace(dim, pool.threads()))];
        kernels.linear(pool, x, xOffset, n, packed, null, dots, 0, Epilogue.NONE, workspace);
        pool.parallelFor(n, (t, worker) -> {
            int best = 0;
            float bestD = Float.POSITIVE_INFINITY;
            for (int c = 0; c < m; c++) {
                float d = (xx[t] + ss[c]) - 2f * dots[t * m + c];
                if (d < bestD) {
                    bestD = d;
                    best = c;
                }
            }
            labels[labelsOffset + t] = best;
        });
    }

    /**
     * PyTorch's {@code adaptive_avg_pool2d} of the {@code gh x gw} token grid to {@code h x w}: cell {@code (i, j)}
     * averages rows {@code [floor(i*gh/h), ceil((i+1)*gh/h))} and the columns likewise; bins overlap when the sizes
     * do not divide.
     */
    private void averagePool(float[] x, int xOffset, int gh, int gw, int dim, int h, int w, float[] out) {
        for (int i = 0; i < h; i++) {
            int y0 = i * gh / h;
            int y1 = ((i + 1) * gh + h - 1) / h;
            for (int j = 0; j < w; j++) {
                int x0 = j * gw / w;
                int x1 = ((j + 1) * gw + w - 1) / w;
                int o = (i * w + j) * dim;
                for (int y = y0; y < y1; y++) {
                    for (int xi = x0; xi < x1; xi++) {
                        k.addInPlace(out, o, x, xOffset + (y * gw + xi) * dim, dim);
                    }
                }
                float count = (float) ((y1 - y0) * (x1 - x0));
                for (int c = o; c < o + dim; c++) {
                    out[c] /= count;
                }
            }
        }
    }

    /**
     * For each of {@code outSize} positions, the source index PyTorch's {@code interpolate(mode="nearest")} reads
     * from an axis of {@code inSize}: the identity for equal sizes, {@code i >> 1} for exactly double, otherwise
     * {@code min(floor(i * (float) inSize / outSize), inSize - 1)} with the product in float32.
     */
    static int[] nearestIndices(int outSize, int inSize) {
        int[] idx = new int[outSize];
        float scale = (float) inSize / outSize;
        for (int i = 0; i < outSize; i++) {
            if (outSize == inSize) {
                idx[i] = i;
            } else if (outSize == 2 * inSize) {
                idx[i] = i >> 1;
            } else {
                idx[i] = Math.min((int) Math.floor(i * scale), inSize - 1);
            }
        }
        return idx;
    }
}
