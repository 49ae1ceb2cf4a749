package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.Depth;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

class RandomDptWeightsTest {
    /** A 64-pixel DPT: 4x4 patches of 16, width 32, 4 blocks tapped after each, fusion width 16. */
    private static final VitConfig VIT = new VitConfig(64, 64, 16, 3, 32, 4, 2, 64, true, true, false, 0, 1e-6f,
            Resize.Mode.BILINEAR, false);

    private static DptConfig dpt(DptConfig.Readout readout) {
        return DptConfig.depth(new int[] {0, 1, 2, 3}, readout, new int[] {8, 16, 32, 32}, 16, false);
    }

    private static ModelConfig tiny() {
        return RandomDptWeights.dptConfig(VIT, dpt(DptConfig.Readout.PROJECT), "test");
    }

    private static Tensor image(int size) {
        DptPreprocessing.Prepared p = DptPreprocessing.monodepth(size, size)
                .apply(SegmenterSpeed.syntheticImage(size, size, 1));
        return Tensor.ofFloats(p.pixels(), 1, 3, size, size);
    }

    @Test
    void dptModelReadsEveryTensorAndGivesAFiniteVariedDepth() throws Exception {
        for (DptConfig.Readout readout : DptConfig.Readout.values()) {
            RandomDptWeights weights = new RandomDptWeights(VIT, dpt(readout), 5);
            Map<String, Shape> neck = DptModel.neckShapes(32, dpt(readout));
            neck.forEach((name, shape) -> assertEquals(shape, weights.info(name).orElseThrow().shape(), name));
            try (CpuBackend backend = new CpuBackend(1);
                 DptModel model = DptModel.create(VIT, dpt(readout), weights, backend)) {
                float[] depth = model.depth(image(64)).toFloatArray();
                assertEquals(64 * 64, depth.length);
                float min = Float.MAX_VALUE;
                float max = -Float.MAX_VALUE;
                for (float v : depth) {
                    assertTrue(Float.isFinite(v) && v >= 0, readout + ": " + v);
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
                assertTrue(max > min, readout + ": a constant depth map");
                ExpeditSettings expedit = ExpeditSettings.parse("alpha=2,grid=2x2,tau=1");
                float[] fast = model.depth(image(64), model.reducer(expedit, 64, 64)).toFloatArray();
                for (float v : fast) {
                    assertTrue(Float.isFinite(v), readout + " expedit: " + v);
                }
            }
        }
    }

    @Test
    void hybridGetsAResNet50StemThatDptModelReads() throws Exception {
        DptConfig hybrid = new DptConfig(new int[] {0, 1, 2, 3}, DptConfig.Readout.PROJECT,
                new int[] {256, 512, 32, 32}, 16, new double[] {4, 2, 1, 0.5}, DptConfig.Head.DEPTH, false,
                DptConfig.Backbone.HYBRID, 0);
        RandomDptWeights weights = new RandomDptWeights(VIT, hybrid, 5);
        assertEquals(Shape.of(64, 3, 7, 7), weights.info("hybrid.stem.conv.weight").orElseThrow().shape());
        assertEquals(Shape.of(32, 1024, 1, 1), weights.info("patch_embed.proj.weight").orElseThrow().shape(),
                "the 1x1 projection after the ResNet replaces the patch convolution");
        assertTrue(weights.info("hybrid.stages.2.blocks.8.conv3.weight").isPresent(), "ResNet-50's 9 units in stage 3");
        assertTrue(weights.info("dpt.act_postprocess1.3.weight").isEmpty(), "stage taps have no reassemble layers");
        try (CpuBackend backend = new CpuBackend(1);
             DptModel model = DptModel.create(VIT, hybrid, weights, backend)) {
            for (float v : model.depth(image(64)).toFloatArray()) {
                assertTrue(Float.isFinite(v) && v >= 0, "hybrid: " + v);
            }
        }
    }

    @Test
    void sameSeedSameBitsAndConvolutionsKeepTheirScale() throws Exception {
        RandomDptWeights a = RandomDptWeights.forConfig(tiny(), 3);
        RandomDptWeights b = RandomDptWeights.forConfig(tiny(), 3);
        RandomDptWeights c = RandomDptWeights.forConfig(tiny(), 4);
        assertEquals(a.tensors(), b.tensors());
        for (String name : new String[] {"dpt.scratch.refinenet2.resConfUnit1.conv1.weight", "blocks.2.attn.qkv.weight",
                "dpt.scratch.output_conv.4.bias"}) {
            assertArrayEquals(a.tensor(name).toFloatArray(), b.tensor(name).toFloatArray(), name);
            assertFalse(java.util.Arrays.equals(a.tensor(name).toFloatArray(), c.tensor(name).toFloatArray()), name);
        }
        // A 3x3 convolution of 16 channels in: std 1 / sqrt(144); the 4x4 transposed one of 8 channels in: 1 / sqrt(8).
        assertEquals(1 / 12.0, std(a.tensor("dpt.scratch.refinenet1.resConfUnit1.conv1.weight").toFloatArray()),
                0.01);
        assertEquals(1 / Math.sqrt(8), std(a.tensor("dpt.act_postprocess1.4.weight").toFloatArray()), 0.03);
        assertEquals(a.tensors().size(), a.tensors().stream().map(t -> t.name()).distinct().count());
    }

    @Test
    void writesAFileDepthEstimatorLoadsAndReusesItWhileItMatches(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.safetensors");
        assertTrue(RandomDptWeights.ensureFile(file, tiny(), 7));
        long modified = Files.getLastModifiedTime(file).toMillis();
        assertFalse(RandomDptWeights.ensureFile(file, tiny(), 7));
        assertEquals(modified, Files.getLastModifiedTime(file).toMillis());
        assertTrue(RandomDptWeights.ensureFile(file, tiny(), 8), "another seed is another model");
        try (DepthEstimator d = DepthEstimator.load(file, new ModelOptions(1))) {
            assertEquals(VIT, d.encoderConfig());
            Depth plain = d.estimate(image(64), null);
            Depth again = d.estimate(image(64), null);
            assertArrayEquals(plain.network(), again.network());
            assertTrue(plain.gflops() > 0);
        }
    }

    private static double std(float[] v) {
        double sum = 0;
        double sq = 0;
        for (float x : v) {
            sum += x;
            sq += (double) x * x;
        }
        double mean = sum / v.length;
        return Math.sqrt(sq / v.length - mean * mean);
    }
}
