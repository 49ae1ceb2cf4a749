package dev.hourglass.reduce;

import java.util.Objects;

import dev.hourglass.backend.Buffer;
import dev.hourglass.vit.TokenSequence;

/**
 * The token sequence between two steps of a forward pass, with what token-reduction methods need to know about it:
 * the tokens themselves ({@link TokenSequence}: buffer, batch, count, width, prefix tokens, and a grid when the
 * non-prefix tokens still form one), how many original patches each token stands for ({@link #sizes}: ToMe's
 * proportional attention and size-weighted means), and where each original patch went ({@link #sources}: ToMe's
 * source map, used to bring merged tokens back to the patch grid).
 *
 * <p>Immutable apart from the buffer's contents; the host arrays are never modified once given to a state (a method
 * makes new ones). The {@code original*} fields describe the sequence the pass started with.
 */
public final class TokenState {
    private final TokenSequence tokens;
    private final float[] sizes;
    private final int[] sources;
    private final int originalGridHeight;
    private final int originalGridWidth;

    private TokenState(TokenSequence tokens, float[] sizes, int[] sources, int originalGridHeight,
                       int originalGridWidth) {
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.sizes = sizes;
        this.sources = sources;
        this.originalGridHeight = originalGridHeight;
        this.originalGridWidth = originalGridWidth;
        if (sizes != null && sizes.length != tokens.batch() * tokens.tokens()) {
            throw new IllegalArgumentException("sizes: " + sizes.length + " values for " + tokens.batch() + " x "
                    + tokens.tokens() + " tokens");
        }
        if (sources != null && sources.length != tokens.batch() * originalGridHeight * originalGridWidth) {
            throw new IllegalArgumentException("sources: " + sources.length + " values for " + tokens.batch()
                    + " x " + originalGridHeight * originalGridWidth + " original patches");
        }
    }

    /** The state of a freshly embedded sequence: every token one patch, every patch its own token. */
    public static TokenState initial(TokenSequence tokens) {
        return new TokenState(tokens, null, null, tokens.gridHeight(), tokens.gridWidth());
    }

    /** The same bookkeeping for another buffer or sequence of the same tokens (an in-place step, a normalisation). */
    public TokenState withTokens(TokenSequence next) {
        if (next.tokens() != tokens.tokens() || next.batch() != tokens.batch()) {
            throw new IllegalArgumentException("withTokens keeps the token count: " + tokens + " -> " + next);
        }
        return new TokenState(next, sizes, sources, originalGridHeight, originalGridWidth);
    }

    /**
     * A reduced (or restored) sequence.
     *
     * @param sizes   patches per token, {@code [batch, tokens]}, or null when every token is one patch
     * @param sources for every original patch, {@code [batch, patches]}, the index (among all tokens, prefix included)
     *                of the token it is part of now; null when unknown or the identity
     */
    public TokenState reduced(TokenSequence next, float[] sizes, int[] sources) {
        if (next.batch() != tokens.batch() || next.dim() != tokens.dim()) {
            throw new IllegalArgumentException("a reduction keeps the batch and width: " + tokens + " -> " + next);
        }
        return new TokenState(next, sizes, sources, originalGridHeight, originalGridWidth);
    }

    public TokenSequence tokens() {
        return tokens;
    }

    public Buffer data() {
        return tokens.data();
    }

    public int batch() {
        return tokens.batch();
    }

    /** Tokens per image now, prefix tokens included. */
    public int count() {
        return tokens.tokens();
    }

    public int dim() {
        return tokens.dim();
    }

    public int prefixTokens() {
        return tokens.prefixTokens();
    }

    /** Whether the non-prefix tokens form a grid ({@link TokenSequence#hasGrid}). */
    public boolean hasGrid() {
        return tokens.hasGrid();
    }

    /** Patches each token stands for, {@code [batch, tokens]}; null means one each. Do not modify. */
    public float[] sizes() {
        return sizes;
    }

    /** The token each original patch is part of, {@code [batch, patches]}; null means unknown or the identity. */
    public int[] sources() {
        return sources;
    }

    public int originalGridHeight() {
        return originalGridHeight;
    }

    public int originalGridWidth() {
        return originalGridWidth;
    }

    /** Patch tokens the pass started with, per image. */
    public int originalPatches() {
        return originalGridHeight * originalGridWidth;
    }

    /** Whether the tokens are still the original patches (nothing merged, clustered or pruned). */
    public boolean isOriginal() {
        return sizes == null && sources == null && hasGrid() && tokens.gridHeight() == originalGridHeight
                && tokens.gridWidth() == originalGridWidth;
    }

    @Override
    public String toString() {
        return "TokenState[" + tokens + (sizes == null ? "" : ", sized") + (sources == null ? "" : ", with sources")
                + ", from " + originalGridHeight + "x" + originalGridWidth + "]";
    }
}
