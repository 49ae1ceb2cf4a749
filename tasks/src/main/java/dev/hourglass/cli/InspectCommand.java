package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.convert.Converter;
import dev.hourglass.convert.Inspection;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hourglass inspect}: what a checkpoint or model file holds, and what would stop its conversion. */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {"Shows a checkpoint's layout, the model configuration (and what of it was inferred), its",
                "tensors with their canonical names, dtypes and shapes, the parameter count, and any unmapped,",
                "missing or mis-shaped tensors, or a head count or a timm normalisation it would have to guess",
                "(give --heads, or --mean and --std). Settings guessed rather than read are listed, and named in",
                "one line on stderr. Exit code 1 when there are such problems."})
final class InspectCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A checkpoint folder or weight file, or an Hourglass"
            + " model file.")
    Path input;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @CommandLine.Mixin
    ConversionOptions conversion;

    @Override
    public Integer call() throws IOException {
        Inspection report = Converter.inspect(input, conversion.toOptions());
        conversion.reportGuesses(input, report.guesses());
        conversion.reportReplaced(input, report.replacedNormalisation());
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? JSON.writeValueAsString(report.toJson()) + "\n" : report.toText());
        out.flush();
        return report.problems().isEmpty() ? 0 : 1;
    }
}
