package dev.hourglass.kernels;

/**
 * What a token-reduction method adds to multi-head attention, on host arrays (the kernel facade's form; backends take
 * the same on their buffers): each field may be null.
 *
 * @param keyBias              {@code [batch, tokens]} added to every query's scaled logits on the key axis, before the
 *                             softmax (ToMe's proportional attention, {@code log(size)}), from {@code keyBiasOffset}
 * @param keyBiasOffset        where {@code keyBias} starts
 * @param queryRows            the token indices whose queries are computed, ascending, the same for every image;
 *                             keys and values still come from every token; null computes all (Patch Slimming)
 * @param classAttention       receives {@code [batch, tokens]}: the class token's attention row (query token 0),
 *                             averaged over heads (CF-ViT's global class attention, Patch Slimming's score)
 * @param classAttentionOffset where {@code classAttention} starts
 */
public record AttentionExtras(float[] keyBias, int keyBiasOffset, int[] queryRows, float[] classAttention,
                              int classAttentionOffset) {

    /** Plain attention. */
    public static final AttentionExtras NONE = new AttentionExtras(null, 0, null, null, 0);

    /** Whether this asks for nothing beyond plain attention. */
    public boolean isPlain() {
        return keyBias == null && queryRows == null && classAttention == null;
    }
}
