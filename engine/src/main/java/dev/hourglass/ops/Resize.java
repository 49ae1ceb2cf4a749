package dev.hourglass.ops;

import java.util.Locale;

import dev.hourglass.kernels.ComputePool;

/**
 * Resizing of planar images ({@code [channels, height, width]}) as PyTorch's {@code F.interpolate} computes it with
 * {@code align_corners=False}: bilinear or bicubic, with or without {@code antialias}. Position embeddings are resized
 * with it (timm's {@code resample_abs_pos_embed} uses bicubic with antialias; DPT's uses bilinear without).
 *
 * <p>Both passes are separable: every output pixel is a weighted sum over a few input pixels along each axis, with
 * weights that depend only on the output index. What differs between the modes is how those weights are found:
 * <ul>
 *   <li>Without antialias, the source coordinate is {@code (i + 0.5) * in / out - 0.5}; bicubic takes the four
 *       neighbours with Keys' kernel at {@code a = -0.75}, indices clamped to the border; bilinear clamps the
 *       coordinate at 0 and takes two neighbours.
 *   <li>With antialias (PyTorch's {@code _upsample_*_aa}, which follows Pillow), the kernel is stretched by the
 *       downscaling factor, centred at {@code (i + 0.5) * in / out}, truncated at the borders and renormalised; bicubic
 *       then uses {@code a = -0.5}.
 * </ul>
 * Weights are computed in float32 as PyTorch does for float32 inputs. Stateless and thread-safe.
 */
public final class Resize {

    /** Interpolation kernels. */
    public enum Mode {
        BILINEAR, BICUBIC;

        /** Parses {@code "bilinear"} or {@code "bicubic"} (any case). */
        public static Mode parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "bilinear", "linear" -> BILINEAR;
                case "bicubic", "cubic" -> BICUBIC;
                default -> throw new IllegalArgumentException("unknown interpolation \"" + name
                        + "\"; expected bilinear or bicubic");
            };
        }
    }

    private Resize() {
    }

    /** Resizes {@code channels} planes of {@code inH x inW} to {@code outH x outW}. */
    public static float[] resize(float[] src, int channels, int inH, int inW, int outH, int outW, Mode mode,
                                 boolean antialias) {
        return resize(src, channels, inH, inW, outH, outW, mode, antialias, null);
    }

    /**
     * {@link #resize(float[], int, int, int, int, int, Mode, boolean)} with the planes shared out over {@code pool}'s
     * threads (null: this thread). Each plane is computed by one task in the same order, so the result does not depend
     * on the threads.
     */
    public static float[] resize(float[] src, int channels, int inH, int inW, int outH, int outW, Mode mode,
                                 boolean antialias, ComputePool pool) {
        checkArguments(src, channels, 0, inH, inW, outH, outW);
        Axis horizontal = Axis.of(inW, outW, mode, antialias);
        Axis vertical = Axis.of(inH, outH, mode, antialias);
        float[] rows = new float[channels * inH * outW];
        float[] out = new float[channels * outH * outW];
        ComputePool.Body plane = (c, worker) -> {
            for (int y = 0; y < inH; y++) {
                horizontal.apply(src, (c * inH + y) * inW, 1, rows, (c * inH + y) * outW, 1);
            }
            vertical.applyToRows(rows, c * inH * outW, out, c * outH * outW, outW);
        };
        if (pool == null) {
            for (int c = 0; c < channels; c++) {
                plane.run(c, 0);
            }
        } else {
            pool.parallelFor(channels, plane);
        }
        return out;
    }

    /**
     * The index of the largest of the {@code channels} planes at each pixel of their resize to {@code outH x outW}:
     * {@code argmax_c resize(src)[c, y, x]}, ties to the lowest channel as {@code torch.argmax} breaks them, without
     * ever holding the resized planes ({@code channels x outH x outW} floats: 48 GB for 150 classes at 9000 x 9000).
     * Output rows are shared out over {@code pool}'s threads (null: this thread) in bands; each keeps the horizontally
     * resized input rows its output rows weigh, per channel, and sums them in the order {@link #resize} does, so every
     * compared value is the bit of {@code resize}'s output and the labels do not depend on the threads.
     *
     * @return {@code outH * outW} channel indices, row-major
     */
    public static int[] argmax(float[] src, int channels, int inH, int inW, int outH, int outW, Mode mode,
                               boolean antialias, ComputePool pool) {
        checkArguments(src, channels, 1, inH, inW, outH, outW);
        Axis horizontal = Axis.of(inW, outW, mode, antialias);
        Axis vertical = Axis.of(inH, outH, mode, antialias);
        int[] labels = new int[Math.multiplyExact(outH, outW)];
        int bands = pool == null ? 1 : Math.min(outH, 4 * pool.threads());
        ComputePool.Body band = (b, worker) -> {
            int y0 = (int) ((long) outH * b / bands);
            int y1 = (int) ((long) outH * (b + 1) / bands);
            // Per channel, the horizontal pass of the input rows last used (input row index per slot).
            int taps = vertical.maxTaps();
            float[] rows = new float[channels * taps * outW];
            int[] rowOf = new int[channels * taps];
            java.util.Arrays.fill(rowOf, -1);
            float[] value = new float[outW];
            float[] best = new float[outW];
            for (int y = y0; y < y1; y++) {
                int o = y * outW;
                for (int c = 0; c < channels; c++) {
                    java.util.Arrays.fill(value, 0f);
                    float[] w = vertical.weights[y];
                    for (int j = 0; j < w.length; j++) {
                        int r = Math.min(Math.max(vertical.first[y] + j, 0), inH - 1);
                        int slot = c * taps + r % taps;
                        if (rowOf[slot] != r) {
                            horizontal.apply(src, (c * inH + r) * inW, 1, rows, slot * outW, 1);
                            rowOf[slot] = r;
                        }
                        float wj = w[j];
                        int s = slot * outW;
                        for (int x = 0; x < outW; x++) {
                            value[x] += wj * rows[s + x];
                        }
                    }
                    if (c == 0) {
                        System.arraycopy(value, 0, best, 0, outW);
                        continue;
                    }
                    for (int x = 0; x < outW; x++) {
                        if (value[x] > best[x]) {
                            best[x] = value[x];
                            labels[o + x] = c;
                        }
                    }
                }
            }
        };
        if (pool == null) {
            band.run(0, 0);
        } else {
            pool.parallelFor(bands, band);
        }
        return labels;
    }

    private static void checkArguments(float[] src, int channels, int minChannels, int inH, int inW, int outH,
                                       int outW) {
        if (channels < minChannels || inH < 1 || inW < 1 || outH < 1 || outW < 1) {
            throw new IllegalArgumentException("bad resize " + channels + "x" + inH + "x" + inW + " -> " + outH + "x"
                    + outW);
        }
        java.util.Objects.requireNonNull(src, "src");
        if ((long) channels * inH * inW > src.length) {
            throw new IndexOutOfBoundsException("src: " + (long) channels * inH * inW + " values do not fit in an array"
                    + " of " + src.length);
        }
    }

    /** Per output index along one axis: the first input index and the weights of consecutive inputs. */
    private record Axis(int[] first, float[][] weights, int inSize) {

        static Axis of(int in, int out, Mode mode, boolean antialias) {
            return antialias ? antialiased(in, out, mode) : interpolating(in, out, mode);
        }

        /**
         * {@link #apply} along the rows of a plane ({@code width} values each) for every column at once: output row
         * {@code i} accumulates the weighted input rows in the same order as {@code apply} sums one column, so the
         * results are the same bits, read and written row by row instead of down columns (which a wide plane's
         * stride makes a cache miss per value). {@code dst} must be zero there.
         */
        /** The most consecutive inputs any output index weighs. */
        int maxTaps() {
            int taps = 1;
            for (float[] w : weights) {
                taps = Math.max(taps, w.length);
            }
            return taps;
        }

        void applyToRows(float[] src, int srcOffset, float[] dst, int dstOffset, int width) {
            for (int i = 0; i < first.length; i++) {
                float[] w = weights[i];
                int start = first[i];
                int o = dstOffset + i * width;
                for (int j = 0; j < w.length; j++) {
                    float wj = w[j];
                    int s = srcOffset + Math.min(Math.max(start + j, 0), inSize - 1) * width;
                    for (int x = 0; x < width; x++) {
                        dst[o + x] += wj * src[s + x];
                    }
                }
            }
        }

        void apply(float[] src, int srcOffset, int srcStride, float[] dst, int dstOffset, int dstStride) {
            for (int i = 0; i < first.length; i++) {
                float[] w = weights[i];
                int start = first[i];
                float sum = 0f;
                for (int j = 0; j < w.length; j++) {
                    int idx = Math.min(Math.max(start + j, 0), inSize - 1);
                    sum += w[j] * src[srcOffset + idx * srcStride];
                }
                dst[dstOffset + i * dstStride] = sum;
            }
        }

        private static Axis interpolating(int in, int out, Mode mode) {
            float scale = (float) in / out;
            int[] first = new int[out];
            float[][] weights = new float[out][];
            for (int i = 0; i < out; i++) {
                float real = scale * (i + 0.5f) - 0.5f;
                if (mode == Mode.BICUBIC) {
                    int idx = (int) Math.floor(real);
                    float t = real - idx;
                    first[i] = idx - 1;
                    weights[i] = cubicCoefficients(t);
                } else {
                    real = Math.max(real, 0f);
                    int idx = (int) real;
                    float lambda = real - idx;
                    first[i] = idx;
                    // The second tap is clamped onto the first at the last pixel, as PyTorch does.
                    weights[i] = new float[] {1f - lambda, lambda};
                }
            }
            return new Axis(first, weights, in);
        }

        /** Keys' cubic convolution weights for taps at -1, 0, 1, 2 around the source position, a = -0.75. */
        private static float[] cubicCoefficients(float t) {
            final float a = -0.75f;
            float x1 = t;
            float x2 = 1f - t;
            return new float[] {
                    cubicFar(x1 + 1f, a), cubicNear(x1, a), cubicNear(x2, a), cubicFar(x2 + 1f, a)};
        }

        private static float cubicNear(float x, float a) {
            return ((a + 2f) * x - (a + 3f)) * x * x + 1f;
        }

        private static float cubicFar(float x, float a) {
            return ((a * x - 5f * a) * x + 8f * a) * x - 4f * a;
        }

        private static Axis antialiased(int in, int out, Mode mode) {
            int interpSize = mode == Mode.BICUBIC ? 4 : 2;
            float scale = (float) in / out;
            float support = scale >= 1f ? (interpSize * 0.5f) * scale : interpSize * 0.5f;
            float invScale = scale >= 1f ? 1f / scale : 1f;
            int[] first = new int[out];
            float[][] weights = new float[out][];
            for (int i = 0; i < out; i++) {
                float center = scale * (i + 0.5f);
                int xmin = Math.max((int) (center - support + 0.5f), 0);
                int xsize = Math.min((int) (center + support + 0.5f), in) - xmin;
                float[] w = new float[Math.max(xsize, 0)];
                float total = 0f;
                for (int j = 0; j < w.length; j++) {
                    float x = (j + xmin - center + 0.5f) * invScale;
                    w[j] = mode == Mode.BICUBIC ? antialiasCubic(x) : Math.max(0f, 1f - Math.abs(x));
                    total += w[j];
                }
                if (total != 0f) {
                    for (int j = 0; j < w.length; j++) {
                        w[j] /= total;
                    }
                }
                first[i] = xmin;
                weights[i] = w;
            }
            return new Axis(first, weights, in);
        }

        /** Pillow's bicubic filter, a = -0.5, support 2. */
        private static float antialiasCubic(float x) {
            final float a = -0.5f;
            x = Math.abs(x);
            if (x < 1f) {
                return ((a + 2f) * x - (a + 3f)) * x * x + 1f;
            }
            if (x < 2f) {
                return (((x - 5f) * x + 8f) * x - 4f) * a;
            }
            return 0f;
        }
    }
}
