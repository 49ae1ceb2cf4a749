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
