package dev.hourglass.vit;

import dev.hourglass.ops.Resize;

/**
 * Resizing of a ViT's absolute position embedding to another token grid, as timm's {@code resample_abs_pos_embed}
 * does it: the prefix rows (class and distillation tokens) are kept, the grid rows are seen as {@code dim} planes of
 * {@code oldH x oldW}, resized, and laid out as rows again.
 */
final class PositionEmbeddings {
    private PositionEmbeddings() {
    }

    /**
     * @param positions {@code [prefix + oldH * oldW, dim]} row-major
     * @return {@code [prefix + newH * newW, dim]}
     */
    static float[] resize(float[] positions, int prefix, int dim, int oldH, int oldW, int newH, int newW,
                          Resize.Mode mode, boolean antialias) {
        if (oldH == newH && oldW == newW) {
            return positions.clone();
        }
        int oldTokens = oldH * oldW;
        float[] planes = new float[dim * oldTokens];
        for (int t = 0; t < oldTokens; t++) {
            for (int c = 0; c < dim; c++) {
                planes[c * oldTokens + t] = positions[(prefix + t) * dim + c];
            }
        }
        float[] resized = Resize.resize(planes, dim, oldH, oldW, newH, newW, mode, antialias);
        int newTokens = newH * newW;
        float[] out = new float[(prefix + newTokens) * dim];
        System.arraycopy(positions, 0, out, 0, prefix * dim);
        for (int t = 0; t < newTokens; t++) {
            for (int c = 0; c < dim; c++) {
                out[(prefix + t) * dim + c] = resized[c * newTokens + t];
            }
        }
        return out;
    }
}
