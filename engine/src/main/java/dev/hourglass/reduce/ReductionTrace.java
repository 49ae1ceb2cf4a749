package dev.hourglass.reduce;

import java.util.Arrays;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Buffer;
import dev.hourglass.vit.TransformerBlock;
import dev.hourglass.vit.VitConfig;

/**
 * A {@link TokenReducer} that passes every call to another and records, per block, the tokens entering attention,
 * the tokens entering the MLP and the tokens leaving the block: what {@code --json}'s {@code tokens_after_block} and
 * the GFLOPs figures are made from. One per call, like the reducer it wraps.
 */
public final class ReductionTrace implements TokenReducer {
    private final TokenReducer inner;
    private final int[] attentionTokens;
    private final int[] queryTokens;
    private final int[] mlpTokens;
    private final int[] tokensAfterBlock;

    public ReductionTrace(TokenReducer inner, int depth) {
        this.inner = inner;
        this.attentionTokens = new int[depth];
        this.queryTokens = new int[depth];
        this.mlpTokens = new int[depth];
        this.tokensAfterBlock = new int[depth];
    }

    @Override
    public AttentionOptions attention(int block, TokenState state) {
        attentionTokens[block] = state.count();
        AttentionOptions options = inner.attention(block, state);
        queryTokens[block] = options.queries(state.count());
        return options;
    }

    @Override
    public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
        TokenState next = inner.afterAttention(block, state, scratch);
        mlpTokens[block] = next.count();
        return next;
    }

    @Override
    public TokenState afterBlock(int block, TokenState state) {
        TokenState next = inner.afterBlock(block, state);
        tokensAfterBlock[block] = next.count();
        return next;
    }

    @Override
    public TokenState finish(TokenState state) {
        return inner.finish(state);
    }

    @Override
    public Buffer restore(TokenState state, Buffer values, long offset, int channels) {
        return inner.restore(state, values, offset, channels);
    }

    @Override
    public void close() {
        inner.close();
    }

    /** Tokens per image leaving each block (prefix tokens included), one entry per block. */
    public int[] tokensAfterBlock() {
        return tokensAfterBlock.clone();
    }

    /** Tokens per image entering each block's attention. */
    public int[] attentionTokens() {
        return attentionTokens.clone();
    }

    /** Tokens per image whose queries each block's attention computes (fewer than entered under Patch Slimming). */
    public int[] queryTokens() {
        return queryTokens.clone();
    }

    /** Tokens per image entering each block's MLP. */
    public int[] mlpTokens() {
        return mlpTokens.clone();
    }

    /**
     * Multiply-adds counted as two FLOPs, per image, of the encoder as traced: the patch embedding and, per block, the
     * qkv (every token entering), attention (q k^T and p v: queries x keys), projection (queries) and MLP products at
     * the token counts each ran on. LayerNorms,
     * softmax, GELU, the head and the reduction's own work (matching, clustering) are left out, as fvcore and ToMe's
     * tables leave them out. In GFLOPs.
     */
    public double gflops(VitConfig model) {
        return encoderGflops(model, attentionTokens, queryTokens, mlpTokens);
    }

    /** {@link #gflops} for given token counts (use the same count twice for an unreduced model). */
    public static double encoderGflops(VitConfig model, int[] attentionTokens, int[] mlpTokens) {
        return encoderGflops(model, attentionTokens, attentionTokens, mlpTokens);
    }

    /** {@link #encoderGflops(VitConfig, int[], int[])} where attention computes queries for only some tokens. */
    public static double encoderGflops(VitConfig model, int[] attentionTokens, int[] queryTokens, int[] mlpTokens) {
        double p = model.patchSize();
        int patches = model.gridHeight() * model.gridWidth();
        if (attentionTokens.length > 0) {
            patches = attentionTokens[0] - model.prefixTokens();
        }
        return 2.0 * patches * model.inChannels() * p * p * model.embedDim() / 1e9
                + blockGflops(model, attentionTokens, queryTokens, mlpTokens);
    }

    /** {@link #encoderGflops} without the patch embedding: the blocks' products alone. */
    public static double blockGflops(VitConfig model, int[] attentionTokens, int[] mlpTokens) {
        return blockGflops(model, attentionTokens, attentionTokens, mlpTokens);
    }

    /** {@link #blockGflops(VitConfig, int[], int[])} where attention computes queries for only some tokens. */
    public static double blockGflops(VitConfig model, int[] attentionTokens, int[] queryTokens, int[] mlpTokens) {
        double d = model.embedDim();
        double h = model.mlpHidden();
        double flops = 0;
        for (int i = 0; i < attentionTokens.length; i++) {
            double ta = attentionTokens[i];
            double tq = queryTokens[i];
            double tm = mlpTokens[i];
            flops += 2.0 * ta * d * 3 * d + 2.0 * 2 * tq * ta * d + 2.0 * tq * d * d;
            flops += 2.0 * tm * d * h * 2;
        }
        return flops / 1e9;
    }

    @Override
    public String toString() {
        return "ReductionTrace" + Arrays.toString(tokensAfterBlock);
    }
}
