package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.Depth;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.depth.DepthPictures;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hourglass depth}: monocular depth of images with DPT, optionally with a token reduction (Expedit-DPT). */
@Command(name = "depth",
        mixinStandardHelpOptions = true,
        description = {"Estimates depth with DPT (isl-org/DPT's .pt, a Hugging Face DPTForDepthEstimation"
                + " folder, DPT-Hybrid's included, or an Hourglass file), exactly as the original computes it,"
                + " optionally with Expedit"
                + " (--reduce expedit:alpha=5,grid=16x16,tau=1.0, Expedit-DPT's KITTI setting: the tokens leaving the"
                + " alpha-th block are clustered, and each patch takes its cluster's features at the later taps, as"
                + " Expedit-DPT does; give tau=1.0, Expedit-DPT's, since the default is Segmenter's 0.02). The output"
                + " is DPT's: relative inverse depth, larger is nearer; isl-org's KITTI and NYU DPT-Hybrid checkpoints"
                + " give metric depth in metres, larger is farther, with --dpt-output kitti or nyu (as"
                + " run_monodepth.py runs them, at its net sizes 1216x352 and 640x480; the files do not say it).",
                "With --out, for each image: <name>.depth.png (16 bits, the map's range scaled to 0..65535 as"
                + " run_monodepth.py writes it: for metric depth, brighter is farther), <name>.colour.png (dark far,"
                + " bright near; metric depth is drawn as its inverse) and <name>.image.png (the image beside the"
                + " colour map), and <name>.json (settings, timings, GFLOPs). Several --image files"
                + " or a folder run in one process, e.g.",
                "  hourglass depth --model dpt_large-midas-2f21e586.pt --heads 16 --image photos/ --out depth/"})
final class DepthCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "A DPT: isl-org/DPT's .pt (give --heads: the file does not say; 16 for DPT-Large, 12 for"
                    + " DPT-Hybrid), a Hugging Face DPTForDepthEstimation folder (DPT-Large or DPT-Hybrid), or an"
                    + " Hourglass file (hourglass convert).")
    Path model;

    @CommandLine.Mixin
    ConversionOptions conversion;

    @CommandLine.Mixin
    BackendOption backend;

    @CommandLine.Mixin
    ReduceOption reduce;

    @CommandLine.Mixin
    RunOptions runOptions;

    @CommandLine.ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--image", arity = "1..*", paramLabel = "FILE|DIR",
                description = "Images (PNG, JPEG, BMP, GIF, ...): repeat the option or give several files; "
                        + ImageInputs.FOLDER_HELP)
        List<Path> images;

        @Option(names = "--input-tensor", paramLabel = "FILE.npy",
                description = "An already normalised float32 tensor [1, 3, H, W] (or [3, H, W]), H and W multiples"
                        + " of 32, instead of an image: the depth is at that size.")
        Path tensor;
    }

    @Option(names = "--preprocess", paramLabel = "SOURCE",
            description = {"How a photo becomes the network's input: monodepth (isl-org/DPT's run_monodepth.py: keep",
                    "the aspect ratio, a multiple of 32 near the trained size, OpenCV's bicubic on floats) or",
                    "hugging-face (DPTImageProcessor's defaults: stretched to the trained size, Pillow's bicubic).",
                    "Default: the model's source (hugging-face for a Hugging Face folder, else monodepth)."})
    String preprocess;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Folder for the pictures and the JSON report of each input, named after it; created if"
                    + " missing. Without it nothing is written but --save-depth.")
    Path out;

    @Option(names = "--save-depth", paramLabel = "FILE.npy|DIR",
            description = "Write the depth as float32 .npy: [H, W] at the photo's size from an image, at the"
                    + " network's size from a tensor; with several images, a folder of NAME.depth.npy.")
    Path saveDepth;

    @Option(names = "--json", description = "Print each input's JSON report on standard output instead of text, one"
            + " line each (JSON Lines); an input that fails gets {\"input\": {...}, \"error\": \"...\"}.")
    boolean json;




    private boolean modelPrinted;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        int n = runOptions.check(cl);
        DptPreprocessing.Source source = source(cl);
        ReductionMethod reduction = reduce.method(cl);
        dev.hourglass.convert.ConvertOptions convertOptions = conversion.toOptions();
        ImageInputs inputs = input.images != null ? ImageInputs.images(input.images, runOptions.maxPixels)
                : ImageInputs.tensor(input.tensor);
        if (out != null) {
            inputs.checkOutputFolder(cl, "--out", out, "NAME.depth.png, NAME.colour.png, NAME.json for each input");
        }
        if (saveDepth != null) {
            inputs.checkOutputFileOrFolder(cl, "--save-depth", saveDepth, "one NAME.depth.npy per input", ".npy");
        }
        long t0 = System.nanoTime();
        try (DepthEstimator estimator = inputs.anyUsable()
                ? DepthEstimator.load(model, new ModelOptions(n, backend.name, convertOptions)) : null) {
            double loadMs = ClassifyCommand.millisSince(t0);
            DptPreprocessing preprocessing = null;
            if (estimator != null) {
                conversion.reportGuesses(model, convertOptions);
                BackendOption.report(cl.getErr(), estimator.backendSummary());
                preprocessing = source == null ? estimator.preprocessing() : estimator.preprocessing(source);
                if (reduction != null) {
                    // Images are checked at the size the preprocessing aims for (KITTI's 1216x352, say), a tensor at
                    // the trained size; each input is checked again at its own size when it runs.
                    int width = input.images != null ? preprocessing.targetWidth()
                            : estimator.encoderConfig().imageWidth();
                    int height = input.images != null ? preprocessing.targetHeight()
                            : estimator.encoderConfig().imageHeight();
                    try {
                        estimator.checkReduction(reduction, width, height);
                    } catch (IllegalArgumentException e) {
                        throw new CommandLine.ParameterException(cl, "--reduce: " + e.getMessage());
                    }
                }
            }
            DptPreprocessing prepare = preprocessing;
            InputLoop.Summary summary = new InputLoop(cl, inputs, json).run(
                    item -> estimate(estimator, prepare, reduction, loadMs, inputs.many(), item));
            if (!json && inputs.many() && estimator != null) {
                cl.getOut().println(summary.totalLine(loadMs));
                cl.getOut().flush();
            }
            summary.throwIfFailed();
            return 0;
        }
    }

    private DptPreprocessing.Source source(CommandLine cl) {
        if (preprocess == null) {
            return null;
        }
        return switch (preprocess.toLowerCase(Locale.ROOT)) {
            case "monodepth" -> DptPreprocessing.Source.MONODEPTH;
            case "hugging-face", "huggingface", "hf" -> DptPreprocessing.Source.HUGGING_FACE;
            default -> throw new CommandLine.ParameterException(cl, "--preprocess must be monodepth or hugging-face,"
                    + " got '" + preprocess + "'");
        };
    }

    private InputLoop.Output estimate(DepthEstimator estimator, DptPreprocessing preprocessing,
                                      ReductionMethod reduction, double loadMs, boolean many, ImageInputs.Input item)
            throws IOException {
        long t1 = System.nanoTime();
        RgbImage image = null;
        Tensor tensor = null;
        if (!item.tensor()) {
            image = RgbImage.read(item.file(), runOptions.maxPixels);
        } else {
            tensor = InputLoop.oneImage(ClassifyCommand.readTensor(item.file()), item.file());
        }
        double readMs = ClassifyCommand.millisSince(t1);
        double[] forwardMs = new double[runOptions.repeat];
        Depth depth = null;
        for (int i = 0; i < runOptions.repeat; i++) {
            long s = System.nanoTime();
            depth = image != null ? estimator.estimate(image, preprocessing, reduction)
                    : estimator.estimate(tensor, reduction);
            forwardMs[i] = ClassifyCommand.millisSince(s);
        }
        ClassifyCommand.Timing timing = new ClassifyCommand.Timing(loadMs, readMs, forwardMs);
        List<String> written = new ArrayList<>();
        String stem = item.stem();
        if (saveDepth != null) {
            Path file = many ? FileErrors.createOutputFolder("--save-depth", saveDepth).resolve(stem + ".depth.npy")
                    : saveDepth;
            float[] values = depth.image();
            int h = depth.imageHeight();
            int w = depth.imageWidth();
            FileErrors.writing(file, () -> Npy.write(file, values, h, w));
            written.add(file.toString());
        }
        Map<String, Object> report = report(estimator, reduction, item, depth, timing, written);
        if (out != null) {
            FileErrors.createOutputFolder("--out", out);
            float[] values = depth.image();
            int w = depth.imageWidth();
            int h = depth.imageHeight();
            InputLoop.writePng(out, stem + ".depth.png", DepthPictures.sixteenBit(values, w, h), written);
            java.awt.image.BufferedImage colours = DepthPictures.colours(values, w, h, depth.quantity());
            InputLoop.writePng(out, stem + ".colour.png", colours, written);
            if (image != null) {
                InputLoop.writePng(out, stem + ".image.png", DepthPictures.besideImage(image, colours), written);
            }
            Path reportFile = out.resolve(stem + ".json");
            written.add(reportFile.toString());
            String reportText = JSON.writeValueAsString(report) + "\n";
            FileErrors.writing(reportFile, () -> AtomicFiles.writeString(reportFile, reportText));
        }
        if (json) {
            String line = InputLoop.JSON_LINES.writeValueAsString(report);
            return o -> o.println(line);
        }
        Depth result = depth;
        return o -> printText(o, estimator, reduction, item.file(), result, timing, written, many);
    }

    private Map<String, Object> report(DepthEstimator estimator, ReductionMethod reduction, ImageInputs.Input item,
                                       Depth depth, ClassifyCommand.Timing timing, List<String> written) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", Map.of("path", model.toString(), "description", estimator.describe()));
        r.put("backend", estimator.backendDescription());
        Map<String, Object> in = new LinkedHashMap<>();
        in.put(item.kind(), item.file().toString());
        in.put("width", depth.imageWidth());
        in.put("height", depth.imageHeight());
        in.put("network_width", depth.networkWidth());
        in.put("network_height", depth.networkHeight());
        r.put("input", in);
        Map<String, Object> red = new LinkedHashMap<>();
        red.put("method", reduction == null ? "none" : reduction.name());
        red.put("spec", reduction == null ? null : reduction.spec());
        red.put("settings", reduction == null ? Map.of() : reduction.settings());
        red.put("tokens_after_block", depth.tokensAfterBlock());
        r.put("reduction", red);
        r.put("gflops", Math.round(depth.gflops() * 1000) / 1000.0);
        r.put("unreduced_gflops", Math.round(depth.unreducedGflops() * 1000) / 1000.0);
        double[] range = range(depth.image());
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("quantity", depth.quantity().words());
        d.put("unit", depth.quantity().unit());
        d.put("larger_is", depth.quantity().largerIsFarther() ? "farther" : "nearer");
        d.put("min", range[0]);
        d.put("max", range[1]);
        r.put("depth", d);
        r.put("timing_ms", timing.toMap());
        r.put("outputs", written);
        return r;
    }

    /** The smallest and largest of {@code values} (a NaN makes both NaN, as Math.min and max do). */
    private static double[] range(float[] values) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return new double[] {min, max};
    }

    private void printText(PrintWriter o, DepthEstimator estimator, ReductionMethod reduction, Path source,
                           Depth depth, ClassifyCommand.Timing timing, List<String> written, boolean many) {
        if (!modelPrinted) {
            o.println("model    " + estimator.describe());
            modelPrinted = true;
        }
        o.println("input    " + source + " (" + depth.imageWidth() + "x" + depth.imageHeight() + "), network input "
                + depth.networkWidth() + "x" + depth.networkHeight());
        o.println("reduce   " + (reduction == null ? "off" : reduction.spec() + ": tokens after each block "
                + Arrays.toString(depth.tokensAfterBlock())));
        double[] range = range(depth.image());
        String unit = depth.quantity().unit() == null ? "" : " " + depth.quantity().unit();
        o.printf(Locale.ROOT, "depth    %s: %.4g%s to %.4g%s%n", depth.quantity().describe(), range[0], unit, range[1],
                unit);
        o.printf(Locale.ROOT, "gflops   %.2f (%.2f without reduction)%n", depth.gflops(), depth.unreducedGflops());
        if (many) {
            o.printf(Locale.ROOT, "time     read %.1f ms, depth %.1f ms (median of %d)%n", timing.preprocessMs(),
                    timing.median(), timing.forwardMs().length);
        } else {
            o.printf(Locale.ROOT, "time     load %.0f ms, read %.1f ms, depth %.1f ms (median of %d)%n",
                    timing.loadMs(), timing.preprocessMs(), timing.median(), timing.forwardMs().length);
        }
        if (!written.isEmpty()) {
            o.println("wrote    " + String.join(", ", written));
        }
    }
}
