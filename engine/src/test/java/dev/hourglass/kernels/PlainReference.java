package dev.hourglass.kernels;

/**
 * Straightforward double-precision versions of every kernel, written for clarity, not speed: the ground truth the
 * scalar and Panama kernels are compared with.
 */
public final class PlainReference {
    private PlainReference() {
    }

    /** {@code out[i, j] = sum_k a[i, k] * w[j, k] + bias[j]} (torch Linear). */
    static double[] linear(float[] a, int m, int k, float[] w, int n, float[] bias) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = bias == null ? 0 : bias[j];
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * w[j * k + p];
                }
                out[i * n + j] = s;
            }
        }
        return out;
    }

    static double[] layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, double eps) {
        double[] out = new double[rows * dim];
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int i = 0; i < dim; i++) {
                mean += x[r * dim + i];
            }
            mean /= dim;
            double var = 0;
            for (int i = 0; i < dim; i++) {
                double d = x[r * dim + i] - mean;
                var += d * d;
            }
            var /= dim;
            for (int i = 0; i < dim; i++) {
                out[r * dim + i] = (x[r * dim + i] - mean) / Math.sqrt(var + eps) * gamma[i] + beta[i];
            }
        }
        return out;
    }

    static double[] softmax(float[] x, int offset, int length, double scale) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            max = Math.max(max, x[offset + i]);
        }
        double[] out = new double[length];
        double sum = 0;
        for (int i = 0; i < length; i++) {
            out[i] = Math.exp(scale * (x[offset + i] - max));
            sum += out[i];
        }
        for (int i = 0; i < length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** The error function to about 1e-12: its Taylor series below 4, +-1 beyond (erfc(4) is 1.5e-8). */
    public static double erf(double x) {
        double ax = Math.abs(x);
        if (ax > 4) {
            return Math.signum(x) * (1 - 1.5e-8 * Math.exp(16 - ax * ax));
        }
        double term = ax;
        double sum = ax;
        for (int n = 1; n < 200; n++) {
            term *= -ax * ax / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.abs(add) < 1e-17) {
                break;
            }
        }
        return Math.signum(x) * 2 / Math.sqrt(Math.PI) * sum;
    }

    public static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** Attention over a fused qkv buffer, as {@link Kernels#attention} documents it. */
    static double[] attention(float[] qkv, int batch, int tokens, int heads, int hd) {
        return attention(qkv, batch, tokens, heads, hd, null, null, null);
    }

    /**
     * Attention with the token-reduction extras ({@link AttentionExtras}): {@code keyBias [batch, tokens]} added to the
     * scaled logits, only the queries in {@code queryRows} (null: all), the class token's head-averaged row written
     * to {@code classRow [batch, tokens]} (may be null).
     */
    static double[] attention(float[] qkv, int batch, int tokens, int heads, int hd, float[] keyBias, int[] queryRows,
                              double[] classRow) {
        int d = heads * hd;
        int queries = queryRows == null ? tokens : queryRows.length;
        double[] out = new double[batch * queries * d];
        double scale = 1 / Math.sqrt(hd);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int qi = 0; qi < queries; qi++) {
                    int i = queryRows == null ? qi : queryRows[qi];
                    double[] s = new double[tokens];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < tokens; j++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) {
                            dot += (double) qkv[(b * tokens + i) * 3 * d + h * hd + e]
                                    * qkv[(b * tokens + j) * 3 * d + d + h * hd + e];
                        }
                        s[j] = dot * scale + (keyBias == null ? 0 : keyBias[b * tokens + j]);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tokens; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    if (classRow != null && i == 0) {
                        for (int j = 0; j < tokens; j++) {
                            classRow[b * tokens + j] += s[j] / sum / heads;
                        }
                    }
                    for (int e = 0; e < hd; e++) {
                        double acc = 0;
                        for (int j = 0; j < tokens; j++) {
                            acc += s[j] / sum * qkv[(b * tokens + j) * 3 * d + 2 * d + h * hd + e];
                        }
                        out[(b * queries + qi) * d + h * hd + e] = acc;
                    }
                }
            }
        }
        return out;
    }
}
