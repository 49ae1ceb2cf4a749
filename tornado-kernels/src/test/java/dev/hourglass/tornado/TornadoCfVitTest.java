package dev.hourglass.tornado;

import static dev.hourglass.tornado.TornadoTestSupport.assertMaxAbs;
import static dev.hourglass.tornado.TornadoTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.cfvit.CfVit;
import dev.hourglass.reduce.cfvit.CfVitSettings;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;
import dev.hourglass.vit.VitVariant;

/**
 * CF-ViT's coarse-to-fine inference on the TornadoVM backend against the CPU backend, on DeiT and on LV-ViT (whose
 * convolutional stem runs as device im2col and GEMM): every image to the fine stage, every image stopped at the coarse
 * one, and a threshold that splits the batch. Logits within 1e-4, the same exits and the same re-split tokens.
 */
class TornadoCfVitTest {
    private static final int FINE = 224;

    @BeforeAll
    static void tornado() {
        TornadoTestSupport.requireTornado();
    }

    private static CfVit create(boolean lvvit, Backend backend) throws IOException {
        VitConfig config = new VitConfig(FINE, FINE, 16, 3, 96, 4, 3, lvvit ? 288 : 384, !lvvit, true, false, 100,
                lvvit ? 1e-5f : 1e-6f, Resize.Mode.BICUBIC, true);
        RandomVitWeights weights = new RandomVitWeights(config, 3).withCfVit(7, 96, config.mlpHidden());
        if (lvvit) {
            weights.withLvVitStem(16, 3, 96, 16, 100);
        }
        CfVitSettings settings = new CfVitSettings(7, 14, config.mlpHidden(), config.normEps(), 0.99, 3, 0.5,
                lvvit ? VitVariant.lvvit(2f) : VitVariant.TIMM, lvvit);
        return CfVit.create(config, settings, weights, backend);
    }

    @ParameterizedTest(name = "lvvit={0}")
    @ValueSource(booleans = {false, true})
    void coarseToFineMatchesTheCpuBackend(boolean lvvit) throws IOException {
        Tensor images = Tensor.ofFloats(random(new SplittableRandom(7), 3 * 3 * FINE * FINE, 2), 3, 3, FINE, FINE);
        CfVit.Result[][] results = new CfVit.Result[2][];
        Backend[] backends = {new CpuBackend(2), new TornadoBackend()};
        double split = Double.NaN;
        for (int k = 0; k < 2; k++) {
            try (Backend b = backends[k]; CfVit model = create(lvvit, b)) {
                CfVit.Result allFine = model.classify(images, 2);
                if (k == 0) {
                    float[] p = allFine.maxProbability().clone();
                    Arrays.sort(p);
                    split = (p[0] + p[1]) / 2.0;
                    assertTrue(p[1] - p[0] > 1e-6, "the split threshold has a margin: " + Arrays.toString(p));
                }
                results[k] = new CfVit.Result[] {allFine, model.classify(images, 0), model.classify(images, split)};
            }
        }
        String[] runs = {"all fine", "all coarse", "split at " + split};
        for (int r = 0; r < 3; r++) {
            CfVit.Result cpu = results[0][r];
            CfVit.Result gpu = results[1][r];
            String what = (lvvit ? "CF-LV-ViT " : "CF-DeiT ") + runs[r];
            assertArrayEquals(cpu.fine(), gpu.fine(), what + ": exits");
            double diff = assertMaxAbs(what + " logits", cpu.logits().toFloatArray(), gpu.logits().toFloatArray(), 1e-4);
            assertMaxAbs(what + " global attention", cpu.globalAttention(), gpu.globalAttention(), 1e-5);
            for (int b = 0; b < cpu.important().length; b++) {
                int[] e = cpu.important()[b].clone();
                int[] g = gpu.important()[b].clone();
                Arrays.sort(e);
                Arrays.sort(g);
                assertArrayEquals(e, g, what + ": re-split tokens of image " + b);
            }
            System.out.printf("%s: TornadoVM vs CPU logits max-abs %.3g%n", what, diff);
        }
        boolean[] split3 = results[0][2].fine();
        assertTrue(split3[0] || split3[1] || split3[2], "the split run sends some image on");
        assertTrue(!split3[0] || !split3[1] || !split3[2], "the split run stops some image");
    }
}
