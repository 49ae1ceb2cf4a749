package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.vit.VitConfig;

class RandomSegmenterWeightsTest {
    /** A 64-pixel window of 16 patches of 16, width 32, 4 blocks; decoder width 32, 5 classes. */
    private static ModelConfig tiny() {
        return RandomSegmenterWeights.segmenterConfig(new VitConfig(64, 64, 16, 3, 32, 4, 2, 64, true, true, false,
                0, 1e-6f, Resize.Mode.BILINEAR, false), 5, 2, 32, 2, 64, 1e-5, 64, 64, "test");
    }

    @Test
    void writesAFileSemanticSegmenterLoadsAndReusesItWhileItMatches(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.safetensors");
        assertTrue(RandomSegmenterWeights.ensureFile(file, tiny(), 7));
        long modified = Files.getLastModifiedTime(file).toMillis();
        assertFalse(RandomSegmenterWeights.ensureFile(file, tiny(), 7));
        assertEquals(modified, Files.getLastModifiedTime(file).toMillis());
        // Another seed is another model.
        assertTrue(RandomSegmenterWeights.ensureFile(dir.resolve("other.safetensors"), tiny(), 8));
        assertTrue(RandomSegmenterWeights.ensureFile(file, tiny(), 8));

        try (SemanticSegmenter s = SemanticSegmenter.load(file, new ModelOptions(1))) {
            assertEquals(64, s.windowSize());
            assertEquals(5, s.classNames().size());
            var image = s.normalize(SegmenterSpeed.syntheticImage(64, 64, 1));
            Segmentation plain = s.segment(image, null);
            Segmentation again = s.segment(image, null);
            assertArrayEquals(plain.labels(), again.labels());
            Segmentation fast = s.segment(image, ExpeditSettings.parse("alpha=2,grid=2x2,k=3"));
            assertEquals(64 * 64, fast.labels().length);
            double agree = SegmenterSpeed.agreement(plain, fast);
            assertTrue(agree >= 0 && agree <= 1);
        }
    }

    @Test
    void sameSeedSameValuesAndTheDecoderFollowsSegmentersScale() throws Exception {
        RandomSegmenterWeights a = RandomSegmenterWeights.forConfig(tiny(), 3);
        RandomSegmenterWeights b = RandomSegmenterWeights.forConfig(tiny(), 3);
        assertArrayEquals(a.tensor("decoder.proj_patch").toFloatArray(), b.tensor("decoder.proj_patch").toFloatArray());
        assertArrayEquals(a.tensor("blocks.1.mlp.fc1.weight").toFloatArray(),
                b.tensor("blocks.1.mlp.fc1.weight").toFloatArray());
        float[] p = a.tensor("decoder.proj_patch").toFloatArray();
        double sq = 0;
        for (float v : p) {
            sq += v * v;
        }
        // std d_model^-0.5 = 0.177 for width 32.
        assertEquals(Math.sqrt(1.0 / 32), Math.sqrt(sq / p.length), 0.02);
        assertEquals(a.tensors().size(), a.tensors().stream().map(t -> t.name()).distinct().count());
    }
}
