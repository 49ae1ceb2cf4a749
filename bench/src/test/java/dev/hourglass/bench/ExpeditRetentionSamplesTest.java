package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How ExpeditRetention finds its images' ground truth and reads it. */
class ExpeditRetentionSamplesTest {

    @Test
    void pairsImagesWithLabelsByNameOrLeadingNumberAndReadsGreyLabelMaps(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("images"));
        Files.createDirectories(dir.resolve("labels"));
        BufferedImage rgb = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        ImageIO.write(rgb, "png", dir.resolve("images/00-val-0000.png").toFile());
        ImageIO.write(rgb, "png", dir.resolve("images/01-val-0001.png").toFile());
        BufferedImage grey = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = {0, 1, 2, 9, 255, 3};
        grey.getRaster().setSamples(0, 0, 3, 2, 0, values);
        ImageIO.write(grey, "png", dir.resolve("labels/00-val-0000.png").toFile());
        ImageIO.write(grey, "png", dir.resolve("labels/1-labels.png").toFile());

        List<ExpeditRetention.Sample> s = ExpeditRetention.samples(dir);
        assertEquals(2, s.size());
        assertEquals(dir.resolve("labels/00-val-0000.png"), s.get(0).labels());
        assertEquals(dir.resolve("labels/1-labels.png"), s.get(1).labels());
        assertArrayEquals(values, ExpeditRetention.readLabels(s.get(0).labels(), 3, 2));
        assertThrows(java.io.IOException.class, () -> ExpeditRetention.readLabels(s.get(0).labels(), 2, 3));
    }
}
