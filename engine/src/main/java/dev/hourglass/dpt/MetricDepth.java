package dev.hourglass.dpt;

import dev.hourglass.model.DptConfig;

/**
 * The depth head's output made metric depth, as isl-org/DPT's {@code DPTDepthModel.forward} does with
 * {@code invert=True} ({@link DptConfig.Metric}), to the bit of PyTorch's float32 CPU result:
 * <pre>{@code
 *   depth = scale * x + shift      # Python floats times a float32 tensor: each scalar rounded to float32 first,
 *                                  # then a float32 multiply and a float32 add, two roundings (no fma)
 *   depth[depth < 1e-8] = 1e-8     # NaN < 1e-8 is false: NaN stays NaN
 *   depth = 1.0 / depth            # Tensor.__rdiv__: reciprocal(), an IEEE float32 division
 * }</pre>
 * (checked element by element against torch 1.13 on random, zero, negative, infinite and NaN inputs: see
 * tools/README.md). Java's float arithmetic is IEEE's without contraction, so the plain expressions below are
 * that computation. It runs on the host after the depth map is downloaded: 2 operations per pixel, not worth a
 * kernel on any backend. Stateless.
 */
final class MetricDepth {
    /** The clamp {@code DPTDepthModel.forward} applies before the reciprocal, as a float32 (PyTorch's). */
    static final float FLOOR = 1e-8f;

    private MetricDepth() {
    }

    /** Replaces each of {@code values} (the head's output) by its metric depth in metres. */
    static void apply(DptConfig.Metric metric, float[] values) {
        float scale = (float) metric.scale();
        float shift = (float) metric.shift();
        for (int i = 0; i < values.length; i++) {
            float d = scale * values[i] + shift;
            if (d < FLOOR) {
                d = FLOOR;
            }
            values[i] = 1f / d;
        }
    }
}
