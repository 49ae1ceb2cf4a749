package dev.hourglass.tasks.image;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable 8-bit RGB image: {@code width x height} pixels stored row by row, three bytes (R, G, B) per pixel,
 * the layout of Pillow's mode {@code "RGB"}.
 *
 * <p>Not a record: a record would hand out its pixel array. This class copies pixels in and out, so instances can be
 * shared between threads freely.
 */
public final class RgbImage {

    /**
     * Pillow's {@code Image.MAX_IMAGE_PIXELS}, {@code 1024 * 1024 * 1024 // 4 // 3}: the default limit above which
     * {@link #read(Path)} refuses a file (Pillow warns above it and refuses above twice it).
     */
    public static final long DEFAULT_MAX_PIXELS = 1024L * 1024 * 1024 / 4 / 3;

    private final int width;
    private final int height;
    private final byte[] rgb;

    private RgbImage(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /**
     * An image of the given pixels (copied).
     *
     * @param rgb {@code 3 * width * height} bytes, row by row, R, G, B per pixel
     * @throws IllegalArgumentException when a dimension is not positive or the array has the wrong length
     */
    public static RgbImage of(int width, int height, byte[] rgb) {
        Objects.requireNonNull(rgb, "rgb");
        checkLength(width, height, rgb.length);
        return new RgbImage(width, height, rgb.clone());
    }

    /** Takes ownership of {@code rgb} without copying: for arrays this package has just filled and never shares. */
    static RgbImage wrap(int width, int height, byte[] rgb) {
        checkLength(width, height, rgb.length);
        return new RgbImage(width, height, rgb);
    }

    /**
     * Reads the first image of a file, refusing images over {@link #DEFAULT_MAX_PIXELS}. See
     * {@link #read(Path, long)}.
     */
    public static RgbImage read(Path path) throws ImageReadException {
        return read(path, DEFAULT_MAX_PIXELS);
    }

    /**
     * Reads the first image of a file (PNG, JPEG and whatever else ImageIO reads) as Pillow's
     * {@code Image.open(path).convert('RGB')} would, which is how timm loads images: grey replicated, palette
     * looked up, alpha dropped without compositing, ICC profiles ignored, EXIF orientation ignored; 16-bit samples
     * keep their high byte (see {@link #from(BufferedImage)} for the one difference from Pillow).
     *
     * @param maxPixels the largest {@code width * height} accepted; checked from the header, before decoding
     * @throws ImageReadException naming the file and the problem: missing, empty, unsupported format, corrupt data,
     *     zero size, more than {@code maxPixels} pixels, or a pixel layout with no RGB reading (such as CMYK)
     */
    public static RgbImage read(Path path, long maxPixels) throws ImageReadException {
        Objects.requireNonNull(path, "path");
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        }
        BufferedImage image = ImageFileDecoder.decode(path, maxPixels);
        try {
            return from(image);
        } catch (IllegalArgumentException e) {
            throw new ImageReadException(path, e.getMessage(), e);
        }
    }

    /**
     * What an image file's header says, read without decoding a pixel ({@link #readHeader}).
     *
     * @param format the format's name as ImageIO's reader gives it, upper case ({@code PNG}, {@code JPEG}, ...)
     */
    public record Header(int width, int height, String format) {
        public Header {
            Objects.requireNonNull(format, "format");
        }
    }

    /**
     * Reads only the header of a file's first image, its size and format, and refuses the file as
     * {@link #read(Path, long)} would refuse it before decoding: missing, empty, unsupported format, unreadable
     * header, zero size, more than {@code maxPixels} pixels (the same exception, the same words). Cheap enough to check
     * many files before any is decoded; a file it accepts may still fail to decode (corrupt or truncated data, a
     * pixel layout with no RGB reading).
     *
     * @throws ImageReadException naming the file and the problem
     */
    public static Header readHeader(Path path, long maxPixels) throws ImageReadException {
        Objects.requireNonNull(path, "path");
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        }
        return ImageFileDecoder.header(path, maxPixels);
    }

    /**
     * Converts an image already in memory with the semantics of Pillow's {@code convert('RGB')}: grey (8- or
     * 16-bit, with or without alpha), RGB and RGBA (8- or 16-bit per sample, any band order) and palette images;
     * any other sRGB layout through its colour model. The stored samples are taken as they are, whatever colour
     * space (ICC profile) the image declares, because Pillow does no colour management either.
     *
     * <p>Difference from Pillow 9.4: it opens 16-bit greyscale PNGs as 32-bit integers and {@code convert('RGB')}
     * clips them to 255, saturating the image; here 16-bit grey keeps its high byte, as 16-bit colour does in both.
     *
     * @throws IllegalArgumentException for layouts with no such reading (CMYK, floating point samples) or images
     *     with more than {@code Integer.MAX_VALUE / 3} pixels
     */
    public static RgbImage from(BufferedImage image) {
        Objects.requireNonNull(image, "image");
        return new RgbImage(image.getWidth(), image.getHeight(), RgbConversion.toRgb(image));
    }

    /** Width in pixels. */
    public int width() {
        return width;
    }

    /** Height in pixels. */
    public int height() {
        return height;
    }

    /** A copy of the pixels: {@code 3 * width * height} bytes, row by row, R, G, B per pixel. */
    public byte[] pixels() {
        return rgb.clone();
    }

    /** The unsigned value (0..255) of {@code channel} (0 red, 1 green, 2 blue) of pixel ({@code x}, {@code y}). */
    public int sample(int x, int y, int channel) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(channel, 3);
        return rgb[(y * width + x) * 3 + channel] & 0xFF;
    }

    /** A new {@code TYPE_INT_RGB} image with these pixels, for saving or display. */
    public BufferedImage toBufferedImage() {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = (y * width + x) * 3;
                row[x] = (rgb[p] & 0xFF) << 16 | (rgb[p + 1] & 0xFF) << 8 | rgb[p + 2] & 0xFF;
            }
            image.setRGB(0, y, width, 1, row, 0, width);
        }
        return image;
    }

    /** The pixel array itself, for this package's read-only use. */
    byte[] rgb() {
        return rgb;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RgbImage that && width == that.width && height == that.height
                && Arrays.equals(rgb, that.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }

    private static void checkLength(int width, int height, int length) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be at least 1x1, got " + width + "x" + height);
        }
        if ((long) width * height * 3 != length) {
            throw new IllegalArgumentException("a " + width + "x" + height + " RGB image needs "
                    + (long) width * height * 3 + " bytes, got " + length);
        }
    }
}
