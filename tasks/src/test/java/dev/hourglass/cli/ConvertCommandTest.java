package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tasks.classify.TinyModels;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;

class ConvertCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void convertedFileClassifiesExactlyLikeTheOriginal(@TempDir Path tmp) throws IOException {
        Path folder = TinyModels.write(tmp.resolve("tiny"), 21);
        Path converted = tmp.resolve("tiny.safetensors");
        CliRunner r = CliRunner.run("convert", folder.toString(), converted.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("(timm layout, 20 tensors)") && r.out().contains("wrote    " + converted),
                r.out());

        Path input = tmp.resolve("x.npy");
        Npy.write(input, new float[3 * 16 * 16], 1, 3, 16, 16);
        Path a = tmp.resolve("a.npy");
        Path b = tmp.resolve("b.npy");
        assertEquals(0, CliRunner.run("classify", "--model", folder.toString(), "--input-tensor", input.toString(),
                "--save-logits", a.toString()).exitCode());
        CliRunner c = CliRunner.run("classify", "--model", converted.toString(), "--input-tensor", input.toString(),
                "--save-logits", b.toString(), "--top-k", "2");
        assertEquals(0, c.exitCode(), c.err());
        assertTrue(c.out().contains("apple") || c.out().contains("banana") || c.out().contains("cherry")
                || c.out().contains("damson"), "labels travel with the converted file:\n" + c.out());
        assertArrayEquals(Npy.read(a).toFloatArray(), Npy.read(b).toFloatArray(), 0f);
    }

    @Test
    void halfPrecisionAndInspectJson(@TempDir Path tmp) throws IOException {
        Path folder = TinyModels.write(tmp.resolve("tiny"), 22);
        Path half = tmp.resolve("half.safetensors");
        assertEquals(0, CliRunner.run("convert", folder.toString(), half.toString(), "--dtype", "bf16").exitCode());
        CliRunner inspect = CliRunner.run("inspect", half.toString(), "--json");
        assertEquals(0, inspect.exitCode(), inspect.err());
        JsonNode report = JSON.readTree(inspect.out());
        assertEquals("hourglass", report.get("layout").asText());
        assertEquals(20, report.get("dtypes").get("BF16").asInt());
        assertEquals(2, report.get("config").get("encoder").get("num_heads").asInt());
        assertEquals("vit", report.get("config").get("family").asText());
        CliRunner text = CliRunner.run("inspect", folder.toString());
        assertEquals(0, text.exitCode());
        assertTrue(text.out().contains("layout      timm") && text.out().contains("problems    none"), text.out());
    }

    @Test
    void existingOutputNeedsForce(@TempDir Path tmp) throws IOException {
        Path folder = TinyModels.write(tmp.resolve("tiny"), 23);
        Path out = tmp.resolve("out.safetensors");
        Files.writeString(out, "keep me");
        CliRunner refused = CliRunner.run("convert", folder.toString(), out.toString());
        assertEquals(1, refused.exitCode());
        assertTrue(refused.err().contains("exists; use --force"), refused.err());
        assertEquals("keep me", Files.readString(out));
        assertEquals(0, CliRunner.run("convert", folder.toString(), out.toString(), "--force").exitCode());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals("hourglass", f.metadata().get("format"));
        }
        CliRunner badType = CliRunner.run("convert", folder.toString(), out.toString(), "--force", "--dtype", "f8");
        assertEquals(2, badType.exitCode());
        assertTrue(badType.err().contains("--dtype f8 is not one of f32, f16, bf16"), badType.err());
    }

    @Test
    void inspectReportsProblemsWithExitCodeOne(@TempDir Path tmp) throws IOException {
        Path folder = TinyModels.write(tmp.resolve("tiny"), 24);
        Path withExtra = Files.createDirectories(tmp.resolve("layerscale"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(folder.resolve("model.safetensors"))) {
            for (TensorInfo t : f.tensors()) {
                w.add(t.name(), Tensor.ofFloats(f.tensor(t.name()).toFloatArray(), t.shape()));
            }
        }
        w.add("blocks.0.ls1.gamma", Tensor.ofFloats(new float[32], 32));
        w.write(withExtra.resolve("model.safetensors"));
        Files.copy(folder.resolve("config.json"), withExtra.resolve("config.json"));

        CliRunner inspect = CliRunner.run("inspect", withExtra.toString());
        assertEquals(1, inspect.exitCode());
        assertTrue(inspect.out().contains("problem     unexpected: blocks.0.ls1.gamma [32]"), inspect.out());
        CliRunner convert = CliRunner.run("convert", withExtra.toString(), tmp.resolve("o.safetensors").toString());
        assertEquals(1, convert.exitCode());
        assertTrue(convert.err().contains("unexpected: blocks.0.ls1.gamma"), convert.err());
        assertTrue(Files.notExists(tmp.resolve("o.safetensors")));
    }

    @Test
    void helpListsEveryOption() {
        CliRunner convert = CliRunner.run("convert", "--help");
        for (String o : new String[] {"--dtype", "--force", "--family", "--heads", "--decoder-heads"}) {
            assertTrue(convert.out().contains(o), o + " missing:\n" + convert.out());
        }
        CliRunner inspect = CliRunner.run("inspect", "--help");
        for (String o : new String[] {"--json", "--family", "--heads"}) {
            assertTrue(inspect.out().contains(o), o + " missing:\n" + inspect.out());
        }
    }
}
