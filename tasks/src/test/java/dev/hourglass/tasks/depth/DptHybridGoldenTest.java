package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * DPT-Hybrid (a ResNetV2 stem before the ViT; taps 1 and 2 are its stages 0 and 1) against the PyTorch reference
 * ({@code tools/make_dpt_fixtures.py}: {@code dpt_hybrid_tiny.pt}, bit-identical to isl-org/DPT with timm 0.4.5): a
 * tiny hybrid with every weight, bias and norm random, its convolutions standardised by the converter, on a
 * non-square 64x96 input.
 */
class DptHybridGoldenTest {
    static final Path HYBRID = DptGoldenTest.ROOT.resolve("dpt_hybrid_tiny.pt");
    static final String BACKBONE = "pretrained.model.patch_embed.backbone.";

    @Test
    void neckShapesNameWhatTheHybridCheckpointHolds() throws IOException {
        try (ConvertedModel c = Converter.open(HYBRID, DptGoldenTest.PT)) {
            java.util.Map<String, dev.hourglass.tensor.Shape> shapes = DptModel.neckShapes(
                    c.config().encoder().embedDim(), c.config().decoder(DptConfig.class));
            assertTrue(shapes.keySet().stream().noneMatch(n -> n.startsWith("dpt.act_postprocess1")
                    || n.startsWith("dpt.act_postprocess2")), "stage taps have no reassemble layers");
            shapes.forEach((name, shape) -> assertEquals(shape, c.info(name).orElseThrow().shape(), name));
        }
    }

    @Test
    void converterMapsTheResNetUnderHybridAndInfersTheEncoder() throws IOException {
        try (ConvertedModel c = Converter.open(HYBRID, DptGoldenTest.PT)) {
            VitConfig e = c.config().encoder();
            // Patch 16 = the ResNet's stride (stem 4, stages 1, 2, 2); the image from the 4x4 position grid.
            assertEquals(List.of(16, 3, 32, 4, 2, 64, 64, 64), List.of(e.patchSize(), e.inChannels(), e.embedDim(),
                    e.depth(), e.numHeads(), e.mlpHidden(), e.imageHeight(), e.imageWidth()));
            DptConfig d = c.config().decoder(DptConfig.class);
            assertEquals(DptConfig.Backbone.HYBRID, d.backbone());
            assertArrayEquals(new int[] {0, 1, 2, 3}, d.hooks());
            assertArrayEquals(new int[] {128, 128, 32, 32}, d.features());
            assertEquals(DptConfig.Readout.PROJECT, d.readout());
            assertEquals(List.of(BACKBONE + "stem.conv.weight"), c.sources().get("hybrid.stem.conv.weight"));
            assertEquals(List.of(BACKBONE + "stages.1.blocks.0.downsample.norm.bias"),
                    c.sources().get("hybrid.stages.1.blocks.0.downsample.norm.bias"));
            assertEquals(List.of("pretrained.model.patch_embed.proj.weight"), c.sources().get("patch_embed.proj.weight"));
            assertEquals(List.of(32L, 128L, 1L, 1L), boxed(c.info("patch_embed.proj.weight").orElseThrow().shape()
                    .dims()));
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("patch size 16")
                    && n.contains("not a patch convolution")), c.config().inferred().toString());
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("(w - mean) / (std + 1.0E-5)")),
                    c.config().inferred().toString());
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("hooks [0,1,2,3]")),
                    c.config().inferred().toString());
        }
    }

    /** The canonical conv weights are the checkpoint's standardised: (w - mean) / (std + 1e-5) per output channel. */
    @Test
    void convolutionWeightsAreStandardisedAtConversion() throws IOException {
        try (ConvertedModel c = Converter.open(HYBRID, DptGoldenTest.PT)) {
            for (String name : List.of("stem.conv.weight", "stages.0.blocks.0.conv2.weight",
                    "stages.2.blocks.0.downsample.conv.weight")) {
                float[] raw = c.checkpoint().tensors().tensor(BACKBONE + name).toFloatArray();
                Tensor got = c.tensor("hybrid." + name);
                assertEquals("F32", c.info("hybrid." + name).orElseThrow().dtype());
                float[] w = got.toFloatArray();
                int out = got.shape().intDim(0);
                int per = w.length / out;
                for (int o = 0; o < out; o++) {
                    double mean = 0;
                    for (int i = 0; i < per; i++) {
                        mean += raw[o * per + i];
                    }
                    mean /= per;
                    double var = 0;
                    for (int i = 0; i < per; i++) {
                        var += (raw[o * per + i] - mean) * (raw[o * per + i] - mean);
                    }
                    double std = Math.sqrt(var / per);
                    for (int i = 0; i < per; i++) {
                        double expected = (raw[o * per + i] - mean) / (std + 1e-5);
                        assertEquals(expected, w[o * per + i], 1e-5 * Math.max(1, Math.abs(expected)),
                                name + " [" + o + ", " + i + "]");
                    }
                }
            }
            // GroupNorm parameters are renamed, not changed.
            assertArrayEquals(c.checkpoint().tensors().tensor(BACKBONE + "stem.norm.weight").toFloatArray(),
                    c.tensor("hybrid.stem.norm.weight").toFloatArray());
        }
    }

    /** A written hybrid (plain weights, hybrid.* names) loads as an Hourglass file and gives the same depth. */
    @Test
    void writtenHybridRunsTheSame(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("hybrid.safetensors");
        try (ConvertedModel c = Converter.open(HYBRID, DptGoldenTest.PT)) {
            Converter.write(c, out, null, false, Converter.Progress.NONE);
        }
        try (ConvertedModel c = Converter.open(out, ConvertOptions.NONE)) {
            assertTrue(c.checkpoint() != null && c.layout().equals("hourglass"), c.layout());
        }
        assertArrayEquals(DptGoldenTest.depth(HYBRID, DptGoldenTest.PT, "hybrid_input.npy"),
                DptGoldenTest.depth(out, ConvertOptions.NONE, "hybrid_input.npy"));
    }

    private static List<Long> boxed(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }

    @Test
    void originalCheckpointGivesTheReferenceDepth() throws IOException {
        try (ConvertedModel c = Converter.open(DptGoldenTest.ROOT.resolve("dpt_hybrid_tiny.pt"), DptGoldenTest.PT)) {
            assertEquals(DptConfig.Backbone.HYBRID, c.config().decoder(DptConfig.class).backbone());
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
