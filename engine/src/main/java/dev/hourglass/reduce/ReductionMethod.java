package dev.hourglass.reduce;

import java.util.Map;

import dev.hourglass.backend.Backend;
import dev.hourglass.vit.VitConfig;

/**
 * A token-reduction method with its settings, as {@code --reduce} names it ({@link Reductions#parse}). Immutable and
 * shareable; it makes one {@link TokenReducer} per forward call.
 */
public interface ReductionMethod {

    /** The method's name in a spec: {@code "expedit"}, {@code "tome"}. */
    String name();

    /** Every setting, including defaults, for reports ({@code --json}). */
    Map<String, Object> settings();

    /**
     * Refuses settings that cannot apply to this model on this token grid (a block beyond the depth, a cluster grid
     * not smaller than the tokens', a schedule that merges nothing): they would run at full cost in silence.
     *
     * @throws IllegalArgumentException saying which setting and why
     */
    void check(VitConfig model, int gridHeight, int gridWidth);

    /**
     * {@link #check} for a dense task (segmentation), which needs an output for every patch: also refuses settings
     * whose reducer cannot give one back (ToMe unmerges in {@link TokenReducer#finish} and Expedit maps its clusters
     * back in {@link TokenReducer#restore}; a token that Patch Slimming drops is gone).
     *
     * @throws IllegalArgumentException saying which setting and why
     */
    default void checkDense(VitConfig model, int gridHeight, int gridWidth) {
        check(model, gridHeight, gridWidth);
    }

    /** A reducer for one forward call of {@code model} on {@code backend}. */
    TokenReducer newReducer(Backend backend, VitConfig model);

    /** The spec that reads back as this method: {@code name:key=value,...}, every setting given. */
    String spec();
}
