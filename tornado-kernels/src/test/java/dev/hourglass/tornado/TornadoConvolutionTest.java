package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.GemmConvolutions;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.ConvTranspose2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static dev.hourglass.tornado.TornadoTestSupport.assertClose;
import static dev.hourglass.tornado.TornadoTestSupport.download;
import static dev.hourglass.tornado.TornadoTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * DPT's operations on the TornadoVM backend against the CPU backend: convolutions (device im2col and GEMM, in one band
 * and in bands of a few window rows), transposed convolutions (GEMM and the block scatter), bilinear resizing, ReLU and
 * strided copies on the device; GroupNorm and max pooling through the host fallback. Sizes are not multiples of the
 * work-groups.
 */
class TornadoConvolutionTest {
    private static final double TOL = 1e-5;
    private static CpuBackend cpu;
    private static TornadoBackend gpu;

    @BeforeAll
    static void open() {
        TornadoTestSupport.requireTornado();
        cpu = new CpuBackend(1);
        gpu = new TornadoBackend();
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    /** One operation on a backend, from host inputs to the host result. */
    private interface Op {
        float[] run(Backend b);
    }

    private static void compare(String what, Op op) {
        assertClose(what, op.run(cpu), op.run(gpu), TOL);
    }

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3} -> {4}, k={5} s={6} pad=({7},{8},{9},{10}) {11} band={12}")
    @CsvSource({
            "1, 9, 7, 3, 17, 3, 1, 1, 1, 1, 1, RELU, 0",
            "2, 11, 10, 5, 8, 7, 2, 2, 2, 3, 3, NONE, 0",
            "1, 13, 11, 17, 3, 1, 2, 0, 0, 0, 0, GELU, 0",
            "1, 6, 5, 19, 7, 1, 1, 0, 0, 0, 0, RESIDUAL, 0",
            "1, 15, 17, 16, 9, 3, 2, 0, 0, 1, 1, RESIDUAL, 7",
            "2, 5, 6, 3, 4, 3, 1, 1, 1, 1, 1, NONE, 13"})
    void conv2d(int batch, int h, int w, int in, int out, int k, int stride, int top, int left, int bottom,
                int right, Epilogue epilogue, int bandRows) {
        Conv2d conv = new Conv2d(batch, h, w, in, out, k, stride, top, left, bottom, right);
        SplittableRandom r = new SplittableRandom(h * 31L + in + k);
        float[] x = random(r, batch * h * w * in, 1);
        Tensor weight = Tensor.ofFloats(random(r, out * in * k * k, 0.3), out, in, k, k);
        Tensor bias = Tensor.ofFloats(random(r, out, 0.5), out);
        float[] residual = random(r, Math.toIntExact(conv.outputSize()), 1);
        compare("conv2d " + conv, b -> {
            try (WeightStore store = b.newWeightStore(); Buffer src = b.upload(x, 0, x.length);
                 Buffer dst = b.upload(residual, 0, residual.length)) {
                ConvWeights weights = store.conv2d(weight, bias);
                if (bandRows == 0) {
                    b.conv2d(src, conv, weights, dst, epilogue);
                } else {
                    GemmConvolutions.conv2d(b, src, conv, weights, dst, epilogue, (long) bandRows * conv.rowLength());
                }
                return download(b, dst, residual.length);
            }
        });
    }

    @ParameterizedTest(name = "batch={0} {1}x{2}x{3} -> {4}, k=s={5}")
    @CsvSource({"1, 3, 5, 17, 3, 2", "2, 4, 3, 8, 19, 4", "1, 1, 1, 1, 1, 2"})
    void convTranspose2d(int batch, int h, int w, int in, int out, int k) {
        ConvTranspose2d shape = new ConvTranspose2d(batch, h, w, in, out, k, k);
        SplittableRandom r = new SplittableRandom(h * 7L + out);
        float[] x = random(r, batch * h * w * in, 1);
        Tensor weight = Tensor.ofFloats(random(r, in * out * k * k, 0.3), in, out, k, k);
        Tensor bias = Tensor.ofFloats(random(r, out, 0.5), out);
        compare("convTranspose2d " + shape, b -> {
            try (WeightStore store = b.newWeightStore(); Buffer src = b.upload(x, 0, x.length);
                 Buffer dst = b.allocate(shape.outputSize())) {
                b.convTranspose2d(src, shape, store.convTranspose2d(weight, bias), dst);
                return download(b, dst, Math.toIntExact(shape.outputSize()));
            }
        });
    }

    @Test
    void overlappingTransposedConvolutionsAreRefused() {
        ConvTranspose2d shape = new ConvTranspose2d(1, 2, 2, 1, 1, 3, 2);
        try (WeightStore store = gpu.newWeightStore(); Buffer src = gpu.allocate(4);
             Buffer dst = gpu.allocate(shape.outputSize())) {
            ConvWeights w = store.convTranspose2d(Tensor.ofFloats(new float[9], 1, 1, 3, 3), null);
            assertThrows(IllegalArgumentException.class, () -> gpu.convTranspose2d(src, shape, w, dst));
        }
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}, channels {4}, batch {5}")
    @CsvSource({"1, 1, 3, 5, 19, 1", "7, 5, 14, 10, 1, 2", "5, 9, 3, 4, 19, 1", "24, 24, 96, 96, 3, 1"})
    void resizeBilinear(int h, int w, int oh, int ow, int channels, int batch) {
        SplittableRandom r = new SplittableRandom(h + ow);
        float[] x = random(r, batch * h * w * channels, 1);
        int n = batch * oh * ow * channels;
        for (boolean align : new boolean[] {false, true}) {
            compare("resizeBilinear align_corners=" + align, b -> {
                try (Buffer src = b.upload(x, 0, x.length); Buffer dst = b.allocate(n)) {
                    b.resizeBilinear(src, dst, batch, h, w, channels, oh, ow, align);
                    return download(b, dst, n);
                }
            });
        }
    }

    @Test
    void reluAndCopy2d() {
        SplittableRandom r = new SplittableRandom(11);
        float[] x = random(r, 1001, 1);
        compare("relu in place", b -> {
            try (Buffer src = b.upload(x, 0, x.length)) {
                b.relu(src, src, 999);
                return download(b, src, x.length);
            }
        });
        // DPT's readout: the class token (row 0) beside every patch token, [tokens, 2 * dim].
        int tokens = 37;
        int dim = 19;
        float[] seq = random(r, (tokens + 1) * dim, 1);
        float[] out = random(r, tokens * 2 * dim, 1);
        compare("copy2d", b -> {
            try (Buffer s = b.upload(seq, 0, seq.length); Buffer d = b.upload(out, 0, out.length)) {
                b.copy2d(s, dim, dim, d, 0, 2 * dim, tokens, dim);
                b.copy2d(s, 0, 0, d, dim, 2 * dim, tokens, dim);
                return download(b, d, out.length);
            }
        });
    }

    @Test
    void groupNormAndMaxPoolRunOnTheHost() {
        SplittableRandom r = new SplittableRandom(5);
        int pixels = 9 * 7;
        int channels = 64;
        float[] x = random(r, pixels * channels, 2);
        float[] gamma = random(r, channels, 1);
        float[] beta = random(r, channels, 1);
        Conv2d pool = Conv2d.same(1, 9, 7, channels, channels, 3, 2);
        float[][] results = new float[2][];
        Backend[] backends = {cpu, gpu};
        for (int i = 0; i < 2; i++) {
            Backend b = backends[i];
            try (Buffer src = b.upload(x, 0, x.length); Buffer g = b.upload(gamma, 0, channels);
                 Buffer be = b.upload(beta, 0, channels); Buffer pooled = b.allocate(pool.outputSize())) {
                b.groupNorm(src, src, 1, pixels, channels, 32, g, be, 1e-5f, true);
                b.maxPool2d(src, pooled, pool);
                results[i] = download(b, pooled, Math.toIntExact(pool.outputSize()));
            }
        }
        assertArrayEquals(results[0], results[1], "the host fallback computes with the CPU kernels");
    }
}
