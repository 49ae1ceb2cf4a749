package dev.hourglass.reduce;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Buffer;
import dev.hourglass.vit.TransformerBlock;

/**
 * The one seam every token-reduction method implements. The forward pass ({@link
 * dev.hourglass.vit.VisionTransformer.Pass#blocks}) calls it at the points the methods need:
 * <pre>
 *   for each block i:
 *       options = attention(i, state)            ToMe: log(size) key bias; CF-ViT: ask for the class attention row
 *       x += proj(attention(LN1 x, options))
 *       state = afterAttention(i, state, block)  ToMe merges here (keys of this block in block.qkv())
 *       x += fc2(gelu(fc1(LN2 x)))
 *       state = afterBlock(i, state)             Expedit clusters here; dense decoders read taps
 *   state = finish(state)                        ToMe unmerges for a dense head; Expedit keeps its clusters
 * </pre>
 * A dense head that decodes the reduced tokens calls {@link #restore} on its per-token output (Expedit's token
 * reconstruction). Every callback may return the state it was given (nothing changes) or a new one: another count,
 * grid or buffer. A new buffer becomes the forward pass's, which closes it at the end of the call.
 *
 * <p>One instance per forward call and per thread: implementations keep that call's state (saved tokens, sizes).
 * Settings live in a {@link ReductionMethod}, which is immutable and makes the reducers. Close a reducer to free
 * what it saved.
 */
public interface TokenReducer extends AutoCloseable {

    /** A reducer that changes nothing. */
    TokenReducer NONE = new TokenReducer() {
    };

    /** What block {@code block}'s attention should add; the default is plain attention. */
    default AttentionOptions attention(int block, TokenState state) {
        return AttentionOptions.NONE;
    }

    /**
     * Between the attention residual and the MLP of block {@code block}.
     *
     * @param scratch the block's activations: {@link TransformerBlock.Scratch#qkv()} holds this block's q, k, v for
     *                the tokens of {@code state} (valid until the MLP runs)
     */
    default TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
        return state;
    }

    /** After block {@code block}. */
    default TokenState afterBlock(int block, TokenState state) {
        return state;
    }

    /** After the last block: bring the tokens back to what a dense head expects, if the method does that. */
    default TokenState finish(TokenState state) {
        return state;
    }

    /**
     * Maps a per-token output computed on the reduced patch tokens ({@code values}: {@code [batch, patches of
     * state, channels]} from {@code offset}) to the original patch grid: {@code [batch, original patches,
     * channels]} in a new buffer the caller closes. Methods that change nothing return a copy.
     *
     * @throws UnsupportedOperationException if the method cannot restore a dense output
     */
    default Buffer restore(TokenState state, Buffer values, long offset, int channels) {
        throw new UnsupportedOperationException("this token reduction cannot restore a dense output");
    }

    @Override
    default void close() {
    }
}
