package dev.hourglass.tasks.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import javax.imageio.IIOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.plugins.tiff.BaselineTIFFTagSet;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.plugins.tiff.TIFFField;

/**
 * Refuses, before any pixel is decoded, files whose decoding would cost far more than the size their header declares
 * (which {@link ImageFileDecoder#checkSize} has checked against the pixel limit): with ImageIO, a file of a few hundred
 * bytes could take minutes or gigabytes.
 *
 * <ul>
 *   <li><b>JPEG with more than {@link #MAX_JPEG_SCANS} scans.</b> libjpeg passes over every block of the image once
 *       per scan of a progressive file, and a scan can be 40 bytes: 200 copies of one scan (8 KB) made a 2048x2048
 *       image take 14 s instead of 2. Common encoders write about 10 (libjpeg's progressive script for colour; a
 *       sequential file has one per component at most); Pillow has no such limit.
 *   <li><b>TIFF strips or tiles that declare more than the file holds.</b> Each one is read whole for each use, so
 *       10,000 strips sharing one 256 KB block read 2.6 GB; the byte counts may add up to
 *       {@link #MAX_TIFF_READS} times the file's length (sparse tiles may share data, but not read the file over
 *       and over). JPEG-compressed ones must not declare a frame larger than the strip or tile: libjpeg allocates
 *       and decodes the size the JPEG stream declares, not the TIFF's (a 900-byte file declaring a 20000x20000
 *       progressive strip took 7.5 s and 1.2 GB of native memory).
 *   <li><b>TIFF samples of 17 to 31 bits.</b> ImageIO builds a table of 2^bits entries to rescale them (or to
 *       look up a palette of that depth): a 1.4 KB file found by {@code ImageFuzzTest} asked for 2 GB.
 *   <li><b>BMP holding a JPEG or PNG stream</b> (compression 4 or 5): ImageIO allocates the image-size field as
 *       given (a 100-byte file asked for 2 GB of heap) and decodes the embedded stream at the size it declares, not
 *       the BMP's. Pillow's BMP plug-in does not read these either.
 * </ul>
 */
final class DecodingCost {
    /** The most scans a JPEG stream may have. */
    static final int MAX_JPEG_SCANS = 100;
    /** How many times over a TIFF's strips or tiles may read the file, in total. */
    static final int MAX_TIFF_READS = 4;
    private static final int BMP_JPEG = 4;
    private static final int BMP_PNG = 5;
    private static final int TIFF_OLD_JPEG = 6;
    private static final int TIFF_JPEG = 7;

    private DecodingCost() {
    }

    /** Refuses the file, whose first image {@code reader} has read the header of, if decoding it would cost too much. */
    static void check(Path path, ImageReader reader, String format, int width, int height)
            throws ImageReadException {
        try (FileChannel file = FileChannel.open(path, StandardOpenOption.READ)) {
            switch (format) {
                case "JPEG", "JPG" -> checkScans(path, "the file", JpegStream.walk(file, 0, file.size()));
                case "BMP" -> checkBmp(path, file);
                case "TIF", "TIFF" -> {
                    try {
                        checkTiff(path, file, reader, width, height);
                    } catch (RuntimeException e) {
                        // TIFFField's accessors throw for a field of an unexpected type.
                        throw new ImageReadException(path, "unreadable TIFF directory: " + (e.getMessage() == null
                                ? e.getClass().getSimpleName() : e.getMessage()), e);
                    }
                }
                default -> {
                }
            }
        } catch (ImageReadException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageReadException(path, "cannot be read: " + e.getMessage(), e);
        }
    }

    private static void checkScans(Path path, String where, JpegStream jpeg) throws ImageReadException {
        if (jpeg.scans() > MAX_JPEG_SCANS) {
            throw new ImageReadException(path, where + " is a JPEG stream of " + jpeg.scans() + " scans, over the limit"
                    + " of " + MAX_JPEG_SCANS + " (each scan of a progressive JPEG is decoded over the whole image;"
                    + " common encoders write about 10)");
        }
    }

    private static void checkBmp(Path path, FileChannel file) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        while (header.hasRemaining() && file.read(header, header.position()) > 0) {
            // read the file header and the start of the info header
        }
        if (header.hasRemaining()) {
            return;     // too short to be a BMP: the reader refuses it
        }
        long infoSize = Integer.toUnsignedLong(header.getInt(14));
        long compression = Integer.toUnsignedLong(header.getInt(30));
        if (infoSize >= 40 && (compression == BMP_JPEG || compression == BMP_PNG)) {
            throw new ImageReadException(path, "a BMP holding a " + (compression == BMP_JPEG ? "JPEG" : "PNG")
                    + " stream (compression " + compression + ") is not read: ImageIO takes that stream's sizes on"
                    + " trust (Pillow does not read these BMPs either)");
        }
    }

    private static void checkTiff(Path path, FileChannel file, ImageReader reader, int width, int height)
            throws IOException {
        TIFFDirectory ifd;
        try {
            ifd = TIFFDirectory.createFromMetadata(reader.getImageMetadata(0));
        } catch (IIOInvalidTreeException e) {
            throw new IIOException("unreadable TIFF directory: " + e.getMessage(), e);
        }
        TIFFField bits = ifd.getTIFFField(BaselineTIFFTagSet.TAG_BITS_PER_SAMPLE);
        for (int i = 0; bits != null && i < bits.getCount(); i++) {
            long b = bits.getAsLong(i);
            if (b > 16 && b < 32) {
                throw new ImageReadException(path, "a TIFF sample of " + b + " bits is not read (ImageIO would build"
                        + " a table of 2^" + b + " entries to rescale it)");
            }
        }
        boolean tiled = ifd.containsTIFFField(BaselineTIFFTagSet.TAG_TILE_WIDTH);
        String segment = tiled ? "tile" : "strip";
        TIFFField offsets = ifd.getTIFFField(tiled ? BaselineTIFFTagSet.TAG_TILE_OFFSETS
                : BaselineTIFFTagSet.TAG_STRIP_OFFSETS);
        TIFFField counts = ifd.getTIFFField(tiled ? BaselineTIFFTagSet.TAG_TILE_BYTE_COUNTS
                : BaselineTIFFTagSet.TAG_STRIP_BYTE_COUNTS);
        int segments = offsets == null || counts == null ? 0 : Math.min(offsets.getCount(), counts.getCount());
        long length = file.size();
        long total = 0;
        for (int i = 0; i < segments && total <= MAX_TIFF_READS * length; i++) {
            total += Math.max(0, counts.getAsLong(i));
        }
        if (total > MAX_TIFF_READS * length) {
            throw new ImageReadException(path, "its " + segments + " " + segment + "s declare over "
                    + MAX_TIFF_READS + " times the file's " + length + " bytes of data (they share data, which"
                    + " decoding would read again for each)");
        }
        long compression = longField(ifd, BaselineTIFFTagSet.TAG_COMPRESSION, 1);
        if (compression != TIFF_OLD_JPEG && compression != TIFF_JPEG) {
            return;
        }
        long segmentWidth = tiled ? longField(ifd, BaselineTIFFTagSet.TAG_TILE_WIDTH, width) : width;
        long segmentHeight = tiled ? longField(ifd, BaselineTIFFTagSet.TAG_TILE_LENGTH, height)
                : Math.min(height, longField(ifd, BaselineTIFFTagSet.TAG_ROWS_PER_STRIP, height));
        for (int i = 0; i < segments; i++) {
            long start = offsets.getAsLong(i);
            JpegStream jpeg = JpegStream.walk(file, start, start + counts.getAsLong(i));
            checkFrame(path, segment + " " + i, jpeg, segmentWidth, segmentHeight);
        }
        TIFFField interchange = ifd.getTIFFField(BaselineTIFFTagSet.TAG_JPEG_INTERCHANGE_FORMAT);
        if (interchange != null) {
            long start = interchange.getAsLong(0);
            long end = start + longField(ifd, BaselineTIFFTagSet.TAG_JPEG_INTERCHANGE_FORMAT_LENGTH, length - start);
            checkFrame(path, "the JPEG interchange stream", JpegStream.walk(file, start, end), width, height);
        }
    }

    private static void checkFrame(Path path, String where, JpegStream jpeg, long width, long height)
            throws ImageReadException {
        if ((long) jpeg.width() * jpeg.height() > width * height) {
            throw new ImageReadException(path, where + " is a JPEG stream of " + jpeg.width() + "x" + jpeg.height()
                    + " pixels, larger than the " + width + "x" + height + " it holds in the TIFF (libjpeg would"
                    + " decode the size the stream declares)");
        }
        checkScans(path, where, jpeg);
    }

    private static long longField(TIFFDirectory ifd, int tag, long absent) {
        TIFFField f = ifd.getTIFFField(tag);
        return f == null || f.getCount() < 1 ? absent : f.getAsLong(0);
    }

    /**
     * What a JPEG stream declares, read the way libjpeg reads it: marker segments skipped by their length, entropy-coded
     * data scanned up to the next marker (a stuffed {@code 0xFF00} or a restart marker is data), stray bytes between
     * segments skipped, the end at EOI. Where libjpeg would stop with an error, this reads on, so that it counts at
     * least the scans libjpeg decodes.
     *
     * @param width  the largest frame width of the stream's frame headers (SOFn), 0 without one
     * @param height the largest frame height, 0 without a frame header
     * @param scans  the number of scan headers (SOS)
     */
    record JpegStream(int width, int height, int scans) {
        static JpegStream walk(FileChannel file, long start, long end) throws IOException {
            Cursor in = new Cursor(file, start, end);
            int width = 0;
            int height = 0;
            int scans = 0;
            for (int b = in.read(); b >= 0; b = in.read()) {
                if (b != 0xFF) {
                    continue;
                }
                int code = in.read();
                while (code == 0xFF) {
                    code = in.read();        // fill bytes before a marker
                }
                if (code < 0 || code == 0xD9) {
                    break;
                }
                if (code == 0x00 || code == 0x01 || (code >= 0xD0 && code <= 0xD8)) {
                    continue;                // stuffed 0xFF, TEM, RSTn, SOI: no length follows
                }
                int length = in.u16();
                if (length < 0) {
                    break;
                }
                if (isFrameHeader(code) && length >= 7) {
                    in.read();               // sample precision
                    height = Math.max(height, in.u16());
                    width = Math.max(width, in.u16());
                    in.skip(length - 7);
                } else {
                    // A length below 2 skips nothing: scanning on counts at least the scans libjpeg would see.
                    in.skip(Math.max(0, length - 2));
                }
                if (code == 0xDA) {
                    scans++;
                }
            }
            return new JpegStream(width, height, scans);
        }

        /** SOF0 to SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
        private static boolean isFrameHeader(int code) {
            return code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC;
        }
    }

    /** Bytes {@code [start, end)} of a file, read forward through a buffer; -1 past the end. */
    private static final class Cursor {
        private final FileChannel file;
        private final long end;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        private long next;

        Cursor(FileChannel file, long start, long end) {
            this.file = file;
            this.end = end;
            this.next = Math.max(0, start);
            buffer.limit(0);
        }

        int read() throws IOException {
            if (!buffer.hasRemaining()) {
                if (next >= end) {
                    return -1;
                }
                buffer.clear().limit((int) Math.min(buffer.capacity(), end - next));
                int n = file.read(buffer, next);
                buffer.flip();
                if (n <= 0) {
                    next = end;
                    return -1;
                }
                next += n;
            }
            return buffer.get() & 0xFF;
        }

        /** A big-endian 16-bit value, or -1 at the end. */
        int u16() throws IOException {
            int high = read();
            int low = read();
            return high < 0 || low < 0 ? -1 : high << 8 | low;
        }

        void skip(long n) {
            long inBuffer = Math.min(n, buffer.remaining());
            buffer.position(buffer.position() + (int) inBuffer);
            next += n - inBuffer;
        }
    }
}
