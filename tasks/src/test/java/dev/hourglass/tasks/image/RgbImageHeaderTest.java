package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RgbImage#readHeader}: the size and format from the header alone, and exactly {@link RgbImage#read}'s refusal
 * (same exception, same words) for every problem a header shows; the problems only decoding shows pass it.
 */
class RgbImageHeaderTest {

    @TempDir
    Path dir;

    @Test
    void givesTheSizeAndFormatOfTheFirstImage() throws Exception {
        assertEquals(new RgbImage.Header(451, 300, "PNG"),
                RgbImage.readHeader(PreprocessFixtures.file("inputs/chelsea.png"), RgbImage.DEFAULT_MAX_PIXELS));
        Path jpeg = PreprocessFixtures.file("formats/chelsea_420.jpg");
        RgbImage decoded = RgbImage.read(jpeg);
        assertEquals(new RgbImage.Header(decoded.width(), decoded.height(), "JPEG"),
                RgbImage.readHeader(jpeg, RgbImage.DEFAULT_MAX_PIXELS));
        // 20000x20000 in the header and no pixel data: the size is there without decoding anything.
        Path huge = PreprocessFixtures.file("formats/huge_header.png");
        assertEquals(new RgbImage.Header(20000, 20000, "PNG"), RgbImage.readHeader(huge, 20000L * 20000));
    }

    @Test
    void refusesWhatTheHeaderShowsInReadsWords() throws Exception {
        Path chelsea = PreprocessFixtures.file("inputs/chelsea.png");
        Path empty = Files.createFile(dir.resolve("empty.jpg"));
        Path text = Files.writeString(dir.resolve("notes.png"), "not an image at all\n");
        Path webp = Files.write(dir.resolve("photo.webp"), "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1));
        List<String> messages = new ArrayList<>();
        messages.add(sameRefusal(dir.resolve("absent.png"), 100));
        messages.add(sameRefusal(dir, 100));
        messages.add(sameRefusal(empty, 100));
        messages.add(sameRefusal(text, 100));
        messages.add(sameRefusal(webp, 100));
        messages.add(sameRefusal(PreprocessFixtures.file("formats/zero_width.png"), 100));
        messages.add(sameRefusal(PreprocessFixtures.file("formats/huge_header.png"), RgbImage.DEFAULT_MAX_PIXELS));
        messages.add(sameRefusal(chelsea, 451 * 300 - 1));
        String all = String.join("\n", messages);
        for (String expected : List.of("no such file", "not a regular file", "the file is empty (0 bytes)",
                "unsupported format", "WebP", "width <= 0", "20000x20000", "451x300 = 135300 pixels")) {
            assertTrue(all.contains(expected), expected + " in\n" + all);
        }
        assertEquals(new RgbImage.Header(451, 300, "PNG"), RgbImage.readHeader(chelsea, 451 * 300),
                "the limit itself is accepted");
        assertThrows(IllegalArgumentException.class, () -> RgbImage.readHeader(chelsea, 0));
    }

    @Test
    void whatOnlyDecodingShowsPassesTheHeader() throws Exception {
        byte[] png = Files.readAllBytes(PreprocessFixtures.file("inputs/coffee.png"));
        Path truncated = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        Path cmyk = PreprocessFixtures.file("formats/cmyk.jpg");
        for (Path file : List.of(truncated, cmyk)) {
            RgbImage.Header header = RgbImage.readHeader(file, RgbImage.DEFAULT_MAX_PIXELS);
            assertTrue(header.width() > 0 && header.height() > 0, header.toString());
            assertThrows(ImageReadException.class, () -> RgbImage.read(file));
        }
    }

    @Test
    void everyRefusedFixtureIsRefusedByItsHeaderInTheSameWordsOrOnlyWhenDecoded() {
        for (JsonNode c : PreprocessFixtures.cases("refused")) {
            Path file = PreprocessFixtures.file(c.get("input").asText());
            ImageReadException read = assertThrows(ImageReadException.class, () -> RgbImage.read(file));
            try {
                RgbImage.readHeader(file, RgbImage.DEFAULT_MAX_PIXELS);
            } catch (ImageReadException header) {
                assertEquals(read.getMessage(), header.getMessage(), file.toString());
            }
        }
    }

    /** Refused by the header, with the exception {@link RgbImage#read} throws: its message. */
    private static String sameRefusal(Path file, long maxPixels) {
        ImageReadException header = assertThrows(ImageReadException.class, () -> RgbImage.readHeader(file, maxPixels));
        ImageReadException read = assertThrows(ImageReadException.class, () -> RgbImage.read(file, maxPixels));
        assertEquals(read.getMessage(), header.getMessage());
        assertEquals(file, header.path());
        return header.getMessage();
    }
}
