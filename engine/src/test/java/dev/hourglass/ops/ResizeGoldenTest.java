package dev.hourglass.ops;

import static dev.hourglass.testing.Assertions2.absolute;
import static dev.hourglass.testing.Assertions2.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;

/**
 * {@link Resize} against PyTorch's {@code F.interpolate(..., align_corners=False)} with and without antialias
 * (fixtures from {@code tools/make_resample_fixtures.py}). PyTorch computes the tap weights in float32, so results
 * agree to about 1e-6; the tolerance is 1e-5.
 */
class ResizeGoldenTest {
    private static final Path ROOT = Fixtures.path("golden/resample");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : Fixtures.json(ROOT.resolve("cases.json")).get("cases")) {
            Iterator<Map.Entry<String, JsonNode>> outputs = c.get("outputs").fields();
            while (outputs.hasNext()) {
                Map.Entry<String, JsonNode> o = outputs.next();
                out.add(Arguments.of(c.get("name").asText(), o.getKey(), o.getValue().get("mode").asText(),
                        o.getValue().get("antialias").asBoolean(), c));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesPyTorch(String name, String output, String mode, boolean antialias, JsonNode c) throws IOException {
        Path dir = ROOT.resolve(name);
        Tensor input = Npy.read(dir.resolve(c.get("input").asText()));
        Tensor expected = Npy.read(dir.resolve(output));
        int channels = c.get("channels").asInt();
        int inH = c.get("in_size").get(0).asInt();
        int inW = c.get("in_size").get(1).asInt();
        int outH = c.get("out_size").get(0).asInt();
        int outW = c.get("out_size").get(1).asInt();
        assertEquals((long) channels * outH * outW, expected.elementCount(), "fixture shape");
        float[] got = Resize.resize(input.toFloatArray(), channels, inH, inW, outH, outW, Resize.Mode.parse(mode),
                antialias);
        assertClose(name + " " + output, expected.toFloatArray(), got, absolute(1e-5));
    }

    @Test
    void unknownModeIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Resize.Mode.parse("lanczos"));
        assertEquals("unknown interpolation \"lanczos\"; expected bilinear or bicubic", e.getMessage());
    }
}
