package dev.hourglass.kernels;

/**
 * Plain Java kernels: the fallback when {@code jdk.incubator.vector} is not readable, and the reference the Panama
 * kernels are tested against. Loops are written so that C2's auto-vectorizer can still use SIMD where it is able.
 */
final class ScalarKernelSupport implements KernelSupport {
    /**
     * Register tile: rows of A by a panel of packed columns. Any values work; 16 columns is a cache line of floats,
     * which C2's auto-vectoriser can turn into SIMD.
     */
    private static final int NR = 16;
    private static final int MR = 4;

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String description() {
        return "scalar Java (no Vector API)";
    }

    @Override
    public int panelWidth() {
        return NR;
    }

    @Override
    public int rowBlock() {
        return MR;
    }

    @Override
    public void gemmTile(float[] a, int aOffset, int lda, float[] b, int bOffset, int kc,
                         float[] c, int cOffset, int ldc, float[] bias, int biasOffset, boolean accumulate) {
        // Four rows at a time over one row of the panel, so that each value of B read is used four times; the inner
        // loops over the 16 columns are the ones C2's auto-vectoriser can use. The small array costs an allocation
        // per tile (escape analysis cannot remove arrays indexed by a loop), about 4x cheaper than going through C.
        float[] acc = new float[MR * NR];
        for (int k = 0; k < kc; k++) {
            int bRow = bOffset + k * NR;
            float a0 = a[aOffset + k];
            float a1 = a[aOffset + lda + k];
            float a2 = a[aOffset + 2 * lda + k];
            float a3 = a[aOffset + 3 * lda + k];
            for (int j = 0; j < NR; j++) {
                float bj = b[bRow + j];
                acc[j] += a0 * bj;
                acc[NR + j] += a1 * bj;
                acc[2 * NR + j] += a2 * bj;
                acc[3 * NR + j] += a3 * bj;
            }
        }
        for (int i = 0; i < MR; i++) {
            int ci = cOffset + i * ldc;
            for (int j = 0; j < NR; j++) {
                float start = bias == null ? 0f : bias[biasOffset + j];
                c[ci + j] = (accumulate ? c[ci + j] + start : start) + acc[i * NR + j];
            }
        }
    }

    @Override
    public void matmul(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                       float[] c, int cOffset, int ldc, boolean accumulate) {
        products(m, n, k, a, aOffset, lda, 1, b, bOffset, ldb, c, cOffset, ldc, accumulate);
    }

    @Override
    public void matmulTransposedA(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset,
                                  int ldb, float[] c, int cOffset, int ldc, boolean accumulate) {
        products(m, n, k, a, aOffset, 1, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate);
    }

    /** {@code C (+)= A B} with A's element (i, p) at {@code a[aOffset + i * rowStep + p * kStep]}. */
    private static void products(int m, int n, int k, float[] a, int aOffset, int rowStep, int kStep, float[] b,
                                 int bOffset, int ldb, float[] c, int cOffset, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ci = cOffset + i * ldc;
            if (!accumulate) {
                java.util.Arrays.fill(c, ci, ci + n, 0f);
            }
            for (int p = 0; p < k; p++) {
                float aip = a[aOffset + i * rowStep + p * kStep];
                int bp = bOffset + p * ldb;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += aip * b[bp + j];
                }
            }
        }
    }

    @Override
    public void layerNorm(float[] x, int xOffset, float[] out, int outOffset, int dim, float[] gamma, float[] beta,
                          float eps) {
        float sum = 0f;
        for (int i = 0; i < dim; i++) {
            sum += x[xOffset + i];
        }
        float mean = sum / dim;
        float sq = 0f;
        for (int i = 0; i < dim; i++) {
            float d = x[xOffset + i] - mean;
            sq += d * d;
        }
        float rstd = (float) (1.0 / Math.sqrt(sq / dim + eps));
        for (int i = 0; i < dim; i++) {
            out[outOffset + i] = (x[xOffset + i] - mean) * rstd * gamma[i] + beta[i];
        }
    }

    @Override
    public void softmax(float[] x, int offset, int length, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (int i = 0; i < length; i++) {
            float e = Exp.exp(scale * (x[offset + i] - max));
            x[offset + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < length; i++) {
            x[offset + i] *= inv;
        }
    }

    @Override
    public void softmaxBlock(float[] s, int sOffset, int keys, int columns, float scale, float[] bias, int biasOffset,
                             float[] stats, int statsOffset, boolean first) {
        float expScale = scale;
        if (bias != null) {
            for (int k = 0; k < keys; k++) {
                int row = sOffset + k * columns;
                for (int c = 0; c < columns; c++) {
                    s[row + c] = Math.fma(s[row + c], scale, bias[biasOffset + k]);
                }
            }
            expScale = 1f;
        }
        float log2Scale = expScale * Exp.LOG2E;
        for (int c = 0; c < columns; c++) {
            softmaxColumn(s, sOffset, keys, columns, c, log2Scale, stats, statsOffset, first);
        }
    }

    /**
     * Column {@code c} of {@link KernelSupport#softmaxBlock} once the bias is added: also the Panama kernel's columns
     * past its last whole vector. {@code log2Scale} is the exponent's scale times {@code log2(e)}: every exponential
     * is {@link Exp#exp2Product}{@code (x - max, log2Scale)}.
     */
    static void softmaxColumn(float[] s, int sOffset, int keys, int columns, int c, float log2Scale, float[] stats,
                              int statsOffset, boolean first) {
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < keys; k++) {
            float x = s[sOffset + k * columns + c];
            max = x > max ? x : max;
        }
        if (!first) {
            float previous = stats[statsOffset + c];
            max = previous > max ? previous : max;
        }
        float sum = 0f;
        for (int k = 0; k < keys; k++) {
            int i = sOffset + k * columns + c;
            float e = Exp.exp2Product(s[i] - max, log2Scale);
            s[i] = e;
            sum += e;
        }
        if (first) {
            stats[statsOffset + c] = max;
            stats[statsOffset + columns + c] = sum;
        } else {
            finishColumn(stats, statsOffset, columns, c, max, sum, log2Scale);
        }
    }

    /**
     * Column {@code c} of a block after the first, given its new maximum and the block's sum: the running maximum, the
     * factor and the running sum ({@link KernelSupport#softmaxBlock}); {@code log2Scale} as in {@link #softmaxColumn}.
     */
    static void finishColumn(float[] stats, int statsOffset, int columns, int c, float max, float blockSum,
                             float log2Scale) {
        float previous = stats[statsOffset + c];
        int sum = statsOffset + columns + c;
        int factor = statsOffset + 2 * columns + c;
        stats[statsOffset + c] = max;
        if (max > previous) {
            float f = Exp.exp2Product(previous - max, log2Scale);
            stats[sum] = Math.fma(stats[sum], f, blockSum);
            stats[factor] = f;
        } else {
            stats[sum] += blockSum;
            stats[factor] = 1f;
        }
    }

    @Override
    public void scale(float[] x, int offset, int length, float factor) {
        for (int i = 0; i < length; i++) {
            x[offset + i] *= factor;
        }
    }

    @Override
    public void gelu(float[] x, int offset, int length) {
        for (int i = 0; i < length; i++) {
            x[offset + i] = Erf.gelu(x[offset + i]);
        }
    }

    @Override
    public void addInPlace(float[] x, int xOffset, float[] y, int yOffset, int length) {
        for (int i = 0; i < length; i++) {
            x[xOffset + i] += y[yOffset + i];
        }
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
        // Four partial sums, so that the adds do not wait on each other.
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        int i = 0;
        for (; i + 3 < length; i += 4) {
            s0 += a[aOffset + i] * b[bOffset + i];
            s1 += a[aOffset + i + 1] * b[bOffset + i + 1];
            s2 += a[aOffset + i + 2] * b[bOffset + i + 2];
            s3 += a[aOffset + i + 3] * b[bOffset + i + 3];
        }
        for (; i < length; i++) {
            s0 += a[aOffset + i] * b[bOffset + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int length) {
        for (int i = 0; i < length; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }
}
