package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.hourglass.tasks.segment.SegmentationSheet.LegendEntry;
import dev.hourglass.tasks.segment.SegmentationSheet.Panel;

class SegmentationSheetTest {
    private static final List<String> NAMES = List.of("background", "solid", "stripes", "waves", "checker", "dots");

    @Test
    void panelsAreCopiedPixelForPixelSideBySideAndTheGroundTruthKeepsItsPaletteColours() {
        int w = 37;
        int h = 23;
        Random random = new Random(15);
        int[] truth = new int[w * h];
        int[] prediction = new int[w * h];
        for (int i = 0; i < truth.length; i++) {
            truth[i] = i % 50 == 0 ? 255 : random.nextInt(4);
            prediction[i] = random.nextInt(3) + 1;
        }
        int[] palette = SegmentationPictures.distinctPalette(NAMES.size());
        BufferedImage noise = new BufferedImage(w, h + 5, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h + 5; y++) {
            for (int x = 0; x < w; x++) {
                noise.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        List<Panel> panels = List.of(new Panel("image", noise),
                new Panel("ground truth", SegmentationPictures.labelColours(truth, w, h, palette)),
                new Panel("prediction", SegmentationPictures.labelColours(prediction, w, h, palette)));
        List<LegendEntry> legend = SegmentationSheet.legend(NAMES, palette, truth, prediction);
        SegmentationSheet sheet = new SegmentationSheet("scene.png", panels, legend);
        BufferedImage picture = sheet.draw();
        assertEquals(sheet.width(), picture.getWidth());
        assertEquals(sheet.height(), picture.getHeight());

        for (int i = 0; i < panels.size(); i++) {
            Rectangle r = sheet.panelBounds(i);
            assertEquals(panels.get(i).picture().getWidth(), r.width);
            assertEquals(panels.get(i).picture().getHeight(), r.height);
            assertTrue(new Rectangle(0, 0, sheet.width(), sheet.height()).contains(r), "panel " + i + " inside");
            if (i > 0) {
                assertTrue(r.x > sheet.panelBounds(i - 1).x + sheet.panelBounds(i - 1).width,
                        "panel " + i + " right of the one before, apart from it");
                assertEquals(sheet.panelBounds(0).y, r.y, "panels top-aligned");
            }
        }
        Rectangle gt = sheet.panelBounds(1);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int t = truth[y * w + x];
                assertEquals(t < palette.length ? palette[t] : SegmentationPictures.UNLABELLED,
                        picture.getRGB(gt.x + x, gt.y + y) & 0xFFFFFF, "ground truth at " + x + "," + y);
            }
        }
        Rectangle image = sheet.panelBounds(0);
        for (int y = 0; y < noise.getHeight(); y++) {
            for (int x = 0; x < w; x++) {
                assertEquals(noise.getRGB(x, y), picture.getRGB(image.x + x, image.y + y), "image at " + x + "," + y);
            }
        }
    }

    @Test
    void theLegendNamesTheClassesPresentInClassOrderWithASwatchOfEachColour() {
        int[] palette = SegmentationPictures.distinctPalette(NAMES.size());
        List<LegendEntry> legend = SegmentationSheet.legend(NAMES, palette, new int[] {4, 4, 255, 0},
                new int[] {2, 0, 0, 0});
        assertEquals(List.of(new LegendEntry("background", palette[0]), new LegendEntry("stripes", palette[2]),
                new LegendEntry("checker", palette[4])), legend, "classes 0, 2, 4; the ignore index left out");

        BufferedImage panel = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        SegmentationSheet sheet = new SegmentationSheet(null, List.of(new Panel("p", panel)), legend);
        BufferedImage picture = sheet.draw();
        Rectangle below = sheet.panelBounds(0);
        for (int i = 0; i < legend.size(); i++) {
            Rectangle s = sheet.swatchBounds(i);
            assertTrue(s.y >= below.y + below.height, "swatch " + i + " below the panels");
            assertTrue(s.width >= 10 && s.height >= 10, "a swatch big enough to see");
            for (int y = s.y; y < s.y + s.height; y++) {
                for (int x = s.x; x < s.x + s.width; x++) {
                    assertEquals(legend.get(i).rgb(), picture.getRGB(x, y) & 0xFFFFFF, legend.get(i).name());
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> SegmentationSheet.legend(NAMES, new int[3]));
    }

    @Test
    void aLongLegendWrapsWithinTheSheetAndALongTitleStaysAboveItsOwnPanel() {
        List<LegendEntry> legend = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            legend.add(new LegendEntry("class number " + i, SegmentationPictures.defaultPalette(30)[i]));
        }
        BufferedImage black = new BufferedImage(100, 60, BufferedImage.TYPE_INT_RGB);
        String longTitle = "a title far longer than the hundred pixels of its panel, even at the smallest size";
        SegmentationSheet sheet = new SegmentationSheet(null, List.of(new Panel(longTitle, black),
                new Panel("", black)), legend);
        BufferedImage picture = sheet.draw();
        int rows = 0;
        int lastY = -1;
        for (int i = 0; i < legend.size(); i++) {
            Rectangle s = sheet.swatchBounds(i);
            assertTrue(s.x >= 0 && s.x + s.width <= sheet.width() && s.y + s.height <= sheet.height(), "swatch " + i);
            if (s.y != lastY) {
                rows++;
                lastY = s.y;
            }
        }
        assertTrue(rows > 1, "thirty entries do not fit one row of " + sheet.width() + " pixels");
        Rectangle second = sheet.panelBounds(1);
        for (int y = sheet.panelBounds(0).y - 20; y < second.y; y++) {
            for (int x = second.x; x < second.x + second.width; x++) {
                assertEquals(0xFFFFFF, picture.getRGB(x, y) & 0xFFFFFF, "the first title is clipped to its panel");
            }
        }
        assertEquals(sheet.panelBounds(0).x, sheet.width() - second.x - second.width,
                "as wide as the panels and margins: the legend wraps rather than widening the sheet");
        assertThrows(IllegalArgumentException.class, () -> new SegmentationSheet("x", List.of(), legend));
    }
}
