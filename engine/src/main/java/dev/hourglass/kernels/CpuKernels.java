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
    /** Budget for one attention score tile (query rows x keys), in floats: 64 KB keeps it in L2 with K and V. */
    static final int SCORE_TILE_FLOATS = 16 * 1024;

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

    /** Query rows per attention tile for a sequence of {@code tokens} keys: a multiple of 4, at least 4, at most 64. */
    static int queryTileRows(int tokens) {
        int rows = SCORE_TILE_FLOATS / Math.max(1, tokens);
        return Math.max(4, Math.min(64, rows / 4 * 4));
    }

    /**
     * Floats of scratch space {@link #attention} needs: K^T and V of every (image, head), one score tile and one
     * gathered query tile per thread, and the class token's attention row of every (image, head).
     */
    static long attentionWorkspace(int batch, int tokens, int heads, int headDim, int threads) {
        long keysT = (long) batch * heads * headDim * tokens;
        long tile = queryTileRows(tokens);
        long scores = (long) threads * tile * tokens;
        long queries = (long) threads * tile * headDim;
        long classRows = (long) batch * heads * tokens;
        return 2 * keysT + scores + queries + classRows;
    }

    /** {@link #attention(ComputePool, float[], int, int, int, int, int, float[], int, float[], AttentionExtras)} plain. */
    void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads, int headDim,
                   float[] out, int outOffset, float[] workspace) {
        attention(pool, qkv, qkvOffset, batch, tokens, heads, headDim, out, outOffset, workspace,
                AttentionExtras.NONE);
    }

    /**
     * Multi-head self-attention over a fused {@code qkv} buffer ({@code [batch*tokens, 3*D]}, timm's row layout
     * {@code s*D + h*hd + d} for s in q, k, v), writing the merged heads to {@code out}. Per head and per tile of query
     * rows: scores = q k^T, softmax(scores * hd^-1/2 [+ key bias]), out = p v. Only one tile of scores per thread
     * exists at a time, never the full tokens x tokens matrix of every head.
     *
     * <p>{@code extras}: a per-key additive bias ({@code [batch, tokens]}, added after the scale, as ToMe adds
     * {@code log(size)}); a subset of query rows (the same token indices for every image; {@code out} then has
     * {@code batch * queries} rows, keys and values still come from all tokens); and the class token's attention row
     * averaged over heads, written to {@code extras.classAttention()} ({@code [batch, tokens]}, query row 0 of the
     * subset, which must be token 0). The head average is summed in head order after the parallel part, so it does not
     * depend on the thread count.
     */
    void attention(ComputePool pool, float[] qkv, int qkvOffset, int batch, int tokens, int heads, int headDim,
                   float[] out, int outOffset, float[] workspace, AttentionExtras extras) {
        int d = heads * headDim;
        int stride = 3 * d;
        int[] queryRows = extras.queryRows();
        int queries = queryRows == null ? tokens : queryRows.length;
        int tile = queryTileRows(tokens);
        int tiles = (queries + tile - 1) / tile;
        int keysT = batch * heads * headDim * tokens;
        int valuesBase = keysT;
        int scoreBase = 2 * keysT;
        int queryBase = scoreBase + pool.threads() * tile * tokens;
        int classBase = queryBase + pool.threads() * tile * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] bias = extras.keyBias();
        int biasOffset = extras.keyBiasOffset();
        boolean wantClass = extras.classAttention() != null;

        // K^T per (image, head), so that a row of scores is a contiguous run of multiply-adds, and V per (image, head)
        // contiguous: read in place, V's rows are 3D floats apart, a stride that maps a block of them onto a few of
        // L1's sets (9 KB for ViT-B: a quarter of the sets), and the weighted sum would miss the cache on every row.
        pool.parallelFor(batch * heads, (bh, worker) -> {
            int b = bh / heads;
            int h = bh % heads;
            int dst = bh * headDim * tokens;
            int src = qkvOffset + b * tokens * stride + d + h * headDim;
            for (int t = 0; t < tokens; t++) {
                int s = src + t * stride;
                for (int e = 0; e < headDim; e++) {
                    workspace[dst + e * tokens + t] = qkv[s + e];
                }
                System.arraycopy(qkv, s + d, workspace, valuesBase + dst + t * headDim, headDim);
            }
        });

        pool.parallelFor(batch * heads * tiles, (task, worker) -> {
            int bh = task / tiles;
            int q0 = (task % tiles) * tile;
            int rows = Math.min(tile, queries - q0);
            int b = bh / heads;
            int h = bh % heads;
            int scores = scoreBase + worker * tile * tokens;
            float[] qSource = qkv;
            int qOff = qkvOffset + (b * tokens + q0) * stride + h * headDim;
            int qStride = stride;
            if (queryRows != null) {
                // The tile's queries are scattered over the sequence: gather them into the worker's query tile.
                int gathered = queryBase + worker * tile * headDim;
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(qkv, qkvOffset + (b * tokens + queryRows[q0 + r]) * stride + h * headDim,
                            workspace, gathered + r * headDim, headDim);
                }
                qSource = workspace;
                qOff = gathered;
                qStride = headDim;
            }
            support.matmul(rows, tokens, headDim, qSource, qOff, qStride, workspace, bh * headDim * tokens, tokens,
                    workspace, scores, tokens, false);
            for (int r = 0; r < rows; r++) {
                int row = scores + r * tokens;
                if (bias == null) {
                    support.softmax(workspace, row, tokens, scale);
                } else {
                    int bb = biasOffset + b * tokens;
                    for (int j = 0; j < tokens; j++) {
                        workspace[row + j] = Math.fma(workspace[row + j], scale, bias[bb + j]);
                    }
                    support.softmax(workspace, row, tokens, 1f);
                }
            }
            if (wantClass && q0 == 0) {
                System.arraycopy(workspace, scores, workspace, classBase + bh * tokens, tokens);
            }
            support.matmul(rows, headDim, tokens, workspace, scores, tokens, workspace,
                    valuesBase + bh * headDim * tokens, headDim, out, outOffset + (b * queries + q0) * d + h * headDim,
                    d, false);
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
