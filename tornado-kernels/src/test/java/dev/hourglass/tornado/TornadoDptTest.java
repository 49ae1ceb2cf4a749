package dev.hourglass.tornado;

import static dev.hourglass.tornado.TornadoTestSupport.assertMaxAbs;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.bench.RandomDptWeights;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * DPT on the TornadoVM backend against the CPU backend: the plain ViT and the hybrid (ResNet-50 stem: GroupNorm and
 * max-pooling through the host fallback), without and with Expedit, on a 64x96 input. Depth within 1e-4 of its range.
 */
class TornadoDptTest {
    private static final VitConfig VIT = new VitConfig(64, 64, 16, 3, 32, 4, 2, 64, true, true, false, 0, 1e-6f,
            Resize.Mode.BILINEAR, false);

    @BeforeAll
    static void tornado() {
        TornadoTestSupport.requireTornado();
    }

    private static DptConfig config(boolean hybrid) {
        return new DptConfig(new int[] {0, 1, 2, 3}, DptConfig.Readout.PROJECT,
                hybrid ? new int[] {256, 512, 32, 32} : new int[] {8, 16, 32, 32}, 16, new double[] {4, 2, 1, 0.5},
                DptConfig.Head.DEPTH, false, hybrid ? DptConfig.Backbone.HYBRID : DptConfig.Backbone.VIT, 0);
    }

    @ParameterizedTest(name = "hybrid={0}")
    @ValueSource(booleans = {false, true})
    void depthMatchesTheCpuBackend(boolean hybrid) throws IOException {
        DptConfig dpt = config(hybrid);
        RandomDptWeights weights = new RandomDptWeights(VIT, dpt, 11);
        Tensor image = Tensor.ofFloats(TornadoTestSupport.random(new SplittableRandom(5), 3 * 64 * 96, 1), 1, 3, 64,
                96);
        ExpeditSettings expedit = ExpeditSettings.parse("alpha=2,grid=2x3,tau=1");
        float[][] plain = new float[2][];
        float[][] fast = new float[2][];
        Backend[] backends = {new CpuBackend(2), new TornadoBackend()};
        for (int k = 0; k < 2; k++) {
            try (Backend b = backends[k]; DptModel model = DptModel.create(VIT, dpt, weights, b)) {
                plain[k] = model.depth(image).toFloatArray();
                fast[k] = model.depth(image, model.reducer(expedit, 64, 96)).toFloatArray();
            }
        }
        double range = range(plain[0]);
        assertTrue(range > 0, "a flat depth map tests nothing");
        assertMaxAbs((hybrid ? "hybrid" : "vit") + " plain depth", plain[0], plain[1], 1e-4 * range);
        assertMaxAbs((hybrid ? "hybrid" : "vit") + " expedit depth", fast[0], fast[1], 1e-4 * range(fast[0]));
    }

    private static double range(float[] v) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float x : v) {
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        return max - min;
    }
}
