package dev.hourglass.kernels;

import java.util.Arrays;

import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * The loops around the kernels: packing, cache blocking, threading and the attention tiles, for one
 * {@link KernelSupport}. {@link Kernels} holds the instance for the implementation chosen at start-up; tests build one
 * per implementation to compare them. Arguments are already validated by {@link Kernels}.
 */
final class CpuKernels {
    /** The longest K that is one cache block: every output is then one multiply-add chain from the bias. */
    static final int ONE_BLOCK_K = 1024;
    /**
     * Most columns of K per cache block when K is longer than {@link #ONE_BLOCK_K}: it is cut into equal blocks of at
     * most this (a 768 x 48 block of a B panel is 147 KB: L2). The blocks depend on K alone, never on the machine or
     * the thread count, so neither changes a result.
     */
    static final int KC = 768;
    /**
     * Bytes of A one task keeps in L2 while the panels of B stream past it: a group of rows x one K block. At batch 1
     * (ViT-B: 197 rows, 590 KB) every row is one group, so each panel of B, read from memory, is read once per call
     * instead of once per group of rows (with K blocks: 12-21% faster than 96-row groups and K blocks of 256 on Zen 5,
     * docs/PERFORMANCE.md).
     */
    static final int A_BLOCK_BYTES = 768 * 1024;
    /** Tasks per thread a GEMM is cut into at least (when it has enough rows): enough to share out unevenly. */
    static final int TASKS_PER_THREAD = 4;
    /** The most floats one packed weight can hold: the largest Java array HotSpot allocates. */
    static final int MAX_PACKED_FLOATS = Integer.MAX_VALUE - 8;

    private final KernelSupport support;
    private final int mr;
    private final int nr;

    CpuKernels(KernelSupport support) {
        this.support = support;
        this.mr = support.rowBlock();
        this.nr = support.panelWidth();
    }

    KernelSupport support() {
        return support;
    }

    // ---------------------------------------------------------------- GEMM

    PackedMatrix pack(Tensor weight) {
        int n = weight.shape().intDim(0);
        int k = weight.shape().intDim(1);
        int panels = (n + nr - 1) / nr;
        long floats = (long) panels * k * nr;
        if (floats > MAX_PACKED_FLOATS) {
            throw new IllegalArgumentException("a linear weight of " + n + " x " + k + " is too large to pack: "
                    + floats + " floats with padding, one Java array holds at most " + MAX_PACKED_FLOATS);
        }
        int panelFloats = k * nr;
        float[] data = new float[(int) floats];
        float[] rows = new float[panelFloats];
        for (int p = 0; p < panels; p++) {
            int n0 = p * nr;
            int width = Math.min(nr, n - n0);
            weight.copyToFloats((long) n0 * k, rows, 0, width * k);
            if (width < nr) {
                Arrays.fill(rows, width * k, panelFloats, 0f);
            }
            int base = p * panelFloats;
            for (int kk = 0; kk < k; kk++) {
                for (int j = 0; j < nr; j++) {
                    data[base + kk * nr + j] = rows[j * k + kk];
                }
            }
        }
        return new PackedMatrix(n, k, nr, data);
    }

    /**
     * Floats of scratch space {@link #linear} needs: per thread, a copy of the last rows of A padded to a whole row
     * block, and one register tile for the edges of C.
     */
    long linearWorkspace(int inFeatures, int threads) {
        return (long) threads * (mr * (long) inFeatures + (long) mr * nr + nr);
    }

    /**
     * {@code C[m, N] = epilogue(A[m, K] x W^T + bias)}; A and C are row-major with strides K and N.
     * {@code workspace} holds at least {@link #linearWorkspace} floats.
     *
     * <p>Tasks are (group of row blocks) x (panel of columns). Whole register tiles accumulate in C itself, one K block
     * after another; the first K block starts from the bias and either overwrites C or adds to it (the residual). A
     * tile that sticks out of C (the last rows when m is not a multiple of the row block, the last columns when N is
     * not one of the panel width) is computed whole in the worker's scratch tile, its missing rows of A read as zeros,
     * and only its part inside C is written: the kernels only ever see whole tiles. The scratch tile starts from C's
     * values and the bias (zero-padded) exactly as a whole tile in C does, so every output element is the same sum in
     * the same order wherever the tile and panel boundaries fall: the result does not depend on the tile shape.
     */
    void linear(ComputePool pool, float[] a, int aOffset, int m, PackedMatrix w, float[] bias,
                float[] c, int cOffset, Epilogue epilogue, float[] workspace) {
        int n = w.outFeatures();
        int k = w.inFeatures();
        int mBlocks = (m + mr - 1) / mr;
        int fullBlocks = m / mr;
        int perWorker = mr * k + mr * nr + nr;
        boolean residual = epilogue == Epilogue.RESIDUAL;
        int panels = w.panelCount();
        int kc = kBlock(k);
        int blocksPerGroup = blocksPerGroup(mBlocks, kc, panels, pool.threads());
        int groups = (mBlocks + blocksPerGroup - 1) / blocksPerGroup;
        float[] b = w.panels();
        int panelFloats = k * nr;
        pool.parallelFor(groups * panels, (task, worker) -> {
            int group = task / panels;
            int panel = task % panels;
            int firstBlock = group * blocksPerGroup;
            int lastBlock = Math.min(mBlocks, firstBlock + blocksPerGroup);
            int n0 = panel * nr;
            int cols = Math.min(nr, n - n0);
            int lastWhole = cols == nr ? Math.min(lastBlock, fullBlocks) : firstBlock;
            for (int k0 = 0; k0 < k; k0 += kc) {
                int kLen = Math.min(kc, k - k0);
                int bOffset = panel * panelFloats + k0 * nr;
                boolean first = k0 == 0;
                for (int blk = firstBlock; blk < lastWhole; blk++) {
                    support.gemmTile(a, aOffset + blk * mr * k + k0, k, b, bOffset, kLen,
                            c, cOffset + blk * mr * n + n0, n, first ? bias : null, n0, residual || !first);
                }
            }
            int rowsCopy = worker * perWorker;
            int tile = rowsCopy + mr * k;
            int paddedBias = tile + mr * nr;
            if (bias != null && Math.max(firstBlock, lastWhole) < lastBlock) {
                System.arraycopy(bias, n0, workspace, paddedBias, cols);
                Arrays.fill(workspace, paddedBias + cols, paddedBias + nr, 0f);
            }
            for (int blk = Math.max(firstBlock, lastWhole); blk < lastBlock; blk++) {
                int rows = Math.min(mr, m - blk * mr);
                float[] src = a;
                int srcOffset = aOffset + blk * mr * k;
                if (rows < mr) {
                    // Past the end of A: copy the rows that exist and pad with zeros, so the tile reads only A.
                    System.arraycopy(a, srcOffset, workspace, rowsCopy, rows * k);
                    Arrays.fill(workspace, rowsCopy + rows * k, rowsCopy + mr * k, 0f);
                    src = workspace;
                    srcOffset = rowsCopy;
                }
                // The tile starts as a whole tile in C would: C's values (for the residual), zeros outside C.
                Arrays.fill(workspace, tile, tile + mr * nr, 0f);
                if (residual) {
                    for (int i = 0; i < rows; i++) {
                        System.arraycopy(c, cOffset + (blk * mr + i) * n + n0, workspace, tile + i * nr, cols);
                    }
                }
                for (int k0 = 0; k0 < k; k0 += kc) {
                    boolean first = k0 == 0;
                    support.gemmTile(src, srcOffset + k0, k, b, panel * panelFloats + k0 * nr,
                            Math.min(kc, k - k0), workspace, tile, nr, first && bias != null ? workspace : null,
                            paddedBias, residual || !first);
                }
                for (int i = 0; i < rows; i++) {
                    System.arraycopy(workspace, tile + i * nr, c, cOffset + (blk * mr + i) * n + n0, cols);
                }
            }
            if (epilogue == Epilogue.GELU) {
                for (int r = firstBlock * mr; r < Math.min(m, lastBlock * mr); r++) {
                    support.gelu(c, cOffset + r * n + n0, cols);
                }
            } else if (epilogue == Epilogue.RELU) {
                for (int r = firstBlock * mr; r < Math.min(m, lastBlock * mr); r++) {
                    int o = cOffset + r * n + n0;
                    for (int j = o; j < o + cols; j++) {
                        c[j] = c[j] > 0f ? c[j] : 0f;
                    }
                }
            }
        });
    }

    /** Columns of K per cache block: K itself up to {@link #ONE_BLOCK_K}, else equal blocks of at most {@link #KC}. */
    static int kBlock(int k) {
        if (k <= ONE_BLOCK_K) {
            return k;
        }
        int blocks = (k + KC - 1) / KC;
        return (k + blocks - 1) / blocks;
    }

    /**
     * Row blocks per task of a GEMM, in groups of equal size: as few groups as keep a group's rows of A ({@code kc}
     * columns) within {@link #A_BLOCK_BYTES}, more when (group x panel) tasks would be fewer than
     * {@link #TASKS_PER_THREAD} per thread.
     */
    int blocksPerGroup(int mBlocks, int kc, int panels, int threads) {
        int maxBlocks = Math.max(1, A_BLOCK_BYTES / (kc * Float.BYTES * mr));
        int groups = (mBlocks + maxBlocks - 1) / maxBlocks;
        int forThreads = (TASKS_PER_THREAD * threads + panels - 1) / panels;
        groups = Math.max(1, Math.min(mBlocks, Math.max(groups, forThreads)));
        return (mBlocks + groups - 1) / groups;
    }

    // ---------------------------------------------------------------- row-wise operations

    void layerNorm(ComputePool pool, float[] x, int xOffset, float[] out, int outOffset, int rows, int dim,
                   float[] gamma, float[] beta, float eps) {
        int chunk = Math.max(1, 16384 / Math.max(1, dim));
        int tasks = (rows + chunk - 1) / chunk;
        pool.parallelFor(tasks, (t, worker) -> {
            int end = Math.min(rows, (t + 1) * chunk);
            for (int r = t * chunk; r < end; r++) {
                support.layerNorm(x, xOffset + r * dim, out, outOffset + r * dim, dim, gamma, beta, eps);
            }
        });
    }

    // ---------------------------------------------------------------- attention

    /**
     * Query rows per attention task, the columns of its blocks of scores: four 16-float vectors, one 4x4 product tile
     * across (AVX-512; four 4x2 tiles with 8-float vectors). 32 and 48 were 1.2-1.35x slower on Zen 5 (busy host).
     */
    static final int QUERY_BLOCK = 64;
    /**
     * Keys per block of scores: a block of 128 keys x 64 queries is 32 KB, and the K and V rows it reads 32 KB each
     * (head size 64). 64, 96, 192 and 256 were no faster on Zen 5 at 577 and 1601 tokens (within the host's noise).
     */
    static final int KEY_BLOCK = 128;
    /** The query columns of a block are rounded up to this many (the widest vector: 16 floats). */
    static final int COLUMN_ROUNDING = 16;

    /** Blocks of {@link #KEY_BLOCK} keys in a sequence. */
    private static int keyBlocks(int tokens) {
        return (tokens + KEY_BLOCK - 1) / KEY_BLOCK;
    }

    /** Floats of one worker's scratch space in {@link #attention}: q^T, a block of scores and the softmax's rows. */
    private static int perWorker(int headDim) {
        int qb = QUERY_BLOCK;
        return qb * headDim + KEY_BLOCK * qb + 4 * qb;
    }

    /**
     * Floats of scratch space {@link #attention} needs: K and V of every (image, head), one worker's blocks per
     * thread and the class token's scores of every (image, head).
     */
    static long attentionWorkspace(int batch, int tokens, int heads, int headDim, int threads) {
        long keys = (long) batch * heads * tokens * headDim;
        long classRows = (long) batch * heads * tokens;
        return 2 * keys + (long) threads * perWorker(headDim) + classRows;
    }

    /** {@link #attention(ComputePool, float[], int, int, int, int, int, float[], int, float[], AttentionExtras)} plain. */
    void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads, int headDim,
                   float[] out, int outOffset, float[] workspace) {
        attention(pool, qkv, qkvOffset, batch, tokens, heads, headDim, out, outOffset, workspace,
                AttentionExtras.NONE);
    }

    /**
     * Multi-head self-attention over a fused {@code qkv} buffer ({@code [batch*tokens, 3*D]}, timm's row layout
     * {@code s*D + h*hd + d} for s in q, k, v), writing the merged heads to {@code out}: per head,
     * {@code softmax(q k^T * hd^-1/2 [+ key bias]) v}.
     *
     * <p>Fused and tiled, with an online softmax: a task takes a block of query rows of one head and walks the keys in
     * blocks, computing for each the block's scores, their exponentials against the rows' running maxima (the sums
     * and outputs so far rescaled where a maximum grows) and their weighted values added into the output rows, which
     * are divided by the sums at the end. The scores are computed transposed, {@code K q^T} ([keys, queries], the
     * query rows across), so the softmax's maxima and sums are lane-wise, with no reduction across a vector; the
     * weighted sum reads them as a transposed A. Both products stream contiguous rows of K or V past a block that stays
     * in L1. The blocks have fixed sizes, so the result does not depend on the thread count.
     *
     * <p>{@code extras}: a per-key additive bias ({@code [batch, tokens]}, added after the scale, as ToMe adds
     * {@code log(size)}); a subset of query rows (the same token indices for every image; {@code out} then has
     * {@code batch * queries} rows, keys and values still come from all tokens); and the class token's attention row
     * averaged over heads, written to {@code extras.classAttention()} ({@code [batch, tokens]}, query row 0 of the
     * subset, which must be token 0): its scores are kept whole and normalised like any softmax row. The head average
     * is summed in head order after the parallel part, so it does not depend on the thread count.
     */
    void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads, int headDim,
                   float[] out, int outOffset, float[] workspace, AttentionExtras extras) {
        int d = heads * headDim;
        int stride = 3 * d;
        int[] queryRows = extras.queryRows();
        int queries = queryRows == null ? tokens : queryRows.length;
        int qb = QUERY_BLOCK;
        int kb = KEY_BLOCK;
        int blocks = keyBlocks(tokens);
        int tiles = (queries + qb - 1) / qb;
        int headKeys = tokens * headDim;
        int valuesBase = batch * heads * headKeys;
        int workerBase = 2 * valuesBase;
        int perWorker = perWorker(headDim);
        int classBase = workerBase + pool.threads() * perWorker;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] bias = extras.keyBias();
        int biasOffset = extras.keyBiasOffset();
        boolean wantClass = extras.classAttention() != null;

        // K and V of each (image, head) contiguous, [tokens, headDim]: read in place, rows of qkv are 3D floats apart
        // (9 KB for ViT-B), a stride that folds a block of them onto a few of L1's sets.
        pool.parallelFor(batch * heads, (bh, worker) -> {
            int b = bh / heads;
            int h = bh % heads;
            int src = qkvOffset + b * tokens * stride + d + h * headDim;
            for (int t = 0; t < tokens; t++) {
                int s = src + t * stride;
                System.arraycopy(qkv, s, workspace, bh * headKeys + t * headDim, headDim);
                System.arraycopy(qkv, s + d, workspace, valuesBase + bh * headKeys + t * headDim, headDim);
            }
        });

        pool.parallelFor(batch * heads * tiles, (task, worker) -> {
            int bh = task / tiles;
            int q0 = (task % tiles) * qb;
            int rows = Math.min(qb, queries - q0);
            int columns = (rows + COLUMN_ROUNDING - 1) / COLUMN_ROUNDING * COLUMN_ROUNDING;
            int b = bh / heads;
            int h = bh % heads;
            int queryT = workerBase + worker * perWorker;
            int scores = queryT + qb * headDim;
            int stats = scores + kb * qb;
            int factors = stats + 2 * columns;
            // q^T of the block's rows, [headDim, columns], zero past the last row.
            for (int r = 0; r < columns; r++) {
                if (r < rows) {
                    int t = queryRows == null ? q0 + r : queryRows[q0 + r];
                    int q = qkvOffset + (b * tokens + t) * stride + h * headDim;
                    for (int e = 0; e < headDim; e++) {
                        workspace[queryT + e * columns + r] = qkv[q + e];
                    }
                } else {
                    for (int e = 0; e < headDim; e++) {
                        workspace[queryT + e * columns + r] = 0f;
                    }
                }
            }
            int o = outOffset + (b * queries + q0) * d + h * headDim;
            boolean classRow = wantClass && q0 == 0;
            int classScores = classBase + bh * tokens;
            for (int block = 0; block < blocks; block++) {
                int k0 = block * kb;
                int keys = Math.min(kb, tokens - k0);
                support.matmul(keys, columns, headDim, workspace, bh * headKeys + k0 * headDim, headDim, workspace,
                        queryT, columns, workspace, scores, columns, false);
                if (classRow) {
                    for (int k = 0; k < keys; k++) {
                        workspace[classScores + k0 + k] = workspace[scores + k * columns];
                    }
                }
                support.softmaxBlock(workspace, scores, keys, columns, scale, bias, biasOffset + b * tokens + k0,
                        workspace, stats, block == 0);
                if (block > 0) {
                    for (int r = 0; r < rows; r++) {
                        float factor = workspace[factors + r];
                        if (factor != 1f) {
                            support.scale(out, o + r * d, headDim, factor);
                        }
                    }
                }
                support.matmulTransposedA(rows, headDim, keys, workspace, scores, columns, workspace,
                        valuesBase + bh * headKeys + k0 * headDim, headDim, out, o, d, block > 0);
            }
            for (int r = 0; r < rows; r++) {
                support.scale(out, o + r * d, headDim, 1f / workspace[stats + columns + r]);
            }
            if (classRow) {
                if (bias == null) {
                    support.softmax(workspace, classScores, tokens, scale);
                } else {
                    for (int j = 0; j < tokens; j++) {
                        workspace[classScores + j] = Math.fma(workspace[classScores + j], scale,
                                bias[biasOffset + b * tokens + j]);
                    }
                    support.softmax(workspace, classScores, tokens, 1f);
                }
            }
        });

        if (wantClass) {
            float[] cls = extras.classAttention();
            int clsOffset = extras.classAttentionOffset();
            float inv = 1f / heads;
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < tokens; j++) {
                    float sum = 0f;
                    for (int h = 0; h < heads; h++) {
                        sum += workspace[classBase + (b * heads + h) * tokens + j];
                    }
                    cls[clsOffset + b * tokens + j] = sum * inv;
                }
            }
        }
    }
}
