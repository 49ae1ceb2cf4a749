package dev.hourglass.kernels;

/**
 * The hot inner loops, one implementation per instruction set. {@link Kernels} validates every argument once and then
 * calls these, which trust their callers: they do no argument checking of their own beyond what the JVM does.
 *
 * <p>Layouts shared by all implementations:
 * <ul>
 *   <li>Packed GEMM weights ({@link PackedMatrix}): the {@code [N, K]} weight is cut into panels of {@link
 *       #panelWidth()} output columns; panel {@code p} holds, for each {@code k}, the {@code panelWidth} values
 *       {@code W[p*NR + j][k]} contiguously (zero padded past {@code N}).
 *   <li>Activations are read in place, {@link #rowBlock()} rows at a time.
 * </ul>
 */
interface KernelSupport {

    /** Short name: {@code "panama"} or {@code "scalar"}. */
    String name();

    /** One line for logs: instruction set and vector width. */
    String description();

    /** Output columns per packed weight panel (NR). */
    int panelWidth();

    /** Rows per packed activation block (MR). */
    int rowBlock();

    /**
     * One whole register tile: {@code C[rowBlock, panelWidth] = (accumulate ? C : 0) + bias + A[rowBlock, kc] x
     * Bpanel[kc, panelWidth]}. Row {@code i} of A starts at {@code aOffset + i * lda}; {@code b} starts at the panel's
     * {@code k0} row; {@code c} at the tile's top-left element with row stride {@code ldc};
     * {@code bias} (may be null) at the tile's first column. The caller handles tiles that stick out of C (see
     * {@link CpuKernels#linear}).
     */
    void gemmTile(float[] a, int aOffset, int lda, float[] b, int bOffset, int kc,
                  float[] c, int cOffset, int ldc, float[] bias, int biasOffset, boolean accumulate);

    /**
     * {@code C[m, n] (+)= A[m, k] x B[k, n]} for small strided operands (attention), all row-major with the given
     * leading dimensions. Overwrites {@code C} unless {@code accumulate}.
     */
    void matmul(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                float[] c, int cOffset, int ldc, boolean accumulate);

    /**
     * {@link #matmul} with A stored transposed: element {@code (i, p)} of A is {@code a[aOffset + p * lda + i]}
     * (attention's weights, whose blocks are laid out with the query rows across).
     */
    void matmulTransposedA(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                           float[] c, int cOffset, int ldc, boolean accumulate);

    /** LayerNorm of one row of {@code dim} values: {@code (x - mean) / sqrt(var + eps) * gamma + beta}. */
    void layerNorm(float[] x, int xOffset, float[] out, int outOffset, int dim, float[] gamma, float[] beta, float eps);

    /**
     * In-place softmax of {@code scale * x} over one row: {@code exp(scale * (x - max)) / sum}. {@code scale > 0}.
     * The same operations, in the same order, as {@link #max}, then {@link #expSum} and {@link #scale} by
     * {@code 1 / sum}.
     */
    void softmax(float[] x, int offset, int length, float scale);

    /**
     * One block of keys of attention's online softmax, the query rows across. {@code s} holds {@code keys} rows of
     * {@code columns} raw scores (row k, column c: query c against key k); {@code stats} four rows of {@code columns}
     * floats from {@code statsOffset}: each column's running maximum, its running sum of exponentials, the factor its
     * outputs so far are to be multiplied by (written here) and scratch space. Per column, with
     * {@code x = s * scale + bias[k]} when {@code bias} is not null (then the exponent's scale is 1) and {@code x = s}
     * otherwise (then it is {@code scale}): the new maximum {@code m} of the old one and the block's;
     * {@code s = exp(scale' * (x - m))} in place; the factor {@code exp(scale' * (old - m))}, exactly 1 where the
     * maximum did not grow; the sum {@code sum * factor + the block's sum in key order}. On the {@code first} block
     * there is no old maximum or sum (the factor is not written). The maximum ignores NaN (a NaN score still makes its
     * column NaN through its exponential). Every exponential is {@link Exp#exp2Product}{@code (x - m, c)} with
     * {@code c = scale' * log2(e)} rounded to float.
     */
    void softmaxBlock(float[] s, int sOffset, int keys, int columns, float scale, float[] bias, int biasOffset,
                      float[] stats, int statsOffset, boolean first);

    /** In place {@code x[i] *= factor}. */
    void scale(float[] x, int offset, int length, float factor);

    /** In-place exact GELU, {@code x * (1 + erf(x / sqrt 2)) / 2}. */
    void gelu(float[] x, int offset, int length);

    /** {@code x[i] += y[i]}. */
    void addInPlace(float[] x, int xOffset, float[] y, int yOffset, int length);

    /** {@code sum_i a[i] * b[i]} over {@code length} values. */
    float dot(float[] a, int aOffset, float[] b, int bOffset, int length);

    /** {@code y[i] += alpha * x[i]} over {@code length} values. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int length);
}
