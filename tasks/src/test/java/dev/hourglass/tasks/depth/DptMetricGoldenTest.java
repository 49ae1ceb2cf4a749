package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.convert.DptOutput;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.tensor.Npy;

/**
 * Metric depth as isl-org's {@code run_monodepth.py} runs {@code dpt_hybrid_kitti}: the tiny DPT-Hybrid converted with
 * {@code --dpt-output kitti} against the reference built with KITTI's scale, shift and invert
 * ({@code hybrid_depth_kitti.npy}, {@code tools/make_dpt_fixtures.py}).
 */
class DptMetricGoldenTest {
    static final ConvertOptions KITTI = DptGoldenTest.PT.withDptOutput(DptOutput.KITTI);

    @Test
    void kittiOutputGivesTheReferenceMetricDepth() throws IOException {
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, KITTI)) {
            DptConfig d = c.config().decoder(DptConfig.class);
            assertEquals(new DptConfig.Metric(0.00006016, 0.00579), d.metric());
            assertEquals(1216, c.config().preprocessing().get("net_width").asInt());
            assertEquals(352, c.config().preprocessing().get("net_height").asInt());
            assertTrue(c.guesses().stream().noneMatch(g -> g.startsWith(DptOutput.GUESS)), c.guesses().toString());
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.startsWith("output: metric depth in metres"
                    + " (--dpt-output kitti")), c.config().inferred().toString());
        }
        float[] depth = DptGoldenTest.depth(DptHybridGoldenTest.HYBRID, KITTI, "hybrid_input.npy");
        float[] expected = Npy.read(DptGoldenTest.ROOT.resolve("hybrid_depth_kitti.npy")).toFloatArray();
        DptGoldenTest.assertClose(expected, depth, "dpt_hybrid_tiny.pt --dpt-output kitti");
        float min = Float.POSITIVE_INFINITY;
        for (float v : depth) {
            min = Math.min(min, v);
        }
        assertTrue(min > 150, "metric depth 1 / (6e-5 x + 0.00579) of x in [0, 8] is 160 to 173 m, got " + min);
    }

    /**
     * The metric step alone, on the reference's own head output ({@code hybrid_depth.npy}, the same forward pass),
     * gives the reference's metric depth to the bit: PyTorch rounds the Python floats to float32 and adds after the
     * multiply, and 1.0 / t is an IEEE division.
     */
    @Test
    void theStepOnTheReferenceHeadOutputIsBitIdentical() throws IOException {
        float[] x = Npy.read(DptGoldenTest.ROOT.resolve("hybrid_depth.npy")).toFloatArray();
        float[] expected = Npy.read(DptGoldenTest.ROOT.resolve("hybrid_depth_kitti.npy")).toFloatArray();
        DptModel.metricDepth(DptOutput.KITTI.metric(), x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(x[i]), "pixel " + i);
        }
    }

    /** The written file keeps the metric output and the net size, and runs the same. */
    @Test
    void aWrittenMetricModelKeepsItsOutput(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("kitti.safetensors");
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID, KITTI)) {
            Converter.write(c, out, null, false, Converter.Progress.NONE);
        }
        try (ConvertedModel c = Converter.open(out, ConvertOptions.NONE)) {
            assertEquals(DptOutput.KITTI.metric(), c.config().decoder(DptConfig.class).metric());
            assertEquals(1216, c.config().preprocessing().get("net_width").asInt());
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(
                DptGoldenTest.depth(DptHybridGoldenTest.HYBRID, KITTI, "hybrid_input.npy"),
                DptGoldenTest.depth(out, ConvertOptions.NONE, "hybrid_input.npy"));
        try (ConvertedModel c = Converter.open(DptHybridGoldenTest.HYBRID,
                DptGoldenTest.PT.withDptOutput(DptOutput.RELATIVE))) {
            assertNull(c.config().decoder(DptConfig.class).metric());
            assertTrue(!c.config().preprocessing().has("net_width"));
        }
    }
}
