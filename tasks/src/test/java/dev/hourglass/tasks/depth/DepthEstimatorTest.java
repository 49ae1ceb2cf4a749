package dev.hourglass.tasks.depth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Npy;

/**
 * {@link DepthEstimator} from a photo, through each source's preprocessing, against the PyTorch reference
 * ({@code tools/make_dpt_fixtures.py}: the tiny DPT at a network size of 64, skimage's chelsea at 157x100).
 */
class DepthEstimatorTest {
    private static final Path ROOT = DptGoldenTest.ROOT;
    private static final Path PHOTO = ROOT.resolve("photo.png");

    @Test
    void photoThroughRunMonodepth() throws IOException {
        try (DepthEstimator d = DepthEstimator.load(ROOT.resolve("dpt_tiny.pt"), options())) {
            assertEquals(DptPreprocessing.Source.MONODEPTH, d.preprocessing().source(), "a .pt is run_monodepth's");
            assertTrue(d.describe().startsWith("dpt_tiny.pt: DPT depth on a ViT (4 blocks,"), d.describe());
            Depth depth = d.estimate(RgbImage.read(PHOTO));
            assertEquals(64, depth.networkHeight());
            assertEquals(96, depth.networkWidth());
            assertEquals(100, depth.imageHeight());
            assertEquals(157, depth.imageWidth());
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("monodepth_depth.npy")).toFloatArray(), depth.network(),
                    "monodepth, network size");
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("monodepth_depth_full.npy")).toFloatArray(),
                    depth.image(), "monodepth, photo size");
        }
    }

    @Test
    void photoThroughHuggingFaceProcessor() throws IOException {
        try (DepthEstimator d = DepthEstimator.load(ROOT.resolve("hf"), new ModelOptions(2))) {
            assertEquals(DptPreprocessing.Source.HUGGING_FACE, d.preprocessing().source(),
                    "a Hugging Face folder is DPTImageProcessor's");
            Depth depth = d.estimate(RgbImage.read(PHOTO));
            assertEquals(64, depth.networkHeight());
            assertEquals(64, depth.networkWidth());
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("hf_depth.npy")).toFloatArray(), depth.network(),
                    "hugging face, network size");
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("hf_depth_full.npy")).toFloatArray(), depth.image(),
                    "hugging face, photo size");
        }
    }

    @Test
    void huggingFaceProcessorKeepingTheAspectRatio(@TempDir Path tmp) throws IOException {
        Path folder = tmp.resolve("hf");
        Files.createDirectories(folder);
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(ROOT.resolve("hf").resolve(f), folder.resolve(f));
        }
        String processor = Files.readString(ROOT.resolve("hf/preprocessor_config.json"))
                .replace("\"keep_aspect_ratio\": false", "\"keep_aspect_ratio\": true")
                .replace("\"ensure_multiple_of\": 1", "\"ensure_multiple_of\": 32");
        Files.writeString(folder.resolve("preprocessor_config.json"), processor);
        try (DepthEstimator d = DepthEstimator.load(folder, new ModelOptions(2))) {
            Depth depth = d.estimate(RgbImage.read(PHOTO));
            assertEquals(64, depth.networkHeight());
            assertEquals(96, depth.networkWidth());
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("hf_aspect_depth.npy")).toFloatArray(), depth.network(),
                    "hugging face keeping the aspect ratio");
        }
    }

    @Test
    void aMalformedMeanOrStdIsRefusedNamingTheField() throws IOException {
        try (ConvertedModel c = Converter.open(ROOT.resolve("hf"), DptGoldenTest.PT)) {
            ModelConfig config = c.config();
            assertEquals(0.5, DepthEstimator.defaultPreprocessing(config, "m").mean()[1]);
            ObjectNode p = config.preprocessing();
            p.remove("mean");
            assertEquals(0.5, DepthEstimator.defaultPreprocessing(with(config, p), "m").mean()[0],
                    "absent: DPTImageProcessor's default");
            p.putArray("mean").add(0.4).add(0.5);
            IOException e = assertThrows(IOException.class,
                    () -> DepthEstimator.defaultPreprocessing(with(config, p), "m.safetensors"));
            assertEquals("m.safetensors: preprocessing.mean must be 3 numbers, got [0.4,0.5]", e.getMessage());
            p.putArray("mean").add(0.4).add(0.5).add(0.6);
            p.putArray("std").add(0.2).add(0).add(0.2);
            e = assertThrows(IOException.class,
                    () -> DepthEstimator.defaultPreprocessing(with(config, p), "m.safetensors"));
            assertEquals("m.safetensors: preprocessing.std must be 3 numbers, all positive, got [0.2,0,0.2]",
                    e.getMessage());
            p.putArray("std").add(0.2).add("0.3").add(0.2);
            e = assertThrows(IOException.class,
                    () -> DepthEstimator.defaultPreprocessing(with(config, p), "m.safetensors"));
            assertTrue(e.getMessage().startsWith("m.safetensors: preprocessing.std must be"), e.getMessage());
        }
    }

    private static ModelConfig with(ModelConfig c, ObjectNode preprocessing) {
        return new ModelConfig(c.family(), c.encoder(), preprocessing, c.labels(), c.decoder(), c.source(),
                c.inferred());
    }

    @Test
    void tensorInputGivesTheDepthAtItsSizeAndCountsFlops() throws IOException {
        try (DepthEstimator d = DepthEstimator.load(ROOT.resolve("dpt_tiny.pt"), options())) {
            Depth depth = d.estimate(Npy.read(ROOT.resolve("input.npy")), null);
            DptGoldenTest.assertClose(Npy.read(ROOT.resolve("depth_pt.npy")).toFloatArray(), depth.network(),
                    "tensor");
            assertArrayEquals(depth.network(), depth.image());
            assertArrayEquals(new int[] {25, 25, 25, 25}, depth.tokensAfterBlock());
            assertEquals(depth.unreducedGflops(), depth.gflops(), 1e-12);
            assertTrue(depth.gflops() > 0);
        }
    }

    @Test
    void tomeRunsAndIsUnmergedAtEveryTap() throws IOException {
        try (DepthEstimator d = DepthEstimator.load(ROOT.resolve("dpt_tiny.pt"), options())) {
            Depth depth = d.estimate(Npy.read(ROOT.resolve("input.npy")), Reductions.parse("tome:r=4"));
            assertArrayEquals(new int[] {21, 17, 13, 9}, depth.tokensAfterBlock());
            assertTrue(depth.gflops() < depth.unreducedGflops(), depth.gflops() + " vs " + depth.unreducedGflops());
            assertEquals(64 * 96, depth.network().length);
        }
    }

    @Test
    void anotherFamilyIsRefusedNamingIt() {
        IOException e = assertThrows(IOException.class, () -> DepthEstimator.load(
                Path.of("src/main/resources/dev/hourglass/demo/shapes-vit/model.safetensors"), options()));
        assertTrue(e.getMessage().contains("depth estimation runs DPT models"), e.getMessage());
    }

    @Test
    void callsAfterCloseAreRefused() throws IOException {
        DepthEstimator d = DepthEstimator.load(ROOT.resolve("dpt_tiny.pt"), options());
        d.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> d.estimate(Npy.read(ROOT.resolve("input.npy")), null));
        assertTrue(e.getMessage().contains("dpt_tiny.pt"), e.getMessage());
    }

    private static ModelOptions options() {
        return new ModelOptions(2, null, DptGoldenTest.PT);
    }
}
