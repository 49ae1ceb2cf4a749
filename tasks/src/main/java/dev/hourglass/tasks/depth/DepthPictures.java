package dev.hourglass.tasks.depth;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferUShort;

import dev.hourglass.tasks.image.RgbImage;

/**
 * Pictures of a depth map: the 16-bit PNG that DPT's {@code run_monodepth.py} writes, and a colour-mapped one for
 * people. Both scale the map's own range (minimum to maximum) to the full output range, as {@code write_depth} does:
 * DPT's output is relative inverse depth, so brighter is nearer; a metric model's colour picture is drawn from the
 * inverse of its depth, so brighter is nearer there too, and its 16-bit PNG is its metric depth's range scaled (as
 * run_monodepth.py's {@code write_depth} scales whatever it is given: there brighter is farther). Stateless and
 * thread-safe.
 */
public final class DepthPictures {
    /**
     * Five colours of matplotlib's inferno (at 0, 1/4, 1/2, 3/4 and 1), dark to bright; {@link #colours} joins them in
     * OKLab, where equal steps look like equal steps, so the lightness rises evenly from far to near.
     */
    private static final int[] ANCHORS = {0x000004, 0x57106E, 0xBC3754, 0xF98E09, 0xFCFFA4};
    private static final double[][] ANCHORS_LAB = new double[ANCHORS.length][];

    static {
        for (int i = 0; i < ANCHORS.length; i++) {
            ANCHORS_LAB[i] = Oklab.fromRgb(ANCHORS[i]);
        }
    }

    private DepthPictures() {
    }

    /**
     * {@code write_depth(..., bits=2)}: {@code 65535 * (d - min) / (max - min)}, truncated to an integer, or all zeros
     * when the range is not above double's epsilon (a flat map).
     */
    public static BufferedImage sixteenBit(float[] depth, int width, int height) {
        requireMap(depth, width, height);
        double[] range = range(depth);
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
        short[] pixels = ((DataBufferUShort) image.getRaster().getDataBuffer()).getData();
        double span = range[1] - range[0];
        if (span > Math.ulp(1.0)) {
            for (int i = 0; i < depth.length; i++) {
                // float32 arithmetic as numpy does it on a float32 array, then astype(uint16) truncates.
                float v = (float) 65535 * (depth[i] - (float) range[0]) / (float) span;
                pixels[i] = (short) (int) v;
            }
        }
        return image;
    }

    /**
     * The map of relative inverse depth in colour (inferno-like, see {@link #ANCHORS}): the farthest point dark, the
     * nearest pale yellow.
     */
    public static BufferedImage colours(float[] depth, int width, int height) {
        return colours(depth, width, height, DepthQuantity.RELATIVE_INVERSE);
    }

    /**
     * The map in colour, near bright and far dark whatever the quantity: metric depth (larger is farther) is drawn as
     * its inverse, {@code 1 / d}, so a metric model's picture looks like a relative one's (distant sky does not squeeze
     * the near scene into one colour, as a reversed linear scale would).
     */
    public static BufferedImage colours(float[] depth, int width, int height, DepthQuantity quantity) {
        requireMap(depth, width, height);
        if (quantity.largerIsFarther()) {
            float[] inverse = new float[depth.length];
            for (int i = 0; i < depth.length; i++) {
                inverse[i] = 1f / depth[i];
            }
            depth = inverse;
        }
        double[] range = range(depth);
        double span = range[1] - range[0];
        int[] table = table(1024);
        int[] rgb = new int[depth.length];
        for (int i = 0; i < depth.length; i++) {
            double t = span > 0 ? (depth[i] - range[0]) / span : 0;
            rgb[i] = table[(int) Math.round(t * (table.length - 1))];
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, width, height, rgb, 0, width);
        return image;
    }

    /** The photo on the left, {@code map} (a picture of its depth, the same size) on the right. */
    public static BufferedImage besideImage(RgbImage image, BufferedImage map) {
        int w = image.width();
        int h = image.height();
        if (map.getWidth() != w || map.getHeight() != h) {
            throw new IllegalArgumentException("the map is " + map.getWidth() + "x" + map.getHeight() + ", the image "
                    + w + "x" + h);
        }
        BufferedImage both = new BufferedImage(2 * w, h, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = both.createGraphics();
        try {
            g.drawImage(image.toBufferedImage(), 0, 0, null);
            g.drawImage(map, w, 0, null);
        } finally {
            g.dispose();
        }
        return both;
    }

    /** The colour map sampled at {@code n} evenly spaced points from 0 to 1. */
    static int[] table(int n) {
        int[] table = new int[n];
        int segments = ANCHORS.length - 1;
        for (int i = 0; i < n; i++) {
            double t = (double) i / (n - 1) * segments;
            int s = Math.min((int) t, segments - 1);
            double f = t - s;
            double[] a = ANCHORS_LAB[s];
            double[] b = ANCHORS_LAB[s + 1];
            table[i] = Oklab.toRgb(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]));
        }
        return table;
    }

    private static double[] range(float[] depth) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : depth) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("the depth map holds " + v);
            }
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return new double[] {min, max};
    }

    private static void requireMap(float[] depth, int width, int height) {
        if (width < 1 || height < 1 || (long) width * height != depth.length) {
            throw new IllegalArgumentException("a depth map of " + depth.length + " values is not " + width + "x"
                    + height);
        }
    }

    /** Björn Ottosson's OKLab colour space, from and to 8-bit sRGB. */
    static final class Oklab {
        private Oklab() {
        }

        static double[] fromRgb(int rgb) {
            double r = linear((rgb >> 16) & 0xFF);
            double g = linear((rgb >> 8) & 0xFF);
            double b = linear(rgb & 0xFF);
            double l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
            double m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
            double s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
            return new double[] {
                    0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
                    1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
                    0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s};
        }

        static int toRgb(double lightness, double a, double b) {
            double l = cube(lightness + 0.3963377774 * a + 0.2158037573 * b);
            double m = cube(lightness - 0.1055613458 * a - 0.0638541728 * b);
            double s = cube(lightness - 0.0894841775 * a - 1.2914855480 * b);
            int r = encode(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s);
            int g = encode(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s);
            int bl = encode(-0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s);
            return (r << 16) | (g << 8) | bl;
        }

        private static double cube(double x) {
            return x * x * x;
        }

        private static double linear(int channel) {
            double c = channel / 255.0;
            return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
        }

        private static int encode(double linear) {
            double c = linear <= 0.0031308 ? 12.92 * linear : 1.055 * Math.pow(linear, 1 / 2.4) - 0.055;
            return (int) Math.round(Math.min(1, Math.max(0, c)) * 255);
        }
    }
}
