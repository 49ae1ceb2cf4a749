package dev.hourglass.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels. Loaded only after {@link KernelSupportLookup} has checked that {@code jdk.incubator.vector} is
 * readable, so a JVM started without the module never touches this class.
 *
 * <p>A rule that matters for speed here: a {@link FloatVector} must never cross a call that C2 might not inline (as
 * an argument or a return value), or it is boxed on the heap and the kernel runs several times slower. So tiles are
 * written back inline, not through helper methods.
 */
final class PanamaKernelSupport implements KernelSupport {
    private static final VectorSpecies<Float> S = PanamaSpecies.FLOAT;
    private static final int L = S.length();

    private final GemmTile tile;

    /** The GEMM tile for this machine's vector registers, or {@code -Dhourglass.gemm.tile}'s. */
    PanamaKernelSupport() {
        this(GemmTile.choose(System.getProperty(GemmTile.PROPERTY), PanamaSpecies.vectorRegisters()));
    }

    /** A given GEMM tile (tests build one per shape, whatever the machine). */
    PanamaKernelSupport(GemmTile tile) {
        this.tile = tile;
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String description() {
        return "Vector API, " + S.vectorBitSize() + "-bit (" + L + " floats per vector), GEMM tile " + tile + " ("
                + PanamaSpecies.vectorRegisters() + " vector registers)";
    }

    /** The register tile of the GEMM. */
    GemmTile tile() {
        return tile;
    }

    @Override
    public int panelWidth() {
        return tile.vectors() * L;
    }

    @Override
    public int rowBlock() {
        return tile.rows();
    }

    /** One whole register tile of {@link #tile()}'s shape ({@link GemmTiles}, generated). */
    @Override
    public void gemmTile(float[] a, int aOffset, int lda, float[] b, int bOffset, int kc,
                         float[] c, int cOffset, int ldc, float[] bias, int biasOffset, boolean accumulate) {
        if (tile == GemmTile.R6X3) {
            GemmTiles.tile6x3(a, aOffset, lda, b, bOffset, kc, c, cOffset, ldc, bias, biasOffset, accumulate);
        } else {
            GemmTiles.tile6x2(a, aOffset, lda, b, bOffset, kc, c, cOffset, ldc, bias, biasOffset, accumulate);
        }
    }

    /**
     * Attention's small products. The main tile ({@link GemmTiles}, generated) is 4 rows x 4 vectors (16 accumulators,
     * 21 registers live) when the GEMM tile says 32 registers, 4 x 2 (11) when it says 16; every output is the same
     * FMA chain over k either way.
     */
    @Override
    public void matmul(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                       float[] c, int cOffset, int ldc, boolean accumulate) {
        products(false, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate);
    }

    /** {@link #matmul}'s tiles with A read transposed. */
    @Override
    public void matmulTransposedA(int m, int n, int k, float[] a, int aOffset, int lda, float[] b, int bOffset,
                                  int ldb, float[] c, int cOffset, int ldc, boolean accumulate) {
        products(true, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate);
    }

    private void products(boolean transposedA, int m, int n, int k, float[] a, int aOffset, int lda, float[] b,
                          int bOffset, int ldb, float[] c, int cOffset, int ldc, boolean accumulate) {
        boolean wide = tile == GemmTile.R6X3;
        // A's element (i, p) is at a[aOffset + i * rowStep + p * kStep].
        int rowStep = transposedA ? 1 : lda;
        int kStep = transposedA ? lda : 1;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int ai = aOffset + i * rowStep;
            int ci = cOffset + i * ldc;
            int j = 0;
            if (wide) {
                for (; j + 4 * L <= n; j += 4 * L) {
                    if (transposedA) {
                        GemmTiles.matmulTransposedA4x4(k, a, ai, lda, b, bOffset + j, ldb, c, ci + j, ldc, accumulate);
                    } else {
                        GemmTiles.matmul4x4(k, a, ai, lda, b, bOffset + j, ldb, c, ci + j, ldc, accumulate);
                    }
                }
            } else {
                for (; j + 2 * L <= n; j += 2 * L) {
                    if (transposedA) {
                        GemmTiles.matmulTransposedA4x2(k, a, ai, lda, b, bOffset + j, ldb, c, ci + j, ldc, accumulate);
                    } else {
                        GemmTiles.matmul4x2(k, a, ai, lda, b, bOffset + j, ldb, c, ci + j, ldc, accumulate);
                    }
                }
            }
            for (; j < n; j += L) {
                matmul4x1(k, a, ai, rowStep, kStep, b, bOffset + j, ldb, c, ci + j, ldc, accumulate,
                        S.indexInRange(j, n));
            }
        }
        for (; i < m; i++) {
            for (int j = 0; j < n; j += L) {
                matmul1x1(k, a, aOffset + i * rowStep, kStep, b, bOffset + j, ldb, c, cOffset + i * ldc + j,
                        accumulate, S.indexInRange(j, n));
            }
        }
    }

    /** Four rows by one (possibly partial) vector; A's element (r, p) at {@code a[aOffset + r * rowStep + p * kStep]}. */
    private static void matmul4x1(int k, float[] a, int aOffset, int rowStep, int kStep, float[] b, int bOffset,
                                  int ldb, float[] c, int cOffset, int ldc, boolean accumulate, VectorMask<Float> mask) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bOffset + p * ldb, mask);
            int ap = aOffset + p * kStep;
            c0 = FloatVector.broadcast(S, a[ap]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[ap + rowStep]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[ap + 2 * rowStep]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[ap + 3 * rowStep]).fma(bv, c3);
        }
        if (accumulate) {
            c0 = c0.add(FloatVector.fromArray(S, c, cOffset, mask));
            c1 = c1.add(FloatVector.fromArray(S, c, cOffset + ldc, mask));
            c2 = c2.add(FloatVector.fromArray(S, c, cOffset + 2 * ldc, mask));
            c3 = c3.add(FloatVector.fromArray(S, c, cOffset + 3 * ldc, mask));
        }
        c0.intoArray(c, cOffset, mask);
        c1.intoArray(c, cOffset + ldc, mask);
        c2.intoArray(c, cOffset + 2 * ldc, mask);
        c3.intoArray(c, cOffset + 3 * ldc, mask);
    }

    /** One row by one (possibly partial) vector; A's element p at {@code a[aOffset + p * kStep]}. */
    private static void matmul1x1(int k, float[] a, int aOffset, int kStep, float[] b, int bOffset, int ldb,
                                  float[] c, int cOffset, boolean accumulate, VectorMask<Float> mask) {
        FloatVector acc = FloatVector.zero(S);
        for (int p = 0; p < k; p++) {
            acc = FloatVector.broadcast(S, a[aOffset + p * kStep])
                    .fma(FloatVector.fromArray(S, b, bOffset + p * ldb, mask), acc);
        }
        if (accumulate) {
            acc = acc.add(FloatVector.fromArray(S, c, cOffset, mask));
        }
        acc.intoArray(c, cOffset, mask);
    }

    @Override
    public void layerNorm(float[] x, int xOffset, float[] out, int outOffset, int dim, float[] gamma, float[] beta,
                          float eps) {
        int bound = S.loopBound(dim);
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int i = 0;
        for (; i + 2 * L <= bound; i += 2 * L) {
            s0 = s0.add(FloatVector.fromArray(S, x, xOffset + i));
            s1 = s1.add(FloatVector.fromArray(S, x, xOffset + i + L));
        }
        for (; i < bound; i += L) {
            s0 = s0.add(FloatVector.fromArray(S, x, xOffset + i));
        }
        float sum = PanamaMath.sumLanes(s0.add(s1));
        for (; i < dim; i++) {
            sum += x[xOffset + i];
        }
        float mean = sum / dim;
        FloatVector m = FloatVector.broadcast(S, mean);
        FloatVector q0 = FloatVector.zero(S), q1 = q0;
        i = 0;
        for (; i + 2 * L <= bound; i += 2 * L) {
            FloatVector d0 = FloatVector.fromArray(S, x, xOffset + i).sub(m);
            FloatVector d1 = FloatVector.fromArray(S, x, xOffset + i + L).sub(m);
            q0 = d0.fma(d0, q0);
            q1 = d1.fma(d1, q1);
        }
        for (; i < bound; i += L) {
            FloatVector d0 = FloatVector.fromArray(S, x, xOffset + i).sub(m);
            q0 = d0.fma(d0, q0);
        }
        float sq = PanamaMath.sumLanes(q0.add(q1));
        for (; i < dim; i++) {
            float d = x[xOffset + i] - mean;
            sq += d * d;
        }
        float rstd = (float) (1.0 / Math.sqrt(sq / dim + eps));
        FloatVector r = FloatVector.broadcast(S, rstd);
        i = 0;
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xOffset + i).sub(m).mul(r);
            v.fma(FloatVector.fromArray(S, gamma, i), FloatVector.fromArray(S, beta, i)).intoArray(out, outOffset + i);
        }
        for (; i < dim; i++) {
            out[outOffset + i] = Math.fma((x[xOffset + i] - mean) * rstd, gamma[i], beta[i]);
        }
    }

    @Override
    public void softmax(float[] x, int offset, int length, float scale) {
        // One vector exp in the main loop and the scalar Exp.exp (the same bits) for the tail: a second, masked copy
        // of the vector exp would push C2 past its node budget for inlining, and what is not inlined is boxed.
        int bound = S.loopBound(length);
        FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += L) {
            mv = mv.max(FloatVector.fromArray(S, x, offset + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < length; i++) {
            max = Math.max(max, x[offset + i]);
        }
        FloatVector shift = FloatVector.broadcast(S, max);
        FloatVector sc = FloatVector.broadcast(S, scale);
        FloatVector sv = FloatVector.zero(S);
        for (i = 0; i < bound; i += L) {
            FloatVector e = PanamaMath.exp(FloatVector.fromArray(S, x, offset + i).sub(shift).mul(sc));
            e.intoArray(x, offset + i);
            sv = sv.add(e);
        }
        float sum = PanamaMath.sumLanes(sv);
        for (; i < length; i++) {
            float e = Exp.exp((x[offset + i] - max) * scale);
            x[offset + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        FloatVector iv = FloatVector.broadcast(S, inv);
        for (i = 0; i < bound; i += L) {
            FloatVector.fromArray(S, x, offset + i).mul(iv).intoArray(x, offset + i);
        }
        for (; i < length; i++) {
            x[offset + i] *= inv;
        }
    }

    /**
     * Lane c of a vector is column c: the maxima and sums are lane-wise, with no reduction across lanes. The block's
     * maximum is taken in four chains (a maximum does not depend on the order), the sums in key order. Columns past the
     * last whole vector, and the factors of columns whose maximum grew (rare after the first blocks), use the scalar
     * {@link Exp#exp2Product}, which gives the same bits as the vector one.
     */
    @Override
    public void softmaxBlock(float[] s, int sOffset, int keys, int columns, float scale, float[] bias, int biasOffset,
                             float[] stats, int statsOffset, boolean first) {
        int bound = S.loopBound(columns);
        float expScale = scale;
        if (bias != null) {
            FloatVector sc = FloatVector.broadcast(S, scale);
            for (int k = 0; k < keys; k++) {
                int row = sOffset + k * columns;
                float b = bias[biasOffset + k];
                FloatVector bv = FloatVector.broadcast(S, b);
                int c = 0;
                for (; c < bound; c += L) {
                    FloatVector.fromArray(S, s, row + c).fma(sc, bv).intoArray(s, row + c);
                }
                for (; c < columns; c++) {
                    s[row + c] = Math.fma(s[row + c], scale, b);
                }
            }
            expScale = 1f;
        }
        float log2Scale = expScale * Exp.LOG2E;
        FloatVector es = FloatVector.broadcast(S, log2Scale);
        int maxima = statsOffset;
        int sums = statsOffset + columns;
        int factors = statsOffset + 2 * columns;
        int c = 0;
        for (; c < bound; c += L) {
            FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
            int k = 0;
            for (; k + 4 <= keys; k += 4) {
                int i = sOffset + k * columns + c;
                FloatVector v0 = FloatVector.fromArray(S, s, i);
                FloatVector v1 = FloatVector.fromArray(S, s, i + columns);
                FloatVector v2 = FloatVector.fromArray(S, s, i + 2 * columns);
                FloatVector v3 = FloatVector.fromArray(S, s, i + 3 * columns);
                m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
                m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
                m2 = m2.blend(v2, v2.compare(VectorOperators.GT, m2));
                m3 = m3.blend(v3, v3.compare(VectorOperators.GT, m3));
            }
            for (; k < keys; k++) {
                FloatVector v0 = FloatVector.fromArray(S, s, sOffset + k * columns + c);
                m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
            }
            m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            m2 = m2.blend(m3, m3.compare(VectorOperators.GT, m2));
            FloatVector max = m0.blend(m2, m2.compare(VectorOperators.GT, m0));
            FloatVector previous = max;
            if (!first) {
                previous = FloatVector.fromArray(S, stats, maxima + c);
                max = max.blend(previous, previous.compare(VectorOperators.GT, max));
            }
            FloatVector sum = FloatVector.zero(S);
            for (k = 0; k < keys; k++) {
                int i = sOffset + k * columns + c;
                FloatVector e = PanamaMath.exp2Product(FloatVector.fromArray(S, s, i).sub(max), es);
                e.intoArray(s, i);
                sum = sum.add(e);
            }
            if (first) {
                max.intoArray(stats, maxima + c);
                sum.intoArray(stats, sums + c);
            } else if (max.compare(VectorOperators.GT, previous).anyTrue()) {
                // Some maximum grew: the lanes are finished one by one, the block's maxima and sums going through the
                // factors' and the scratch rows (a vector handed to a method C2 might not inline would be boxed).
                max.intoArray(stats, factors + c);
                sum.intoArray(stats, statsOffset + 3 * columns + c);
                for (int j = c; j < c + L; j++) {
                    ScalarKernelSupport.finishColumn(stats, statsOffset, columns, j, stats[factors + j],
                            stats[statsOffset + 3 * columns + j], log2Scale);
                }
            } else {
                FloatVector.fromArray(S, stats, sums + c).add(sum).intoArray(stats, sums + c);
                FloatVector.broadcast(S, 1f).intoArray(stats, factors + c);
            }
        }
        for (; c < columns; c++) {
            ScalarKernelSupport.softmaxColumn(s, sOffset, keys, columns, c, log2Scale, stats, statsOffset, first);
        }
    }

    @Override
    public void scale(float[] x, int offset, int length, float factor) {
        FloatVector f = FloatVector.broadcast(S, factor);
        int bound = S.loopBound(length);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, offset + i).mul(f).intoArray(x, offset + i);
        }
        for (; i < length; i++) {
            x[offset + i] *= factor;
        }
    }

    @Override
    public void gelu(float[] x, int offset, int length) {
        int bound = S.loopBound(length);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, offset + i);
            FloatVector erf = PanamaMath.erf(v.mul(Erf.INV_SQRT2));
            v.mul(0.5f).mul(erf.add(1f)).intoArray(x, offset + i);
        }
        for (; i < length; i++) {
            x[offset + i] = Erf.gelu(x[offset + i]);
        }
    }

    @Override
    public void addInPlace(float[] x, int xOffset, float[] y, int yOffset, int length) {
        int bound = S.loopBound(length);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xOffset + i).add(FloatVector.fromArray(S, y, yOffset + i))
                    .intoArray(x, xOffset + i);
        }
        for (; i < length; i++) {
            x[xOffset + i] += y[yOffset + i];
        }
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int length) {
        // Two accumulators hide the FMA latency; rows here are ViT widths (192 to 1280), many vectors long.
        int bound2 = length - length % (2 * L);
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        int i = 0;
        for (; i < bound2; i += 2 * L) {
            s0 = FloatVector.fromArray(S, a, aOffset + i).fma(FloatVector.fromArray(S, b, bOffset + i), s0);
            s1 = FloatVector.fromArray(S, a, aOffset + i + L).fma(FloatVector.fromArray(S, b, bOffset + i + L), s1);
        }
        int bound = S.loopBound(length);
        for (; i < bound; i += L) {
            s0 = FloatVector.fromArray(S, a, aOffset + i).fma(FloatVector.fromArray(S, b, bOffset + i), s0);
        }
        float sum = PanamaMath.sumLanes(s0.add(s1));
        for (; i < length; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int length) {
        FloatVector av = FloatVector.broadcast(S, alpha);
        int bound = S.loopBound(length);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xOffset + i).fma(av, FloatVector.fromArray(S, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < length; i++) {
            // Fused like the vector lanes, so a value's result does not depend on whether it fell in the tail.
            y[yOffset + i] = Math.fma(alpha, x[xOffset + i], y[yOffset + i]);
        }
    }
}
