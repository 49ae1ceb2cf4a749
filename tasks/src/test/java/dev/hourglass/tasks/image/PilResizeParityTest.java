package dev.hourglass.tasks.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link PilResize} against Pillow 9.4's {@code Image.resize} on real photographs: bit for bit. */
class PilResizeParityTest {

    static Stream<JsonNode> resizeCases() {
        return StreamSupport.stream(PreprocessFixtures.cases("resize").spliterator(), false);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resizeCases")
    void matchesPillowExactly(JsonNode c) throws Exception {
        RgbImage source = RgbImage.read(PreprocessFixtures.file(c.get("input").asText()));
        Filter filter = Filter.fromTimmName(c.get("filter").asText());
        int width = c.get("width").asInt();
        int height = c.get("height").asInt();

        RgbImage actual = PilResize.resize(source, width, height, filter);
        RgbImage expected = RgbImage.read(PreprocessFixtures.file(c.get("expected").asText()));

        assertEquals(expected.width(), actual.width(), "width");
        assertEquals(expected.height(), actual.height(), "height");
        ImageDifference diff = ImageDifference.between(expected, actual);
        System.out.printf("resize %s %s -> %dx%d: max abs diff %d%n", c.get("input").asText(), filter.timmName(),
                width, height, diff.max());
        assertEquals(0, diff.max(), () -> c.get("expected").asText() + ": " + diff);
    }
}
