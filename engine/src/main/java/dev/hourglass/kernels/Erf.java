package dev.hourglass.kernels;

/**
 * The error function as both kernel implementations compute it: Abramowitz and Stegun's formula 7.1.26,
 * {@code erf(x) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-x^2)} with {@code t = 1 / (1 + p x)} for
 * {@code x >= 0}, odd symmetry for {@code x < 0}. It needs only one exponential, and PyTorch's vectorized CPU GELU uses
 * the same approximation, so the two agree to rounding.
 *
 * <p>The exponential is {@link Exp#exp} and every multiply-add is fused, in the same order as
 * {@code PanamaMath.erf}: a vector lane and this scalar function give the same bits, in every JIT tier.
 *
 * <p>Error, measured against a double-precision erf over every 13th float in [0, 7] (VectorMathAccuracyTest checks a
 * sample): the formula itself, evaluated in double, is within 1.4e-7 (A&amp;S quote 1.5e-7); evaluated in float32, as
 * here, the cancellation in {@code 1 - poly * exp} near {@code x = 0.03} adds rounding, for at most 5.5e-7 absolute.
 * The float32 code this replaced (with {@code Math.exp} and the Vector API's {@code EXP}) reached 6.5e-7 (scalar) and
 * 5.6e-7 (vector) on the same points. In GELU, {@code x (1 + erf) / 2}, that is at most 4 ulps relative near 0.
 */
final class Erf {
    static final float P = 0.3275911f;
    static final float A1 = 0.254829592f;
    static final float A2 = -0.284496736f;
    static final float A3 = 1.421413741f;
    static final float A4 = -1.453152027f;
    static final float A5 = 1.061405429f;
    static final float INV_SQRT2 = 0.70710678118654752f;

    private Erf() {
    }

    static float erf(float x) {
        float ax = Math.abs(x);
        float t = 1f / Math.fma(ax, P, 1f);
        float poly = Math.fma(Math.fma(Math.fma(Math.fma(A5, t, A4), t, A3), t, A2), t, A1) * t;
        float y = Math.fma(-poly, Exp.exp(-(ax * ax)), 1f);
        return x < 0f ? -y : y;
    }

    static float gelu(float x) {
        return 0.5f * x * (1f + erf(x * INV_SQRT2));
    }
}
