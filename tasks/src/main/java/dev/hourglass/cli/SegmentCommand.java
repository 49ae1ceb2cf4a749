package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hourglass segment}: semantic segmentation of images with a Segmenter, optionally with Expedit. */
@Command(name = "segment",
        mixinStandardHelpOptions = true,
        description = {"Segments images with a Segmenter (sliding windows as Segmenter's own inference places them),"
                + " optionally with Expedit's token clustering and reconstruction (--expedite), which needs no"
                + " fine-tuning. Writes to --out, for each image: <name>.classes.png (the class index of each pixel),"
                + " <name>.colour.png (each class in its colour), <name>.overlay.png (the colours 50%% over the"
                + " image), with --expedite <name>.clusters.png (Expedit's clusters outlined over the dimmed image,"
                + " a dot in each), and <name>.json (each class's share of the pixels, settings, timings).",
                "Several --image files or a folder run in one process: the model loads and warms up once, a progress"
                + " bar shows on a terminal, and an image that fails is named on standard error while the others"
                + " go on (exit code 1 at the end if any failed), e.g.",
                "  hourglass segment --model M --image photos/ --out masks/ --json > all.jsonl"})
final class SegmentCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = {"An Hourglass Segmenter file (hourglass convert), Segmenter's checkpoint.pth (variant.yml",
                    "beside it) or Expedit's mmseg checkpoint."})
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
                description = "Images to segment (PNG, JPEG, BMP, GIF, ...): repeat the option or give several"
                        + " files (--image a.png b.jpg); " + ImageInputs.FOLDER_HELP)
        List<Path> images;

        @Option(names = "--input-tensor", paramLabel = "FILE.npy",
                description = "An already normalised float32 tensor [1, 3, H, W] (or [3, H, W]) instead of an image.")
        Path tensor;
    }

    @Option(names = "--expedite", arity = "0..1", fallbackValue = "", paramLabel = "SETTINGS",
            description = {"Run with Expedit: the same as --reduce expedit:SETTINGS. SETTINGS:",
                    "alpha=10,grid=28x28,iters=5,window=5,tau=0.02,k=20,tau_r=0.02 (those are the defaults,",
                    "Expedit's Segmenter ADE20K configuration for ViT-L/16 at 640, 40x40 tokens per window; give",
                    "any subset). alpha counts blocks from 1: alpha=10 clusters the tokens leaving the 10th block.",
                    "The grid must be smaller than the model's token grid (window / patch): for the demo",
                    "Segmenter's 16x16 tokens, alpha=4,grid=10x10,k=1."})
    String expedite;

    @Option(names = "--out", defaultValue = "segment-out", paramLabel = "DIR",
            description = "Folder for the pictures and the JSON report of each image, named after it; created if"
                    + " missing (default: ${DEFAULT-VALUE}). Two images of the same name are refused.")
    Path out;

    @Option(names = "--palette", paramLabel = "FILE",
            description = {"Class colours, one 'R G B' line (0-255) per class, e.g. the ADE20K colour table.",
                    "Default: the demo's, matplotlib's tab10 then tab20 colours for up to 20 classes; beyond, a",
                    "generated palette that keeps neighbouring class indices apart."})
    Path palette;

    @Option(names = "--json", description = "Print each image's JSON report (what NAME.json holds) on standard"
            + " output instead of text, one line each (JSON Lines); an image that fails gets"
            + " {\"input\": {...}, \"error\": \"...\"}. Nothing else goes to standard output.")
    boolean json;

    @Option(names = "--save-logits", paramLabel = "FILE.npy|DIR",
            description = "Write the merged logits [classes, H, W] (before the softmax) as float32 .npy; with"
                    + " several images or a folder, a folder (created if missing) of NAME.logits.npy, one per image.")
    Path saveLogits;




    /** Whether the text output has said which model runs (once, before the first image's lines). */
    private boolean modelPrinted;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        int n = runOptions.check(cl);
        ReductionMethod settings = reduce.method(cl);
        if (expedite != null) {
            if (settings != null) {
                throw new CommandLine.ParameterException(cl, "give --reduce or --expedite, not both");
            }
            try {
                settings = ExpeditSettings.parse(expedite);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--expedite: " + e.getMessage());
            }
        }
        dev.hourglass.convert.ConvertOptions convertOptions = conversion.toOptions();
        // Inputs, outputs and the palette are checked before the model loads: a typo in a path should not cost a load.
        ImageInputs inputs = input.images != null ? ImageInputs.images(input.images, runOptions.maxPixels)
                : ImageInputs.tensor(input.tensor);
        inputs.checkOutputFolder(cl, "--out", out, "NAME.classes.png, NAME.json, ... for each image");
        if (saveLogits != null) {
            inputs.checkOutputFileOrFolder(cl, "--save-logits", saveLogits, "one NAME.logits.npy per image", ".npy");
        }
        List<Integer> paletteColours = palette == null ? null : readPalette(palette);
        long t0 = System.nanoTime();
        // No model when no image is left to segment: every one was refused from its header.
        try (SemanticSegmenter segmenter = inputs.anyUsable()
                ? SemanticSegmenter.load(model, new ModelOptions(n, backend.name, convertOptions)) : null) {
            double loadMs = ClassifyCommand.millisSince(t0);
            int[] colours = null;
            ImageInputs runnable = inputs;
            if (segmenter != null) {
                conversion.reportGuesses(model, convertOptions);
                BackendOption.report(cl.getErr(), segmenter.backendSummary());
                colours = palette == null
                        ? SegmentationPictures.distinctPalette(segmenter.classNames().size())
                        : enoughColours(palette, paletteColours, segmenter.classNames().size());
                checkReduction(cl, segmenter, settings);
                // An image too large to merge is refused from its header now, not after it was decoded in its turn.
                runnable = inputs.refusingSizes(segmenter::sizeProblem);
            }
            int[] classColours = colours;
            ReductionMethod reduction = settings;
            InputLoop.Summary summary = new InputLoop(cl, runnable, json).run(
                    item -> segment(segmenter, reduction, classColours, loadMs, inputs.many(), item));
            if (!json && inputs.many() && segmenter != null) {
                cl.getOut().println(summary.totalLine(loadMs));
                cl.getOut().flush();
            }
            summary.throwIfFailed();
            return 0;
        }
    }

    /**
     * Refuses, before any image runs, reduction settings that cannot apply to the model's windows (exit code 2): the
     * check the segmenter makes on every call, made once here, so that a refusal during the run is the image's (too
     * large to merge, say) and leaves the other images to run.
     */
    private void checkReduction(CommandLine cl, SemanticSegmenter segmenter, ReductionMethod settings) {
        try {
            segmenter.checkReduction(settings);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, (expedite != null ? "--expedite: " : "--reduce: ")
                    + e.getMessage());
        }
    }

    /** Segments one input and writes its pictures, report and logits; returns what to print. */
    private InputLoop.Output segment(SemanticSegmenter segmenter, ReductionMethod settings, int[] colours,
                                     double loadMs, boolean many, ImageInputs.Input item) throws IOException {
        long t1 = System.nanoTime();
        RgbImage image = null;
        Tensor tensor;
        if (!item.tensor()) {
            image = RgbImage.read(item.file(), runOptions.maxPixels);
            tensor = segmenter.normalize(image);
        } else {
            tensor = InputLoop.oneImage(ClassifyCommand.readTensor(item.file()), item.file());
        }
        double preprocessMs = ClassifyCommand.millisSince(t1);

        double[] forwardMs = new double[runOptions.repeat];
        Segmentation result = null;
        boolean clusterPicture = settings instanceof ExpeditSettings;
        for (int i = 0; i < runOptions.repeat; i++) {
            long s = System.nanoTime();
            result = image != null
                    ? segmenter.segment(image, settings, clusterPicture)
                    : segmenter.segment(tensor, settings);
            forwardMs[i] = ClassifyCommand.millisSince(s);
        }
        if (saveLogits != null) {
            Tensor logits = segmenter.logits(tensor, settings);
            Path file = many ? FileErrors.createOutputFolder("--save-logits", saveLogits)
                    .resolve(item.stem() + ".logits.npy") : saveLogits;
            FileErrors.writing(file, () -> Npy.write(file, logits.toFloatArray(), logits.shape().dims()));
        }
        ClassifyCommand.Timing timing = new ClassifyCommand.Timing(loadMs, preprocessMs, forwardMs);
        String stem = item.stem();
        FileErrors.createOutputFolder("--out", out);
        List<String> written = new ArrayList<>();
        InputLoop.writePng(out, stem + ".classes.png", SegmentationPictures.classIndices(result), written);
        InputLoop.writePng(out, stem + ".colour.png", SegmentationPictures.colours(result, colours), written);
        if (image != null) {
            InputLoop.writePng(out, stem + ".overlay.png", SegmentationPictures.overlay(image, result, colours),
                    written);
            if (result.clusters() != null) {
                InputLoop.writePng(out, stem + ".clusters.png", SegmentationPictures.clusterOutlines(image, result),
                        written);
            }
        }
        Path reportFile = out.resolve(stem + ".json");
        written.add(reportFile.toString());
        Map<String, Object> report = report(segmenter, settings, item, result, timing, written);
        String reportText = JSON.writeValueAsString(report) + "\n";
        FileErrors.writing(reportFile, () -> AtomicFiles.writeString(reportFile, reportText));
        if (json) {
            String line = InputLoop.JSON_LINES.writeValueAsString(report);
            return o -> o.println(line);
        }
        Segmentation segmented = result;
        return o -> printText(o, segmenter, settings, item.file(), segmented, timing, written, many);
    }

    /** The colours of a {@code --palette} file, in order; a line that is not {@code R G B} in 0..255 is refused. */
    static List<Integer> readPalette(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        FileErrors.reading("--palette", file, () -> lines.addAll(Files.readAllLines(file, StandardCharsets.UTF_8)));
        List<Integer> colours = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("[\\s,]+");
            if (parts.length != 3) {
                throw new IOException(file + ": line " + (i + 1) + ": expected 'R G B', got '" + line + "'");
            }
            int rgb = 0;
            for (String part : parts) {
                int v;
                try {
                    v = Integer.parseInt(part);
                } catch (NumberFormatException e) {
                    v = -1;
                }
                if (v < 0 || v > 255) {
                    throw new IOException(file + ": line " + (i + 1) + ": '" + part + "' is not a value in 0..255");
                }
                rgb = (rgb << 8) | v;
            }
            colours.add(rgb);
        }
        return colours;
    }

    private static int[] enoughColours(Path file, List<Integer> colours, int classes) throws IOException {
        if (colours.size() < classes) {
            throw new IOException(file + ": " + colours.size() + " colours for a model of " + classes + " classes");
        }
        return colours.stream().mapToInt(Integer::intValue).toArray();
    }

    private Map<String, Object> report(SemanticSegmenter segmenter, ReductionMethod settings, ImageInputs.Input item,
                                       Segmentation result, ClassifyCommand.Timing timing, List<String> written) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", Map.of("path", model.toString(), "description", segmenter.describe()));
        r.put("backend", segmenter.backendDescription());
        Map<String, Object> in = new LinkedHashMap<>();
        in.put(item.kind(), item.file().toString());
        in.put("width", result.width());
        in.put("height", result.height());
        r.put("input", in);
        r.put("window", Map.of("size", segmenter.windowSize(), "stride", segmenter.windowStride(), "count",
                result.windows()));
        r.put("expedite", settings instanceof ExpeditSettings e ? e.toString() : null);
        Map<String, Object> reduction = new LinkedHashMap<>();
        reduction.put("method", settings == null ? "none" : settings.name());
        reduction.put("spec", settings == null ? null : settings.spec());
        reduction.put("settings", settings == null ? Map.of() : settings.settings());
        reduction.put("tokens_after_block", result.tokensAfterBlock());
        r.put("reduction", reduction);
        List<Object> classes = new ArrayList<>();
        double[] fractions = result.classFractions();
        Integer[] order = new Integer[fractions.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(fractions[b], fractions[a]));
        for (int c : order) {
            if (fractions[c] > 0) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("index", c);
                m.put("name", result.classNames().get(c));
                m.put("fraction", Math.round(fractions[c] * 1e6) / 1e6);
                classes.add(m);
            }
        }
        r.put("classes", classes);
        r.put("timing_ms", timing.toMap());
        r.put("outputs", written);
        return r;
    }

    /**
     * One input's lines; the model's line before the first. With many images the load time is said once, after the
     * last ({@link InputLoop.Summary#totalLine}), and each image's line says its own times.
     */
    private void printText(PrintWriter o, SemanticSegmenter segmenter, ReductionMethod settings, Path source,
                           Segmentation result, ClassifyCommand.Timing timing, List<String> written, boolean many) {
        if (!modelPrinted) {
            o.println("model    " + segmenter.describe());
            modelPrinted = true;
        }
        o.println("input    " + source + " (" + result.width() + "x"
                + result.height() + "), " + result.windows() + " window(s) of " + segmenter.windowSize());
        o.println("reduce   " + (settings == null ? "off" : settings.spec() + ": tokens after each block "
                + java.util.Arrays.toString(result.tokensAfterBlock())));
        double[] fractions = result.classFractions();
        for (int c = 0; c < fractions.length; c++) {
            if (fractions[c] >= 0.005) {
                o.printf("  %6.2f%%  %s (%d)%n", 100 * fractions[c], result.classNames().get(c), c);
            }
        }
        if (many) {
            o.printf("time     preprocess %.1f ms, segment %.1f ms (median of %d)%n", timing.preprocessMs(),
                    timing.median(), timing.forwardMs().length);
        } else {
            o.printf("time     load %.0f ms, preprocess %.1f ms, segment %.1f ms (median of %d)%n", timing.loadMs(),
                    timing.preprocessMs(), timing.median(), timing.forwardMs().length);
        }
        o.println("wrote    " + String.join(", ", written));
    }
}
