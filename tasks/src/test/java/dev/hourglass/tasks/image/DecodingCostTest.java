package dev.hourglass.tasks.image;

import static dev.hourglass.tasks.image.ImageEncoding.encode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small files whose decoding ImageIO would let cost minutes or gigabytes ({@link DecodingCost}) are refused before
 * decoding, with a line naming the file; the same layouts within the limits still read. Each bomb is built here, a
 * few hundred bytes to a few KB; before the checks, each was a crash of {@code ImageFuzzTest}'s kind (an
 * {@link OutOfMemoryError}, or seconds to minutes of decoding).
 */
class DecodingCostTest {
    @TempDir
    Path dir;

    @Test
    void bmpHoldingAJpegOrPngStreamIsRefusedWhateverItsImageSizeField() throws IOException {
        for (String compression : List.of("BI_PNG", "BI_JPEG")) {
            byte[] bmp = encode(picture(13, 11), "bmp", param -> {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionType(compression);
            });
            assertRefused(write(compression + ".bmp", bmp), "BMP holding a");
            // The image-size field, which ImageIO allocated as given: 2 GB for a 100-byte file.
            ByteBuffer.wrap(bmp).order(ByteOrder.LITTLE_ENDIAN).putInt(34, 0x7ffffff0);
            assertRefused(write(compression + "-huge.bmp", bmp), "BMP holding a");
        }
    }

    @Test
    void jpegOfTooManyScansIsRefusedAndOneAtTheLimitReads() throws IOException {
        byte[] progressive = encode(picture(40, 24), "jpeg",
                param -> param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT));
        int scans = count(progressive, 0xFF, 0xDA);
        assertEquals(10, scans, "libjpeg's progressive script for colour");
        Path atLimit = write("limit.jpg", repeatLastScan(progressive, DecodingCost.MAX_JPEG_SCANS - scans));
        RgbImage image = RgbImage.read(atLimit);
        assertEquals(40, image.width());
        assertRefused(write("over.jpg", repeatLastScan(progressive, DecodingCost.MAX_JPEG_SCANS - scans + 1)),
                "JPEG stream of " + (DecodingCost.MAX_JPEG_SCANS + 1) + " scans, over the limit of "
                        + DecodingCost.MAX_JPEG_SCANS);
    }

    @Test
    void tiffJpegStripLargerThanTheStripIsRefused() throws IOException {
        byte[] strip = encode(picture(24, 17), "jpeg", param -> param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT));
        RgbImage fits = RgbImage.read(write("fits.tiff", tiff(24, 17, 7, List.of(strip), 1)));
        assertEquals(List.of(24, 17), List.of(fits.width(), fits.height()));
        // The same strip declaring 20000x20000: libjpeg allocated 1.2 GB and decoded for seconds.
        int sof = indexOf(strip, 0xFF, 0xC2);
        ByteBuffer.wrap(strip).putShort(sof + 5, (short) 20000).putShort(sof + 7, (short) 20000);
        assertRefused(write("bomb.tiff", tiff(24, 17, 7, List.of(strip), 1)),
                "strip 0 is a JPEG stream of 20000x20000 pixels, larger than the 24x17");
    }

    @Test
    void tiffStripsReadingTheFileManyTimesOverAreRefused() throws IOException {
        byte[] row = new byte[3 * 24];
        Arrays.fill(row, (byte) 0x7f);
        // Two strips sharing one block of data, as sparse tiles may: read.
        assertEquals(24, RgbImage.read(write("shared.tiff", tiff(24, 2, 1, List.of(row), 2))).width());
        // A thousand strips sharing it: each is read whole for each use.
        assertRefused(write("overlap.tiff", tiff(24, 1000, 1, List.of(row), 1000)),
                "its 1000 strips declare over " + DecodingCost.MAX_TIFF_READS + " times the file's");
    }

    @Test
    void tiffSamplesOfMoreThan16BitsAreRefused() throws IOException {
        byte[] rgb = new byte[3 * 24 * 2];
        assertEquals(24, RgbImage.read(write("rgb8.tiff", tiff(24, 2, 1, List.of(rgb), 1))).width());
        // Found by ImageFuzzTest: BitsPerSample 29, 8, 8 made ImageIO allocate a 2^29-entry table.
        byte[] bomb = tiff(24, 2, 1, List.of(rgb), 1);
        ByteBuffer.wrap(bomb).order(ByteOrder.LITTLE_ENDIAN).putShort(TIFF_BITS_PER_SAMPLE, (short) 29);
        assertRefused(write("rgb29.tiff", bomb), "a TIFF sample of 29 bits is not read");
    }

    private void assertRefused(Path file, String why) {
        ImageReadException e = assertThrows(ImageReadException.class, () -> RgbImage.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /** The file with its last scan (and the Huffman tables just before it) repeated {@code extra} more times. */
    private static byte[] repeatLastScan(byte[] jpeg, int extra) {
        List<Integer> markers = new ArrayList<>();
        for (int i = 0; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xFF) == 0xFF && ((jpeg[i + 1] & 0xFF) == 0xDA || (jpeg[i + 1] & 0xFF) == 0xC4)) {
                markers.add(i);
            }
        }
        int lastScan = markers.getLast();
        int start = markers.size() > 1 && (jpeg[markers.get(markers.size() - 2) + 1] & 0xFF) == 0xC4
                ? markers.get(markers.size() - 2) : lastScan;
        int end = jpeg.length - 2;          // before EOI
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(jpeg, 0, end);
        for (int i = 0; i < extra; i++) {
            out.write(jpeg, start, end - start);
        }
        out.write(jpeg, end, 2);
        return out.toByteArray();
    }

    /** Where {@link #tiff} puts the first BitsPerSample value: after the header and its 9-entry directory. */
    private static final int TIFF_BITS_PER_SAMPLE = 8 + 2 + 12 * 9 + 4;

    /**
     * A little-endian RGB TIFF, one strip of {@code height / strips} rows each, the strips pointing in turn at the
     * {@code blocks} (several strips may share one).
     */
    private static byte[] tiff(int width, int height, int compression, List<byte[]> blocks, int strips) {
        int[][] entries = {{256, 3, 1, width}, {257, 3, 1, height}, {258, 3, 3, -1}, {259, 3, 1, compression},
            {262, 3, 1, 2}, {273, 4, strips, -2}, {277, 3, 1, 3}, {278, 3, 1, height / strips},
            {279, 4, strips, -3}};
        int ifd = 8;
        int bitsPerSample = ifd + 2 + 12 * entries.length + 4;
        int offsets = bitsPerSample + 6;
        int counts = offsets + 4 * strips;
        int data = counts + 4 * strips;
        int size = data + blocks.stream().mapToInt(b -> b.length).sum();
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(ifd).putShort((short) entries.length);
        for (int[] e : entries) {
            b.putShort((short) e[0]).putShort((short) e[1]).putInt(e[2]);
            int value = switch (e[3]) {
                case -1 -> bitsPerSample;
                case -2 -> strips == 1 ? data : offsets;
                case -3 -> strips == 1 ? blocks.getFirst().length : counts;
                default -> e[3];
            };
            if (e[1] == 3 && e[2] == 1) {
                b.putShort((short) value).putShort((short) 0);
            } else {
                b.putInt(value);
            }
        }
        b.putInt(0).putShort((short) 8).putShort((short) 8).putShort((short) 8);
        int[] blockOffsets = new int[blocks.size()];
        for (int i = 0, at = data; i < blocks.size(); at += blocks.get(i).length, i++) {
            blockOffsets[i] = at;
        }
        for (int s = 0; s < strips; s++) {         // unused with one strip: its entry holds the values
            b.putInt(blockOffsets[s % blocks.size()]);
        }
        for (int s = 0; s < strips; s++) {
            b.putInt(blocks.get(s % blocks.size()).length);
        }
        blocks.forEach(b::put);
        return b.array();
    }

    private static BufferedImage picture(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, (x * 11 & 0xFF) << 16 | (y * 7 & 0xFF) << 8 | ((x ^ y) * 5 & 0xFF));
            }
        }
        return image;
    }

    private static int count(byte[] data, int first, int second) {
        int n = 0;
        for (int i = 0; i + 1 < data.length; i++) {
            n += (data[i] & 0xFF) == first && (data[i + 1] & 0xFF) == second ? 1 : 0;
        }
        return n;
    }

    private static int indexOf(byte[] data, int first, int second) {
        for (int i = 0; i + 1 < data.length; i++) {
            if ((data[i] & 0xFF) == first && (data[i + 1] & 0xFF) == second) {
                return i;
            }
        }
        throw new AssertionError("no marker " + Integer.toHexString(second));
    }
}
