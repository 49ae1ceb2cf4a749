package dev.hourglass.backend;

/**
 * What a token-reduction method adds to {@link Backend#attention}: each field may be null.
 *
 * @param keyBias        {@code [batch, tokens]} on the backend, added on the key axis to every query's scaled logits
 *                       before the softmax (ToMe's proportional attention adds {@code log(size)})
 * @param queryRows      the token indices whose queries are computed, ascending, the same for every image; keys and
 *                       values still come from every token, and {@code out} gets {@code batch * queryRows.length} rows
 *                       (Patch Slimming); null computes every query
 * @param classAttention host array receiving {@code [batch, tokens]}: the class token's attention row (query token
 *                       0), averaged over heads (CF-ViT's global class attention, Patch Slimming's score)
 */
public record AttentionOptions(Buffer keyBias, int[] queryRows, float[] classAttention) {

    /** Plain attention. */
    public static final AttentionOptions NONE = new AttentionOptions(null, null, null);

    /** Whether this asks for nothing beyond plain attention. */
    public boolean isPlain() {
        return keyBias == null && queryRows == null && classAttention == null;
    }

    /** Rows of the output for {@code tokens} tokens: the query subset's size, or all of them. */
    public int queries(int tokens) {
        return queryRows == null ? tokens : queryRows.length;
    }
}
