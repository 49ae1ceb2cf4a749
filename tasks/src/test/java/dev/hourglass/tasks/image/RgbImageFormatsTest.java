package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link RgbImage#read} against Pillow's {@code Image.open(f).convert('RGB')} for the decoder layouts. */
class RgbImageFormatsTest {

    static Stream<JsonNode> formatCases() {
        return StreamSupport.stream(PreprocessFixtures.cases("formats").spliterator(), false);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formatCases")
    void decodesLikePillow(JsonNode c) throws Exception {
        RgbImage actual = RgbImage.read(PreprocessFixtures.file(c.get("input").asText()));
        RgbImage expected = RgbImage.read(PreprocessFixtures.file(c.get("expected").asText()));
        ImageDifference diff = ImageDifference.between(expected, actual);
        System.out.printf("format %s: %s%n", c.get("input").asText(), diff);
        assertEquals(0, diff.max(), () -> c.get("input").asText() + " (" + c.get("note").asText() + "): " + diff);
    }
}
