package dev.hourglass.tornado;

import static dev.hourglass.tornado.TornadoTestSupport.assertMaxAbs;
import static dev.hourglass.tornado.TornadoTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.slim.SlimMasks;
import dev.hourglass.reduce.slim.TokenMasks;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Patch Slimming's pruned inference on the TornadoVM backend (the query-subset attention through the host fallback,
 * the residual gather and the rest on the device) against the CPU backend: a distilled DeiT with pyramid masks,
 * logits within 1e-4 and the same tokens per block.
 */
class TornadoSlimTest {
    private static final VitConfig DEIT = new VitConfig(224, 224, 16, 3, 192, 6, 3, 768, true, true, true, 1000,
            1e-6f, Resize.Mode.BICUBIC, true);

    @BeforeAll
    static void tornado() {
        TornadoTestSupport.requireTornado();
    }

    @Test
    void pyramidMasksMatchTheCpuBackend() throws IOException {
        int tokens = 2 + 196;
        int[] counts = {198, 198, 150, 100, 60, 2};
        int[][] keep = new int[counts.length][];
        for (int l = 0; l < counts.length; l++) {
            keep[l] = new int[counts[l]];
            Arrays.setAll(keep[l], i -> i); // the prefix and the first patches: nested by construction
        }
        SlimMasks slim = new SlimMasks(new TokenMasks(tokens, 2, keep, Map.of()), null);
        Tensor images = Tensor.ofFloats(random(new SplittableRandom(11), 2 * 3 * 224 * 224, 2), 2, 3, 224, 224);
        float[][] logits = new float[2][];
        int[][] after = new int[2][];
        Backend[] backends = {new CpuBackend(2), new TornadoBackend()};
        for (int k = 0; k < 2; k++) {
            try (Backend b = backends[k];
                 VisionTransformer vit = VisionTransformer.create(DEIT, new RandomVitWeights(DEIT, 5), b);
                 ReductionTrace trace = new ReductionTrace(slim.newReducer(b, DEIT), DEIT.depth())) {
                logits[k] = vit.classify(images, trace).toFloatArray();
                after[k] = trace.tokensAfterBlock();
            }
        }
        assertArrayEquals(counts, after[0]);
        assertArrayEquals(after[0], after[1]);
        double diff = assertMaxAbs("pruned logits", logits[0], logits[1], 1e-4);
        System.out.printf("Patch Slimming (distilled DeiT, pyramid masks): TornadoVM vs CPU logits max-abs %.3g%n",
                diff);
    }
}
