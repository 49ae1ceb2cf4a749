package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/**
 * {@link DptPreprocessing} against {@code golden/dpt/} ({@code tools/make_dpt_fixtures.py}): the network inputs that
 * run_monodepth.py (cv2) and DPTImageProcessor (Pillow) make of {@code photo.png}, bit for bit, and the bicubic
 * resize of the depth back to the photo.
 */
class DptPreprocessingTest {

    private static final Path ROOT = root();
    private static final int NET = 64; // fixtures.json: preprocessing.*.net_width / size

    @Test
    void monodepthInputIsBitExact() throws Exception {
        DptPreprocessing.Prepared p = DptPreprocessing.monodepth(NET, NET).apply(photo());
        assertSame("monodepth_input.npy", p);
    }

    @Test
    void huggingFaceDefaultInputIsBitExact() throws Exception {
        DptPreprocessing.Prepared p = DptPreprocessing.huggingFace(NET).apply(photo());
        assertEquals(NET, p.height());
        assertEquals(NET, p.width());
        assertSame("hf_input.npy", p);
    }

    @Test
    void huggingFaceKeepAspectInputIsBitExact() throws Exception {
        DptPreprocessing.Prepared p = DptPreprocessing.huggingFace(NET, NET, true, 32,
                new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5}).apply(photo());
        assertSame("hf_aspect_input.npy", p);
    }

    @Test
    void depthResizedBackToThePhoto() throws Exception {
        for (String[] c : new String[][] {{"monodepth_depth.npy", "monodepth_depth_full.npy"},
                {"hf_depth.npy", "hf_depth_full.npy"}}) {
            NpyFloatReader.NpyFloats depth = NpyFloatReader.read(ROOT.resolve(c[0]));
            NpyFloatReader.NpyFloats expected = NpyFloatReader.read(ROOT.resolve(c[1]));
            float[] actual = DptPreprocessing.depthToImage(depth.data(), depth.shape()[1], depth.shape()[2],
                    expected.shape()[1], expected.shape()[2]);
            double max = maxAbs(expected.data(), actual);
            // Depth values reach ~2.8 here. dev.hourglass.ops.Resize is float32 bicubic like F.interpolate but not
            // bit-identical to it: measured 4.2e-6 (monodepth) at values ~2.8, i.e. a few float32 ulps.
            assertTrue(max <= 1e-5, c[1] + ": max |java - torch| = " + max);
        }
    }

    @Test
    void sizeRules() {
        DptPreprocessing mono = DptPreprocessing.monodepth(384, 384);
        // 640x480: height's scale 0.8 is closer to 1 than the width's 0.6 -> 512 x 384.
        assertArrayEquals(new int[] {512, 384}, mono.outputSize(640, 480));
        // 157x100 at 64: scale 0.64 -> 100.48 x 64 -> 96 x 64.
        assertArrayEquals(new int[] {96, 64}, DptPreprocessing.monodepth(NET, NET).outputSize(157, 100));
        // Upscaling a small image: 100x50 at 384: width's scale 3.84 is closer to 1 than 7.68 -> 384 x 192.
        assertArrayEquals(new int[] {384, 192}, mono.outputSize(100, 50));
        // Hugging Face defaults stretch to the target whatever the aspect.
        assertArrayEquals(new int[] {384, 384}, DptPreprocessing.huggingFace(384).outputSize(640, 480));
        // Rounding to a multiple is half to even, like np.round.
        assertEquals(64, DptPreprocessing.constrainToMultipleOf(48, 32));
        assertEquals(64, DptPreprocessing.constrainToMultipleOf(80, 32));
        assertEquals(96, DptPreprocessing.constrainToMultipleOf(80.01, 32));
    }

    private static void assertSame(String file, DptPreprocessing.Prepared p) throws Exception {
        NpyFloatReader.NpyFloats expected = NpyFloatReader.read(ROOT.resolve(file));
        assertArrayEquals(new int[] {1, 3, p.height(), p.width()}, expected.shape(), file + " shape");
        double max = maxAbs(expected.data(), p.pixels());
        int differing = 0;
        for (int i = 0; i < p.pixels().length; i++) {
            if (Float.floatToRawIntBits(p.pixels()[i]) != Float.floatToRawIntBits(expected.data()[i])) {
                differing++;
            }
        }
        assertEquals(0, differing, file + ": " + differing + " values differ, max |diff| " + max);
    }

    private static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length, "length");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    private static RgbImage photo() throws ImageReadException {
        return RgbImage.read(ROOT.resolve("photo.png"));
    }

    private static Path root() {
        URL url = DptPreprocessingTest.class.getResource("/golden/dpt/fixtures.json");
        if (url == null) {
            throw new IllegalStateException("golden/dpt/fixtures.json is not on the test class path");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
