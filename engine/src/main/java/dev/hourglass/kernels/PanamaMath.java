package dev.hourglass.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector math whose result does not depend on the JIT's state: the same bits in the interpreter (where the Vector API
 * runs its Java fallback), in C1 and in C2 (where it runs CPU instructions). Two Vector API operations break that
 * promise and are not used by the kernels: {@code lanewise(EXP)}, a Java fallback that calls {@link Math#exp} until C2
 * compiles the caller and a CPU intrinsic afterwards, and {@code reduceLanes(ADD)}, which adds the lanes one after the
 * other in the fallback and in a tree in C2. Everything here is built from lane-wise {@code +}, {@code *},
 * {@code fma}, min/max, shifts and lane permutations, which Java defines to the bit.
 *
 * <p>Small static methods: C2 inlines them into the kernels' loops, so the vectors they take and return are never
 * boxed (the rule in {@link PanamaKernelSupport}).
 */
final class PanamaMath {
    private static final VectorSpecies<Float> S = PanamaSpecies.FLOAT;
    private static final int L = S.length();
    /** Lane {@code i} reads lane {@code i ^ d}: each step of the tree adds lanes {@code d} apart. */
    private static final VectorShuffle<Float> SWAP8 = VectorShuffle.fromOp(S, i -> L >= 16 ? i ^ 8 : i);
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(S, i -> L >= 8 ? i ^ 4 : i);
    private static final VectorMask<Float> HAS8 = VectorMask.fromLong(S, L >= 16 ? -1L : 0L);
    private static final VectorMask<Float> HAS4 = VectorMask.fromLong(S, L >= 8 ? -1L : 0L);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(S, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(S, i -> i ^ 1);

    private PanamaMath() {
    }

    /**
     * The sum of the lanes in a fixed pairwise order (lanes {@code L/2} apart first, then {@code L/4}, ..., then
     * neighbours), the same in every JIT tier. For a given vector width the order is fixed; a 256-bit and a 512-bit run
     * still differ, as they add different partial sums.
     *
     * <p>Made of methods under 35 bytecodes (C2's limit for inlining at a call site it deems cold: the kernels call
     * this once per row), since a vector passed to a call that is not inlined is boxed on the heap. The first two steps
     * are masked: at widths below 16 (or 8) lanes their mask is empty and they add zeros, which changes nothing.
     */
    static float sumLanes(FloatVector v) {
        return foldNarrow(foldWide(v)).lane(0);
    }

    private static FloatVector foldWide(FloatVector v) {
        return fold(fold(v, SWAP8, HAS8), SWAP4, HAS4);
    }

    private static FloatVector foldNarrow(FloatVector v) {
        return fold(fold(v, SWAP2), SWAP1);
    }

    private static FloatVector fold(FloatVector v, VectorShuffle<Float> s, VectorMask<Float> m) {
        return v.add(v.rearrange(s, m));
    }

    private static FloatVector fold(FloatVector v, VectorShuffle<Float> s) {
        return v.add(v.rearrange(s));
    }

    /** {@link Exp#exp} on every lane: the same operations, so each lane equals the scalar result bit for bit. */
    static FloatVector exp(FloatVector x) {
        FloatVector t = x.fma(Exp.LOG2E, Exp.SHIFTER);
        FloatVector n = t.sub(Exp.SHIFTER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -Exp.LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -Exp.LN2_LO), r);
        FloatVector p = r.fma(Exp.P5, Exp.P4);
        p = p.fma(r, FloatVector.broadcast(S, Exp.P3));
        p = p.fma(r, FloatVector.broadcast(S, Exp.P2));
        p = p.fma(r, FloatVector.broadcast(S, Exp.P1));
        p = p.fma(r, FloatVector.broadcast(S, Exp.P0));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        FloatVector scale = t.reinterpretAsInts().add(Exp.EXPONENT_BIAS_MINUS_SHIFTER)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale).blend(0f, x.lt(Exp.UNDERFLOW))
                .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, Exp.OVERFLOW));
    }

    /**
     * {@link Exp#exp2Product} on every lane, {@code c} shared: the same operations, so each lane equals the scalar
     * result bit for bit.
     */
    static FloatVector exp2Product(FloatVector d, FloatVector c) {
        FloatVector t = d.fma(c, FloatVector.broadcast(S, Exp.SHIFTER));
        FloatVector f = d.fma(c, FloatVector.broadcast(S, Exp.SHIFTER).sub(t));
        FloatVector p = f.fma(Exp.Q6, Exp.Q5);
        p = p.fma(f, FloatVector.broadcast(S, Exp.Q4));
        p = p.fma(f, FloatVector.broadcast(S, Exp.Q3));
        p = p.fma(f, FloatVector.broadcast(S, Exp.Q2));
        p = p.fma(f, FloatVector.broadcast(S, Exp.Q1));
        FloatVector y = p.fma(f, FloatVector.broadcast(S, 1f));
        FloatVector scale = t.reinterpretAsInts().add(Exp.EXPONENT_BIAS_MINUS_SHIFTER)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale).blend(0f, t.lt(Exp.SHIFTED_UNDERFLOW));
    }

    /** {@link Erf#erf} on every lane, with the same operations. */
    static FloatVector erf(FloatVector z) {
        FloatVector az = z.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(az.fma(Erf.P, 1f));
        FloatVector poly = t.fma(Erf.A5, Erf.A4);
        poly = poly.fma(t, FloatVector.broadcast(S, Erf.A3));
        poly = poly.fma(t, FloatVector.broadcast(S, Erf.A2));
        poly = poly.fma(t, FloatVector.broadcast(S, Erf.A1)).mul(t);
        FloatVector e = exp(az.mul(az).neg());
        FloatVector erfAbs = poly.neg().fma(e, FloatVector.broadcast(S, 1f));
        return erfAbs.blend(erfAbs.neg(), z.lt(0f));
    }
}
