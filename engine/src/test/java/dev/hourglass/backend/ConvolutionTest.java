package dev.hourglass.backend;

import static dev.hourglass.testing.Assertions2.assertClose;
import static dev.hourglass.testing.Assertions2.mixed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Convolution;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * A convolution as {@link Backend#im2col} plus {@link Backend#linear} over the reordered weights, against a direct
 * six-loop convolution in double over NCHW (PyTorch's {@code Conv2d}: zero padding, floor output size), for awkward
 * sizes, strides, paddings and kernels larger than the input; on the CPU backend and through the host fallback of a
 * backend without an im2col kernel, which must give the same bits.
 */
class ConvolutionTest {
    private static CpuBackend cpu;
    private static Backend plain;

    @BeforeAll
    static void start() {
        cpu = new CpuBackend(3);
        plain = new PlainDelegatingBackend(cpu);
    }

    @AfterAll
    static void stop() {
        cpu.close();
    }

    static List<Arguments> cases() {
        // batch, height, width, in, out, kernel, stride, padding
        int[][] c = {
                {1, 1, 1, 1, 1, 1, 1, 0}, {2, 9, 7, 3, 5, 7, 2, 3}, {1, 13, 11, 4, 6, 3, 1, 1}, {3, 8, 8, 2, 3, 4, 4, 0},
                {1, 5, 6, 3, 2, 7, 2, 3}, {2, 10, 3, 1, 4, 3, 2, 2}, {1, 17, 15, 5, 7, 5, 3, 1}, {1, 4, 4, 16, 9, 2, 2, 0}};
        List<Arguments> out = new ArrayList<>();
        for (int[] a : c) {
            out.add(Arguments.of(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]));
        }
        return out;
    }

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3} -> {4}, k={5} s={6} p={7}")
    @MethodSource("cases")
    void im2colThenLinearIsTheConvolution(int batch, int h, int w, int in, int out, int k, int stride, int pad) {
        SplittableRandom r = new SplittableRandom(h * 131L + w * 17L + k);
        float[] x = random(r, batch * in * h * w);
        float[] weight = random(r, out * in * k * k);
        float[] bias = random(r, out);
        Convolution conv = new Convolution(batch, h, w, in, k, stride, pad);
        int oh = conv.outHeight();
        int ow = conv.outWidth();
        assertEquals((h + 2 * pad - k) / stride + 1, oh);
        double[] expected = direct(x, batch, in, h, w, weight, bias, out, k, stride, pad);

        float[][] results = new float[2][];
        Backend[] backends = {cpu, plain};
        for (int b = 0; b < 2; b++) {
            Backend backend = backends[b];
            float[] nhwc = Convolution.toChannelsLast(x, batch, in, h, w);
            try (WeightStore store = backend.newWeightStore();
                 Buffer src = backend.upload(nhwc, 0, nhwc.length);
                 Buffer windows = backend.allocate(conv.rows() * conv.rowLength());
                 Buffer y = backend.allocate(conv.rows() * out)) {
                LinearWeights layer = store.linear(Tensor.ofFloats(Convolution.weightRows(weight, out, in, k), out,
                        (long) k * k * in), Tensor.ofFloats(bias, out));
                backend.im2col(src, windows, conv);
                backend.linear(windows, 0, Math.toIntExact(conv.rows()), layer, y, 0, Epilogue.NONE);
                results[b] = new float[Math.toIntExact(conv.rows() * out)];
                backend.download(y, 0, results[b], 0, results[b].length);
            }
        }
        // The result is channels-last: [batch, oh, ow, out].
        double[] nhwcExpected = new double[expected.length];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                for (int p = 0; p < oh * ow; p++) {
                    nhwcExpected[(b * oh * ow + p) * out + o] = expected[(b * out + o) * oh * ow + p];
                }
            }
        }
        assertClose("convolution", nhwcExpected, results[0], 0, mixed(1e-5, 1e-5));
        assertArrayEquals(results[0], results[1], "the host fallback gives the CPU backend's bits");
    }

    @Test
    void reluEpilogueClampsAtZero() {
        Convolution conv = new Convolution(1, 6, 5, 2, 3, 1, 1);
        SplittableRandom r = new SplittableRandom(5);
        float[] x = random(r, 2 * 6 * 5);
        float[] weight = random(r, 4 * 2 * 9);
        double[] expected = direct(x, 1, 2, 6, 5, weight, null, 4, 3, 1, 1);
        float[] nhwc = Convolution.toChannelsLast(x, 1, 2, 6, 5);
        try (WeightStore store = cpu.newWeightStore();
             Buffer src = cpu.upload(nhwc, 0, nhwc.length);
             Buffer windows = cpu.allocate(conv.rows() * conv.rowLength());
             Buffer y = cpu.allocate(conv.rows() * 4)) {
            LinearWeights layer = store.linear(Tensor.ofFloats(Convolution.weightRows(weight, 4, 2, 3), 4, 18), null);
            cpu.im2col(src, windows, conv);
            cpu.linear(windows, 0, 30, layer, y, 0, Epilogue.RELU);
            float[] got = new float[120];
            cpu.download(y, 0, got, 0, got.length);
            int negatives = 0;
            for (int o = 0; o < 4; o++) {
                for (int p = 0; p < 30; p++) {
                    double e = expected[o * 30 + p];
                    negatives += e < 0 ? 1 : 0;
                    assertEquals(Math.max(0, e), got[p * 4 + o], 1e-5);
                }
            }
            assertEquals(true, negatives > 10, "the case has negative pre-activations to clamp");
        }
    }

    @Test
    void refusesAKernelLargerThanThePaddedInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Convolution(1, 3, 3, 1, 7, 1, 1));
        assertEquals("input 3x3 (padding 1) is smaller than the kernel 7", e.getMessage());
    }

    /** PyTorch's Conv2d over NCHW, in double: {@code [batch, out, oh, ow]}. */
    private static double[] direct(float[] x, int batch, int in, int h, int w, float[] weight, float[] bias, int out,
                                   int k, int stride, int pad) {
        int oh = (h + 2 * pad - k) / stride + 1;
        int ow = (w + 2 * pad - k) / stride + 1;
        double[] y = new double[batch * out * oh * ow];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double s = bias == null ? 0 : bias[o];
                        for (int c = 0; c < in; c++) {
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * stride - pad + ky;
                                    int ix = ox * stride - pad + kx;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                        s += (double) x[((b * in + c) * h + iy) * w + ix]
                                                * weight[((o * in + c) * k + ky) * k + kx];
                                    }
                                }
                            }
                        }
                        y[((b * out + o) * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        return y;
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }
}
