package dev.hourglass.reduce.tome;

import java.util.ArrayList;
import java.util.List;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.TransformerBlock;
import dev.hourglass.vit.VitConfig;

/**
 * ToMe for one forward call (see {@link ToMeSettings}). The matching and merging are small (a few hundred tokens of
 * the head width) and discrete, so they run on the host: the block's keys and the tokens are downloaded, merged by
 * {@link BipartiteMerge} and the merged tokens uploaded. On the CPU backend that is two array copies per block.
 *
 * <p>Holds the call's state (the schedule position, the proportional-attention bias buffers it made); one instance per
 * call and per thread.
 */
final class ToMeReducer implements TokenReducer {
    private final Backend backend;
    private final ToMeSettings settings;
    private final int heads;
    private final int[] schedule;
    private final List<Buffer> owned = new ArrayList<>();

    ToMeReducer(Backend backend, ToMeSettings settings, VitConfig model) {
        this.backend = backend;
        this.settings = settings;
        this.heads = model.numHeads();
        this.schedule = settings.schedule(model.depth());
    }

    @Override
    public AttentionOptions attention(int block, TokenState state) {
        float[] sizes = state.sizes();
        if (!settings.propAttn() || sizes == null) {
            return AttentionOptions.NONE;
        }
        float[] logSizes = new float[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            logSizes[i] = (float) Math.log(sizes[i]);
        }
        Buffer bias = backend.upload(logSizes, 0, logSizes.length);
        owned.add(bias);
        return new AttentionOptions(bias, null, null);
    }

    @Override
    public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
        int tokens = state.count();
        int protectedTokens = state.prefixTokens();
        int r = Math.min(block < schedule.length ? schedule[block] : 0, (tokens - protectedTokens) / 2);
        if (r <= 0) {
            return state;
        }
        int batch = state.batch();
        int dim = state.dim();
        float[] qkv = new float[Math.multiplyExact(batch * tokens, 3 * dim)];
        backend.download(scratch.qkv(), 0, qkv, 0, qkv.length);
        float[] x = new float[batch * tokens * dim];
        backend.download(state.data(), 0, x, 0, x.length);
        BipartiteMerge.Result merged = BipartiteMerge.merge(qkv, x, state.sizes(), state.sources(), batch, tokens, dim,
                heads, state.prefixTokens(), r, state.originalPatches());
        int out = tokens - r;
        Buffer data = backend.upload(merged.tokens(), 0, batch * out * dim);
        return state.reduced(TokenSequence.withoutGrid(data, batch, out, dim, state.prefixTokens()),
                merged.sizes(), merged.sources());
    }

    /** Unmerges for a dense head: every original patch gets its token's features back (ToMe's source map). */
    @Override
    public TokenState finish(TokenState state) {
        if (state.sources() == null) {
            return state;
        }
        int batch = state.batch();
        int dim = state.dim();
        int prefix = state.prefixTokens();
        int patches = state.originalPatches();
        int full = prefix + patches;
        int[] rows = new int[batch * full];
        int[] sources = state.sources();
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < prefix; p++) {
                rows[b * full + p] = b * state.count() + p;
            }
            for (int p = 0; p < patches; p++) {
                rows[b * full + prefix + p] = b * state.count() + sources[b * patches + p];
            }
        }
        Buffer data = backend.allocate((long) batch * full * dim);
        backend.gatherRows(state.data(), dim, rows, data);
        return state.reduced(new TokenSequence(data, batch, full, dim, prefix, state.originalGridHeight(),
                state.originalGridWidth()), null, null);
    }

    @Override
    public void close() {
        for (Buffer b : owned) {
            b.close();
        }
        owned.clear();
    }
}
