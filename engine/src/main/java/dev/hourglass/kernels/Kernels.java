package dev.hourglass.kernels;

import java.util.Objects;

import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * The CPU kernel facade: every CPU computation of the engine goes through here. Each method checks its arguments once
 * (shapes, offsets and lengths, in {@code long} arithmetic) and then runs the implementation chosen at start-up: the
 * Vector API one when {@code jdk.incubator.vector} is readable, the scalar one otherwise (see
 * {@link #implementation()}; {@code -Dhourglass.kernels=panama|scalar} forces one).
 *
 * <p>All arrays are float32, row-major, addressed by an offset. Methods are thread-safe: they keep no state between
 * calls, and the ones that take a {@link ComputePool} split their work over it.
 */
public final class Kernels {

    private Kernels() {
    }

    private static final class Holder {
        static final CpuKernels KERNELS = new CpuKernels(KernelSupportLookup.Holder.SUPPORT);
        static final TokenClusteringKernel CLUSTERING = new TokenClusteringKernel(KERNELS);
        static final TokenReconstructionKernel RECONSTRUCTION = new TokenReconstructionKernel(KERNELS);

        private Holder() {
        }
    }

    private static CpuKernels kernels() {
        return Holder.KERNELS;
    }

    /**
     * Readies the kernels for a model of {@code flopsPerPass} (2 x multiply-adds of one forward pass): the first time
     * in this JVM that a model of at least 2 GFLOP asks, runs every Vector API kernel on small inputs for about a
     * second, so that the JIT has compiled them before the model's first pass needs them (without it, ViT-B/16's first
     * pass takes seconds). Changes no result. {@code -Dhourglass.kernels.warmup=auto|true|false} (default auto: the
     * 2 GFLOP rule) sets when. Thread-safe; runs on the calling thread.
     *
     * @throws IllegalArgumentException if that property has another value
     */
    public static void warmUp(double flopsPerPass) {
        KernelWarmUp.warmUp(kernels(), flopsPerPass);
    }

    /** The implementation in use: {@code "panama"} or {@code "scalar"}. */
    public static String implementation() {
        return kernels().support().name();
    }

    /** One line describing the implementation in use, for logs and benchmark reports. */
    public static String description() {
        return kernels().support().description();
    }

    /**
     * Packs a linear layer's weight for {@link #linear}. The weight is {@code [out_features, in_features]} in any
     * stored float type; it is decoded once, here, into a packed float32 copy on the heap ({@link PackedMatrix}).
     *
     * @throws IllegalArgumentException if the weight is not rank 2 or its packed copy would not fit one Java array
     *                                  (2^31 - 9 floats)
     */
    public static PackedMatrix pack(Tensor weight) {
        if (weight.shape().rank() != 2) {
            throw new IllegalArgumentException("a linear weight must have rank 2, got " + weight.shape());
        }
        weight.shape().intDim(0);
        weight.shape().intDim(1);
        return kernels().pack(weight);
    }

    /**
     * A linear layer over {@code rows} rows: {@code C = epilogue(A W^T + bias)}. Allocates its scratch space; see
     * {@link #linear(ComputePool, float[], int, int, PackedMatrix, float[], float[], int, Epilogue, float[])} to
     * supply it.
     *
     * @param a       input, {@code rows x w.inFeatures()} from {@code aOffset}
     * @param bias    {@code w.outFeatures()} values, or null
     * @param c       output, {@code rows x w.outFeatures()} from {@code cOffset}; with {@link Epilogue#RESIDUAL} it
     *                holds the residual on entry. Must not overlap {@code a}.
     */
    public static void linear(ComputePool pool, float[] a, int aOffset, int rows, PackedMatrix w, float[] bias,
                              float[] c, int cOffset, Epilogue epilogue) {
        float[] workspace = new float[Math.toIntExact(linearWorkspaceSize(pool, w))];
        linear(pool, a, aOffset, rows, w, bias, c, cOffset, epilogue, workspace);
    }

    /** Floats of scratch space a {@link #linear} call with {@code w} on {@code pool} needs (any number of rows). */
    public static long linearWorkspaceSize(ComputePool pool, PackedMatrix w) {
        return kernels().linearWorkspace(w.inFeatures(), pool.threads());
    }

    /**
     * {@link #linear(ComputePool, float[], int, int, PackedMatrix, float[], float[], int, Epilogue)} with caller-owned
     * scratch space of at least {@link #linearWorkspaceSize} floats (its contents are overwritten), so that repeated
     * calls allocate nothing.
     */
    public static void linear(ComputePool pool, float[] a, int aOffset, int rows, PackedMatrix w, float[] bias,
                              float[] c, int cOffset, Epilogue epilogue, float[] workspace) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(epilogue, "epilogue");
        if (w.panelWidth() != kernels().support().panelWidth()) {
            throw new IllegalArgumentException(w + " was packed for another kernel implementation");
        }
        checkRange("a", a, aOffset, (long) rows * w.inFeatures());
        checkRange("c", c, cOffset, (long) rows * w.outFeatures());
        checkRange("workspace", workspace, 0, linearWorkspaceSize(pool, w));
        if (bias != null && bias.length < w.outFeatures()) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, " + w + " needs "
                    + w.outFeatures());
        }
        if (a == c && overlaps(aOffset, (long) rows * w.inFeatures(), cOffset, (long) rows * w.outFeatures())) {
            throw new IllegalArgumentException("linear: input and output overlap");
        }
        if (workspace == a || workspace == c) {
            throw new IllegalArgumentException("linear: the workspace must not be the input or the output");
        }
        kernels().linear(pool, a, aOffset, rows, w, bias, c, cOffset, epilogue, workspace);
    }

    /** LayerNorm over the last dimension of {@code rows x dim} values. {@code out} may be {@code x}. */
    public static void layerNorm(ComputePool pool, float[] x, int xOffset, float[] out, int outOffset, int rows,
                                 int dim, float[] gamma, float[] beta, float eps) {
        Objects.requireNonNull(pool, "pool");
        checkRange("x", x, xOffset, (long) rows * dim);
        checkRange("out", out, outOffset, (long) rows * dim);
        checkRange("gamma", gamma, 0, dim);
        checkRange("beta", beta, 0, dim);
        if (!(eps > 0f)) {
            throw new IllegalArgumentException("eps must be positive, got " + eps);
        }
        kernels().layerNorm(pool, x, xOffset, out, outOffset, rows, dim, gamma, beta, eps);
    }

    /** In-place softmax of {@code scale * x} over {@code length} values. */
    public static void softmax(float[] x, int offset, int length, float scale) {
        checkRange("x", x, offset, length);
        if (length == 0) {
            return;
        }
        if (!(scale > 0f) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("softmax scale must be positive and finite, got " + scale);
        }
        kernels().support().softmax(x, offset, length, scale);
    }

    /** In-place exact (erf) GELU. */
    public static void gelu(float[] x, int offset, int length) {
        checkRange("x", x, offset, length);
        kernels().support().gelu(x, offset, length);
    }

    /** {@code x += y} element-wise. */
    public static void addInPlace(float[] x, int xOffset, float[] y, int yOffset, int length) {
        checkRange("x", x, xOffset, length);
        checkRange("y", y, yOffset, length);
        kernels().support().addInPlace(x, xOffset, y, yOffset, length);
    }

    /**
     * {@code C[m, n] (+)= A[m, k] B[k, n]} on strided row-major operands, on the calling thread. For small products
     * (per-head attention, clustering); large ones belong in {@link #linear}.
     */
    public static void matmul(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                              float[] c, int cOffset, int ldc, boolean accumulate) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("negative size: m=" + m + " n=" + n + " k=" + k);
        }
        if (lda < k || ldb < n || ldc < n) {
            throw new IllegalArgumentException("leading dimensions too small: lda=" + lda + " (k=" + k + "), ldb="
                    + ldb + " (n=" + n + "), ldc=" + ldc + " (n=" + n + ")");
        }
        if (m == 0 || n == 0) {
            return;
        }
        checkRange("a", a, aOffset, (long) (m - 1) * lda + k);
        checkRange("b", b, bOffset, k == 0 ? 0 : (long) (k - 1) * ldb + n);
        checkRange("c", c, cOffset, (long) (m - 1) * ldc + n);
        kernels().support().matmul(m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate);
    }

    /** Floats of scratch space {@link #attention} needs for these sizes on a pool of {@code threads}. */
    public static long attentionWorkspaceSize(int batch, int tokens, int heads, int headDim, int threads) {
        return CpuKernels.attentionWorkspace(batch, tokens, heads, headDim, threads);
    }

    /**
     * Multi-head self-attention, as timm computes it: {@code qkv} is {@code [batch * tokens, 3 * heads * headDim]}
     * (the output of the fused qkv projection), {@code out} receives {@code [batch * tokens, heads * headDim]} with the
     * heads merged. {@code workspace} holds at least {@link #attentionWorkspaceSize} floats for this pool.
     */
    public static void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads,
                                 int headDim, float[] out, int outOffset, float[] workspace) {
        attention(pool, qkv, qkvOffset, batch, tokens, heads, headDim, out, outOffset, workspace, AttentionExtras.NONE);
    }

    /**
     * {@link #attention(ComputePool, float[], int, int, int, int, int, float[], int, float[])} with what a token
     * reduction adds ({@link AttentionExtras}): a per-key bias, a subset of query rows ({@code out} then holds
     * {@code batch * queries} rows), the class token's head-averaged attention row.
     */
    public static void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads,
                                 int headDim, float[] out, int outOffset, float[] workspace, AttentionExtras extras) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(extras, "extras");
        if (batch < 1 || tokens < 1 || heads < 1 || headDim < 1) {
            throw new IllegalArgumentException("attention sizes must be positive: batch=" + batch + " tokens="
                    + tokens + " heads=" + heads + " headDim=" + headDim);
        }
        long d = (long) heads * headDim;
        int queries = tokens;
        if (extras.queryRows() != null) {
            int[] rows = extras.queryRows();
            if (rows.length == 0) {
                throw new IllegalArgumentException("attention: the query subset is empty");
            }
            for (int i = 0; i < rows.length; i++) {
                if (rows[i] < 0 || rows[i] >= tokens || (i > 0 && rows[i] <= rows[i - 1])) {
                    throw new IllegalArgumentException("attention: query row " + rows[i] + " at position " + i
                            + " is out of [0, " + tokens + ") or not ascending");
                }
            }
            queries = rows.length;
        }
        if (extras.classAttention() != null) {
            if (extras.queryRows() != null && extras.queryRows()[0] != 0) {
                throw new IllegalArgumentException("attention: the class token's row was asked for, but the query"
                        + " subset does not start with token 0");
            }
            checkRange("classAttention", extras.classAttention(), extras.classAttentionOffset(),
                    (long) batch * tokens);
        }
        if (extras.keyBias() != null) {
            checkRange("keyBias", extras.keyBias(), extras.keyBiasOffset(), (long) batch * tokens);
        }
        checkRange("qkv", qkv, qkvOffset, (long) batch * tokens * 3 * d);
        checkRange("out", out, outOffset, (long) batch * queries * d);
        checkRange("workspace", workspace, 0, attentionWorkspaceSize(batch, tokens, heads, headDim, pool.threads()));
        if (qkv == out && overlaps(qkvOffset, (long) batch * tokens * 3 * d, outOffset, (long) batch * queries * d)) {
            throw new IllegalArgumentException("attention: qkv and out overlap");
        }
        kernels().attention(pool, qkv, qkvOffset, batch, tokens, heads, headDim, out, outOffset, workspace, extras);
    }

    /**
     * Expedit's map from a token axis to the cluster grid: for each of {@code outSize} positions, the index PyTorch's
     * {@code interpolate(mode="nearest")} reads from an axis of {@code inSize} (computed in float32, as the original
     * does). Each token's starting cell is {@code (rows[y], cols[x])}; device backends build their tables from it.
     */
    public static int[] nearestIndices(int outSize, int inSize) {
        if (outSize < 1 || inSize < 1) {
            throw new IllegalArgumentException("axis sizes must be positive, got " + outSize + " and " + inSize);
        }
        return TokenClusteringKernel.nearestIndices(outSize, inSize);
    }

    /**
     * Expedit's token clustering layer for one image: the {@code gridHeight x gridWidth} tokens of {@code dim} values
     * (row-major, from {@code offset}) become {@code p.clusters()} centres, written row-major in cluster-grid order to
     * {@code centres}. With {@code hardLabels} non-null, each token's nearest final centre (over all centres, first
     * index on ties) is written there too; that costs a dense {@code tokens x clusters} distance pass, so pass null
     * when it is not needed.
     */
    public static void clusterTokens(ComputePool pool, float[] tokens, int offset, int gridHeight, int gridWidth,
                                     int dim, ClusteringParameters p, float[] centres, int centresOffset,
                                     int[] hardLabels, int labelsOffset) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(p, "parameters");
        if (gridHeight < 1 || gridWidth < 1 || dim < 1) {
            throw new IllegalArgumentException("clusterTokens: grid " + gridHeight + "x" + gridWidth + " and width "
                    + dim + " must be positive");
        }
        long n = (long) gridHeight * gridWidth;
        checkRange("tokens", tokens, offset, n * dim);
        checkRange("centres", centres, centresOffset, (long) p.clusters() * dim);
        if (hardLabels != null) {
            Objects.checkFromIndexSize(labelsOffset, n, hardLabels.length);
        }
        if (tokens == centres && overlaps(offset, n * dim, centresOffset, (long) p.clusters() * dim)) {
            throw new IllegalArgumentException("clusterTokens: tokens and centres overlap");
        }
        Holder.CLUSTERING.cluster(pool, tokens, offset, gridHeight, gridWidth, dim, p, centres, centresOffset,
                hardLabels, labelsOffset);
    }

    /**
     * Expedit's token reconstruction layer for one image: {@code out[tokens, channels]} from the cluster values
     * {@code values[clusters, channels]}, weighted by the distances between {@code before[tokens, dim]} (the
     * features entering clustering) and {@code after[clusters, dim]} (the final centres).
     *
     * @param topK        weights kept per token (ties at the threshold are all kept), at most {@code clusters};
     *                    negative keeps all
     * @param temperature {@code τ} in {@code exp(-τ·d²)}, positive
     */
    public static void reconstructTokens(ComputePool pool, float[] values, int valuesOffset, int clusters,
                                         int channels, float[] before, int beforeOffset, int tokens, float[] after,
                                         int afterOffset, int dim, int topK, float temperature, float[] out,
                                         int outOffset) {
        Objects.requireNonNull(pool, "pool");
        if (clusters < 1 || channels < 1 || tokens < 1 || dim < 1) {
            throw new IllegalArgumentException("reconstructTokens: sizes must be positive: clusters=" + clusters
                    + " channels=" + channels + " tokens=" + tokens + " dim=" + dim);
        }
        if (topK == 0 || topK > clusters) {
            throw new IllegalArgumentException("reconstructTokens: k must be in [1, " + clusters
                    + "] (or negative for all), got " + topK);
        }
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("reconstructTokens: the temperature must be positive and finite, got "
                    + temperature);
        }
        checkRange("values", values, valuesOffset, (long) clusters * channels);
        checkRange("before", before, beforeOffset, (long) tokens * dim);
        checkRange("after", after, afterOffset, (long) clusters * dim);
        checkRange("out", out, outOffset, (long) tokens * channels);
        if (out == values && overlaps(outOffset, (long) tokens * channels, valuesOffset, (long) clusters * channels)) {
            throw new IllegalArgumentException("reconstructTokens: values and out overlap");
        }
        Holder.RECONSTRUCTION.reconstruct(pool, values, valuesOffset, clusters, channels, before, beforeOffset,
                tokens, after, afterOffset, dim, topK, temperature, out, outOffset);
    }

    // ---------------------------------------------------------------- channels-last feature maps

    /**
     * Window rows {@code [fromRow, toRow)} of a convolution over the NHWC input {@code src} ({@link Conv2d#windows}),
     * written from {@code dstOffset}, split over {@code pool}.
     */
    public static void im2col(ComputePool pool, float[] src, Conv2d conv, long fromRow, long toRow, float[] dst,
                              int dstOffset) {
        Objects.requireNonNull(pool, "pool");
        if (fromRow < 0 || toRow < fromRow || toRow > conv.rows()) {
            throw new IllegalArgumentException("im2col: rows [" + fromRow + ", " + toRow + ") outside [0, "
                    + conv.rows() + ")");
        }
        checkRange("src", src, 0, conv.inputSize());
        checkRange("dst", dst, dstOffset, (toRow - fromRow) * conv.rowLength());
        if (src == dst) {
            throw new IllegalArgumentException("im2col: input and windows are the same array");
        }
        FeatureMapKernels.im2col(pool, src, conv, fromRow, toRow, dst, dstOffset);
    }

    /** {@code dst[i] = max(src[i], 0)} over {@code count} values; {@code dst} may be {@code src} at the same offset. */
    public static void relu(ComputePool pool, float[] src, int srcOffset, float[] dst, int dstOffset, int count) {
        Objects.requireNonNull(pool, "pool");
        checkCount("relu", count);
        checkRange("src", src, srcOffset, count);
        checkRange("dst", dst, dstOffset, count);
        if (src == dst && srcOffset != dstOffset && overlaps(srcOffset, count, dstOffset, count)) {
            throw new IllegalArgumentException("relu: src and dst overlap at different offsets (" + srcOffset + ", "
                    + dstOffset + ")");
        }
        FeatureMapKernels.relu(pool, src, srcOffset, dst, dstOffset, count);
    }

    /**
     * Copies {@code rows} rows of {@code cols} floats: row {@code r} from {@code src[srcOffset + r * srcStride]} to
     * {@code dst[dstOffset + r * dstStride]}. {@code srcStride == 0} repeats one source row (a broadcast). Source and
     * destination ranges must not overlap in one array.
     */
    public static void copy2d(ComputePool pool, float[] src, int srcOffset, int srcStride, float[] dst,
                              int dstOffset, int dstStride, int rows, int cols) {
        Objects.requireNonNull(pool, "pool");
        checkCount("copy2d rows", rows);
        checkCount("copy2d cols", cols);
        if (srcStride < 0 || (srcStride != 0 && srcStride < cols && rows > 1)) {
            throw new IllegalArgumentException("copy2d: source stride " + srcStride + " must be 0 (one row repeated)"
                    + " or at least the row length " + cols);
        }
        if (dstStride < cols && rows > 1) {
            throw new IllegalArgumentException("copy2d: destination stride " + dstStride
                    + " must be at least the row length " + cols);
        }
        if (rows == 0 || cols == 0) {
            return;
        }
        long srcExtent = (long) (rows - 1) * srcStride + cols;
        long dstExtent = (long) (rows - 1) * dstStride + cols;
        checkRange("src", src, srcOffset, srcExtent);
        checkRange("dst", dst, dstOffset, dstExtent);
        if (src == dst && overlaps(srcOffset, srcExtent, dstOffset, dstExtent)) {
            throw new IllegalArgumentException("copy2d: source and destination overlap");
        }
        FeatureMapKernels.copy2d(pool, src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, cols);
    }

    /**
     * Bilinear resizing of NHWC maps {@code [batch, height, width, channels]} to {@code [batch, outHeight, outWidth,
     * channels]}, as PyTorch's {@code F.interpolate(mode="bilinear", align_corners=alignCorners)} without antialias:
     * with {@code alignCorners} the source coordinate is {@code i * (in - 1) / (out - 1)} (0 when out is 1); without,
     * {@code (i + 0.5) * in / out - 0.5}, clamped below at 0. Split over the output rows.
     */
    public static void resizeBilinear(ComputePool pool, float[] src, float[] dst, int batch, int height, int width,
                                      int channels, int outHeight, int outWidth, boolean alignCorners) {
        Objects.requireNonNull(pool, "pool");
        if (batch < 1 || height < 1 || width < 1 || channels < 1 || outHeight < 1 || outWidth < 1) {
            throw new IllegalArgumentException("resizeBilinear: sizes must be positive: batch=" + batch + " height="
                    + height + " width=" + width + " channels=" + channels + " outHeight=" + outHeight + " outWidth="
                    + outWidth);
        }
        checkRange("src", src, 0, (long) batch * height * width * channels);
        checkRange("dst", dst, 0, (long) batch * outHeight * outWidth * channels);
        if (src == dst) {
            throw new IllegalArgumentException("resizeBilinear: src and dst are the same array");
        }
        FeatureMapKernels.resizeBilinear(pool, src, dst, batch, height, width, channels, outHeight, outWidth,
                alignCorners);
    }

    /**
     * GroupNorm over NHWC {@code [batch, pixels, channels]} as PyTorch's {@code GroupNorm(groups, channels, eps)}: the
     * mean and the biased variance of each image's group of {@code channels / groups} channels over all its pixels
     * (two passes, in double), then {@code gamma} and {@code beta} per channel, then ReLU if {@code relu}.
     * {@code dst} may be {@code src}.
     */
    public static void groupNorm(ComputePool pool, float[] src, float[] dst, int batch, int pixels, int channels,
                                 int groups, float[] gamma, float[] beta, float eps, boolean relu) {
        Objects.requireNonNull(pool, "pool");
        if (batch < 1 || pixels < 1 || channels < 1 || groups < 1) {
            throw new IllegalArgumentException("groupNorm: sizes must be positive: batch=" + batch + " pixels="
                    + pixels + " channels=" + channels + " groups=" + groups);
        }
        if (channels % groups != 0) {
            throw new IllegalArgumentException("groupNorm: " + channels + " channels do not split into " + groups
                    + " groups");
        }
        if (!(eps > 0f) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException("groupNorm: eps must be positive and finite, got " + eps);
        }
        long n = (long) batch * pixels * channels;
        checkRange("src", src, 0, n);
        checkRange("dst", dst, 0, n);
        checkRange("gamma", gamma, 0, channels);
        checkRange("beta", beta, 0, channels);
        FeatureMapKernels.groupNorm(pool, src, dst, batch, pixels, channels, groups, gamma, beta, eps, relu);
    }

    /**
     * Max pooling over NHWC with {@code shape}'s kernel, stride and (possibly asymmetric) padding; padded cells never
     * win (they are -infinity, as timm's {@code MaxPool2dSame} pads and as PyTorch's {@code MaxPool2d} ignores them).
     * {@code shape.outChannels()} must equal {@code shape.inChannels()}.
     */
    public static void maxPool2d(ComputePool pool, float[] src, float[] dst, Conv2d shape) {
        Objects.requireNonNull(pool, "pool");
        if (shape.outChannels() != shape.inChannels()) {
            throw new IllegalArgumentException("maxPool2d keeps the channels: in " + shape.inChannels() + ", out "
                    + shape.outChannels());
        }
        checkRange("src", src, 0, shape.inputSize());
        checkRange("dst", dst, 0, shape.outputSize());
        if (src == dst) {
            throw new IllegalArgumentException("maxPool2d: src and dst are the same array");
        }
        FeatureMapKernels.maxPool2d(pool, src, dst, shape);
    }

    private static void checkCount(String what, long count) {
        if (count < 0) {
            throw new IllegalArgumentException(what + " must not be negative, got " + count);
        }
    }

    /** {@code sum_i a[i] * b[i]}. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
        checkRange("a", a, aOffset, length);
        checkRange("b", b, bOffset, length);
        return kernels().support().dot(a, aOffset, b, bOffset, length);
    }

    /** {@code y[i] += alpha * x[i]}. */
    public static void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int length) {
        checkRange("x", x, xOffset, length);
        checkRange("y", y, yOffset, length);
        kernels().support().axpy(alpha, x, xOffset, y, yOffset, length);
    }

    static void checkRange(String name, float[] array, long offset, long length) {
        Objects.requireNonNull(array, name);
        if (offset < 0 || length < 0 || offset + length > array.length) {
            throw new IndexOutOfBoundsException(name + ": " + length + " values from offset " + offset
                    + " do not fit in an array of " + array.length);
        }
    }

    private static boolean overlaps(long aStart, long aLength, long bStart, long bLength) {
        return aStart < bStart + bLength && bStart < aStart + aLength;
    }
}
