package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;

import org.junit.jupiter.api.Test;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

/**
 * DPT-Hybrid (a ResNetV2 stem before the ViT; taps 1 and 2 are its stages 0 and 1) against the PyTorch reference
 * ({@code tools/make_dpt_fixtures.py}: {@code dpt_hybrid_tiny.pt}, bit-identical to isl-org/DPT with timm 0.4.5): a
 * tiny hybrid with every weight, bias and norm random, its convolutions standardised by the converter, on a
 * non-square 64x96 input.
 */
class DptHybridGoldenTest {

    @Test
    void originalCheckpointGivesTheReferenceDepth() throws IOException {
        try (ConvertedModel c = Converter.open(DptGoldenTest.ROOT.resolve("dpt_hybrid_tiny.pt"), DptGoldenTest.PT)) {
            assertEquals(DptConfig.Backbone.HYBRID, DptConfig.fromJson(c.config().decoder(), "decoder").backbone());
        }
        float[] depth = DptGoldenTest.depth(DptGoldenTest.ROOT.resolve("dpt_hybrid_tiny.pt"), DptGoldenTest.PT,
                "hybrid_input.npy");
        DptGoldenTest.assertClose(Npy.read(DptGoldenTest.ROOT.resolve("hybrid_depth.npy")).toFloatArray(), depth,
                "dpt_hybrid_tiny.pt");
    }

    @Test
    void threadCountDoesNotChangeTheBits() throws IOException {
        Tensor input = Npy.read(DptGoldenTest.ROOT.resolve("hybrid_input.npy"));
        try (ConvertedModel c = Converter.open(DptGoldenTest.ROOT.resolve("dpt_hybrid_tiny.pt"), DptGoldenTest.PT);
             CpuBackend one = new CpuBackend(1);
             CpuBackend three = new CpuBackend(3);
             DptModel a = DptGoldenTest.create(c, one);
             DptModel b = DptGoldenTest.create(c, three)) {
            assertArrayEquals(a.depth(input).toFloatArray(), b.depth(input).toFloatArray());
        }
    }
}
