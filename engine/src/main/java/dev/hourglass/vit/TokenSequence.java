package dev.hourglass.vit;

import dev.hourglass.backend.Buffer;

/**
 * The token sequence between two transformer blocks: {@code [batch, tokens, dim]} row-major in a backend buffer
 * (which may be larger), the first {@code prefixTokens} of each image being the class (and distillation) tokens.
 * {@code gridHeight x gridWidth} is the layout of the remaining tokens; a token reduction that changes their number
 * says what grid its tokens form.
 */
public record TokenSequence(Buffer data, int batch, int tokens, int dim, int prefixTokens, int gridHeight,
                            int gridWidth) {

    public TokenSequence {
        if (batch < 1 || tokens < 1 || dim < 1 || prefixTokens < 0 || prefixTokens > tokens) {
            throw new IllegalArgumentException("bad token sequence: batch=" + batch + " tokens=" + tokens + " dim="
                    + dim + " prefix=" + prefixTokens);
        }
        if (gridHeight * gridWidth != tokens - prefixTokens) {
            throw new IllegalArgumentException("grid " + gridHeight + "x" + gridWidth + " does not hold the "
                    + (tokens - prefixTokens) + " non-prefix tokens");
        }
        if (data.size() < (long) batch * tokens * dim) {
            throw new IllegalArgumentException("buffer of " + data.size() + " floats is too small for " + batch
                    + "x" + tokens + "x" + dim);
        }
    }

    /** Tokens per image that are not prefix tokens. */
    public int patchTokens() {
        return tokens - prefixTokens;
    }

    /** Floats in use: {@code batch * tokens * dim}. */
    public long size() {
        return (long) batch * tokens * dim;
    }
}
