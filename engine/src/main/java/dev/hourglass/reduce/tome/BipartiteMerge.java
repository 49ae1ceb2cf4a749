package dev.hourglass.reduce.tome;

import java.util.Arrays;

/**
 * ToMe's bipartite soft matching and size-weighted merge on host arrays (ALGORITHMS.md §4.1, §4.2), per image:
 * <ol>
 *   <li>metric: the block's keys averaged over heads, each token's vector divided by its L2 norm;</li>
 *   <li>tokens at even positions form set A, odd positions set B; every A token's score is its best cosine
 *       similarity to a B token (the class token, at 0, is never a source; the distillation token, B's first, never
 *       a destination);</li>
 *   <li>the {@code r} A tokens with the highest scores merge into their best B token; the rest of A is kept, in
 *       ascending position (the class token stays first);</li>
 *   <li>output: kept A tokens then all of B (with a distillation token: class, distillation, other kept A, other B),
 *       each token {@code sum(x * size) / sum(size)} over what merged into it, its size the sum of sizes.</li>
 * </ol>
 * Ties (equal scores) are broken by position; ToMe's sort does not define an order for them.
 */
final class BipartiteMerge {
    private BipartiteMerge() {
    }

    /** Merged tokens {@code [batch, tokens - r, dim]}, their sizes and the updated source map. */
    record Result(float[] tokens, float[] sizes, int[] sources) {
    }

    /**
     * @param qkv      the block's fused projection, {@code [batch * tokens, 3 * dim]} (keys at columns dim..2dim)
     * @param x        the tokens after the attention residual, {@code [batch * tokens, dim]}
     * @param sizes    patches per token {@code [batch, tokens]}, or null for all ones
     * @param sources  the token of every original patch {@code [batch, patches]}, or null for the identity
     * @param prefix   protected tokens: 1 (class) or 2 (class, distillation)
     * @param r        tokens to remove per image, at most {@code (tokens - prefix) / 2}
     * @param patches  original patches per image (for the source map)
     */
    static Result merge(float[] qkv, float[] x, float[] sizes, int[] sources, int batch, int tokens, int dim,
                        int heads, int prefix, int r, int patches) {
        int out = tokens - r;
        int headDim = dim / heads;
        int na = (tokens + 1) / 2;
        int nb = tokens / 2;
        boolean distilled = prefix == 2;
        float[] merged = new float[batch * out * dim];
        float[] newSizes = new float[batch * out];
        int[] newSources = new int[batch * patches];
        float[] metric = new float[tokens * headDim];
        float[] weighted = new float[tokens * dim];
        float[] size = new float[tokens];
        float[] accum = new float[out * dim];
        float[] accumSize = new float[out];
        float[] nodeMax = new float[na];
        int[] nodeIdx = new int[na];
        Integer[] order = new Integer[na];
        int[] newIndex = new int[tokens];

        for (int b = 0; b < batch; b++) {
            // 1. Keys averaged over heads, then unit length.
            for (int t = 0; t < tokens; t++) {
                int row = (b * tokens + t) * 3 * dim + dim;
                double norm = 0;
                for (int e = 0; e < headDim; e++) {
                    float sum = 0f;
                    for (int h = 0; h < heads; h++) {
                        sum += qkv[row + h * headDim + e];
                    }
                    float mean = sum / heads;
                    metric[t * headDim + e] = mean;
                    norm += mean * mean;
                }
                float n = (float) Math.sqrt((float) norm);
                for (int e = 0; e < headDim; e++) {
                    metric[t * headDim + e] /= n;
                }
            }
            // 2. Every A token's best B token.
            for (int i = 0; i < na; i++) {
                float best = Float.NEGATIVE_INFINITY;
                int bestJ = 0;
                if (i != 0) { // the class token (A's first) is never a source
                    for (int j = distilled ? 1 : 0; j < nb; j++) { // the distillation token is never a destination
                        float s = 0f;
                        int a0 = 2 * i * headDim;
                        int b0 = (2 * j + 1) * headDim;
                        for (int e = 0; e < headDim; e++) {
                            s += metric[a0 + e] * metric[b0 + e];
                        }
                        if (s > best) {
                            best = s;
                            bestJ = j;
                        }
                    }
                }
                nodeMax[i] = best;
                nodeIdx[i] = bestJ;
                order[i] = i;
            }
            // 3. The r most similar A tokens are merged away; the others are kept in ascending position.
            Arrays.sort(order, (p, q) -> {
                int c = Float.compare(nodeMax[q], nodeMax[p]);
                return c != 0 ? c : Integer.compare(p, q);
            });
            boolean[] isSource = new boolean[na];
            for (int k = 0; k < r; k++) {
                isSource[order[k]] = true;
            }
            // Output positions: kept A (ascending), then B; with a distillation token it goes second.
            int keptA = na - r;
            int pos = 0;
            for (int i = 0; i < na; i++) {
                if (!isSource[i]) {
                    newIndex[2 * i] = pos == 0 || !distilled ? pos : pos + 1;
                    pos++;
                }
            }
            for (int j = 0; j < nb; j++) {
                int p;
                if (distilled) {
                    p = j == 0 ? 1 : keptA + j;
                } else {
                    p = keptA + j;
                }
                newIndex[2 * j + 1] = p;
            }
            for (int k = 0; k < r; k++) {
                int i = order[k];
                newIndex[2 * i] = newIndex[2 * nodeIdx[i] + 1];
            }
            // 4. Size-weighted sums: x * size for every token, then sources added to their destinations in the
            // order they were chosen, then divided by the summed sizes.
            for (int t = 0; t < tokens; t++) {
                size[t] = sizes == null ? 1f : sizes[b * tokens + t];
                for (int c = 0; c < dim; c++) {
                    weighted[t * dim + c] = x[(b * tokens + t) * dim + c] * size[t];
                }
            }
            for (int t = 0; t < tokens; t++) {
                boolean src = t % 2 == 0 && isSource[t / 2];
                if (!src) {
                    int o = newIndex[t];
                    System.arraycopy(weighted, t * dim, accum, o * dim, dim);
                    accumSize[o] = size[t];
                }
            }
            for (int k = 0; k < r; k++) {
                int t = 2 * order[k];
                int o = newIndex[t];
                for (int c = 0; c < dim; c++) {
                    accum[o * dim + c] += weighted[t * dim + c];
                }
                accumSize[o] += size[t];
            }
            for (int o = 0; o < out; o++) {
                newSizes[b * out + o] = accumSize[o];
                for (int c = 0; c < dim; c++) {
                    merged[(b * out + o) * dim + c] = accum[o * dim + c] / accumSize[o];
                }
            }
            for (int p = 0; p < patches; p++) {
                int old = sources == null ? prefix + p : sources[b * patches + p];
                newSources[b * patches + p] = newIndex[old];
            }
        }
        return new Result(merged, newSizes, newSources);
    }
}
