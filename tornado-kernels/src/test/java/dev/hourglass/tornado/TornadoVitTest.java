package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.expedit.ExpeditPass;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.reduce.tome.ToMeSettings;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.SplittableRandom;

import static dev.hourglass.tornado.TornadoTestSupport.assertMaxAbs;
import static dev.hourglass.tornado.TornadoTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole ViT-Ti/16 forward pass (timm's vit_tiny_patch16_224 shape, random weights at timm's initialisation scale)
 * on the TornadoVM backend against the CPU backend, plain and with Expedit: max-abs of the outputs within 1e-4.
 */
class TornadoVitTest {
    private static final VitConfig VIT_TI_16 = new VitConfig(224, 224, 16, 3, 192, 12, 3, 768, true, true, false,
            1000, 1e-6f, Resize.Mode.BICUBIC, true);

    @BeforeAll
    static void tornado() {
        TornadoTestSupport.requireTornado();
    }

    private static Tensor images(int batch) {
        return Tensor.ofFloats(random(new SplittableRandom(42), batch * 3 * 224 * 224, 2), batch, 3, 224, 224);
    }

    @Test
    void classifyMatchesTheCpuBackendAndReusesItsPlan() throws IOException {
        Tensor images = images(2);
        float[] expected;
        try (CpuBackend cpu = new CpuBackend(2);
             VisionTransformer vit = VisionTransformer.create(VIT_TI_16, new RandomVitWeights(VIT_TI_16, 1), cpu)) {
            expected = vit.classify(images).toFloatArray();
        }
        try (TornadoBackend gpu = new TornadoBackend();
             VisionTransformer vit = VisionTransformer.create(VIT_TI_16, new RandomVitWeights(VIT_TI_16, 1), gpu)) {
            float[] first = vit.classify(images).toFloatArray();
            double diff = assertMaxAbs("logits", expected, first, 1e-4);
            System.out.printf("ViT-Ti/16 logits, TornadoVM vs CPU: max-abs %.3g%n", diff);
            int plans = gpu.plansBuilt();
            float[] second = vit.classify(images).toFloatArray();
            assertArrayEquals(first, second, "the second call runs the same compiled plan");
            assertEquals(plans, gpu.plansBuilt(), "no new plan for the same model and batch size");
            assertEquals(1, plans, "one forward pass is one plan");
        }
    }

    @Test
    void expeditMatchesTheCpuBackend() throws IOException {
        Tensor images = images(1);
        ExpeditSettings settings = ExpeditSettings.parse("alpha=4,grid=8x8,k=5");
        float[][] tokens = new float[2][];
        int[][] labels = new int[2][];
        Backend[] backends = {new CpuBackend(2), new TornadoBackend()};
        for (int i = 0; i < 2; i++) {
            Backend b = backends[i];
            try (b; VisionTransformer vit = VisionTransformer.create(VIT_TI_16, new RandomVitWeights(VIT_TI_16, 1), b);
                 ExpeditPass pass = new ExpeditPass(b, settings, true);
                 VisionTransformer.Encoded e = vit.encode(images, pass)) {
                assertEquals(1 + 64, e.tokens().tokens(), "clustered to 8x8 tokens after block 4");
                TokenSequence full = pass.reconstruct(e.tokens());
                try (var unused = full.data()) {
                    float[] out = new float[Math.toIntExact(full.size())];
                    b.download(full.data(), 0, out, 0, out.length);
                    tokens[i] = out;
                }
                labels[i] = pass.hardLabels().clone();
            }
        }
        assertEquals(197 * 192, tokens[1].length);
        double diff = assertMaxAbs("reconstructed tokens", tokens[0], tokens[1], 1e-4);
        System.out.printf("ViT-Ti/16 + Expedit tokens, TornadoVM vs CPU: max-abs %.3g%n", diff);
        int same = 0;
        for (int t = 0; t < labels[0].length; t++) {
            same += labels[0][t] == labels[1][t] ? 1 : 0;
        }
        assertTrue(same == labels[0].length, "hard labels: " + same + " of " + labels[0].length + " agree");
    }

    @Test
    void tomeMatchesTheCpuBackend() throws IOException {
        // ToMe's attention bias and its matching run on the host for TornadoVM (HostFallback); the result must not
        // depend on where the rest of the forward pass runs.
        Tensor images = images(2);
        ToMeSettings tome = ToMeSettings.parse("r=8,inflect=-1");
        float[][] logits = new float[2][];
        int[][] tokens = new int[2][];
        Backend[] backends = {new CpuBackend(2), new TornadoBackend()};
        for (int i = 0; i < 2; i++) {
            Backend b = backends[i];
            try (b; VisionTransformer vit = VisionTransformer.create(VIT_TI_16, new RandomVitWeights(VIT_TI_16, 1), b);
                 ReductionTrace trace = new ReductionTrace(tome.newReducer(b, VIT_TI_16), VIT_TI_16.depth())) {
                logits[i] = vit.classify(images, trace).toFloatArray();
                tokens[i] = trace.tokensAfterBlock();
            }
        }
        assertArrayEquals(tokens[0], tokens[1], "tokens after each block");
        assertEquals(197 - 16 - 14 - 13 - 11 - 10 - 8 - 7 - 5 - 4 - 2 - 1, tokens[1][11]);
        double diff = assertMaxAbs("ToMe logits", logits[0], logits[1], 1e-4);
        System.out.printf("ViT-Ti/16 + ToMe logits, TornadoVM vs CPU: max-abs %.3g%n", diff);
    }
}
