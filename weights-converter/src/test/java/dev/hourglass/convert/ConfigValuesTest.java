package dev.hourglass.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.hourglass.testing.Fixtures;

/**
 * Bad values in the configuration files beside the weights are refused with an IOException naming the file, the key
 * and the value (each case a crash or a silent misreading the fuzz tests found before it was fixed), and a
 * conversion never yields a configuration that the engine would refuse to read back.
 */
class ConfigValuesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}/{1}: {3}")
    @CsvSource(delimiter = '|', value = {
        // id2label keys that are not the class indices 0..N-1: a NumberFormatException, then names shifted silently.
        "hf_vit|config.json|\"0\": \"LABEL_0\"|\",7\": \"LABEL_0\"|config.json: id2label has the key \",7\", not a"
            + " class index (0, 1, 2, ...)",
        "hf_vit|config.json|\"2\": \"LABEL_2\"|\"10\": \"LABEL_2\"|config.json: id2label has no class 2 but has 3"
            + " (its keys must be 0 to 9)",
        "hf_vit|config.json|\"9\": \"LABEL_9\"|\"9\": \"LABEL_9\", \"10\": \"LABEL_10\"|model.safetensors: config.json"
            + " has 11 class names for a model of 10 classes; give the right ones with --labels",
        "hf_vit|config.json|\"id2label\": {|\"id2label\": [1], \"x\": {|config.json: id2label is \"[1]\", not an object"
            + " mapping class indices to names",
        // A DPT's taps out of block order: transformers would take them in block order.
        "hf_dpt|config.json|    0,\\n    1,|    1,\\n    0,|config.json: backbone_out_indices must be increasing"
            + " (transformers takes the blocks in the encoder's order), got \"[1,0,2,3]\"",
        // Head and readout settings the engine does not run: refused, not run as the default.
        "hf_dpt|config.json|\"head_in_index\": -1|\"head_in_index\": 2|config.json: head_in_index must be -1 (the"
            + " head reads the last fusion stage, the only one Hourglass runs it on), got \"2\"",
        "hf_dpt|config.json|\"head_in_index\": -1|\"head_in_index\": -1, \"add_projection\": true|config.json:"
            + " add_projection must be false (a projection before the head is not supported), got \"true\"",
        "hf_dpt|config.json|\"readout_type\": \"project\"|\"readout_type\": \"add\"|config.json: readout_type is"
            + " \"add\" but the weights have neck.reassemble_stage.readout_projects",
        "hf_dpt|config.json|\"readout_type\": \"project\"|\"readout_type\": \"concat\"|config.json:"
            + " readout_type must be \"project\", \"add\" or \"ignore\", got \"\\\"concat\\\"\"",
        // Segmenter's variant.yml: a ClassCastException or NullPointerException, or values read as something else.
        "segmenter_pth|variant.yml|  - 32\\n  - 32|  - 32\\n  - null|variant.yml: net_kwargs.image_size is [32, null],"
            + " not [height, width] in pixels",
        "segmenter_pth|variant.yml|  - 32\\n  - 32|  - 32\\n  - \"32\"|variant.yml: net_kwargs.image_size is"
            + " [32, \"32\"], not [height, width] in pixels",
        "segmenter_pth|variant.yml|n_heads: 2|n_heads: 2.5|variant.yml: net_kwargs.n_heads is 2.5, not a positive"
            + " integer",
        "segmenter_pth|variant.yml|window_stride: 16|window_stride: 4294967312|variant.yml:"
            + " inference_kwargs.window_stride is 4294967312, not a positive integer",
        "segmenter_pth|variant.yml|inference_kwargs:\\n|inference_kwargs: none\\nx:\\n|variant.yml: inference_kwargs is"
            + " \"none\", not a mapping",
    })
    void badValuesAreRefusedByName(String fixture, String file, String original, String replacement, String message)
            throws IOException {
        Path model = copy(fixture);
        Path target = model.resolve(file);
        String text = Files.readString(target);
        String find = original.replace("\\n", "\n");
        assertTrue(text.contains(find), "the fixture changed: " + find);
        Files.writeString(target, text.replace(find, replacement.replace("\\n", "\n")));
        IOException e = assertThrows(IOException.class, () -> Converter.open(model, options(fixture)));
        assertTrue(e.getMessage().contains(message) && e.getMessage().indexOf('\n') < 0, e.getMessage());
    }

    @Test
    void classNamesGivenByTheUserReplaceWrongOnes() throws IOException {
        Path model = copy("hf_vit");
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"9\": \"LABEL_9\"",
                "\"9\": \"LABEL_9\", \"10\": \"LABEL_10\""));
        List<String> names = IntStream.range(0, 10).mapToObj(i -> "class " + i).toList();
        try (ConvertedModel m = Converter.open(model, new ConvertOptions(null, null, null, names))) {
            assertEquals(names, m.config().labels());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "0080000000, byte 1",
        "7b22613a3122ff7d, byte 6",
    })
    void aConfigurationThatIsNotUtf8IsRefused(String hex, String where) throws IOException {
        Path model = copy("hf_vit");
        Files.write(model.resolve("config.json"), java.util.HexFormat.of().parseHex(hex));
        IOException e = assertThrows(IOException.class, () -> Converter.open(model, options("hf_vit")));
        assertTrue(e.getMessage().equals(model.resolve("config.json") + ": not UTF-8 text, as JSON must be (" + where
                + ")"), e.getMessage());
    }

    private Path copy(String fixture) throws IOException {
        Path model = Files.createDirectories(tmp.resolve(fixture));
        try (Stream<Path> files = Files.list(Fixtures.path("convert").resolve(fixture))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        return model;
    }

    private static ConvertOptions options(String fixture) {
        return new ConvertOptions(null, null, fixture.startsWith("segmenter") ? 2 : null);
    }
}
