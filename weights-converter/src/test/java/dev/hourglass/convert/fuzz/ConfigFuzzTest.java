package dev.hourglass.convert.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The configuration files the converter reads beside the weights ({@code config.json} of timm and Hugging Face,
 * {@code preprocessor_config.json}, Segmenter's {@code variant.yml}) on mutants, through {@link Converter#open}: the
 * JSON or YAML reader and the layout that interprets the values. Each mutant is converted (and its configuration
 * written and read back as a model file would be) or refused with an {@link IOException} that names the file, in one
 * line. Short run by default; see {@link Fuzzer} for a long one.
 */
class ConfigFuzzTest {
    private static final List<byte[]> TOKENS = Mutator.utf8("\"num_attention_heads\"", "\"hidden_size\"",
            "\"image_size\"", "\"patch_size\"", "\"layer_norm_eps\"", "\"id2label\"", "\"label2id\"", "\"size\"",
            "\"height\"", "\"width\"", "\"shortest_edge\"", "\"resample\"", "\"image_mean\"", "\"image_std\"",
            "\"pretrained_cfg\"", "\"input_size\"", "\"crop_pct\"", "\"crop_mode\"", "\"interpolation\"", "\"mean\"",
            "\"std\"", "\"architecture\"", "\"label_names\"", "\"num_classes\"", "\"neck_hidden_sizes\"",
            "\"fusion_hidden_size\"", "\"reassemble_factors\"", "\"backbone_out_indices\"", "\"-1\"", "\"x\"", "\"\"",
            "null", "true", "[]", "{}", "[1, 2]", "[3, 224, 224]", "{\"height\": 0, \"width\": -1}", "-1", "0",
            "1e400", "2147483648", "-2147483649", "0.5", "{", "}", "[", "]", ",", ":", "\"", "\\u0000",
            // YAML (variant.yml)
            "net_kwargs:\n", "  n_heads: ", "  image_size: ", "  n_cls: ", "  d_model: ", "decoder:\n", "  name: ",
            "inference_kwargs:\n", "  window_size: ", "  window_stride: ", "  im_size: ", "  normalization: ",
            "!!python/tuple\n  - ", "- ", ": ", "&a ", "*a", "~", "[1, x]", "[null, 2]", "- 1.5\n", "9999999999");

    @TempDir
    Path folder;

    /** Each checkpoint fixture, the file mutated, the mutants of a short run, and --decoder-heads where it needs it. */
    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({
        "timm_hub, config.json, 200,",
        "hf_vit, config.json, 200,",
        "hf_vit, preprocessor_config.json, 150,",
        "hf_dpt, config.json, 150,",
        "segmenter_pth, variant.yml, 200, 2",
    })
    void everyMutantIsConvertedOrRefused(String fixture, String file, int shortRun, Integer decoderHeads)
            throws IOException {
        Path model = folder.resolve(fixture);
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(Seeds.resource("convert/" + fixture))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (!f.getFileName().toString().equals("fixture.json")) {
                    Files.copy(f, model.resolve(f.getFileName()));
                }
            }
        }
        Mutator mutator = new Mutator(Seeds.read("convert/" + fixture + "/" + file), TOKENS);
        Fuzzer.Report report = Fuzzer.run(fixture + "-" + file, mutator::mutant, shortRun, model.resolve(file),
                mutated -> convert(model, new ConvertOptions(null, null, decoderHeads)), ConfigFuzzTest::refusal);
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    /** Converts the folder as {@code hourglass convert} would, up to the configuration it writes. */
    private static void convert(Path model, ConvertOptions options) throws IOException {
        try (ConvertedModel m = Converter.open(model, options)) {
            // The configuration a converted file carries must be one the engine reads back.
            ModelConfig.fromJson(m.config().toJson(), "the converted configuration");
            if (m.tensors().isEmpty()) {
                throw new AssertionError("a conversion without tensors");
            }
        }
    }

    /** An IOException naming, in one line, the mutated file or the checkpoint's weights. */
    private static String refusal(Throwable thrown, Path file) {
        if (!(thrown instanceof IOException)) {
            return "thrown " + thrown.getClass().getName() + ", not an IOException";
        }
        String message = thrown.getMessage();
        if (message == null || message.indexOf('\n') >= 0 || message.indexOf('\r') >= 0) {
            return "the message is missing or not one line";
        }
        if (message.startsWith("the converted configuration")) {
            return "the converter accepted a configuration the engine does not read back";
        }
        try (Stream<Path> files = Files.list(file.getParent())) {
            if (files.map(p -> p.getFileName().toString()).noneMatch(message::contains)) {
                return "the message names no file of the checkpoint";
            }
        } catch (IOException e) {
            return "cannot list " + file.getParent() + ": " + e;
        }
        return null;
    }
}
