package dev.hourglass.backend;

import static dev.hourglass.testing.Assertions2.assertClose;
import static dev.hourglass.testing.Assertions2.mixed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import dev.hourglass.kernels.PlainReference;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * {@link Backend#conv2d} against a direct convolution in double over NHWC (PyTorch's {@code Conv2d}: zero padding, here
 * possibly different on each side, floor output size) for awkward sizes, kernels 1, 2, 3, 5 and 7, strides 1 to 3,
 * channel counts 1, 3, 17, 63, 64 and 65, and every epilogue. The same convolution must give the same bits on 1 and 3
 * threads, in bands of any size (down to one window row, so that bands start and end inside output rows and images),
 * and through the host fallback of a backend without an im2col kernel.
 */
class ConvolutionTest {
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

    static List<Arguments> cases() {
        // batch, height, width, in, out, kernel, stride, top, left, bottom, right, epilogue
        Object[][] c = {
                {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, Epilogue.NONE},
                {2, 9, 7, 3, 17, 1, 1, 0, 0, 0, 0, Epilogue.RELU},
                {1, 13, 11, 17, 3, 1, 2, 0, 0, 0, 0, Epilogue.NONE},
                {2, 9, 7, 3, 5, 7, 2, 3, 3, 3, 3, Epilogue.NONE},
                {1, 13, 11, 17, 64, 3, 1, 1, 1, 1, 1, Epilogue.GELU},
                {1, 15, 17, 64, 17, 3, 2, 0, 0, 1, 1, Epilogue.RESIDUAL},
                {1, 5, 6, 3, 1, 7, 2, 2, 3, 3, 2, Epilogue.RELU},
                {3, 8, 8, 1, 3, 3, 1, 1, 1, 1, 1, Epilogue.RESIDUAL},
                {1, 17, 15, 5, 7, 5, 3, 1, 0, 2, 1, Epilogue.NONE},
                {1, 4, 4, 16, 9, 2, 2, 0, 0, 0, 0, Epilogue.NONE},
                {1, 23, 19, 3, 64, 7, 2, 2, 2, 3, 3, Epilogue.RELU},
                {1, 7, 9, 65, 15, 3, 1, 1, 1, 1, 1, Epilogue.NONE},
                {2, 6, 5, 63, 33, 3, 2, 1, 1, 1, 1, Epilogue.GELU},
                {1, 3, 3, 1, 2, 3, 1, 0, 0, 0, 0, Epilogue.RESIDUAL}};
        List<Arguments> out = new ArrayList<>();
        for (Object[] a : c) {
            out.add(Arguments.of(a));
        }
        return out;
    }

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3} -> {4}, k={5} s={6} pad=({7},{8},{9},{10}) {11}")
    @MethodSource("cases")
    void conv2dIsTheConvolution(int batch, int h, int w, int in, int out, int k, int stride, int top, int left,
                                int bottom, int right, Epilogue epilogue) {
        Conv2d conv = new Conv2d(batch, h, w, in, out, k, stride, top, left, bottom, right);
        assertEquals((h + top + bottom - k) / stride + 1, conv.outHeight());
        assertEquals((w + left + right - k) / stride + 1, conv.outWidth());
        SplittableRandom r = new SplittableRandom(h * 131L + w * 17L + k * 7L + in);
        float[] x = random(r, batch * h * w * in);
        float[] weight = random(r, out * in * k * k);
        float[] bias = random(r, out);
        int n = Math.toIntExact(conv.outputSize());
        float[] residual = epilogue == Epilogue.RESIDUAL ? random(r, n) : new float[n];
        double[] expected = direct(x, conv, weight, bias);
        for (int i = 0; i < n; i++) {
            double v = expected[i];
            expected[i] = switch (epilogue) {
                case NONE -> v;
                case RELU -> Math.max(v, 0);
                case GELU -> PlainReference.gelu(v);
                case RESIDUAL -> residual[i] + v;
            };
        }
        long len = conv.rowLength();
        float[] reference = run(cpu, conv, x, weight, bias, residual, epilogue, GemmConvolutions.WINDOW_FLOATS);
        assertClose("conv2d " + conv, expected, reference, 0, mixed(2e-5, 2e-5));
        assertArrayEquals(reference, run(cpu1, conv, x, weight, bias, residual, epilogue,
                GemmConvolutions.WINDOW_FLOATS), "1 thread gives the bits of 3");
        assertArrayEquals(reference, run(cpu, conv, x, weight, bias, residual, epilogue, 5 * len),
                "bands of 5 window rows give the bits of one band");
        assertArrayEquals(reference, run(cpu, conv, x, weight, bias, residual, epilogue, 1),
                "bands of 1 window row give the bits of one band");
        assertArrayEquals(reference, run(plain, conv, x, weight, bias, residual, epilogue,
                GemmConvolutions.WINDOW_FLOATS), "the host fallback gives the CPU backend's bits");
    }

    @Test
    void aConvolutionWithoutBias() {
        Conv2d conv = Conv2d.same(1, 11, 10, 4, 6, 3, 2);
        SplittableRandom r = new SplittableRandom(3);
        float[] x = random(r, 11 * 10 * 4);
        float[] weight = random(r, 6 * 4 * 9);
        float[] got = run(cpu, conv, x, weight, null, new float[Math.toIntExact(conv.outputSize())], Epilogue.NONE,
                GemmConvolutions.WINDOW_FLOATS);
        assertClose("conv2d without bias", direct(x, conv, weight, null), got, 0, mixed(2e-5, 2e-5));
    }

    @Test
    void reluEpilogueClampsAtZero() {
        Conv2d conv = Conv2d.of(1, 6, 5, 2, 4, 3, 1, 1);
        SplittableRandom r = new SplittableRandom(5);
        float[] x = random(r, 2 * 6 * 5);
        float[] weight = random(r, 4 * 2 * 9);
        double[] expected = direct(x, conv, weight, null);
        float[] got = run(cpu, conv, x, weight, null, new float[120], Epilogue.RELU, GemmConvolutions.WINDOW_FLOATS);
        int negatives = 0;
        for (int i = 0; i < expected.length; i++) {
            negatives += expected[i] < 0 ? 1 : 0;
            assertEquals(Math.max(0, expected[i]), got[i], 1e-5);
        }
        assertTrue(negatives > 10, "the case has negative pre-activations to clamp");
    }

    @Test
    void refusesWeightsOfAnotherConvolution() {
        Conv2d conv = Conv2d.of(1, 5, 5, 3, 4, 3, 1, 1);
        try (WeightStore store = cpu.newWeightStore(); Buffer src = cpu.allocate(75);
             Buffer dst = cpu.allocate(conv.outputSize())) {
            ConvWeights wrongKernel = store.conv2d(Tensor.ofFloats(new float[4 * 3], 4, 3, 1, 1), null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.conv2d(src, conv, wrongKernel, dst, Epilogue.NONE));
            assertEquals("conv2d 3 -> 4 with kernel 3 got convolution weights 3 -> 4 with kernel 1", e.getMessage());
            ConvWeights transposed = store.convTranspose2d(Tensor.ofFloats(new float[3 * 4 * 9], 3, 4, 3, 3), null);
            assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(src, conv, transposed, dst, Epilogue.NONE));
            assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(src, conv, wrongKernel, src, Epilogue.NONE));
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> store.conv2d(Tensor.ofFloats(new float[24], 4, 3, 2), null));
            assertTrue(shape.getMessage().contains("[4, 3, 2]"), shape.getMessage());
        }
    }

    private static float[] run(Backend backend, Conv2d conv, float[] x, float[] weight, float[] bias,
                               float[] residual, Epilogue epilogue, long band) {
        int k = conv.kernel();
        try (WeightStore store = backend.newWeightStore();
             Buffer src = backend.upload(x, 0, x.length);
             Buffer y = backend.upload(residual, 0, residual.length)) {
            ConvWeights weights = store.conv2d(Tensor.ofFloats(weight, conv.outChannels(), conv.inChannels(), k, k),
                    bias == null ? null : Tensor.ofFloats(bias, bias.length));
            if (band == GemmConvolutions.WINDOW_FLOATS) {
                backend.conv2d(src, conv, weights, y, epilogue);
            } else {
                GemmConvolutions.conv2d(backend, src, conv, weights, y, epilogue, band);
            }
            float[] out = new float[residual.length];
            backend.download(y, 0, out, 0, out.length);
            return out;
        }
    }

    /** PyTorch's Conv2d over NHWC in double, with the padding of {@code conv}: {@code [batch, oh, ow, out]}. */
    static double[] direct(float[] x, Conv2d conv, float[] weight, float[] bias) {
        int oh = conv.outHeight();
        int ow = conv.outWidth();
        int in = conv.inChannels();
        int out = conv.outChannels();
        int k = conv.kernel();
        int h = conv.height();
        int w = conv.width();
        double[] y = new double[Math.toIntExact(conv.outputSize())];
        for (int b = 0; b < conv.batch(); b++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    for (int o = 0; o < out; o++) {
                        double s = bias == null ? 0 : bias[o];
                        for (int ky = 0; ky < k; ky++) {
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * conv.stride() - conv.padTop() + ky;
                                int ix = ox * conv.stride() - conv.padLeft() + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                                    continue;
                                }
                                for (int c = 0; c < in; c++) {
                                    s += (double) x[((b * h + iy) * w + ix) * in + c]
                                            * weight[((o * in + c) * k + ky) * k + kx];
                                }
                            }
                        }
                        y[((b * oh + oy) * ow + ox) * out + o] = s;
                    }
                }
            }
        }
        return y;
    }

    static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }
}
