package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;

/**
 * Runs a command's work on each of its inputs in turn, with the model the command loaded once, and says what happened
 * to each: the work's output on standard output (one JSON line per input with {@code --json}), a progress bar on a
 * terminal's standard error, and for an input that fails, one line on standard error naming it (and with
 * {@code --json} a line {@code {"input": {...}, "error": "..."}}).
 *
 * <p>With one input (one {@code --image} file, or {@code --input-tensor}) a failure is rethrown for the command line's
 * handler, as the command always did. With many, the others still run, and {@link Summary#throwIfFailed} then ends
 * the command with exit code 1 saying how many failed. Usage errors ({@link CommandLine.ParameterException}, such as
 * a {@code --reduce} setting the model refuses) stop the loop at once.
 */
final class InputLoop {
    /** One JSON object per line: JSON Lines. */
    static final ObjectMapper JSON_LINES = new ObjectMapper();

    /** The work for one input: computes, writes its files, and returns what to print. */
    @FunctionalInterface
    interface Work {
        Output run(ImageInputs.Input input) throws IOException;
    }

    /** What one input prints on standard output: its JSON line or its text. */
    @FunctionalInterface
    interface Output {
        void print(PrintWriter out) throws IOException;
    }

    /** How a loop went: inputs run, how many failed, and the wall-clock time of the loop. */
    record Summary(int inputs, int failed, double ms) {

        /** The text output's last line with many images: how many, how long, and the model's one load. */
        String totalLine(double loadMs) {
            return String.format("total    %s in %.0f ms, %.1f ms per image%s; the model loaded once, in %.0f ms",
                    images(inputs), ms, ms / inputs, failed == 0 ? "" : ", " + failed + " failed", loadMs);
        }

        /** Ends the command with exit code 1 (an {@link IOException}) when any input failed. */
        void throwIfFailed() throws IOException {
            if (failed > 0) {
                throw new IOException(failed + " of " + images(inputs) + " failed (each named above); "
                        + (inputs - failed == 0 ? "none was processed" : "the other " + (inputs - failed) + " "
                        + (inputs - failed == 1 ? "was" : "were") + " processed"));
            }
        }
    }

    private static String images(int n) {
        return n + (n == 1 ? " image" : " images");
    }

    private final CommandLine cl;
    private final ImageInputs inputs;
    private final boolean json;

    InputLoop(CommandLine cl, ImageInputs inputs, boolean json) {
        this.cl = cl;
        this.inputs = inputs;
        this.json = json;
    }

    /**
     * Runs {@code work} on every input not refused already (from its header, by the reader or the model), in order;
     * a refused one is reported in its turn as if it had failed there.
     *
     * @throws IOException or {@link IllegalArgumentException}: the failure of the only input
     */
    Summary run(Work work) throws IOException {
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        int total = inputs.inputs().size();
        ProgressBar bar = ProgressBar.forImages(err, cl.getCommandName(), total);
        long t0 = System.nanoTime();
        int failed = 0;
        try {
            for (int i = 0; i < total; i++) {
                ImageInputs.Input input = inputs.inputs().get(i);
                bar.images(i, total, ClassifyCommand.millisSince(t0));
                Exception failure = input.problem();
                Output output = null;
                if (failure == null) {
                    try {
                        output = work.run(input);
                    } catch (IOException | IllegalArgumentException e) {
                        failure = e;
                    }
                }
                bar.clear();
                if (failure == null) {
                    output.print(out);
                    out.flush();
                    continue;
                }
                failed++;
                if (json) {
                    out.println(errorLine(input, message(failure, input)));
                    out.flush();
                }
                if (!inputs.many() && failure instanceof IOException io) {
                    throw io;
                } else if (!inputs.many()) {
                    throw (RuntimeException) failure; // an IllegalArgumentException: the work's or the input's
                }
                err.println(cl.getCommandSpec().qualifiedName() + ": error: " + message(failure, input));
                err.flush();
            }
        } finally {
            bar.clear();
        }
        return new Summary(total, failed, ClassifyCommand.millisSince(t0));
    }

    /** The JSON line of an input that failed. */
    static String errorLine(ImageInputs.Input input, String message) throws JsonProcessingException {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("input", Map.of(input.kind(), input.file().toString()));
        line.put("error", message);
        return JSON_LINES.writeValueAsString(line);
    }

    /** A failure in one line that names the input's file (the line the command line's handler would print). */
    static String message(Exception e, ImageInputs.Input input) {
        String m = e instanceof IOException io ? FileErrors.describe(io) : e.getMessage();
        m = m == null ? e.getClass().getSimpleName() : m.strip().replaceAll("\\s*\\R\\s*", " ");
        String file = input.file().toString();
        return m.contains(file) ? m : file + ": " + m;
    }

    /**
     * One image's tensor from {@code --input-tensor}: {@code [1, 3, H, W]} as it is, {@code [3, H, W]} given its batch
     * axis; any other shape is refused naming the file.
     */
    static Tensor oneImage(Tensor t, Path file) throws IOException {
        Shape s = t.shape();
        if (s.rank() == 3 && s.dim(0) == 3) {
            return t.reshape(1, 3, s.dim(1), s.dim(2));
        }
        if (s.rank() != 4 || s.dim(0) != 1 || s.dim(1) != 3) {
            throw new IOException(file + ": expected a float32 tensor [1, 3, height, width] or [3, height, width], got"
                    + " shape " + s);
        }
        return t;
    }

    /** Writes {@code picture} as {@code folder/name} (whole or not at all) and adds the file to {@code written}. */
    static void writePng(Path folder, String name, java.awt.image.BufferedImage picture, List<String> written)
            throws IOException {
        Path file = folder.resolve(name);
        FileErrors.writing(file, () -> SegmentationPictures.writePng(picture, file));
        written.add(file.toString());
    }
}
