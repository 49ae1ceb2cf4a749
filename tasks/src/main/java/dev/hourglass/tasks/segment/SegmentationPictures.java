package dev.hourglass.tasks.segment;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import javax.imageio.ImageIO;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.tasks.image.RgbImage;

/**
 * Pictures of a {@link Segmentation}: class indices, class colours (of a prediction or a ground truth), an overlay on
 * the image, the clusters (as a mosaic or outlined over the image). {@link SegmentationSheet} puts several side by side
 * with titles and a legend.
 */
public final class SegmentationPictures {
    /** The colour of a ground-truth pixel whose value is not a class (mmseg's ignore index 255, for one). */
    public static final int UNLABELLED = 0x000000;
    /** Cluster boundaries: a bright yellow, visible over the dimmed image whatever its colours. */
    static final int BOUNDARY = 0xFFD21F;
    /** Cluster marks: white with a dark rim, so they read on the dimmed image and on a boundary alike. */
    static final int MARK = 0xFFFFFF;
    static final int MARK_RIM = 0x101010;

    /** matplotlib's {@code tab20}: ten hues ({@code tab10}), each followed by a lighter tint of it. */
    private static final int[] TAB20 = {
        0x1F77B4, 0xAEC7E8, 0xFF7F0E, 0xFFBB78, 0x2CA02C, 0x98DF8A, 0xD62728, 0xFF9896, 0x9467BD, 0xC5B0D5,
        0x8C564B, 0xC49C94, 0xE377C2, 0xF7B6D2, 0x7F7F7F, 0xC7C7C7, 0xBCBD22, 0xDBDB8D, 0x17BECF, 0x9EDAE5,
    };

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
        return labelColours(s.labels(), s.width(), s.height(), palette);
    }

    /**
     * A label map (a ground truth, say) in the colours of {@code palette} ({@code 0xRRGGBB} by class index); a value
     * outside the palette (an ignore index) is drawn {@link #UNLABELLED}.
     *
     * @param labels row-major, {@code width * height} values
     */
    public static BufferedImage labelColours(int[] labels, int width, int height, int[] palette) {
        requireMap(labels.length, width, height, "label map");
        int[] rgb = new int[labels.length];
        for (int p = 0; p < labels.length; p++) {
            int l = labels[p];
            rgb[p] = l >= 0 && l < palette.length ? palette[l] : UNLABELLED;
        }
        return picture(rgb, width, height);
    }

    /** The image and the class colours mixed half and half (Segmenter's {@code Image.blend(image, colours, 0.5)}). */
    public static BufferedImage overlay(RgbImage image, Segmentation s, int[] palette) {
        requirePalette(palette, s.classNames().size());
        int[] labels = s.labels();
        return blend(image, p -> palette[labels[p]]);
    }

    /**
     * The image half and half with a colour per cluster (Expedit's clustering made visible): every token of a
     * cluster shares its colour; {@code s.clusters()} must be present. {@link #clusterOutlines} is easier to read.
     */
    public static BufferedImage clusters(RgbImage image, Segmentation s) {
        if (s.clusters() == null) {
            throw new IllegalArgumentException("the segmentation has no cluster map (run with Expedit and clusters on)");
        }
        int[] clusters = s.clusters();
        return blend(image, p -> clusterColour(clusters[p]));
    }

    /**
     * Expedit's clusters outlined over the image: the image dimmed, a one-pixel line in {@link #BOUNDARY} on every
     * pixel whose cluster differs from its right or lower neighbour's ({@link #clusterBoundaries}), and each cluster
     * marked where it lies ({@link #clusterMarks}: a white dot in a dark rim, under the lines); {@code s.clusters()}
     * must be present. Unlike {@link #clusters}' mosaic, the image stays readable and a cluster's extent is its
     * outline.
     */
    public static BufferedImage clusterOutlines(RgbImage image, Segmentation s) {
        if (s.clusters() == null) {
            throw new IllegalArgumentException("the segmentation has no cluster map (run with Expedit and clusters"
                    + " on)");
        }
        return clusterOutlines(image, s.clusters());
    }

    /** {@link #clusterOutlines(RgbImage, Segmentation)} for a cluster map of the image's size (row-major ids). */
    public static BufferedImage clusterOutlines(RgbImage image, int[] clusters) {
        int w = image.width();
        int h = image.height();
        requireMap(clusters.length, w, h, "cluster map");
        byte[] pixels = image.pixels();
        int[] rgb = new int[w * h];
        for (int p = 0; p < rgb.length; p++) {
            rgb[p] = dim(pixels[3 * p] & 0xFF) << 16 | dim(pixels[3 * p + 1] & 0xFF) << 8
                    | dim(pixels[3 * p + 2] & 0xFF);
        }
        int[] marks = clusterMarks(clusters, w, h);
        // Every rim before any dot, so that two marks close together keep both their dots.
        for (int p : marks) {
            drawSquare(rgb, w, h, p % w, p / w, 2, MARK_RIM);
        }
        for (int p : marks) {
            drawSquare(rgb, w, h, p % w, p / w, 1, MARK);
        }
        boolean[] boundary = clusterBoundaries(clusters, w, h);
        for (int p = 0; p < rgb.length; p++) {
            if (boundary[p]) {
                rgb[p] = BOUNDARY;
            }
        }
        return picture(rgb, w, h);
    }

    /** Dims a channel to 60%: dark enough for the lines and marks to stand out, light enough to see the scene. */
    static int dim(int channel) {
        return (channel * 60 + 50) / 100;
    }

    /**
     * Which pixels lie on a cluster boundary: those whose cluster differs from the one of the pixel to their right or
     * below (so a boundary is one pixel wide, on the upper-left side of the change).
     */
    static boolean[] clusterBoundaries(int[] clusters, int width, int height) {
        requireMap(clusters.length, width, height, "cluster map");
        boolean[] boundary = new boolean[clusters.length];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = y * width + x;
                boundary[p] = (x + 1 < width && clusters[p] != clusters[p + 1])
                        || (y + 1 < height && clusters[p] != clusters[p + width]);
            }
        }
        return boundary;
    }

    /**
     * One pixel per cluster present, in cluster-id order: the cluster's pixel nearest the mean position of its
     * pixels (the first in row-major order on a tie). A cluster need not be connected, so its mean position may lie
     * outside it; the nearest member never does.
     */
    static int[] clusterMarks(int[] clusters, int width, int height) {
        requireMap(clusters.length, width, height, "cluster map");
        // Ids are any ints (the segmenter numbers each window's after the previous ones'): index them in sorted order.
        int[] ids = Arrays.stream(clusters).sorted().distinct().toArray();
        int[] index = new int[clusters.length];
        long[] count = new long[ids.length];
        long[] sumX = new long[ids.length];
        long[] sumY = new long[ids.length];
        for (int p = 0; p < clusters.length; p++) {
            int c = Arrays.binarySearch(ids, clusters[p]);
            index[p] = c;
            count[c]++;
            sumX[c] += p % width;
            sumY[c] += p / width;
        }
        double[] best = new double[ids.length];
        int[] at = new int[ids.length];
        Arrays.fill(best, Double.POSITIVE_INFINITY);
        for (int p = 0; p < clusters.length; p++) {
            int c = index[p];
            double dx = p % width - (double) sumX[c] / count[c];
            double dy = p / width - (double) sumY[c] / count[c];
            double d = dx * dx + dy * dy;
            if (d < best[c]) {
                best[c] = d;
                at[c] = p;
            }
        }
        return at;
    }

    /**
     * A square of side {@code 2 * radius + 1} around ({@code cx}, {@code cy}), less its four corners (a mark is a 3x3
     * dot in a rim of radius 2), clipped to the picture.
     */
    private static void drawSquare(int[] rgb, int w, int h, int cx, int cy, int radius, int colour) {
        for (int dy = -radius; dy <= radius; dy++) {
            for (int dx = -radius; dx <= radius; dx++) {
                int x = cx + dx;
                int y = cy + dy;
                boolean corner = radius > 1 && Math.abs(dx) == radius && Math.abs(dy) == radius;
                if (!corner && x >= 0 && x < w && y >= 0 && y < h) {
                    rgb[y * w + x] = colour;
                }
            }
        }
    }

    private static BufferedImage picture(int[] rgb, int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, width, height, rgb, 0, width);
        return img;
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

    /**
     * A palette of {@code classes} colours chosen to be told apart at a glance, for pictures read by people:
     * matplotlib's {@code tab10} hues for the first ten classes, their {@code tab20} tints for the next ten (so a
     * smaller palette is a prefix of a larger one), {@link #defaultPalette} for more than twenty (whose few bits per
     * channel at small indices give classes 0, 7 and 8 three dark reds).
     */
    public static int[] distinctPalette(int classes) {
        if (classes > TAB20.length) {
            return defaultPalette(classes);
        }
        int[] palette = new int[classes];
        for (int i = 0; i < classes; i++) {
            palette[i] = i < TAB20.length / 2 ? TAB20[2 * i] : TAB20[2 * (i - TAB20.length / 2) + 1];
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

    private static void requireMap(int length, int width, int height, String what) {
        if (width < 1 || height < 1 || (long) width * height != length) {
            throw new IllegalArgumentException("the " + what + " has " + length + " values for " + width + "x" + height
                    + " pixels");
        }
    }

    private static void requirePalette(int[] palette, int classes) {
        if (palette.length < classes) {
            throw new IllegalArgumentException("the palette has " + palette.length + " colours for " + classes
                    + " classes");
        }
    }
}
