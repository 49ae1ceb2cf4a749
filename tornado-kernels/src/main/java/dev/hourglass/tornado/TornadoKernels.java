package dev.hourglass.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The TornadoVM kernels: plain static methods that TornadoVM compiles to OpenCL C, PTX or SPIR-V. Each takes a
 * {@link KernelContext} and is launched on an explicit grid ({@link TornadoBackend} rounds every global size up to a
 * multiple of the work-group and the kernels guard the overhang, because some OpenCL drivers refuse a global size the
 * local size does not divide). Reductions (LayerNorm, softmax, row norms) are tree reductions in local memory with
 * explicit barriers, not {@code @Reduce}, whose results some drivers get wrong above a few thousand elements.
 *
 * <p>Every kernel computes what the CPU backend's {@link dev.hourglass.kernels.Kernels} computes, in float32, with
 * the same formulas (the same erf approximation for GELU, the same expanded squared distance for Expedit); only the
 * order of additions differs, so results agree to float rounding.
 *
 * <p>Kernels run as written when called from plain Java too (single work-item semantics do not hold there); the
 * tests run them on a device with TornadoVM's fallback to Java disabled.
 */
public final class TornadoKernels {
    /** Side of the GEMM work-group ({@code TILE x TILE} work-items) and the depth of its k tiles. */
    public static final int TILE = 16;
    /** Side of the square block of the GEMM output one work-group computes: 4 x 4 values per work-item. */
    public static final int GEMM_BLOCK = 4 * TILE;
    /** Work-group size of the row kernels (LayerNorm, attention rows, row norms); a power of two. */
    public static final int ROW_GROUP = 128;
    /** Work-group size of the element-wise kernels. */
    public static final int FLAT_GROUP = 64;

    /** Epilogue codes, as {@link dev.hourglass.ops.Epilogue} ordinals. */
    public static final int EPILOGUE_NONE = 0;
    public static final int EPILOGUE_GELU = 1;
    public static final int EPILOGUE_RESIDUAL = 2;
    public static final int EPILOGUE_RELU = 3;

    // Abramowitz and Stegun 7.1.26, as dev.hourglass.kernels.Erf.
    private static final float ERF_P = 0.3275911f;
    private static final float ERF_A1 = 0.254829592f;
    private static final float ERF_A2 = -0.284496736f;
    private static final float ERF_A3 = 1.421413741f;
    private static final float ERF_A4 = -1.453152027f;
    private static final float ERF_A5 = 1.061405429f;
    private static final float INV_SQRT2 = 0.70710678118654752f;
    /** The lowest finite float: a logit whose exponential is 0 against any real maximum. */
    private static final float LOWEST = -3.4028235e38f;

    private TornadoKernels() {
    }

    // ------------------------------------------------------------------ GEMM

    /**
     * {@code c[rows, n] = epilogue(a[rows, k] w[n, k]^T + bias)}, tiled in local memory and in registers: a work-group
     * of {@code TILE x TILE} work-items computes a {@link #GEMM_BLOCK}-square block of the output, each work-item a
     * 4 x 4 grid of it (rows {@code ly + 16 i}, columns {@code lx + 16 j}), from tiles of {@code a} and {@code w}
     * that the group loads into local memory {@link #TILE} values of {@code k} at a time. Grid: x over the output
     * columns, y over the rows, {@code TILE} work-items per {@code GEMM_BLOCK} (rounded up).
     * {@code hasBias} 0 ignores {@code bias}; {@code epilogue} is an {@code EPILOGUE_*} code.
     */
    public static void gemm(KernelContext ctx, FloatArray a, int aOffset, FloatArray w, int wOffset, FloatArray bias,
                            int hasBias, FloatArray c, int cOffset, int rows, int n, int k, int epilogue) {
        int lx = ctx.localIdx;
        int ly = ctx.localIdy;
        int row0 = ctx.groupIdy * GEMM_BLOCK + ly;
        int col0 = ctx.groupIdx * GEMM_BLOCK + lx;
        int tileRow0 = ctx.groupIdy * GEMM_BLOCK;
        int tileCol0 = ctx.groupIdx * GEMM_BLOCK;
        // Each tile is GEMM_BLOCK rows of TILE values of k: every work-item loads 4 of each.
        float[] aTile = ctx.allocateFloatLocalArray(GEMM_BLOCK * TILE);
        float[] wTile = ctx.allocateFloatLocalArray(GEMM_BLOCK * TILE);
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        int steps = (k + TILE - 1) / TILE;
        for (int t = 0; t < steps; t++) {
            int kk0 = t * TILE;
            for (int q = 0; q < 4; q++) {
                int r = ly + 16 * q;
                int kIndex = kk0 + lx;
                float av = 0f;
                if (tileRow0 + r < rows && kIndex < k) {
                    av = a.get(aOffset + (tileRow0 + r) * k + kIndex);
                }
                aTile[r * TILE + lx] = av;
                float wv = 0f;
                if (tileCol0 + r < n && kIndex < k) {
                    wv = w.get(wOffset + (tileCol0 + r) * k + kIndex);
                }
                wTile[r * TILE + lx] = wv;
            }
            ctx.localBarrier();
            for (int kk = 0; kk < TILE; kk++) {
                float a0 = aTile[(ly + 0) * TILE + kk];
                float a1 = aTile[(ly + 16) * TILE + kk];
                float a2 = aTile[(ly + 32) * TILE + kk];
                float a3 = aTile[(ly + 48) * TILE + kk];
                float w0 = wTile[(lx + 0) * TILE + kk];
                float w1 = wTile[(lx + 16) * TILE + kk];
                float w2 = wTile[(lx + 32) * TILE + kk];
                float w3 = wTile[(lx + 48) * TILE + kk];
                c00 += a0 * w0;
                c01 += a0 * w1;
                c02 += a0 * w2;
                c03 += a0 * w3;
                c10 += a1 * w0;
                c11 += a1 * w1;
                c12 += a1 * w2;
                c13 += a1 * w3;
                c20 += a2 * w0;
                c21 += a2 * w1;
                c22 += a2 * w2;
                c23 += a2 * w3;
                c30 += a3 * w0;
                c31 += a3 * w1;
                c32 += a3 * w2;
                c33 += a3 * w3;
            }
            ctx.localBarrier();
        }
        store(c, cOffset, row0 + 0, col0 + 0, rows, n, c00, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 0, col0 + 16, rows, n, c01, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 0, col0 + 32, rows, n, c02, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 0, col0 + 48, rows, n, c03, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 16, col0 + 0, rows, n, c10, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 16, col0 + 16, rows, n, c11, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 16, col0 + 32, rows, n, c12, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 16, col0 + 48, rows, n, c13, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 32, col0 + 0, rows, n, c20, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 32, col0 + 16, rows, n, c21, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 32, col0 + 32, rows, n, c22, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 32, col0 + 48, rows, n, c23, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 48, col0 + 0, rows, n, c30, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 48, col0 + 16, rows, n, c31, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 48, col0 + 32, rows, n, c32, bias, hasBias, epilogue);
        store(c, cOffset, row0 + 48, col0 + 48, rows, n, c33, bias, hasBias, epilogue);
    }

    /** One GEMM output with its bias and epilogue, if it is inside {@code c}. */
    private static void store(FloatArray c, int cOffset, int row, int col, int rows, int n, float value,
                              FloatArray bias, int hasBias, int epilogue) {
        if (row < rows && col < n) {
            float v = value;
            if (hasBias != 0) {
                v += bias.get(col);
            }
            int o = cOffset + row * n + col;
            if (epilogue == EPILOGUE_GELU) {
                v = gelu(v);
            }
            if (epilogue == EPILOGUE_RESIDUAL) {
                v += c.get(o);
            }
            if (epilogue == EPILOGUE_RELU) {
                v = v > 0f ? v : 0f;
            }
            c.set(o, v);
        }
    }

    /** Exact-erf GELU with the CPU kernels' erf approximation. */
    public static float gelu(float x) {
        float z = x * INV_SQRT2;
        float az = Math.abs(z);
        float t = 1f / (1f + ERF_P * az);
        float poly = ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t;
        float e = 1f - poly * TornadoMath.exp(-az * az);
        if (z < 0f) {
            e = -e;
        }
        return 0.5f * x * (1f + e);
    }

    // ------------------------------------------------------------------ row reductions

    /**
     * LayerNorm of each row of {@code dim} values: one work-group of {@link #ROW_GROUP} per row, mean then the
     * variance of the centred values, each a tree reduction in local memory. {@code out} may be {@code x}.
     */
    public static void layerNorm(KernelContext ctx, FloatArray x, FloatArray out, FloatArray gamma, FloatArray beta,
                                 int dim, float eps) {
        int lid = ctx.localIdx;
        int base = ctx.groupIdx * dim;
        float[] partial = ctx.allocateFloatLocalArray(ROW_GROUP);
        float sum = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            sum += x.get(base + i);
        }
        partial[lid] = sum;
        ctx.localBarrier();
        for (int s = ROW_GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            ctx.localBarrier();
        }
        float mean = partial[0] / dim;
        ctx.localBarrier();
        float sq = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            float d = x.get(base + i) - mean;
            sq += d * d;
        }
        partial[lid] = sq;
        ctx.localBarrier();
        for (int s = ROW_GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            ctx.localBarrier();
        }
        float rstd = 1f / TornadoMath.sqrt(partial[0] / dim + eps);
        for (int i = lid; i < dim; i += ROW_GROUP) {
            out.set(base + i, (x.get(base + i) - mean) * rstd * gamma.get(i) + beta.get(i));
        }
    }

    /** Divides each row of {@code dim} values at {@code offset} by its L2 norm: one work-group per row. */
    public static void normalizeRows(KernelContext ctx, FloatArray x, int offset, int dim) {
        int lid = ctx.localIdx;
        int base = offset + ctx.groupIdx * dim;
        float[] partial = ctx.allocateFloatLocalArray(ROW_GROUP);
        float sq = 0f;
        for (int i = lid; i < dim; i += ROW_GROUP) {
            float v = x.get(base + i);
            sq += v * v;
        }
        partial[lid] = sq;
        ctx.localBarrier();
        for (int s = ROW_GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            ctx.localBarrier();
        }
        float inv = 1f / TornadoMath.sqrt(partial[0]);
        for (int i = lid; i < dim; i += ROW_GROUP) {
            x.set(base + i, x.get(base + i) * inv);
        }
    }

    // ------------------------------------------------------------------ attention

    /**
     * Softmax attention for one query row per work-group: group {@code (b * heads + h) * tokens + i}. The scores of
     * the row go to {@code scores} (one row of {@code tokens} per group), the softmax takes the row maximum and sum as
     * tree reductions in local memory, then each work-item produces output channels of the head.
     */
    public static void attention(KernelContext ctx, FloatArray qkv, FloatArray out, FloatArray scores, int tokens,
                                 int heads, int headDim, float scale) {
        int lid = ctx.localIdx;
        int group = ctx.groupIdx;
        int i = group % tokens;
        int bh = group / tokens;
        int h = bh % heads;
        int b = bh / heads;
        int width = heads * headDim;
        int stride = 3 * width;
        int q = (b * tokens + i) * stride + h * headDim;
        int kBase = b * tokens * stride + width + h * headDim;
        int vBase = b * tokens * stride + 2 * width + h * headDim;
        int sBase = group * tokens;
        float[] partial = ctx.allocateFloatLocalArray(ROW_GROUP);

        float max = -3.4028235e38f;
        for (int j = lid; j < tokens; j += ROW_GROUP) {
            int kj = kBase + j * stride;
            float s = 0f;
            for (int d = 0; d < headDim; d++) {
                s += qkv.get(q + d) * qkv.get(kj + d);
            }
            s *= scale;
            scores.set(sBase + j, s);
            max = Math.max(max, s);
        }
        partial[lid] = max;
        ctx.localBarrier();
        for (int s = ROW_GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) {
                partial[lid] = Math.max(partial[lid], partial[lid + s]);
            }
            ctx.localBarrier();
        }
        float rowMax = partial[0];
        ctx.localBarrier();
        float sum = 0f;
        for (int j = lid; j < tokens; j += ROW_GROUP) {
            float e = TornadoMath.exp(scores.get(sBase + j) - rowMax);
            scores.set(sBase + j, e);
            sum += e;
        }
        partial[lid] = sum;
        ctx.globalBarrier();
        for (int s = ROW_GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            ctx.localBarrier();
        }
        float inv = 1f / partial[0];
        int o = (b * tokens + i) * width + h * headDim;
        for (int d = lid; d < headDim; d += ROW_GROUP) {
            float acc = 0f;
            for (int j = 0; j < tokens; j++) {
                acc += scores.get(sBase + j) * qkv.get(vBase + j * stride + d);
            }
            out.set(o + d, acc * inv);
        }
    }

    // ------------------------------------------------------------------ element-wise and layout

    /** Image {@code [batch, channels, height, width]} to patch rows ordered (channel, y, x); one item per value. */
    public static void patchify(KernelContext ctx, FloatArray images, FloatArray patches, int channels, int height,
                                int width, int patch, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int rowLength = channels * patch * patch;
            int gh = height / patch;
            int gw = width / patch;
            int r = idx / rowLength;
            int e = idx % rowLength;
            int c = e / (patch * patch);
            int y = (e / patch) % patch;
            int x = e % patch;
            int b = r / (gh * gw);
            int py = (r / gw) % gh;
            int px = r % gw;
            patches.set(idx, images.get(((b * channels + c) * height + py * patch + y) * width + px * patch + x));
        }
    }

    /** Prefix rows then patch embeddings, plus the position embedding; one item per output value. */
    public static void embedTokens(KernelContext ctx, FloatArray embeddings, FloatArray prefix, FloatArray positions,
                                   FloatArray out, int prefixCount, int patches, int dim, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int tokens = prefixCount + patches;
            int i = idx % dim;
            int t = (idx / dim) % tokens;
            int b = idx / (dim * tokens);
            float v;
            if (t < prefixCount) {
                v = prefix.get(t * dim + i);
            } else {
                v = embeddings.get((b * patches + t - prefixCount) * dim + i);
            }
            out.set(idx, v + positions.get(t * dim + i));
        }
    }

    /** {@code dst[r] = src[rows[r]]} for rows of {@code dim} values. */
    public static void gatherRows(KernelContext ctx, FloatArray src, IntArray rows, FloatArray dst, int dim,
                                  int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            dst.set(idx, src.get(rows.get(idx / dim) * dim + idx % dim));
        }
    }

    /** {@code x = (x + y) * scale}. */
    public static void addScaled(KernelContext ctx, FloatArray x, FloatArray y, float scale, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            x.set(idx, (x.get(idx) + y.get(idx)) * scale);
        }
    }

    /** {@code dst[dstOffset + i] = src[srcOffset + i]}. */
    public static void copy(KernelContext ctx, FloatArray src, int srcOffset, FloatArray dst, int dstOffset,
                            int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            dst.set(dstOffset + idx, src.get(srcOffset + idx));
        }
    }

    // ------------------------------------------------------------------ channels-last feature maps
    // (A kernel's side is a parameter named "side": "kernel" is an OpenCL C keyword, and TornadoVM keeps the names.)

    /**
     * Window rows {@code [fromRow, fromRow + total / rowLength)} of a convolution over an NHWC input, as
     * {@code dev.hourglass.ops.Conv2d#windows} writes them ({@code (ky, kx, c)} within a row, zeros outside the input),
     * to {@code dst} from {@code dstOffset}; one item per window value.
     */
    public static void im2col(KernelContext ctx, FloatArray src, FloatArray dst, int dstOffset, int fromRow,
                              int height, int width, int channels, int side, int stride, int padTop, int padLeft,
                              int outWidth, int outPixels, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int run = side * channels;
            int len = side * run;
            int r = fromRow + idx / len;
            int e = idx % len;
            int ky = e / run;
            int kx = (e % run) / channels;
            int c = e % channels;
            int b = r / outPixels;
            int pos = r % outPixels;
            int y = (pos / outWidth) * stride - padTop + ky;
            int x = (pos % outWidth) * stride - padLeft + kx;
            float v = 0f;
            if (y >= 0 && y < height && x >= 0 && x < width) {
                v = src.get(((b * height + y) * width + x) * channels + c);
            }
            dst.set(dstOffset + idx, v);
        }
    }

    /** {@code dst[i] = max(src[i], 0)}; {@code dst} may be {@code src}. */
    public static void relu(KernelContext ctx, FloatArray src, FloatArray dst, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            dst.set(idx, Math.max(src.get(idx), 0f));
        }
    }

    /** Row {@code r} of {@code cols} floats from {@code srcOffset + r * srcStride} to {@code dstOffset + r * dstStride}. */
    public static void copy2d(KernelContext ctx, FloatArray src, int srcOffset, int srcStride, FloatArray dst,
                              int dstOffset, int dstStride, int cols, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int r = idx / cols;
            int c = idx % cols;
            dst.set(dstOffset + r * dstStride + c, src.get(srcOffset + r * srcStride + c));
        }
    }

    /**
     * PyTorch's bilinear {@code interpolate} over NHWC, with the CPU kernel's float32 formulas: the source coordinate
     * is {@code scale * i} ({@code align != 0}) or {@code max(scale * (i + 0.5) - 0.5, 0)}, its integer part (at most
     * the last index) and fraction weigh two neighbours. One item per output value.
     */
    public static void resizeBilinear(KernelContext ctx, FloatArray src, FloatArray dst, int height, int width,
                                      int channels, int outHeight, int outWidth, float scaleY, float scaleX,
                                      int align, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int c = idx % channels;
            int ox = (idx / channels) % outWidth;
            int oy = (idx / (channels * outWidth)) % outHeight;
            int b = idx / (channels * outWidth * outHeight);
            float ry = scaleY * oy;
            float rx = scaleX * ox;
            if (align == 0) {
                ry = Math.max(scaleY * (oy + 0.5f) - 0.5f, 0f);
                rx = Math.max(scaleX * (ox + 0.5f) - 0.5f, 0f);
            }
            int y0 = Math.min((int) ry, height - 1);
            int x0 = Math.min((int) rx, width - 1);
            int y1 = Math.min(y0 + 1, height - 1);
            int x1 = Math.min(x0 + 1, width - 1);
            float h1 = Math.min(Math.max(ry - y0, 0f), 1f);
            float w1 = Math.min(Math.max(rx - x0, 0f), 1f);
            float h0 = 1f - h1;
            float w0 = 1f - w1;
            int row0 = (b * height + y0) * width;
            int row1 = (b * height + y1) * width;
            float top = w0 * src.get((row0 + x0) * channels + c) + w1 * src.get((row0 + x1) * channels + c);
            float bottom = w0 * src.get((row1 + x0) * channels + c) + w1 * src.get((row1 + x1) * channels + c);
            dst.set(idx, h0 * top + h1 * bottom);
        }
    }

    /**
     * A transposed convolution's product rows to their output cells ({@code kernel == stride}): product row
     * {@code p} (input pixel {@code firstPixel + p} of rows {@code width} wide) holds its {@code side x side}
     * cells {@code (ky, kx, o)}; cell {@code (ky, kx)} lands at output {@code (y * side + ky, x * side + kx)}.
     * One item per product value.
     */
    public static void scatterBlocks(KernelContext ctx, FloatArray product, FloatArray dst, int firstPixel,
                                     int width, int side, int outChannels, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int run = side * outChannels;
            int cells = side * run;
            int pixel = firstPixel + idx / cells;
            int e = idx % cells;
            int ky = e / run;
            int q = pixel / width;
            int x = pixel % width;
            dst.set(((q * side + ky) * width * side + x * side) * outChannels + e % run, product.get(idx));
        }
    }

    /** {@code out[r] = |a[offset + r * dim ...]|²}, one item per row (the rows are short and few). */
    public static void rowSquares(KernelContext ctx, FloatArray a, int offset, int dim, FloatArray out, int rows) {
        int r = ctx.globalIdx;
        if (r < rows) {
            float s = 0f;
            int base = offset + r * dim;
            for (int i = 0; i < dim; i++) {
                float v = a.get(base + i);
                s += v * v;
            }
            out.set(r, s);
        }
    }

    // ------------------------------------------------------------------ Expedit: token clustering

    /**
     * Average pooling of the {@code gh x gw} token grid to {@code h x w} cells with PyTorch's
     * {@code adaptive_avg_pool2d} bins {@code [floor(i*gh/h), ceil((i+1)*gh/h))}; one item per centre value.
     */
    public static void averagePool(KernelContext ctx, FloatArray x, int xOffset, int gh, int gw, int dim, int h,
                                   int w, FloatArray out, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int ch = idx % dim;
            int cell = idx / dim;
            int i = cell / w;
            int j = cell % w;
            int y0 = i * gh / h;
            int y1 = ((i + 1) * gh + h - 1) / h;
            int x0 = j * gw / w;
            int x1 = ((j + 1) * gw + w - 1) / w;
            float s = 0f;
            for (int y = y0; y < y1; y++) {
                for (int xi = x0; xi < x1; xi++) {
                    s += x.get(xOffset + (y * gw + xi) * dim + ch);
                }
            }
            out.set(idx, s / ((y1 - y0) * (x1 - x0)));
        }
    }

    /**
     * Soft assignment of each token over the {@code (2r+1)²} cells around its starting cell {@code cellOf[t]}:
     * {@code softmax(-τ d²)} with {@code d² = (|x|² + |s|²) - 2 x·s}, cells outside the grid at zero. One item per
     * token; {@code affinity} holds {@code (2r+1)²} slots per token.
     */
    public static void clusterAffinity(KernelContext ctx, FloatArray x, int xOffset, FloatArray xx, FloatArray s,
                                       FloatArray ss, IntArray cellOf, FloatArray affinity, int n, int dim, int h,
                                       int w, int r, float tau) {
        int t = ctx.globalIdx;
        if (t < n) {
            int side = 2 * r + 1;
            int slots = side * side;
            int cell = cellOf.get(t);
            int ci = cell / w;
            int cj = cell % w;
            int base = t * slots;
            // Branches carry no stores (one store per slot after the branch): TornadoVM 5.2's OpenCL code generator
            // mis-emits an else branch that stores inside these unrolled loops. A cell outside the grid gets the
            // lowest float as its logit, whose exponential below is exactly 0.
            float max = LOWEST;
            for (int dy = -r; dy <= r; dy++) {
                for (int dx = -r; dx <= r; dx++) {
                    int si = ci + dy;
                    int sj = cj + dx;
                    float logit = LOWEST;
                    if (si >= 0 && si < h && sj >= 0 && sj < w) {
                        int c = si * w + sj;
                        float dot = 0f;
                        for (int i = 0; i < dim; i++) {
                            dot += s.get(c * dim + i) * x.get(xOffset + t * dim + i);
                        }
                        float d = (xx.get(t) + ss.get(c)) - 2f * dot;
                        logit = -d * tau;
                    }
                    affinity.set(base + (dy + r) * side + dx + r, logit);
                    max = Math.max(max, logit);
                }
            }
            float sum = 0f;
            for (int j = base; j < base + slots; j++) {
                float e = TornadoMath.exp(affinity.get(j) - max);
                affinity.set(j, e);
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = base; j < base + slots; j++) {
                affinity.set(j, affinity.get(j) * inv);
            }
        }
    }

    /**
     * New centres: each centre value is the affinity-weighted mean of the tokens whose window holds the centre
     * (tokens listed per starting cell in {@code cellTokens[cellStart[c] .. cellStart[c+1])}), the mass clamped at
     * 1e-16 as in the original. One item per centre value.
     */
    public static void clusterUpdate(KernelContext ctx, FloatArray x, int xOffset, FloatArray affinity,
                                     IntArray cellStart, IntArray cellTokens, FloatArray next, int dim, int h, int w,
                                     int r, int total) {
        int idx = ctx.globalIdx;
        if (idx < total) {
            int ch = idx % dim;
            int c = idx / dim;
            int si = c / w;
            int sj = c % w;
            int side = 2 * r + 1;
            int slots = side * side;
            float acc = 0f;
            float mass = 0f;
            for (int ci = Math.max(0, si - r); ci <= Math.min(h - 1, si + r); ci++) {
                for (int cj = Math.max(0, sj - r); cj <= Math.min(w - 1, sj + r); cj++) {
                    int cell = ci * w + cj;
                    int slot = (si - ci + r) * side + (sj - cj + r);
                    for (int q = cellStart.get(cell); q < cellStart.get(cell + 1); q++) {
                        int t = cellTokens.get(q);
                        float a = affinity.get(t * slots + slot);
                        acc += a * x.get(xOffset + t * dim + ch);
                        mass += a;
                    }
                }
            }
            next.set(idx, acc / Math.max(mass, 1e-16f));
        }
    }

    /** Each token's nearest centre over all of them (first index on ties, as {@code torch.argmin}). */
    public static void hardLabels(KernelContext ctx, FloatArray x, int xOffset, FloatArray xx, FloatArray s,
                                  FloatArray ss, IntArray labels, int n, int m, int dim) {
        int t = ctx.globalIdx;
        if (t < n) {
            int best = 0;
            float bestD = 3.4028235e38f;
            for (int c = 0; c < m; c++) {
                float dot = 0f;
                for (int i = 0; i < dim; i++) {
                    dot += x.get(xOffset + t * dim + i) * s.get(c * dim + i);
                }
                float d = (xx.get(t) + ss.get(c)) - 2f * dot;
                if (d < bestD) {
                    bestD = d;
                    best = c;
                }
            }
            labels.set(t, best);
        }
    }

    // ------------------------------------------------------------------ Expedit: token reconstruction

    /**
     * Turns a token's row of dot products with the centres ({@code weights[t, m]}, from {@link #gemm}) into its
     * reconstruction weights: {@code exp(-τ d²)}, cut to the {@code topK} largest (ties at the threshold kept, as
     * {@code min(topk)} does; {@code topK <= 0} or {@code >= m} keeps all), divided by their L2 norm clamped at 1e-12.
     * The threshold is found in at most {@code topK} passes over the row, each taking the next smaller distinct value
     * and counting its repeats. One item per token.
     */
    public static void reconstructionWeights(KernelContext ctx, FloatArray weights, FloatArray ff, FloatArray gg,
                                             int n, int m, int topK, float negTau) {
        int t = ctx.globalIdx;
        if (t < n) {
            int row = t * m;
            for (int c = 0; c < m; c++) {
                float d = (ff.get(t) + gg.get(c)) - 2f * weights.get(row + c);
                weights.set(row + c, TornadoMath.exp(negTau * d));
            }
            float threshold = -1f;
            if (topK > 0 && topK < m) {
                float bound = 3.4028235e38f;
                int counted = 0;
                boolean first = true;
                while (counted < topK) {
                    float next = -1f;
                    for (int c = 0; c < m; c++) {
                        float v = weights.get(row + c);
                        boolean below = first ? v <= bound : v < bound;
                        if (below && v > next) {
                            next = v;
                        }
                    }
                    int repeats = 0;
                    for (int c = 0; c < m; c++) {
                        if (weights.get(row + c) == next) {
                            repeats++;
                        }
                    }
                    if (repeats == 0) {
                        break; // NaN weights: nothing left to count
                    }
                    counted += repeats;
                    bound = next;
                    first = false;
                    threshold = next;
                }
            }
            float squares = 0f;
            for (int c = 0; c < m; c++) {
                float v = weights.get(row + c);
                float kept = v >= threshold ? v : 0f; // no store in a branch (see clusterAffinity)
                weights.set(row + c, kept);
                squares += kept * kept;
            }
            float inv = 1f / Math.max(TornadoMath.sqrt(squares), 1e-12f);
            for (int c = 0; c < m; c++) {
                weights.set(row + c, weights.get(row + c) * inv);
            }
        }
    }

    /**
     * {@code out[t, ch] = Σ_c weights[t, c] values[c, ch]}, skipping zero weights; grid x over channels, y over
     * tokens, each rounded up to {@link #TILE}.
     */
    public static void weightedSum(KernelContext ctx, FloatArray weights, FloatArray values, int valuesOffset,
                                   FloatArray out, int outOffset, int n, int m, int channels) {
        int ch = ctx.globalIdx;
        int t = ctx.globalIdy;
        if (t < n && ch < channels) {
            float acc = 0f;
            for (int c = 0; c < m; c++) {
                float v = weights.get(t * m + c);
                if (v != 0f) {
                    acc += v * values.get(valuesOffset + c * channels + ch);
                }
            }
            out.set(outOffset + t * channels + ch, acc);
        }
    }
}
