package dev.hourglass.kernels;

/**
 * {@code exp} for float32 as every kernel implementation computes it, built only from operations whose result Java
 * defines to the bit ({@code +}, {@code *}, {@link Math#fma}, comparisons, integer shifts), so it gives the same bits
 * in the interpreter, C1 and C2, on any CPU, and in a scalar loop and a vector lane alike. Neither {@link Math#exp}
 * (which may be a different intrinsic per CPU) nor the Vector API's {@code EXP} (a Java fallback until C2 compiles the
 * caller, a CPU intrinsic afterwards, the two differing in the last place) promises that; kernels that promise
 * "bit-identical whatever the thread split or the JIT's state" use this instead. {@code PanamaMath.exp} is the same
 * sequence of operations on vectors.
 *
 * <p>Method (Cody and Waite's range reduction, then a polynomial): {@code n = round(x / ln 2)}, {@code r = x - n ln 2}
 * in two fused steps (so {@code r} carries {@code ln 2} to 48 bits), {@code exp(r) = 1 + r + r^2 P(r)} on
 * {@code |r| <= ln 2 / 2} with P of degree 5 (Cephes' {@code expf} minimax coefficients), times {@code 2^n} built in the
 * exponent bits. {@code n} is rounded by adding {@code 1.5 * 2^23} (the float that makes the sum's low mantissa bits
 * hold {@code n}), which needs no float-to-int conversion and so no rounding-mode or saturation behaviour that differs
 * between implementations.
 *
 * <p>Accuracy, measured over every float in [-87.3, 88.3] against {@link StrictMath#exp} in double
 * ({@code VectorMathAccuracyTest} checks a sample): within 1 ulp of the correctly rounded result. Outside that range,
 * where {@code 2^n} no longer fits a normal float: 0 below -87.33654 (float32's own {@code exp} would give subnormals,
 * all below 1.2e-38), +inf above 88.37626 (float32's own {@code exp} overflows a little later, at 88.72284). The
 * kernels take {@code exp} of values at most 0 (softmax after subtracting the maximum, {@code -x^2} in erf), where only
 * the subnormal flush applies. NaN gives NaN.
 */
final class Exp {
    /** Below it the result is 0; above it +inf. */
    static final float UNDERFLOW = -87.33654f;
    static final float OVERFLOW = 88.37626f;
    static final float LOG2E = 1.44269504088896341f;
    /** {@code 1.5 * 2^23}: adding it rounds to an integer and leaves that integer in the low mantissa bits. */
    static final float SHIFTER = 0x1.8p23f;
    /** Added to the bits of {@code t = SHIFTER + n}, then shifted into the exponent: {@code 2^n}. */
    static final int EXPONENT_BIAS_MINUS_SHIFTER = 127 - Float.floatToRawIntBits(SHIFTER);
    /** {@code ln 2} split: the float nearest it, and the float nearest the remainder. */
    static final float LN2_HI = 0.693147182f;
    static final float LN2_LO = -1.90465421e-9f;
    static final float P5 = 1.9875691500e-4f;
    static final float P4 = 1.3981999507e-3f;
    static final float P3 = 8.3334519073e-3f;
    static final float P2 = 4.1665795894e-2f;
    static final float P1 = 1.6666665459e-1f;
    static final float P0 = 5.0000001201e-1f;

    /**
     * {@code 2^f = 1 + f Q(f)} on {@code |f| <= 1/2}, Q of degree 5, fitted for this class to the relative error by a
     * linear program over 4000 points; rounded to float, the polynomial is within 9e-9 of {@code 2^f} in exact
     * arithmetic, a seventh of float's half ulp, so the result's error is the Horner steps' rounding.
     */
    static final float Q1 = 0.6931471824645996f;
    static final float Q2 = 0.2402263730764389f;
    static final float Q3 = 0.05550365149974823f;
    static final float Q4 = 0.009620018303394318f;
    static final float Q5 = 0.0013389581581577659f;
    static final float Q6 = 0.00014902518887538463f;
    /** {@code t} below it means {@code n < -126}: {@code 2^n} is no longer a normal float and the result is 0. */
    static final float SHIFTED_UNDERFLOW = SHIFTER - 126f;

    private Exp() {
    }

    /**
     * {@code 2^(d c)} for {@code d c <= 0}: the softmax's exponential {@code exp(scale (x - max))} with {@code d = x -
     * max} and {@code c = scale * log2(e)}, in fewer operations than {@link #exp} of the product. {@code n =
     * round(d c)} by the shifter, then {@code f = d c - n} in one fused step (so the product is never rounded on its
     * own and {@code f} is exact to half an ulp of itself, however large {@code n}), then {@code 2^f} by the polynomial
     * above and {@code 2^n} in the exponent bits. Within 1 ulp of the correctly rounded {@code 2^(d c)} (of the exact
     * product) for results at least 2^-126; 0 below about 2^-126.5 (where {@code n < -126}); 1 exactly for {@code d =
     * 0}; NaN for NaN. Not for positive products (no overflow test). {@code PanamaMath.exp2Product} is the same
     * sequence of operations on vectors.
     */
    static float exp2Product(float d, float c) {
        float t = Math.fma(d, c, SHIFTER);
        float minusN = SHIFTER - t;
        float f = Math.fma(d, c, minusN);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Q6, f, Q5), f, Q4), f, Q3), f, Q2), f, Q1);
        float y = Math.fma(p, f, 1f);
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) + EXPONENT_BIAS_MINUS_SHIFTER) << 23);
        return t < SHIFTED_UNDERFLOW ? 0f : y * scale;
    }

    static float exp(float x) {
        float t = Math.fma(x, LOG2E, SHIFTER);
        float n = t - SHIFTER;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P5, r, P4), r, P3), r, P2), r, P1), r, P0);
        float y = Math.fma(p, r * r, r) + 1f;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) + EXPONENT_BIAS_MINUS_SHIFTER) << 23);
        float e = y * scale;
        e = x < UNDERFLOW ? 0f : e;
        return x > OVERFLOW ? Float.POSITIVE_INFINITY : e;
    }
}
