package dev.hourglass.reduce.slim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.SpecArguments;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.VitConfig;

/**
 * {@code slim:masks=FILE}: Patch Slimming's pruned inference (Tang et al., CVPR 2022; ALGORITHMS.md §2.2, §2.7) from
 * static masks ({@link TokenMasks}). Block {@code l} computes queries, residual rows and the MLP only for the tokens
 * its mask keeps; keys and values come from the tokens the block before kept; a dropped token never returns; the
 * position embedding is added once, before block 0. A block that keeps every token it receives runs unpruned, so
 * masks that keep everything give exactly the unpruned logits. Immutable; each call gets its own reducer.
 *
 * @param masks the masks
 * @param file  where they were read from (for the spec), or null
 */
public record SlimMasks(TokenMasks masks, Path file) implements ReductionMethod {
    private static final List<String> KEYS = List.of("masks");

    /**
     * Reads {@code "masks=FILE"}.
     *
     * @throws IllegalArgumentException without {@code masks}, or for an unknown key
     * @throws UncheckedIOException     if the file cannot be read or breaks a rule (its message names the file, block,
     *                                  id and rule): bad data, not a bad argument
     */
    public static SlimMasks parse(String args) {
        SpecArguments a = new SpecArguments("slim", args, KEYS);
        String file = a.get("masks");
        if (file == null || file.isEmpty()) {
            throw new IllegalArgumentException("slim: masks=FILE is required (a mask file, see hourglass slim-search)");
        }
        Path path = Path.of(file);
        try {
            return new SlimMasks(TokenMasks.read(path), path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String name() {
        return "slim";
    }

    @Override
    public Map<String, Object> settings() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("masks", file == null ? "(in memory)" : file.toString());
        s.put("kept_per_block", Arrays.stream(masks.counts()).boxed().toList());
        return s;
    }

    @Override
    public void check(VitConfig model, int gridHeight, int gridWidth) {
        try {
            masks.check(model.depth(), model.prefixTokens() + gridHeight * gridWidth, model.prefixTokens());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("slim: " + (file == null ? "" : file + ": ") + e.getMessage(), e);
        }
    }

    /** Refuses masks that drop a token: a dropped patch has no features left to decode. */
    @Override
    public void checkDense(VitConfig model, int gridHeight, int gridWidth) {
        check(model, gridHeight, gridWidth);
        int[] kept = masks.counts();
        for (int l = 0; l < kept.length; l++) {
            if (kept[l] < masks.tokens()) {
                throw new IllegalArgumentException("slim: " + (file == null ? "" : file + ": ") + "block " + l
                        + " keeps " + kept[l] + " of " + masks.tokens() + " tokens, and a dropped token has no"
                        + " features left for a dense output (segmentation, depth); Patch Slimming prunes classifiers"
                        + " only");
            }
        }
    }

    @Override
    public TokenReducer newReducer(Backend backend, VitConfig model) {
        return new Reducer(masks);
    }

    /**
     * Encoder GFLOPs per image with these masks, as {@link ReductionTrace#gflops} counts a pruned forward: block
     * {@code l} projects q, k, v for the tokens it receives ({@code keep[l - 1]}, every token for block 0), attends
     * with the kept queries and runs the projection and MLP on the kept tokens.
     */
    public static double gflops(VitConfig model, TokenMasks masks) {
        int depth = masks.depth();
        int[] received = new int[depth];
        int[] kept = masks.counts();
        for (int l = 0; l < depth; l++) {
            received[l] = l == 0 ? masks.tokens() : kept[l - 1];
        }
        return ReductionTrace.encoderGflops(model, received, kept, kept);
    }

    @Override
    public String spec() {
        return "slim:masks=" + (file == null ? "(in memory)" : file);
    }

    @Override
    public String toString() {
        return spec();
    }

    /** One call: which original ids the current sequence holds, and the query rows each block keeps. */
    static final class Reducer implements TokenReducer {
        private final TokenMasks masks;
        private int[] current;

        Reducer(TokenMasks masks) {
            this.masks = masks;
        }

        @Override
        public AttentionOptions attention(int block, TokenState state) {
            if (block == 0) {
                current = new int[masks.tokens()];
                Arrays.setAll(current, i -> i);
            }
            if (current == null || state.count() != current.length) {
                throw new IllegalStateException("slim: block " + block + " receives " + state.count()
                        + " tokens, the masks expect " + (current == null ? "block 0 first" : current.length));
            }
            int[] next = masks.kept(block);
            if (next.length == current.length) {
                return AttentionOptions.NONE; // nested and as many: the same tokens
            }
            int[] rows = new int[next.length];
            for (int j = 0; j < next.length; j++) {
                rows[j] = Arrays.binarySearch(current, next[j]);
            }
            current = next;
            return new AttentionOptions(null, rows, null);
        }
    }
}
