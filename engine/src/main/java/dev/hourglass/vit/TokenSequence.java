package dev.hourglass.vit;

import dev.hourglass.backend.Buffer;

/**
 * The token sequence between two transformer blocks: {@code [batch, tokens, dim]} row-major in a backend buffer
 * (which may be larger), the first {@code prefixTokens} of each image being the class (and distillation) tokens.
 * {@code gridHeight x gridWidth} is the layout of the remaining tokens; a token reduction that changes their number
 * says what grid its tokens form, or {@code 0 x 0} when they form none (merged or pruned tokens).
 */
public record TokenSequence(Buffer data, int batch, int tokens, int dim, int prefixTokens, int gridHeight,
                            int gridWidth) {

    public TokenSequence {
        if (batch < 1 || tokens < 1 || dim < 1 || prefixTokens < 0 || prefixTokens > tokens) {
            throw new IllegalArgumentException("bad token sequence: batch=" + batch + " tokens=" + tokens + " dim="
                    + dim + " prefix=" + prefixTokens);
        }
        boolean noGrid = gridHeight == 0 && gridWidth == 0;
        if (!noGrid && (gridHeight < 1 || gridWidth < 1 || gridHeight * gridWidth != tokens - prefixTokens)) {
            throw new IllegalArgumentException("grid " + gridHeight + "x" + gridWidth + " does not hold the "
                    + (tokens - prefixTokens) + " non-prefix tokens");
        }
        if (data.size() < (long) batch * tokens * dim) {
            throw new IllegalArgumentException("buffer of " + data.size() + " floats is too small for " + batch
                    + "x" + tokens + "x" + dim);
        }
    }

    /** A sequence whose non-prefix tokens form no grid. */
    public static TokenSequence withoutGrid(Buffer data, int batch, int tokens, int dim, int prefixTokens) {
        return new TokenSequence(data, batch, tokens, dim, prefixTokens, 0, 0);
    }

    /** Whether the non-prefix tokens form a {@code gridHeight x gridWidth} grid. */
    public boolean hasGrid() {
        return gridHeight > 0;
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
