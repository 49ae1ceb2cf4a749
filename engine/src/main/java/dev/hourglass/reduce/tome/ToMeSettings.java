package dev.hourglass.reduce.tome;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.hourglass.backend.Backend;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.SpecArguments;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.vit.VitConfig;

/**
 * Token Merging (ToMe, Bolya et al., ICLR 2023; ALGORITHMS.md §4), training-free: in every block, between attention
 * and the MLP, up to {@code r} tokens are merged into their most similar partner by bipartite soft matching on the
 * block's keys averaged over heads; merged tokens are size-weighted means and, with proportional attention, attention
 * adds {@code log(size)} to every key's logits. Written from the paper's description, not from its code.
 *
 * @param r        tokens merged per block (before the per-block cap of half the unprotected tokens)
 * @param inflect  the schedule's shape: 0 merges {@code r} in every block, -1 a decreasing ramp from {@code 2r} to 0,
 *                 +1 an increasing one (ToMe's inflection; any value in [-1, 1])
 * @param propAttn proportional attention ({@code log(size)} on the keys), on by default as for off-the-shelf models
 */
public record ToMeSettings(int r, double inflect, boolean propAttn) implements ReductionMethod {
    private static final List<String> KEYS = List.of("r", "inflect", "prop_attn");

    public ToMeSettings {
        if (r < 0) {
            throw new IllegalArgumentException("tome: r must be 0 or more, got " + r);
        }
        if (!(inflect >= -1 && inflect <= 1)) {
            throw new IllegalArgumentException("tome: inflect must be in [-1, 1], got " + inflect);
        }
    }

    /** Reads {@code "r=8,inflect=-1,prop_attn=true"}; r is required, inflect defaults to 0, prop_attn to true. */
    public static ToMeSettings parse(String args) {
        SpecArguments a = new SpecArguments("tome", args, KEYS);
        if (a.get("r") == null) {
            throw new IllegalArgumentException("tome: r (tokens merged per block) is required, e.g. tome:r=8");
        }
        return new ToMeSettings(a.integer("r", 0), a.decimal("inflect", 0f), a.bool("prop_attn", true));
    }

    @Override
    public String name() {
        return "tome";
    }

    /**
     * Tokens to merge in each of {@code depth} blocks, before the per-block cap: ToMe's linear ramp from
     * {@code int(r (1 - inflect))} to {@code 2r} minus that, each value truncated toward zero (so {@code r=8,
     * inflect=-1} over 12 blocks gives 16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1, 0).
     */
    public int[] schedule(int depth) {
        int[] out = new int[depth];
        int min = (int) (r * (1.0 - inflect));
        if (depth == 1) {
            out[0] = min;
            return out;
        }
        int max = 2 * r - min;
        double step = (max - min) / (double) (depth - 1);
        for (int i = 0; i < depth; i++) {
            out[i] = Math.max(0, (int) (min + step * i));
        }
        return out;
    }

    /**
     * The token count leaving each block for {@code tokens} tokens of which {@code protectedTokens} (class and
     * distillation) are never merged: each block merges {@code min(r_i, (tokens - protected) / 2)}.
     */
    public int[] tokensAfterBlocks(int depth, int tokens, int protectedTokens) {
        int[] schedule = schedule(depth);
        int[] out = new int[depth];
        int t = tokens;
        for (int i = 0; i < depth; i++) {
            t -= Math.max(0, Math.min(schedule[i], (t - protectedTokens) / 2));
            out[i] = t;
        }
        return out;
    }

    @Override
    public Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("r", r);
        m.put("inflect", inflect);
        m.put("prop_attn", propAttn);
        return m;
    }

    @Override
    public void check(VitConfig model, int gridHeight, int gridWidth) {
        int tokens = model.prefixTokens() + gridHeight * gridWidth;
        int[] after = tokensAfterBlocks(model.depth(), tokens, model.prefixTokens());
        if (after[after.length - 1] == tokens) {
            throw new IllegalArgumentException("tome: " + spec() + " merges no token in this " + model.depth()
                    + "-block model (schedule " + java.util.Arrays.toString(schedule(model.depth()))
                    + "); use r of 1 or more");
        }
        if (!model.classToken()) {
            throw new IllegalArgumentException("tome: this model has no class token; Hourglass's ToMe protects and"
                    + " reads the class token");
        }
    }

    @Override
    public TokenReducer newReducer(Backend backend, VitConfig model) {
        return new ToMeReducer(backend, this, model);
    }

    @Override
    public String spec() {
        String i = inflect == Math.rint(inflect) ? Integer.toString((int) inflect) : Double.toString(inflect);
        return "tome:r=" + r + ",inflect=" + i + ",prop_attn=" + propAttn;
    }

    @Override
    public String toString() {
        return spec();
    }
}
