package dev.hourglass.backend;

import static dev.hourglass.backend.ConvolutionTest.random;
import static dev.hourglass.testing.Assertions2.assertClose;
import static dev.hourglass.testing.Assertions2.mixed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.ConvTranspose2d;
import dev.hourglass.tensor.Tensor;

/**
 * The feature-map operations DPT needs besides {@link Backend#conv2d}: transposed convolution, bilinear resizing,
 * GroupNorm, max pooling, ReLU and strided copies, each against a plain reference in double over channels-last data,
 * on the CPU backend with 3 threads; 1 thread, and the host fallbacks of a backend without kernels for them, must give
 * the same bits.
 */
class FeatureMapOpsTest {
    private static CpuBackend cpu;
    private static CpuBackend cpu1;
    private static Backend plain;

    @BeforeAll
    static void start() {
        cpu = new CpuBackend(3);
        cpu1 = new CpuBackend(1);
        plain = new PlainDelegatingBackend(cpu);
    }

    @AfterAll
    static void stop() {
        cpu.close();
        cpu1.close();
    }

    /** One operation on a backend, from host inputs to the host result. */
    private interface Op {
        float[] run(Backend b);
    }

    /** Runs {@code op} on every backend; checks the 3-thread result against {@code expected} and the rest bit for bit. */
    private static float[] check(String what, double[] expected, double tolerance, Op op) {
        float[] reference = op.run(cpu);
        assertClose(what, expected, reference, 0, mixed(tolerance, tolerance));
        assertArrayEquals(reference, op.run(cpu1), what + ": 1 thread gives the bits of 3");
        assertArrayEquals(reference, op.run(plain), what + ": the host fallback gives the CPU backend's bits");
        return reference;
    }

    private static float[] read(Backend b, Buffer buffer, long count) {
        float[] out = new float[Math.toIntExact(count)];
        b.download(buffer, 0, out, 0, out.length);
        return out;
    }

    // ------------------------------------------------------------------ transposed convolution

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3} -> {4}, k=s={5}, bias={6}")
    @CsvSource({
            "1, 1, 1, 1, 1, 2, true",
            "2, 3, 5, 17, 3, 2, true",
            "1, 7, 6, 64, 19, 4, true",
            "1, 5, 3, 3, 64, 4, false",
            "3, 2, 2, 65, 1, 2, true"})
    void transposedConvolution(int batch, int h, int w, int in, int out, int k, boolean withBias) {
        ConvTranspose2d shape = new ConvTranspose2d(batch, h, w, in, out, k, k);
        SplittableRandom r = new SplittableRandom(batch * 97L + h * 13L + in);
        float[] x = random(r, batch * h * w * in);
        float[] weight = random(r, in * out * k * k);
        float[] bias = withBias ? random(r, out) : null;
        double[] expected = transposedReference(x, shape, weight, bias);
        long perRow = (long) w * shape.cellsPerPixel();
        float[] reference = check("convTranspose2d " + shape, expected, 2e-5,
                b -> transposed(b, shape, x, weight, bias, GemmConvolutions.WINDOW_FLOATS));
        assertArrayEquals(reference, transposed(cpu, shape, x, weight, bias, perRow),
                "bands of one input row give the bits of one band");
        assertArrayEquals(reference, transposed(cpu, shape, x, weight, bias, 1), "bands below one row");
    }

    private static float[] transposed(Backend b, ConvTranspose2d shape, float[] x, float[] weight, float[] bias,
                                      long band) {
        int k = shape.kernel();
        try (WeightStore store = b.newWeightStore(); Buffer src = b.upload(x, 0, x.length);
             Buffer dst = b.allocate(shape.outputSize())) {
            ConvWeights weights = store.convTranspose2d(Tensor.ofFloats(weight, shape.inChannels(),
                    shape.outChannels(), k, k), bias == null ? null : Tensor.ofFloats(bias, bias.length));
            if (band == GemmConvolutions.WINDOW_FLOATS) {
                b.convTranspose2d(src, shape, weights, dst);
            } else {
                GemmConvolutions.convTranspose2d(b, src, shape, weights, dst, band);
            }
            return read(b, dst, shape.outputSize());
        }
    }

    /** PyTorch's ConvTranspose2d (no padding) over NHWC in double: every input pixel adds its kernel-sized block. */
    private static double[] transposedReference(float[] x, ConvTranspose2d s, float[] weight, float[] bias) {
        int oh = s.outHeight();
        int ow = s.outWidth();
        int in = s.inChannels();
        int out = s.outChannels();
        int k = s.kernel();
        double[] y = new double[Math.toIntExact(s.outputSize())];
        for (int b = 0; b < s.batch(); b++) {
            for (int p = 0; p < oh * ow; p++) {
                for (int o = 0; o < out; o++) {
                    y[(b * oh * ow + p) * out + o] = bias == null ? 0 : bias[o];
                }
            }
            for (int iy = 0; iy < s.height(); iy++) {
                for (int ix = 0; ix < s.width(); ix++) {
                    for (int ky = 0; ky < k; ky++) {
                        for (int kx = 0; kx < k; kx++) {
                            int oy = iy * s.stride() + ky;
                            int ox = ix * s.stride() + kx;
                            for (int o = 0; o < out; o++) {
                                double sum = 0;
                                for (int c = 0; c < in; c++) {
                                    sum += (double) x[((b * s.height() + iy) * s.width() + ix) * in + c]
                                            * weight[((c * out + o) * k + ky) * k + kx];
                                }
                                y[((b * oh + oy) * ow + ox) * out + o] += sum;
                            }
                        }
                    }
                }
            }
        }
        return y;
    }

    @Test
    void overlappingTransposedConvolutionsAreRefused() {
        ConvTranspose2d shape = new ConvTranspose2d(1, 3, 3, 2, 2, 3, 2);
        try (WeightStore store = cpu.newWeightStore(); Buffer src = cpu.allocate(18);
             Buffer dst = cpu.allocate(shape.outputSize())) {
            ConvWeights weights = store.convTranspose2d(Tensor.ofFloats(new float[2 * 2 * 9], 2, 2, 3, 3), null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.convTranspose2d(src, shape, weights, dst));
            assertTrue(e.getMessage().contains("only kernel == stride"), e.getMessage());
            ConvTranspose2d fine = new ConvTranspose2d(1, 3, 3, 2, 2, 3, 3);
            ConvWeights plainConv = store.conv2d(Tensor.ofFloats(new float[2 * 2 * 9], 2, 2, 3, 3), null);
            assertThrows(IllegalArgumentException.class, () -> cpu.convTranspose2d(src, fine, plainConv, dst));
        }
    }

    // ------------------------------------------------------------------ bilinear resizing

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}, channels {4}, batch {5}")
    @CsvSource({
            "1, 1, 3, 5, 1, 1", "1, 1, 3, 5, 19, 2",
            "7, 5, 14, 10, 1, 1", "7, 5, 14, 10, 19, 2",
            "5, 9, 3, 4, 1, 1", "5, 9, 3, 4, 19, 2",
            "24, 24, 96, 96, 3, 1", "6, 4, 1, 1, 2, 1", "3, 7, 7, 3, 5, 1"})
    void resizeBilinearIsPyTorchs(int h, int w, int oh, int ow, int channels, int batch) {
        SplittableRandom r = new SplittableRandom(h * 31L + w * 7L + oh + channels);
        float[] x = random(r, batch * h * w * channels);
        for (boolean align : new boolean[] {false, true}) {
            double[] expected = bilinearReference(x, batch, h, w, channels, oh, ow, align);
            check("resizeBilinear align_corners=" + align, expected, 1e-5, b -> {
                try (Buffer src = b.upload(x, 0, x.length); Buffer dst = b.allocate((long) batch * oh * ow * channels)) {
                    b.resizeBilinear(src, dst, batch, h, w, channels, oh, ow, align);
                    return read(b, dst, (long) batch * oh * ow * channels);
                }
            });
        }
    }

    @Test
    void resizeBilinearKnownValues() {
        // A 1x2 row [0, 1] to 1x4: align_corners=False samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped);
        // align_corners=True at 0, 1/3, 2/3, 1.
        float[] x = {0f, 1f};
        try (Buffer src = cpu.upload(x, 0, 2); Buffer dst = cpu.allocate(4)) {
            cpu.resizeBilinear(src, dst, 1, 1, 2, 1, 1, 4, false);
            assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, read(cpu, dst, 4));
            cpu.resizeBilinear(src, dst, 1, 1, 2, 1, 1, 4, true);
            float[] got = read(cpu, dst, 4);
            assertArrayEquals(new float[] {0f, 1f / 3, 2f / 3, 1f}, got, 1e-7f);
        }
    }

    /** PyTorch's upsample_bilinear2d (no antialias) in double. */
    private static double[] bilinearReference(float[] x, int batch, int h, int w, int c, int oh, int ow,
                                              boolean align) {
        double[] y = new double[batch * oh * ow * c];
        for (int b = 0; b < batch; b++) {
            for (int oy = 0; oy < oh; oy++) {
                double sy = source(oy, h, oh, align);
                int y0 = Math.min((int) Math.floor(sy), h - 1);
                int y1 = Math.min(y0 + 1, h - 1);
                double ly = sy - y0;
                for (int ox = 0; ox < ow; ox++) {
                    double sx = source(ox, w, ow, align);
                    int x0 = Math.min((int) Math.floor(sx), w - 1);
                    int x1 = Math.min(x0 + 1, w - 1);
                    double lx = sx - x0;
                    for (int ch = 0; ch < c; ch++) {
                        double v00 = x[((b * h + y0) * w + x0) * c + ch];
                        double v01 = x[((b * h + y0) * w + x1) * c + ch];
                        double v10 = x[((b * h + y1) * w + x0) * c + ch];
                        double v11 = x[((b * h + y1) * w + x1) * c + ch];
                        y[((b * oh + oy) * ow + ox) * c + ch] = (1 - ly) * ((1 - lx) * v00 + lx * v01)
                                + ly * ((1 - lx) * v10 + lx * v11);
                    }
                }
            }
        }
        return y;
    }

    private static double source(int i, int in, int out, boolean align) {
        if (align) {
            return out > 1 ? i * (in - 1.0) / (out - 1) : 0;
        }
        return Math.max((i + 0.5) * in / out - 0.5, 0);
    }

    // ------------------------------------------------------------------ GroupNorm

    @ParameterizedTest(name = "batch={0} pixels={1} channels={2} groups={3} relu={4}")
    @CsvSource({
            "1, 1, 1, 1, false", "2, 37, 64, 1, true", "1, 300, 64, 32, false", "2, 49, 96, 32, true",
            "1, 257, 17, 17, false", "1, 600, 3, 1, true"})
    void groupNormIsPyTorchs(int batch, int pixels, int channels, int groups, boolean relu) {
        SplittableRandom r = new SplittableRandom(pixels * 11L + channels);
        float[] x = random(r, batch * pixels * channels);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 5; // an offset, as activations have: the two-pass variance must not lose it
        }
        float[] gamma = random(r, channels);
        float[] beta = random(r, channels);
        float eps = 1e-5f;
        double[] expected = new double[x.length];
        int per = channels / groups;
        for (int b = 0; b < batch; b++) {
            for (int g = 0; g < groups; g++) {
                double sum = 0;
                for (int p = 0; p < pixels; p++) {
                    for (int c = g * per; c < (g + 1) * per; c++) {
                        sum += x[(b * pixels + p) * channels + c];
                    }
                }
                double mean = sum / ((double) pixels * per);
                double sq = 0;
                for (int p = 0; p < pixels; p++) {
                    for (int c = g * per; c < (g + 1) * per; c++) {
                        double d = x[(b * pixels + p) * channels + c] - mean;
                        sq += d * d;
                    }
                }
                double rstd = 1 / Math.sqrt(sq / ((double) pixels * per) + eps);
                for (int p = 0; p < pixels; p++) {
                    for (int c = g * per; c < (g + 1) * per; c++) {
                        int i = (b * pixels + p) * channels + c;
                        double v = (x[i] - mean) * rstd * gamma[c] + beta[c];
                        expected[i] = relu ? Math.max(v, 0) : v;
                    }
                }
            }
        }
        check("groupNorm", expected, 2e-5, b -> {
            try (Buffer src = b.upload(x, 0, x.length); Buffer g = b.upload(gamma, 0, channels);
                 Buffer be = b.upload(beta, 0, channels)) {
                b.groupNorm(src, src, batch, pixels, channels, groups, g, be, eps, relu);
                return read(b, src, x.length);
            }
        });
    }

    @Test
    void groupNormRefusesChannelsThatDoNotSplit() {
        try (Buffer x = cpu.allocate(30); Buffer g = cpu.allocate(10)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.groupNorm(x, x, 1, 3, 10, 4, g, g, 1e-5f, false));
            assertEquals("groupNorm: 10 channels do not split into 4 groups", e.getMessage());
        }
    }

    // ------------------------------------------------------------------ max pooling

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3}")
    @CsvSource({"1, 1, 1, 1", "2, 9, 7, 3", "1, 12, 12, 64", "1, 13, 8, 17", "1, 2, 3, 5"})
    void maxPoolSameIsTimmsMaxPool2dSame(int batch, int h, int w, int c) {
        Conv2d shape = Conv2d.same(batch, h, w, c, c, 3, 2);
        SplittableRandom r = new SplittableRandom(h * 3L + w + c);
        float[] x = random(r, batch * h * w * c);
        for (int i = 0; i < x.length; i++) {
            x[i] -= 2; // all negative: a padded zero would win if padding were zeros
        }
        double[] expected = maxPoolReference(x, shape);
        check("maxPool2d same " + shape, expected, 0, b -> {
            try (Buffer src = b.upload(x, 0, x.length); Buffer dst = b.allocate(shape.outputSize())) {
                b.maxPool2d(src, dst, shape);
                return read(b, dst, shape.outputSize());
            }
        });
        Conv2d torch = Conv2d.of(batch, h + 2, w + 2, c, c, 3, 2, 1);
        float[] y = random(r, batch * (h + 2) * (w + 2) * c);
        check("maxPool2d padding 1", maxPoolReference(y, torch), 0, b -> {
            try (Buffer src = b.upload(y, 0, y.length); Buffer dst = b.allocate(torch.outputSize())) {
                b.maxPool2d(src, dst, torch);
                return read(b, dst, torch.outputSize());
            }
        });
    }

    private static double[] maxPoolReference(float[] x, Conv2d s) {
        int oh = s.outHeight();
        int ow = s.outWidth();
        int c = s.inChannels();
        double[] y = new double[Math.toIntExact(s.outputSize())];
        for (int b = 0; b < s.batch(); b++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    for (int ch = 0; ch < c; ch++) {
                        double m = Double.NEGATIVE_INFINITY;
                        for (int ky = 0; ky < s.kernel(); ky++) {
                            for (int kx = 0; kx < s.kernel(); kx++) {
                                int iy = oy * s.stride() - s.padTop() + ky;
                                int ix = ox * s.stride() - s.padLeft() + kx;
                                if (iy >= 0 && iy < s.height() && ix >= 0 && ix < s.width()) {
                                    m = Math.max(m, x[((b * s.height() + iy) * s.width() + ix) * c + ch]);
                                }
                            }
                        }
                        y[((b * oh + oy) * ow + ox) * c + ch] = m;
                    }
                }
            }
        }
        return y;
    }

    @Test
    void maxPoolRefusesAChannelChange() {
        try (Buffer x = cpu.allocate(16)) {
            assertThrows(IllegalArgumentException.class, () -> cpu.maxPool2d(x, x, Conv2d.same(1, 4, 4, 1, 2, 3, 2)));
        }
    }

    // ------------------------------------------------------------------ ReLU and strided copies

    @ParameterizedTest(name = "count={0}")
    @CsvSource({"1", "17", "16385", "40001"})
    void reluInPlaceAndOutOfPlace(int count) {
        float[] x = random(new SplittableRandom(count), count + 3);
        double[] expected = new double[count];
        for (int i = 0; i < count; i++) {
            expected[i] = Math.max(x[i], 0);
        }
        check("relu in place", expected, 0, b -> {
            try (Buffer src = b.upload(x, 0, x.length)) {
                b.relu(src, src, count);
                float[] all = read(b, src, x.length);
                assertEquals(x[count], all[count], "values past count are kept");
                return java.util.Arrays.copyOf(all, count);
            }
        });
        check("relu", expected, 0, b -> {
            try (Buffer src = b.upload(x, 0, x.length); Buffer dst = b.allocate(count)) {
                b.relu(src, dst, count);
                return read(b, dst, count);
            }
        });
    }

    @ParameterizedTest(name = "rows={0} cols={1} srcStride={2} dstStride={3}")
    @CsvSource({"1, 1, 1, 1", "5, 3, 7, 4", "577, 384, 0, 768", "40, 1000, 1000, 2000", "3, 19, 0, 19"})
    void copy2dCopiesAndBroadcastsRows(int rows, int cols, int srcStride, int dstStride) {
        SplittableRandom r = new SplittableRandom(rows * 7L + cols);
        int srcOffset = 3;
        int dstOffset = 5;
        float[] src = random(r, srcOffset + (rows - 1) * srcStride + cols + 2);
        float[] dst = random(r, dstOffset + (rows - 1) * dstStride + cols + 4);
        double[] expected = new double[dst.length];
        for (int i = 0; i < dst.length; i++) {
            expected[i] = dst[i];
        }
        for (int row = 0; row < rows; row++) {
            for (int c = 0; c < cols; c++) {
                expected[dstOffset + row * dstStride + c] = src[srcOffset + row * srcStride + c];
            }
        }
        check("copy2d", expected, 0, b -> {
            try (Buffer s = b.upload(src, 0, src.length); Buffer d = b.upload(dst, 0, dst.length)) {
                b.copy2d(s, srcOffset, srcStride, d, dstOffset, dstStride, rows, cols);
                return read(b, d, dst.length);
            }
        });
    }

    @Test
    void copy2dRefusesStridesShorterThanARow() {
        try (Buffer s = cpu.allocate(100); Buffer d = cpu.allocate(100)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.copy2d(s, 0, 5, d, 0, 10, 3, 8));
            assertEquals("copy2d: source stride 5 must be 0 (one row repeated) or at least the row length 8",
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.copy2d(s, 0, 8, s, 4, 8, 3, 8));
        }
    }
}
