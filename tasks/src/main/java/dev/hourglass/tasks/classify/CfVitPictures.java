package dev.hourglass.tasks.classify;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

import dev.hourglass.tasks.image.RgbImage;

/**
 * What CF-ViT's coarse stage found informative, drawn over the image the model saw: the coarse cells it re-split into
 * fine tokens outlined, the others dimmed. An image that stopped at the coarse stage is drawn dimmed whole, with a
 * note that nothing was re-split.
 */
public final class CfVitPictures {
    /** Drawn this many times larger than the model's input, so that 7x7 cells of a 112-pixel input are visible. */
    private static final int SCALE = 4;

    private CfVitPictures() {
    }

    /**
     * @param seen       the resized and cropped image the model saw ({@code EvalPreprocessing.resizeAndCrop})
     * @param important  the re-split coarse cells, row-major indices on the coarse grid (empty if the image exited)
     * @param coarseGrid cells per side of the coarse grid
     */
    public static BufferedImage informativeRegions(RgbImage seen, int[] important, int coarseGrid) {
        int w = seen.width() * SCALE;
        int h = seen.height() * SCALE;
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(seen.toBufferedImage(), 0, 0, w, h, null);
            boolean[] chosen = new boolean[coarseGrid * coarseGrid];
            for (int c : important) {
                chosen[c] = true;
            }
            double cellW = w / (double) coarseGrid;
            double cellH = h / (double) coarseGrid;
            g.setColor(new Color(0, 0, 0, 150));
            for (int c = 0; c < chosen.length; c++) {
                if (!chosen[c]) {
                    g.fillRect(box(c % coarseGrid, cellW), box(c / coarseGrid, cellH),
                            box(c % coarseGrid + 1, cellW) - box(c % coarseGrid, cellW),
                            box(c / coarseGrid + 1, cellH) - box(c / coarseGrid, cellH));
                }
            }
            g.setColor(new Color(255, 200, 0));
            g.setStroke(new BasicStroke(2f));
            for (int c = 0; c < chosen.length; c++) {
                if (chosen[c]) {
                    int x0 = box(c % coarseGrid, cellW);
                    int y0 = box(c / coarseGrid, cellH);
                    g.drawRect(x0 + 1, y0 + 1, box(c % coarseGrid + 1, cellW) - x0 - 2,
                            box(c / coarseGrid + 1, cellH) - y0 - 2);
                }
            }
            g.setColor(new Color(0, 0, 0, 190));
            g.fillRect(0, 0, w, 26);
            g.setColor(Color.WHITE);
            g.drawString(important.length == 0 ? "stopped at the coarse stage: nothing re-split"
                    : important.length + " of " + chosen.length + " coarse cells re-split into fine tokens", 8, 18);
        } finally {
            g.dispose();
        }
        return out;
    }

    private static int box(int index, double size) {
        return (int) Math.round(index * size);
    }
}
