package dev.hourglass.reduce.cfvit;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.TransformerBlock;

/**
 * CF-ViT's global class attention for one coarse pass: from block {@code emaFromBlock} on, each block's class-token
 * attention row, averaged over heads, enters {@code g = β g + (1 - β) a} (g starting at 0). CF-ViT averages whole
 * attention maps and then reads the class row averaged over heads; both steps are linear, so this gives the same
 * values up to float rounding. A {@link TokenReducer} that changes no token, only asks attention for the class row.
 */
final class GlobalClassAttention implements TokenReducer {
    private final CfVitSettings settings;
    private final int batch;
    private final int tokens;
    private final float[] g;
    private float[] row;

    GlobalClassAttention(CfVitSettings settings, int batch, int tokens) {
        this.settings = settings;
        this.batch = batch;
        this.tokens = tokens;
        this.g = new float[batch * tokens];
    }

    @Override
    public AttentionOptions attention(int block, TokenState state) {
        if (block < settings.emaFromBlock()) {
            row = null;
            return AttentionOptions.NONE;
        }
        row = new float[batch * tokens];
        return new AttentionOptions(null, null, row);
    }

    @Override
    public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
        if (row != null) {
            // As PyTorch multiplies a float32 tensor by the Python numbers 0.99 and 0.01.
            float beta = (float) settings.emaBeta();
            float rest = (float) (1 - settings.emaBeta());
            for (int i = 0; i < g.length; i++) {
                g[i] = beta * g[i] + rest * row[i];
            }
            row = null;
        }
        return state;
    }

    /** The global class attention over the patch tokens (the class token's own column left out), {@code [batch, N]}. */
    float[] patchAttention() {
        int n = tokens - 1;
        float[] out = new float[batch * n];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(g, b * tokens + 1, out, b * n, n);
        }
        return out;
    }
}
