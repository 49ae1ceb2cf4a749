package dev.hourglass.reduce.slim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TransformerBlock;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * A training-free variant of Patch Slimming's top-down mask search (ALGORITHMS.md §2.4): the published search
 * fine-tunes each block while it prunes and the whole network afterwards; this one only chooses tokens, so the user's
 * weights run unchanged. Top-down from the last block, which keeps the prefix tokens only (classification reads
 * nothing else), each block {@code t} keeps what block {@code t + 1} keeps plus the {@code r} best other tokens by the
 * significance score ({@link #significance}), {@code r = 0, R0, 2 R0, ...}, the smallest {@code r} whose error is
 * within the tolerance.
 *
 * <p><b>The error</b> of a candidate set at block {@code t}: the output of block {@code t + 1} on the tokens it keeps,
 * with blocks before {@code t} unpruned, block {@code t} keeping the candidate set and block {@code t + 1} its mask,
 * against the same rows of the unpruned model, relative: {@code ||Z' - Z||_F / ||Z||_F} over every calibration image,
 * kept token and channel (residual stream, before any LayerNorm). Keeping every token gives 0, so the search always
 * ends. Each block's error is measured with the blocks before it unpruned, so errors add up along the depth: the
 * tolerance bounds each step, not the final logits.
 *
 * <p>Deterministic: the same model, images and settings give the same masks (the kernels' results do not depend on
 * threads or the JIT; ties in the score go to the lower id). Not thread-safe: one search per instance.
 */
public final class SlimSearch {

    /**
     * @param tolerance the largest relative error of block {@code t + 1}'s output a block's pruning may cause
     * @param step      R0: tokens added per try
     */
    public record Settings(double tolerance, int step) {
        /** Defaults chosen on the demo classifier (docs/PERFORMANCE.md): its held-out accuracy is kept. */
        public static final Settings DEFAULT = new Settings(0.02, 4);

        public Settings {
            if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
                throw new IllegalArgumentException("slim-search: tolerance must be a finite number >= 0, got "
                        + tolerance);
            }
            if (step < 1) {
                throw new IllegalArgumentException("slim-search: step must be at least 1, got " + step);
            }
        }
    }

    /** What a search reports while it runs. */
    public interface Progress {
        /** Calibration images of the current pass done, of {@code total}. */
        default void images(String what, int done, int total) {
        }

        /** Block {@code block} is decided: it keeps {@code kept} tokens, with this error. */
        default void block(int block, int kept, double error) {
        }
    }

    /**
     * @param masks          the masks found
     * @param errors         per block, the error its pruning caused (0 for the last block, whose dropped tokens
     *                       are never read)
     * @param gflops         the pruned model's encoder GFLOPs per image
     * @param unprunedGflops the unpruned model's
     */
    public record Result(TokenMasks masks, double[] errors, double gflops, double unprunedGflops) {
    }

    private final VisionTransformer model;
    private final List<Tensor> batches;
    private final int depth;
    private final int tokens;
    private final int prefix;
    private final int dim;
    private final int heads;
    private final int images;
    private final Progress progress;

    private SlimSearch(VisionTransformer model, List<Tensor> batches, Progress progress) {
        this.model = model;
        this.batches = List.copyOf(batches);
        VitConfig c = model.config();
        if (!c.classToken()) {
            throw new IllegalArgumentException("slim-search prunes towards the class token, which this model lacks");
        }
        this.depth = c.depth();
        this.prefix = c.prefixTokens();
        this.dim = c.embedDim();
        this.heads = c.numHeads();
        if (this.batches.isEmpty()) {
            throw new IllegalArgumentException("slim-search needs at least one calibration image");
        }
        long h = this.batches.get(0).shape().dim(2);
        long w = this.batches.get(0).shape().dim(3);
        int n = 0;
        for (Tensor b : this.batches) {
            if (b.shape().rank() != 4 || b.shape().dim(2) != h || b.shape().dim(3) != w) {
                throw new IllegalArgumentException("calibration batches must all be [batch, 3, " + h + ", " + w
                        + "], got " + b.shape());
            }
            n += b.shape().intDim(0);
        }
        this.images = n;
        this.tokens = prefix + (int) (h / c.patchSize()) * (int) (w / c.patchSize());
        this.progress = progress == null ? new Progress() { } : progress;
    }

    /**
     * Searches masks for {@code model} on normalised calibration images (batches of one input size).
     *
     * @param progress may be null
     */
    public static Result search(VisionTransformer model, List<Tensor> batches, Settings settings, Progress progress) {
        Objects.requireNonNull(settings, "settings");
        return new SlimSearch(model, batches, progress).run(settings);
    }

    /**
     * Patch Slimming's significance of every token at block {@code t} (ALGORITHMS.md §2.3; {@code
     * tools/hourglass_ref/slim.py}), averaged over the images: blocks up to {@code t} unpruned, blocks after it
     * pruned by {@code keep[t + 1 ..]}. For one image, with {@code P(h, l)} the post-softmax attention of head
     * {@code h} in block {@code l} (kept queries x the keys it received), {@code Z} block {@code t}'s input and
     * {@code H} the heads:
     * <pre>
     *   u_i = 1/H sum_h || (P(h, t) |Z|)[i, :] ||^2
     *   G   = diag(w) over the tokens the last block keeps, w = 1 on the class token (1/2 on the class and 1/2 on the
     *         distillation token of a distilled DeiT, as its two heads are averaged), then for l = L-1 down to t+1:
     *         G = 1/H sum_h P(h, l)^T G P(h, l)
     *   s_i = G_ii u_i
     * </pre>
     * the sum over every path of heads, averaged per block. Computed in double on the host from each block's q and k.
     *
     * @return {@code [tokens]}, by original id
     */
    public static double[] significance(VisionTransformer model, List<Tensor> batches, int t, int[][] keep) {
        return new SlimSearch(model, batches, null).significance(t, keep);
    }

    private Result run(Settings settings) {
        int[][] keep = new int[depth][];
        double[] errors = new double[depth];
        keep[depth - 1] = range(0, prefix);
        progress.block(depth - 1, prefix, 0);
        for (int t = depth - 2; t >= 0; t--) {
            double[] score = significance(t, keep);
            int[] next = keep[t + 1];
            List<Integer> candidates = new ArrayList<>();
            for (int id = prefix; id < tokens; id++) {
                if (Arrays.binarySearch(next, id) < 0) {
                    candidates.add(id);
                }
            }
            candidates.sort((a, b) -> {
                int c = Double.compare(score[b], score[a]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            float[][] reference = outputs(t, null, keep);
            for (int r = 0; ; r = Math.min(candidates.size(), r + settings.step())) {
                int[] set = union(next, candidates.subList(0, r));
                double e = error(reference, outputs(t, set, keep));
                if (e <= settings.tolerance() || r == candidates.size()) {
                    keep[t] = set;
                    errors[t] = e;
                    break;
                }
            }
            progress.block(t, keep[t].length, errors[t]);
        }
        TokenMasks masks = new TokenMasks(tokens, prefix, keep, Map.of());
        return new Result(masks, errors, SlimMasks.gflops(model.config(), masks),
                SlimMasks.gflops(model.config(), TokenMasks.full(tokens, prefix, depth)));
    }

    /** Masks for a forward that prunes nothing up to block {@code t}, {@code set} at {@code t} (all if null). */
    private TokenMasks masksFor(int t, int[] set, int[][] keep) {
        int[][] m = new int[depth][];
        int[] all = range(0, tokens);
        for (int l = 0; l < depth; l++) {
            m[l] = l < t ? all : l == t ? (set == null ? all : set) : keep[l];
        }
        return new TokenMasks(tokens, prefix, m, Map.of());
    }

    /**
     * Block {@code t + 1}'s output on the tokens it keeps, every calibration image, with block {@code t} keeping
     * {@code set} (every token if null) and nothing pruned before it: per batch, {@code [batch, kept, dim]}.
     */
    private float[][] outputs(int t, int[] set, int[][] keep) {
        TokenMasks masks = masksFor(t, set, keep);
        int[] kept = keep[t + 1];
        float[][] out = new float[batches.size()][];
        int done = 0;
        for (int i = 0; i < batches.size(); i++) {
            Tensor batch = batches.get(i);
            int n = batch.shape().intDim(0);
            try (VisionTransformer.Pass pass = model.start(batch)) {
                TokenReducer reducer = set == null ? TokenReducer.NONE : new SlimMasks.Reducer(masks);
                TokenState s = pass.blocks(pass.embed(), 0, t + 2, reducer);
                float[] all = new float[Math.toIntExact((long) n * s.count() * dim)];
                model.backend().download(s.data(), 0, all, 0, all.length);
                if (s.count() == kept.length) {
                    out[i] = all;
                } else {
                    // Unpruned: every token left block t + 1; keep the rows of the ids block t + 1 keeps.
                    out[i] = new float[n * kept.length * dim];
                    for (int b = 0; b < n; b++) {
                        for (int j = 0; j < kept.length; j++) {
                            System.arraycopy(all, (b * s.count() + kept[j]) * dim, out[i], (b * kept.length + j) * dim,
                                    dim);
                        }
                    }
                }
            }
            done += n;
            progress.images("block " + t + (set == null ? " reference" : " with " + set.length + " tokens"), done,
                    images);
        }
        return out;
    }

    private static double error(float[][] reference, float[][] candidate) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < reference.length; i++) {
            for (int j = 0; j < reference[i].length; j++) {
                double z = reference[i][j];
                double d = candidate[i][j] - z;
                diff += d * d;
                norm += z * z;
            }
        }
        return norm == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(diff / norm);
    }

    private double[] significance(int t, int[][] keep) {
        if (t < 0 || t >= depth) {
            throw new IllegalArgumentException("block " + t + " is not in [0, " + depth + ")");
        }
        TokenMasks masks = masksFor(t, null, keep);
        double[] sum = new double[tokens];
        int done = 0;
        for (Tensor batch : batches) {
            int n = batch.shape().intDim(0);
            Probe probe = new Probe(t, masks, n);
            try (VisionTransformer.Pass pass = model.start(batch)) {
                pass.blocks(pass.embed(), 0, depth, probe);
            }
            for (int b = 0; b < n; b++) {
                double[] u = energy(probe.maps[t][b], probe.input, b);
                double[] g = rollout(probe, b, t, masks);
                for (int i = 0; i < tokens; i++) {
                    sum[i] += g[i] * u[i];
                }
            }
            done += n;
            progress.images("block " + t + " scores", done, images);
        }
        for (int i = 0; i < tokens; i++) {
            sum[i] /= images;
        }
        return sum;
    }

    /** {@code u_i = 1/H sum_h ||(P(h, t) |Z|)[i, :]||^2} for one image (block t unpruned: N x N maps). */
    private double[] energy(float[][] maps, float[] input, int b) {
        double[] u = new double[tokens];
        double[] row = new double[dim];
        for (int h = 0; h < heads; h++) {
            float[] p = maps[h];
            for (int i = 0; i < tokens; i++) {
                Arrays.fill(row, 0);
                for (int j = 0; j < tokens; j++) {
                    double w = p[i * tokens + j];
                    int z = (b * tokens + j) * dim;
                    for (int d = 0; d < dim; d++) {
                        row[d] += w * Math.abs(input[z + d]);
                    }
                }
                double e = 0;
                for (double v : row) {
                    e += v * v;
                }
                u[i] += e / heads;
            }
        }
        return u;
    }

    /** The diagonal of G for one image, by original id (block t keeps every token, so its keys are all ids). */
    private double[] rollout(Probe probe, int b, int t, TokenMasks masks) {
        int n = masks.kept(depth - 1).length;
        double[] g = new double[n * n];
        boolean distilled = prefix == 2;
        g[0] = distilled ? 0.5 : 1;
        if (distilled) {
            g[n + 1] = 0.5;
        }
        for (int l = depth - 1; l > t; l--) {
            int nq = probe.queries[l];
            int nk = probe.keys[l];
            double[] next = new double[nk * nk];
            double[] gp = new double[nq * nk];
            for (int h = 0; h < heads; h++) {
                float[] p = probe.maps[l][b][h];
                // gp = G P (nq x nk), then next += P^T gp / H.
                Arrays.fill(gp, 0);
                for (int i = 0; i < nq; i++) {
                    for (int k = 0; k < nq; k++) {
                        double gik = g[i * nq + k];
                        if (gik == 0) {
                            continue;
                        }
                        for (int j = 0; j < nk; j++) {
                            gp[i * nk + j] += gik * p[k * nk + j];
                        }
                    }
                }
                for (int i = 0; i < nq; i++) {
                    for (int a = 0; a < nk; a++) {
                        double pia = p[i * nk + a] / heads;
                        if (pia == 0) {
                            continue;
                        }
                        for (int j = 0; j < nk; j++) {
                            next[a * nk + j] += pia * gp[i * nk + j];
                        }
                    }
                }
            }
            g = next;
            n = nk;
        }
        double[] diag = new double[tokens];
        for (int i = 0; i < tokens; i++) {
            diag[i] = g[i * n + i];
        }
        return diag;
    }

    /**
     * A pruning reducer that also records block {@code t}'s input and, from block {@code t} on, every head's
     * attention map (kept queries x keys), computed from the block's q and k on the host.
     */
    private final class Probe implements TokenReducer {
        private final int t;
        private final int batch;
        private final SlimMasks.Reducer pruning;
        private final float[][][][] maps = new float[depth][][][];
        private final int[] queries = new int[depth];
        private final int[] keys = new int[depth];
        private int[] queryRows;
        private float[] input;

        Probe(int t, TokenMasks masks, int batch) {
            this.t = t;
            this.batch = batch;
            this.pruning = new SlimMasks.Reducer(masks);
        }

        @Override
        public AttentionOptions attention(int block, TokenState state) {
            if (block == t) {
                input = new float[Math.toIntExact((long) batch * state.count() * dim)];
                model.backend().download(state.data(), 0, input, 0, input.length);
            }
            AttentionOptions options = pruning.attention(block, state);
            queryRows = options.queryRows();
            keys[block] = state.count();
            queries[block] = options.queries(state.count());
            return options;
        }

        @Override
        public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
            if (block >= t) {
                maps[block] = attentionMaps(model.backend(), scratch, keys[block], queryRows);
            }
            return state;
        }

        /** {@code [batch][head][queries x keys]}: softmax((q k^T) / sqrt(hd)) in double, stored as float. */
        private float[][][] attentionMaps(Backend backend, TransformerBlock.Scratch scratch, int in, int[] rows) {
            int hd = dim / heads;
            float[] qkv = new float[Math.toIntExact((long) batch * in * 3 * dim)];
            backend.download(scratch.qkv(), 0, qkv, 0, qkv.length);
            int nq = rows == null ? in : rows.length;
            double scale = 1 / Math.sqrt(hd);
            float[][][] out = new float[batch][heads][nq * in];
            double[] s = new double[in];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < nq; i++) {
                        int q = (b * in + (rows == null ? i : rows[i])) * 3 * dim + h * hd;
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < in; j++) {
                            int k = (b * in + j) * 3 * dim + dim + h * hd;
                            double dot = 0;
                            for (int e = 0; e < hd; e++) {
                                dot += (double) qkv[q + e] * qkv[k + e];
                            }
                            s[j] = dot * scale;
                            max = Math.max(max, s[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j < in; j++) {
                            s[j] = Math.exp(s[j] - max);
                            sum += s[j];
                        }
                        for (int j = 0; j < in; j++) {
                            out[b][h][i * in + j] = (float) (s[j] / sum);
                        }
                    }
                }
            }
            return out;
        }
    }

    private static int[] range(int from, int to) {
        int[] r = new int[to - from];
        Arrays.setAll(r, i -> from + i);
        return r;
    }

    private static int[] union(int[] sorted, List<Integer> more) {
        int[] out = Arrays.copyOf(sorted, sorted.length + more.size());
        for (int i = 0; i < more.size(); i++) {
            out[sorted.length + i] = more.get(i);
        }
        Arrays.sort(out);
        return out;
    }
}
