package dev.hourglass.tasks.segment;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.tasks.image.RgbImage;

/** Pictures of a {@link Segmentation}: class indices, class colours, an overlay on the image, the clusters. */
public final class SegmentationPictures {
    private SegmentationPictures() {
    }

    /**
     * The class index of each pixel as a greyscale PNG (8-bit for up to 256 classes, 16-bit beyond), the form
     * segmentation benchmarks read.
     */
    public static BufferedImage classIndices(Segmentation s) {
        boolean wide = s.classNames().size() > 256;
        BufferedImage img = new BufferedImage(s.width(), s.height(),
                wide ? BufferedImage.TYPE_USHORT_GRAY : BufferedImage.TYPE_BYTE_GRAY);
        int[] row = new int[s.width()];
        for (int y = 0; y < s.height(); y++) {
            System.arraycopy(s.labels(), y * s.width(), row, 0, s.width());
            img.getRaster().setSamples(0, y, s.width(), 1, 0, row);
        }
        return img;
    }

    /** Each pixel in its class's colour from {@code palette} ({@code 0xRRGGBB} by class index). */
    public static BufferedImage colours(Segmentation s, int[] palette) {
        requirePalette(palette, s.classNames().size());
        BufferedImage img = new BufferedImage(s.width(), s.height(), BufferedImage.TYPE_INT_RGB);
        int[] labels = s.labels();
        for (int y = 0; y < s.height(); y++) {
            for (int x = 0; x < s.width(); x++) {
                img.setRGB(x, y, palette[labels[y * s.width() + x]]);
            }
        }
        return img;
    }

    /** The image and the class colours mixed half and half (Segmenter's {@code Image.blend(image, colours, 0.5)}). */
    public static BufferedImage overlay(RgbImage image, Segmentation s, int[] palette) {
        requirePalette(palette, s.classNames().size());
        int[] labels = s.labels();
        return blend(image, p -> palette[labels[p]]);
    }

    /**
     * The image half and half with a colour per cluster (Expedit's clustering made visible): every token of a
     * cluster shares its colour; {@code s.clusters()} must be present.
     */
    public static BufferedImage clusters(RgbImage image, Segmentation s) {
        if (s.clusters() == null) {
            throw new IllegalArgumentException("the segmentation has no cluster map (run with Expedit and clusters on)");
        }
        int[] clusters = s.clusters();
        return blend(image, p -> clusterColour(clusters[p]));
    }

    private interface PixelColour {
        int at(int pixel);
    }

    private static BufferedImage blend(RgbImage image, PixelColour colour) {
        int w = image.width();
        int h = image.height();
        byte[] rgb = image.pixels();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int p = 0; p < w * h; p++) {
            int c = colour.at(p);
            int r = mix(rgb[3 * p] & 0xFF, (c >> 16) & 0xFF);
            int g = mix(rgb[3 * p + 1] & 0xFF, (c >> 8) & 0xFF);
            int b = mix(rgb[3 * p + 2] & 0xFF, c & 0xFF);
            img.setRGB(p % w, p / w, (r << 16) | (g << 8) | b);
        }
        return img;
    }

    /** PIL's blend at 0.5: {@code a + (b - a) * 0.5}, rounded half up as PIL's integer arithmetic does. */
    private static int mix(int a, int b) {
        return (int) Math.floor(a + (b - a) * 0.5 + 0.5);
    }

    /** A well spread colour per cluster id (a multiplicative hash; neighbours in the grid differ strongly). */
    static int clusterColour(int id) {
        int v = id * 0x9E3779B1;
        v ^= v >>> 15;
        v *= 0x85EBCA6B;
        v ^= v >>> 13;
        return v & 0xFFFFFF;
    }

    /**
     * A palette of {@code classes} distinct colours, generated: class {@code i}'s bits spread over the high bits of
     * red, green and blue in turn (the classic scheme for label maps), so that neighbouring indices differ strongly.
     */
    public static int[] defaultPalette(int classes) {
        int[] palette = new int[classes];
        for (int i = 0; i < classes; i++) {
            int r = 0;
            int g = 0;
            int b = 0;
            int v = i + 1;
            for (int bit = 7; bit >= 0 && v > 0; bit--) {
                r |= (v & 1) << bit;
                g |= ((v >> 1) & 1) << bit;
                b |= ((v >> 2) & 1) << bit;
                v >>= 3;
            }
            palette[i] = (r << 16) | (g << 8) | b;
        }
        return palette;
    }

    /** Writes a PNG whole or not at all (temporary file, then rename). */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!ImageIO.write(image, "png", bytes)) {
            throw new IOException("no PNG writer for image type " + image.getType());
        }
        AtomicFiles.write(file, bytes.toByteArray());
    }

    private static void requirePalette(int[] palette, int classes) {
        if (palette.length < classes) {
            throw new IllegalArgumentException("the palette has " + palette.length + " colours for " + classes
                    + " classes");
        }
    }
}
