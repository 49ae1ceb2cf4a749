package dev.hourglass.vit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * One pre-LayerNorm transformer block in timm's layout ({@code norm1}, {@code attn.qkv}, {@code attn.proj},
 * {@code norm2}, {@code mlp.fc1}, GELU, {@code mlp.fc2}, two residuals): the ViT's encoder blocks and Segmenter's
 * decoder blocks alike. Immutable once loaded; {@link #run} keeps its activations in the caller's {@link Scratch}.
 */
public final class TransformerBlock {
    private final Buffer norm1Weight;
    private final Buffer norm1Bias;
    private final LinearWeights qkv;
    private final LinearWeights proj;
    private final Buffer norm2Weight;
    private final Buffer norm2Bias;
    private final LinearWeights fc1;
    private final LinearWeights fc2;
    private final int dim;
    private final int hidden;
    private final int heads;
    private final float eps;

    private TransformerBlock(Buffer norm1Weight, Buffer norm1Bias, LinearWeights qkv, LinearWeights proj,
                             Buffer norm2Weight, Buffer norm2Bias, LinearWeights fc1, LinearWeights fc2, int dim,
                             int hidden, int heads, float eps) {
        this.norm1Weight = norm1Weight;
        this.norm1Bias = norm1Bias;
        this.qkv = qkv;
        this.proj = proj;
        this.norm2Weight = norm2Weight;
        this.norm2Bias = norm2Bias;
        this.fc1 = fc1;
        this.fc2 = fc2;
        this.dim = dim;
        this.hidden = hidden;
        this.heads = heads;
        this.eps = eps;
    }

    /**
     * Loads the block whose tensors are named {@code prefix + "norm1.weight"} and so on, into {@code store}.
     *
     * @throws IOException if a tensor is missing or mis-shaped
     */
    public static TransformerBlock load(WeightStore store, TensorLookup names, String prefix, int dim, int hidden,
                                        int heads, boolean qkvBias, float eps) throws IOException {
        return load(store, names, prefix, dim, hidden, heads, qkvBias, eps, 1f);
    }

    /**
     * {@link #load(WeightStore, TensorLookup, String, int, int, int, boolean, float)} with both residual branches
     * multiplied by {@code residualScale} (LV-ViT's {@code 1 / skip_lam}), folded into {@code attn.proj} and
     * {@code mlp.fc2}: exact when the scale is a power of two.
     */
    public static TransformerBlock load(WeightStore store, TensorLookup names, String prefix, int dim, int hidden,
                                        int heads, boolean qkvBias, float eps, float residualScale)
            throws IOException {
        if (heads < 1 || dim % heads != 0) {
            throw new IllegalArgumentException("width " + dim + " does not split into " + heads + " heads");
        }
        return new TransformerBlock(
                store.constant(names.tensor(prefix + "norm1.weight", dim)),
                store.constant(names.tensor(prefix + "norm1.bias", dim)),
                store.linear(names.tensor(prefix + "attn.qkv.weight", 3L * dim, dim),
                        qkvBias ? names.tensor(prefix + "attn.qkv.bias", 3L * dim) : null),
                store.linear(scaled(names.tensor(prefix + "attn.proj.weight", dim, dim), residualScale),
                        scaled(names.tensor(prefix + "attn.proj.bias", dim), residualScale)),
                store.constant(names.tensor(prefix + "norm2.weight", dim)),
                store.constant(names.tensor(prefix + "norm2.bias", dim)),
                store.linear(names.tensor(prefix + "mlp.fc1.weight", hidden, dim),
                        names.tensor(prefix + "mlp.fc1.bias", hidden)),
                store.linear(scaled(names.tensor(prefix + "mlp.fc2.weight", dim, hidden), residualScale),
                        scaled(names.tensor(prefix + "mlp.fc2.bias", dim), residualScale)),
                dim, hidden, heads, eps);
    }

    private static Tensor scaled(Tensor t, float scale) {
        if (scale == 1f) {
            return t;
        }
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return Tensor.ofFloats(v, t.shape());
    }

    /** Runs the block in place on {@code x}, {@code [batch, tokens, dim]}: {@link #attend}, then {@link #mlp}. */
    public void run(Backend backend, Buffer x, int batch, int tokens, Scratch scratch) {
        attend(backend, x, batch, tokens, scratch, AttentionOptions.NONE);
        mlp(backend, x, batch, tokens, scratch);
    }

    /**
     * The first stage, in place: {@code x += proj(attention(LN1(x)))}. Afterwards {@link Scratch#qkv()} holds this
     * block's q, k and v for the {@code batch * tokens} rows (what ToMe measures similarity with), until the next call
     * on the same scratch.
     *
     * @param options a per-key bias or the class token's attention row (see {@link AttentionOptions}); a query subset
     *                is not supported here (the residual needs every row)
     */
    public void attend(Backend backend, Buffer x, int batch, int tokens, Scratch scratch, AttentionOptions options) {
        if (options.queryRows() != null) {
            throw new IllegalArgumentException("TransformerBlock.attend computes every query; call Backend.attention"
                    + " with a query subset directly");
        }
        int rows = project(backend, x, batch, tokens, scratch);
        backend.attention(scratch.qkv, scratch.attended, batch, tokens, heads, dim / heads, options);
        backend.linear(scratch.attended, 0, rows, proj, x, 0, Epilogue.RESIDUAL);
    }

    /**
     * The first stage for a subset of the tokens (Patch Slimming): {@code out = x[kept] + proj(attention(LN1(x))[kept])}
     * with queries only for {@code options.queryRows()} (the same rows of every image, ascending) and keys and values
     * from all {@code tokens}. {@code out} is {@code [batch, kept, dim]}. {@link Scratch#qkv()} then holds q, k and v of
     * every token.
     */
    public void attendKept(Backend backend, Buffer x, int batch, int tokens, Scratch scratch,
                           AttentionOptions options, Buffer out) {
        int[] kept = options.queryRows();
        if (kept == null) {
            throw new IllegalArgumentException("attendKept needs the query rows to keep");
        }
        project(backend, x, batch, tokens, scratch);
        backend.attention(scratch.qkv, scratch.attended, batch, tokens, heads, dim / heads, options);
        int[] residualRows = new int[batch * kept.length];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < kept.length; j++) {
                residualRows[b * kept.length + j] = b * tokens + kept[j];
            }
        }
        backend.gatherRows(x, dim, residualRows, out);
        backend.linear(scratch.attended, 0, residualRows.length, proj, out, 0, Epilogue.RESIDUAL);
    }

    /** LN1 and the qkv projection of every token into the scratch; returns the rows. */
    private int project(Backend backend, Buffer x, int batch, int tokens, Scratch scratch) {
        scratch.ensure((long) batch * tokens, dim, hidden);
        int rows = batch * tokens;
        scratch.rows = rows;
        backend.layerNorm(x, scratch.normed, rows, dim, norm1Weight, norm1Bias, eps);
        backend.linear(scratch.normed, 0, rows, qkv, scratch.qkv, 0, Epilogue.NONE);
        return rows;
    }

    /** The second stage, in place: {@code x += fc2(gelu(fc1(LN2(x))))}. */
    public void mlp(Backend backend, Buffer x, int batch, int tokens, Scratch scratch) {
        scratch.ensure((long) batch * tokens, dim, hidden);
        int rows = batch * tokens;
        backend.layerNorm(x, scratch.normed, rows, dim, norm2Weight, norm2Bias, eps);
        backend.linear(scratch.normed, 0, rows, fc1, scratch.hidden, 0, Epilogue.GELU);
        backend.linear(scratch.hidden, 0, rows, fc2, x, 0, Epilogue.RESIDUAL);
    }

    /** Width of the tokens. */
    public int dim() {
        return dim;
    }

    /** Attention heads. */
    public int heads() {
        return heads;
    }

    /** Width of the MLP's hidden layer. */
    public int hidden() {
        return hidden;
    }

    /**
     * Activations of the blocks run by one call, grown as needed (a token reduction makes later blocks smaller, a
     * decoder's class tokens make them larger). Not thread-safe: one per call.
     */
    public static final class Scratch implements AutoCloseable {
        private final Backend backend;
        private final List<Buffer> owned = new ArrayList<>();
        private Buffer normed;
        private Buffer qkv;
        private Buffer attended;
        private Buffer hidden;
        private long capacityRows;
        private int rows;
        private int dim;
        private int hiddenDim;

        public Scratch(Backend backend) {
            this.backend = backend;
        }

        void ensure(long rows, int dim, int hiddenDim) {
            if (rows <= capacityRows && dim <= this.dim && hiddenDim <= this.hiddenDim) {
                return;
            }
            close();
            capacityRows = Math.max(rows, capacityRows);
            this.dim = Math.max(dim, this.dim);
            this.hiddenDim = Math.max(hiddenDim, this.hiddenDim);
            normed = take(capacityRows * this.dim);
            qkv = take(capacityRows * 3 * this.dim);
            attended = take(capacityRows * this.dim);
            hidden = take(capacityRows * this.hiddenDim);
        }

        /**
         * The last {@link #attend}'s fused projection: {@code [rows, 3 * dim]}, row {@code b * tokens + t}, columns
         * {@code s * dim + h * headDim + e} for s in q, k, v (timm's layout). Valid until the next block runs.
         */
        public Buffer qkv() {
            if (qkv == null) {
                throw new IllegalStateException("no block has run on this scratch");
            }
            return qkv;
        }

        /** Rows of {@link #qkv()} the last {@link #attend} wrote. */
        public int qkvRows() {
            return rows;
        }

        private Buffer take(long floats) {
            Buffer b = backend.allocate(floats);
            owned.add(b);
            return b;
        }

        @Override
        public void close() {
            for (Buffer b : owned) {
                b.close();
            }
            owned.clear();
        }
    }
}
