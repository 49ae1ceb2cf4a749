package dev.hourglass.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Plain Java kernels: the fallback when {@code jdk.incubator.vector} is not readable, and the reference the Panama
 * kernels are tested against. Loops are written so that C2's auto-vectorizer can still use SIMD where it is able.
 */
final class ScalarKernelSupport implements KernelSupport {
    /**
     * Panel width and row block of the packed layouts. Any values work; 16 columns is a cache line of floats, which
     * C2's auto-vectoriser can turn into SIMD.
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
    public void gemmTile(float[] a, int aOffset, MemorySegment b, long bByteOffset, int kc,
                         float[] c, int cOffset, int ldc, int rows, int cols) {
        // Accumulates straight into C (no scratch tile, so nothing is allocated per call); the loop over a row of
        // the panel is the one the auto-vectoriser can use.
        for (int k = 0; k < kc; k++) {
            long bk = bByteOffset + (long) k * NR * Float.BYTES;
            int ak = aOffset + k * MR;
            for (int i = 0; i < rows; i++) {
                float ai = a[ak + i];
                int ci = cOffset + i * ldc;
                for (int j = 0; j < cols; j++) {
                    c[ci + j] += ai * b.get(ValueLayout.JAVA_FLOAT, bk + (long) j * Float.BYTES);
                }
            }
        }
    }

    @Override
    public void matmul(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                       float[] c, int cOffset, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int ci = cOffset + i * ldc;
            if (!accumulate) {
                java.util.Arrays.fill(c, ci, ci + n, 0f);
            }
            for (int p = 0; p < k; p++) {
                float aip = a[aOffset + i * lda + p];
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
            float e = (float) Math.exp(scale * (x[offset + i] - max));
            x[offset + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < length; i++) {
            x[offset + i] *= inv;
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
}
