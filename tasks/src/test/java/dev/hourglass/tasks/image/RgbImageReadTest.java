package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Reading files and converting in-memory images: the Pillow semantics, and the refusals with their messages. */
class RgbImageReadTest {

    @TempDir
    Path dir;

    @Test
    void sixteenBitGreyKeepsTheHighByteWherePillowSaturates() throws Exception {
        RgbImage ours = RgbImage.read(PreprocessFixtures.file("formats/gray16.png"));
        RgbImage pillow = RgbImage.read(PreprocessFixtures.file("formats/expected/gray16_pillow.png"));
        assertEquals(RgbImage.read(PreprocessFixtures.file("formats/expected/gray16.png")), ours);
        // Pillow 9.4's convert('RGB') of mode "I" clips to 255: this documents the difference, and fails if a
        // future fixture regeneration shows that Pillow changed.
        assertNotEquals(pillow, ours);
        long saturated = 0;
        for (byte b : pillow.pixels()) {
            saturated += (b & 0xFF) == 255 ? 1 : 0;
        }
        assertTrue(saturated > 0.9 * pillow.pixels().length, "Pillow's result is mostly 255: " + saturated);
    }

    @Test
    void greyAndAlphaBufferedImagesConvertLikePillow() {
        BufferedImage grey = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSamples(0, 0, 2, 1, 0, new int[] {7, 200});
        assertArrayEquals(bytes(7, 7, 7, 200, 200, 200), RgbImage.from(grey).pixels(),
                "grey replicated, no linear-grey to sRGB conversion");

        BufferedImage argb = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00112233);  // fully transparent: the colour survives, nothing is composited
        argb.setRGB(1, 0, 0x80FF8001);
        assertArrayEquals(bytes(0x11, 0x22, 0x33, 0xFF, 0x80, 0x01), RgbImage.from(argb).pixels());

        BufferedImage bgr = new BufferedImage(1, 1, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(0, 0, 0x0A0B0C);
        assertArrayEquals(bytes(0x0A, 0x0B, 0x0C), RgbImage.from(bgr).pixels(), "band order follows the model");

        BufferedImage grey16 = new BufferedImage(1, 1, BufferedImage.TYPE_USHORT_GRAY);
        grey16.getRaster().setSample(0, 0, 0, 0xABCD);
        assertArrayEquals(bytes(0xAB, 0xAB, 0xAB), RgbImage.from(grey16).pixels(), "16-bit keeps the high byte");
    }

    @Test
    void roundTripsThroughBufferedImage() throws Exception {
        RgbImage chelsea = RgbImage.read(PreprocessFixtures.file("inputs/chelsea.png"));
        assertEquals(chelsea, RgbImage.from(chelsea.toBufferedImage()));
        assertEquals(451, chelsea.width());
        assertEquals(300, chelsea.height());
    }

    @Test
    void pixelsAreCopiedInAndOut() {
        byte[] rgb = bytes(1, 2, 3);
        RgbImage image = RgbImage.of(1, 1, rgb);
        rgb[0] = 9;
        image.pixels()[1] = 9;
        assertArrayEquals(bytes(1, 2, 3), image.pixels());
        assertEquals(3, image.sample(0, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.of(2, 1, bytes(1, 2, 3)));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.of(0, 1, new byte[0]));
    }

    static Stream<JsonNode> refusedCases() {
        return StreamSupport.stream(PreprocessFixtures.cases("refused").spliterator(), false);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedCases")
    void refusesTheFilesTheManifestLists(JsonNode c) {
        refusal(PreprocessFixtures.file(c.get("input").asText()), RgbImage.DEFAULT_MAX_PIXELS);
    }

    @Test
    void zeroSizeIsNamed() {
        Path file = Path.of("blank.gif");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> ImageFileDecoder.checkSize(file, 0, 5, 100));
        assertEquals("blank.gif: the image has zero size (0x5 pixels)", e.getMessage());
    }

    @Test
    void refusesCmykJpeg() {
        Path file = PreprocessFixtures.file("formats/cmyk.jpg");
        String message = refusal(file, RgbImage.DEFAULT_MAX_PIXELS);
        assertTrue(message.contains("CMYK images are not supported"), message);
    }

    @Test
    void refusesZeroSize() {
        Path file = PreprocessFixtures.file("formats/zero_width.png");
        String message = refusal(file, RgbImage.DEFAULT_MAX_PIXELS);
        // ImageIO's PNG reader rejects the header itself, with its own words.
        assertTrue(message.contains("PNG header") && message.contains("width <= 0"), message);
    }

    @Test
    void refusesImagesOverThePixelLimitFromTheHeader() throws Exception {
        Path huge = PreprocessFixtures.file("formats/huge_header.png");
        String message = refusal(huge, RgbImage.DEFAULT_MAX_PIXELS);
        assertTrue(message.contains("too large") && message.contains("20000x20000")
                && message.contains(Long.toString(RgbImage.DEFAULT_MAX_PIXELS)), message);

        Path chelsea = PreprocessFixtures.file("inputs/chelsea.png");
        String limited = refusal(chelsea, 451 * 300 - 1);
        assertTrue(limited.contains("451x300 = 135300 pixels") && limited.contains("135299"), limited);
        assertEquals(451, RgbImage.read(chelsea, 451 * 300).width(), "the limit itself is accepted");
    }

    @Test
    void refusesMissingEmptyAndNonImageFiles() throws Exception {
        assertTrue(refusal(dir.resolve("absent.png"), 100).contains("no such file"));
        assertTrue(refusal(dir, 100).contains("not a regular file"));

        Path empty = Files.createFile(dir.resolve("empty.jpg"));
        assertTrue(refusal(empty, 100).endsWith("empty.jpg: the file is empty (0 bytes)"));

        Path text = Files.writeString(dir.resolve("notes.png"), "not an image at all\n");
        String message = refusal(text, 100);
        assertTrue(message.contains("unsupported format") && message.contains("png"), message);

        byte[] webpHeader = "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1);
        Path webp = Files.write(dir.resolve("photo.webp"), webpHeader);
        assertTrue(refusal(webp, 100).contains("WebP"));
    }

    @Test
    void refusesTruncatedFiles() throws Exception {
        byte[] png = Files.readAllBytes(PreprocessFixtures.file("inputs/coffee.png"));
        Path truncated = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        String message = refusal(truncated, RgbImage.DEFAULT_MAX_PIXELS);
        assertTrue(message.contains("PNG"), message);
    }

    @Test
    void refusesTruncatedJpegsThatImageIoWouldDecodeHalfGrey() throws Exception {
        byte[] jpeg = Files.readAllBytes(PreprocessFixtures.file("formats/chelsea_420.jpg"));
        assertEquals(0xFF, jpeg[jpeg.length - 2] & 0xFF, "the fixture ends with EOI");
        assertEquals(0xD9, jpeg[jpeg.length - 1] & 0xFF, "the fixture ends with EOI");

        Path half = Files.write(dir.resolve("half.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        String message = refusal(half, RgbImage.DEFAULT_MAX_PIXELS);
        assertTrue(message.contains("half.jpg: the file is truncated: its JPEG data ends before the image does"),
                message);
        assertTrue(message.contains("Missing EOI marker"), message);

        // Only the end-of-image marker gone: the file still ends before the JPEG does (ImageIO warns the same way).
        Path noEoi = Files.write(dir.resolve("no-eoi.jpg"), Arrays.copyOf(jpeg, jpeg.length - 2));
        assertTrue(refusal(noEoi, RgbImage.DEFAULT_MAX_PIXELS).contains("truncated"));

        // Bytes after the end-of-image marker are ignored (Pillow ignores them as well): not a truncation.
        byte[] trailing = Arrays.copyOf(jpeg, jpeg.length + 7);
        System.arraycopy("garbage".getBytes(StandardCharsets.US_ASCII), 0, trailing, jpeg.length, 7);
        Path padded = Files.write(dir.resolve("trailing.jpg"), trailing);
        assertEquals(RgbImage.read(PreprocessFixtures.file("formats/chelsea_420.jpg")), RgbImage.read(padded));
    }

    @Test
    void onlyTruncationWarningsAreRefusals() {
        assertTrue(ImageFileDecoder.meansTruncated("Truncated File - Missing EOI marker"));
        assertFalse(ImageFileDecoder.meansTruncated("Corrupt JPEG data: 1 extraneous bytes before marker 0xd9"));
        assertFalse(ImageFileDecoder.meansTruncated(null));
    }

    @Test
    void thePixelLimitMessageSaysHowToRaiseIt() {
        Path chelsea = PreprocessFixtures.file("inputs/chelsea.png");
        String message = refusal(chelsea, 1000);
        assertTrue(message.contains("--max-pixels") && message.contains("RgbImage.read(file, maxPixels)"), message);
    }

    /** Reads {@code file} expecting a refusal; checks that the message names the file and returns it. */
    private static String refusal(Path file, long maxPixels) {
        ImageReadException e = assertThrows(ImageReadException.class, () -> RgbImage.read(file, maxPixels));
        assertEquals(file, e.path());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        System.out.println("refused: " + e.getMessage());
        return e.getMessage();
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }
}
