package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hourglass convert}: an original checkpoint to an Hourglass model file. */
@Command(name = "convert",
        mixinStandardHelpOptions = true,
        description = {"Converts an original checkpoint (timm or Hugging Face ViT/DeiT/DPT/DPT-Hybrid folder or",
                "safetensors, Segmenter, DPT or CF-ViT .pth) into one Hourglass model file: safetensors with canonical",
                "names and the model's configuration in its metadata. The input is never modified; the output",
                "appears only when complete."})
final class ConvertCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "The checkpoint: a folder or a weight file.")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT", description = "The Hourglass model file to write (.safetensors).")
    Path output;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "Store the weights as f32, f16 or bf16 (rounded to nearest even, as PyTorch rounds);"
                    + " default: keep each tensor's type.")
    String dtype;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @CommandLine.Mixin
    ConversionOptions conversion;

    @Override
    public Integer call() throws IOException {
        DType type = parseDtype(dtype);
        FileErrors.checkOutputFile(spec.commandLine(), "OUT", output, false);
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try (ConvertedModel model = Converter.open(input, conversion.toOptions())) {
            out.println("read     " + input + " (" + model.layout() + " layout, " + model.tensors().size()
                    + " tensors)");
            for (String note : model.config().inferred()) {
                out.println("inferred " + note);
            }
            conversion.reportGuesses(input, model.guesses());
            conversion.reportReplaced(input, model.replacedNormalisation());
            ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "writing " + output.getFileName());
            FileErrors.writing(output, () -> Converter.write(model, output, type, force, bar::update));
            bar.finish();
            out.printf(Locale.ROOT, "wrote    %s (%s, %.1f s)%n", output, type == null ? "dtypes kept"
                    : type.safetensorsName(), (System.nanoTime() - t0) / 1e9);
        }
        out.flush();
        return 0;
    }

    private DType parseDtype(String s) {
        if (s == null) {
            return null;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "f16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--dtype " + s + " is not one of f32, f16, bf16");
        };
    }
}
