package dev.hourglass.tasks.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes the first image of a file with ImageIO (PNG, JPEG, GIF, BMP, TIFF, WBMP, and whatever plug-ins are on the
 * class path), checking its size from the header before any pixel is decoded.
 *
 * <p>A truncated file is refused, as Pillow refuses it ("image file is truncated"). ImageIO's PNG, GIF and BMP
 * readers throw when the pixel data is cut off; its JPEG reader returns the rows it could decode with the rest grey
 * and only reports a warning ("Truncated File - Missing EOI marker"), which {@link #decode} turns into an error.
 * libjpeg's other warnings (extraneous bytes before a marker, a data segment ended early) are recoverable and
 * accepted, as Pillow accepts them.
 */
final class ImageFileDecoder {

    private ImageFileDecoder() {
    }

    static BufferedImage decode(Path path, long maxPixels) throws ImageReadException {
        return afterHeader(path, maxPixels, (reader, header) -> {
            String format = header.format();
            DecodingCost.check(path, reader, format, header.width(), header.height());
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            BufferedImage image;
            try {
                image = reader.read(0);
            } catch (IOException | RuntimeException e) {
                throw new ImageReadException(path, "cannot decode the " + format + " data: " + reason(e), e);
            }
            for (String warning : warnings) {
                if (meansTruncated(warning)) {
                    throw new ImageReadException(path, "the file is truncated: its " + format + " data ends"
                            + " before the image does (ImageIO: " + warning + ")");
                }
            }
            return image;
        });
    }

    /** The first image's size and format from the header, refused as {@link #decode} refuses it; no pixel decoded. */
    static RgbImage.Header header(Path path, long maxPixels) throws ImageReadException {
        return afterHeader(path, maxPixels, (reader, header) -> header);
    }

    /** What is done with the reader once the header has been read and its size checked. */
    @FunctionalInterface
    private interface AfterHeader<T> {
        T read(ImageReader reader, RgbImage.Header header) throws ImageReadException;
    }

    /**
     * Opens the file's first image, reads and checks its header (the file exists and is not empty, a reader knows its
     * format, its size is 1 to {@code maxPixels} pixels), then hands the reader to {@code next}.
     */
    private static <T> T afterHeader(Path path, long maxPixels, AfterHeader<T> next) throws ImageReadException {
        checkIsNonEmptyFile(path);
        try (ImageInputStream input = ImageIO.createImageInputStream(path.toFile())) {
            if (input == null) {
                throw new ImageReadException(path, "cannot be opened for reading");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
            if (!readers.hasNext()) {
                throw new ImageReadException(path, "unsupported format" + sniffFormat(path)
                        + "; readable formats: " + readableFormats());
            }
            ImageReader reader = readers.next();
            String format = reader.getFormatName().toUpperCase(Locale.ROOT);
            try {
                reader.setInput(input, true, true);
                int width;
                int height;
                try {
                    width = reader.getWidth(0);
                    height = reader.getHeight(0);
                } catch (IOException | RuntimeException e) {
                    throw new ImageReadException(path, "unreadable " + format + " header: " + reason(e), e);
                }
                checkSize(path, width, height, maxPixels);
                return next.read(reader, new RgbImage.Header(width, height, format));
            } finally {
                reader.dispose();
            }
        } catch (ImageReadException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageReadException(path, "cannot be read: " + reason(e), e);
        }
    }

    /** Whether a reader's warning says the data ended before the image (the JPEG reader's only way of saying so). */
    static boolean meansTruncated(String warning) {
        String w = warning == null ? "" : warning.toLowerCase(Locale.ROOT);
        return w.contains("truncated") || w.contains("missing eoi");
    }

    private static void checkIsNonEmptyFile(Path path) throws ImageReadException {
        if (!Files.exists(path)) {
            throw new ImageReadException(path, "no such file");
        }
        if (!Files.isRegularFile(path)) {
            throw new ImageReadException(path, "not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new ImageReadException(path, "not readable (permission denied)");
        }
        long bytes;
        try {
            bytes = Files.size(path);
        } catch (IOException e) {
            throw new ImageReadException(path, "cannot be read: " + reason(e), e);
        }
        if (bytes == 0) {
            throw new ImageReadException(path, "the file is empty (0 bytes)");
        }
    }

    /** Refuses zero-size images and, like Pillow's decompression-bomb check, images over {@code maxPixels}. */
    static void checkSize(Path path, int width, int height, long maxPixels) throws ImageReadException {
        if (width <= 0 || height <= 0) {
            throw new ImageReadException(path, "the image has zero size (" + width + "x" + height + " pixels)");
        }
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
            throw new ImageReadException(path, "the image is too large: " + width + "x" + height + " = " + pixels
                    + " pixels is over the limit of " + maxPixels + " pixels (raise it to read the file:"
                    + " --max-pixels on the command line, RgbImage.read(file, maxPixels) in Java)");
        }
    }

    /** Names a common format ImageIO has no reader for, so that the message says what the file is. */
    private static String sniffFormat(Path path) {
        byte[] head = new byte[12];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return "";
        }
        String ascii = new String(head, 0, n, StandardCharsets.ISO_8859_1);
        if (ascii.startsWith("RIFF") && ascii.length() == 12 && ascii.endsWith("WEBP")) {
            return " (WebP)";
        }
        if (n == 12 && ascii.startsWith("ftyp", 4)) {
            String brand = ascii.substring(8, 12);
            if (Arrays.asList("heic", "heix", "mif1", "avif").contains(brand)) {
                return " (HEIF/AVIF, brand '" + brand + "')";
            }
        }
        return "";
    }

    private static String readableFormats() {
        TreeSet<String> names = new TreeSet<>();
        for (String name : ImageIO.getReaderFormatNames()) {
            names.add(name.toLowerCase(Locale.ROOT));
        }
        names.remove("jpg");
        names.remove("tif");
        return String.join(", ", names);
    }

    private static String reason(Throwable e) {
        StringBuilder reason = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (reason.indexOf(message) < 0) {
                reason.append(reason.isEmpty() ? "" : ": ").append(message);
            }
        }
        return reason.toString();
    }
}
