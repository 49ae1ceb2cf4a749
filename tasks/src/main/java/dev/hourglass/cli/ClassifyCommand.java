package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.cfvit.CfVit;
import dev.hourglass.reduce.cfvit.CfVitThreshold;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.CfVitPictures;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hourglass classify}: the top classes of images, the model loaded once for all of them. */
@Command(name = "classify",
        mixinStandardHelpOptions = true,
        description = {"Classifies images with a ViT or DeiT, preprocessing them exactly as timm does at eval time"
                + " (resize, center crop, mean/std, from the model's configuration), optionally with a token"
                + " reduction (--reduce), which reports the tokens left after every block and the GFLOPs.",
                "Several --image files or a folder run in one process: the model loads and warms up once, a progress"
                + " bar shows on a terminal, and an image that fails is named on standard error while the others"
                + " go on (exit code 1 at the end if any failed), e.g.",
                "  hourglass classify --model M --image photos/ --json > predictions.jsonl"})
final class ClassifyCommand implements Callable<Integer> {
    private static final String PICTURE_NEEDS = "--out writes CF-ViT's informative regions: it needs a CF-ViT"
            + " checkpoint and --image";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = {"An Hourglass model file (hourglass convert), a timm hub folder (model.safetensors and",
                    "config.json with pretrained_cfg), a Hugging Face ViT/DeiT folder, or a DeiT .pth."})
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
                description = "Images to classify (PNG, JPEG, BMP, GIF, ...): repeat the option or give several"
                        + " files (--image a.png b.jpg); " + ImageInputs.FOLDER_HELP)
        List<Path> images;

        @Option(names = "--input-tensor", paramLabel = "FILE.npy",
                description = "An already preprocessed float32 NCHW (or CHW) tensor instead of an image.")
        Path tensor;
    }

    @Option(names = "--top-k", defaultValue = "5", paramLabel = "K", description = "Classes to show (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--out", paramLabel = "DIR",
            description = "For a CF-ViT checkpoint and --image: write NAME.cfvit.png there for each image, the image"
                    + " with the coarse cells the model re-split into fine tokens outlined (what it found"
                    + " informative).")
    Path pictureDir;

    @Option(names = "--json", description = "Print JSON instead of text: one object per image, one line each (JSON"
            + " Lines): the input, the top-k predictions with their probabilities, timings; an image that fails gets"
            + " {\"input\": {...}, \"error\": \"...\"}. Nothing else goes to standard output.")
    boolean json;

    @Option(names = "--save-logits", paramLabel = "FILE.npy|DIR", description = "Write the logits [batch, classes]"
            + " as float32 .npy; with several images or a folder, a folder (created if missing) of NAME.logits.npy,"
            + " one per image.")
    Path saveLogits;




    /** Whether a forward pass has run: a refusal after that is the image's, not {@code --reduce}'s. */
    private boolean forwarded;

    /** Whether the text output has said which model runs (once, before the first image's lines). */
    private boolean modelPrinted;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        if (topK < 1) {
            throw new CommandLine.ParameterException(cl, "--top-k must be at least 1, got " + topK);
        }
        int threads = runOptions.check(cl);
        ReductionMethod reduction = reduce.method(cl);
        ModelOptions options = new ModelOptions(threads).withBackend(backend.name);
        ConvertOptions convertOptions = conversion.toOptions();
        // Inputs and outputs are checked before the model loads: a typo in a path should not cost a model load.
        ImageInputs inputs = input.images != null ? ImageInputs.images(input.images, runOptions.maxPixels)
                : ImageInputs.tensor(input.tensor);
        checkOutputs(cl, inputs);
        long t0 = System.nanoTime();
        // No model when no image is left to classify: every one was refused from its header.
        try (ImageClassifier classifier = inputs.anyUsable() ? ImageClassifier.load(model, options.withConversion(convertOptions))
                : null) {
            double loadMs = millisSince(t0);
            if (classifier != null) {
                conversion.reportGuesses(model, convertOptions);
                BackendOption.report(cl.getErr(), classifier.backendSummary());
            }
            InputLoop.Summary summary = new InputLoop(cl, inputs, json).run(
                    item -> classify(classifier, reduction, loadMs, inputs.many(), item));
            if (!json && inputs.many() && classifier != null) {
                cl.getOut().println(summary.totalLine(loadMs));
                cl.getOut().flush();
            }
            summary.throwIfFailed();
            return 0;
        }
    }

    /**
     * Where the outputs go, checked before the model loads. With many images {@code --save-logits} and {@code --out}
     * name folders, one file per image named after it ({@code NAME.logits.npy}, {@code NAME.cfvit.png}).
     */
    private void checkOutputs(CommandLine cl, ImageInputs inputs) throws IOException {
        if (pictureDir != null && input.tensor != null) {
            throw new CommandLine.ParameterException(cl, PICTURE_NEEDS);
        }
        if (saveLogits != null) {
            inputs.checkOutputFileOrFolder(cl, "--save-logits", saveLogits, "one NAME.logits.npy per image", ".npy");
        }
        if (pictureDir != null) {
            inputs.checkOutputFolder(cl, "--out", pictureDir, "one NAME.cfvit.png per image");
        }
    }

    /** Classifies one input: reads and preprocesses it, runs the forward pass, writes its files; returns its report. */
    private InputLoop.Output classify(ImageClassifier classifier, ReductionMethod reduction, double loadMs,
                                      boolean many, ImageInputs.Input item) throws IOException {
        long t1 = System.nanoTime();
        Tensor batch;
        RgbImage image = null;
        Map<String, Object> inputInfo = new LinkedHashMap<>();
        if (!item.tensor()) {
            image = RgbImage.read(item.file(), runOptions.maxPixels);
            batch = classifier.preprocess(image);
            inputInfo.put("image", item.file().toString());
            inputInfo.put("width", image.width());
            inputInfo.put("height", image.height());
        } else {
            batch = asBatch(readTensor(item.file()), item.file());
            inputInfo.put("tensor", item.file().toString());
        }
        inputInfo.put("shape", batch.shape().dims());
        double preprocessMs = millisSince(t1);

        double[] forwardMs = new double[runOptions.repeat];
        ImageClassifier.Reduced run = null;
        for (int i = 0; i < runOptions.repeat; i++) {
            long s = System.nanoTime();
            try {
                run = classifier.logits(batch, reduction);
            } catch (IllegalArgumentException e) {
                // Every image reaches the model at its input size: the first forward pass refusing is the setting.
                if (reduction == null || forwarded) {
                    throw e;
                }
                throw new CommandLine.ParameterException(spec.commandLine(), "--reduce: " + e.getMessage());
            }
            forwarded = true;
            forwardMs[i] = millisSince(s);
        }
        Tensor logits = run.logits();
        List<List<Prediction>> results = classifier.topK(logits, topK);
        if (saveLogits != null) {
            Path file = many ? FileErrors.createOutputFolder("--save-logits", saveLogits)
                    .resolve(item.stem() + ".logits.npy") : saveLogits;
            FileErrors.writing(file, () -> Npy.write(file, logits.toFloatArray(), logits.shape().dims()));
        }
        Timing timing = new Timing(loadMs, preprocessMs, forwardMs);
        if (pictureDir != null) {
            writePicture(classifier, run, image, item, inputInfo);
        }
        Map<String, Object> reductionReport = reductionReport(classifier, reduction, run);
        if (json) {
            String line = InputLoop.JSON_LINES.writeValueAsString(report(classifier, inputInfo, results, timing,
                    reductionReport));
            return out -> out.println(line);
        }
        return out -> printText(out, classifier, item.file(), batch, results, timing, reductionReport, many);
    }

    /** CF-ViT's informative regions over the image it saw; refused for other models or a tensor input. */
    private void writePicture(ImageClassifier classifier, ImageClassifier.Reduced run, RgbImage image,
                              ImageInputs.Input item, Map<String, Object> inputInfo) throws IOException {
        if (run.coarseToFine() == null || image == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), PICTURE_NEEDS);
        }
        RgbImage seen = classifier.preprocessing().resizeAndCrop(image);
        Path file = pictureDir.resolve(item.stem() + ".cfvit.png");
        FileErrors.createOutputFolder("--out", pictureDir);
        java.awt.image.BufferedImage picture = CfVitPictures.informativeRegions(seen,
                run.coarseToFine().important()[0], classifier.coarseToFine().settings().coarseGrid());
        FileErrors.writing(file, () -> SegmentationPictures.writePng(picture, file));
        inputInfo.put("picture", file.toString());
    }

    /** An {@code --input-tensor} file, a missing one said in words. */
    static Tensor readTensor(Path file) throws IOException {
        Tensor[] t = new Tensor[1];
        FileErrors.reading("--input-tensor", file, () -> t[0] = Npy.read(file));
        return t[0];
    }

    private static Tensor asBatch(Tensor t, Path file) throws IOException {
        Shape s = t.shape();
        if (s.rank() == 3) {
            return t.reshape(1, s.dim(0), s.dim(1), s.dim(2));
        }
        if (s.rank() != 4) {
            throw new IOException(file + ": expected a float32 tensor [batch, 3, height, width] or [3, height, width],"
                    + " got shape " + s);
        }
        return t;
    }

    /** The reduction's part of a report: method, settings, tokens leaving each block, GFLOPs against the plain model. */
    static Map<String, Object> reductionReport(ReductionMethod reduction, int[] tokensAfterBlock, double gflops,
                                               double plainGflops) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", reduction == null ? "none" : reduction.name());
        m.put("spec", reduction == null ? null : reduction.spec());
        m.put("settings", reduction == null ? Map.of() : reduction.settings());
        m.put("tokens_after_block", tokensAfterBlock);
        m.put("gflops", Math.round(gflops * 1000) / 1000.0);
        m.put("gflops_unreduced", Math.round(plainGflops * 1000) / 1000.0);
        return m;
    }

    private static Map<String, Object> reductionReport(ImageClassifier classifier, ReductionMethod reduction,
                                                       ImageClassifier.Reduced run) {
        CfVit.Result cf = run.coarseToFine();
        if (cf == null) {
            return reductionReport(reduction, run.tokensAfterBlock(), run.gflops(), run.unreducedGflops());
        }
        ReductionMethod method = reduction != null ? reduction : new CfVitThreshold(CfVitThreshold.DEFAULT);
        Map<String, Object> m = reductionReport(method, run.tokensAfterBlock(), run.gflops(), run.unreducedGflops());
        List<Object> images = new ArrayList<>();
        int exited = 0;
        for (int b = 0; b < cf.fine().length; b++) {
            Map<String, Object> image = new LinkedHashMap<>();
            image.put("stage", cf.fine()[b] ? "fine" : "coarse");
            image.put("coarse_max_probability", cf.maxProbability()[b]);
            image.put("gflops", Math.round(cf.gflops()[b] * 1000) / 1000.0);
            image.put("important_tokens", cf.important()[b]);
            images.add(image);
            exited += cf.fine()[b] ? 0 : 1;
        }
        m.put("early_exit_share", exited / (double) cf.fine().length);
        m.put("images", images);
        return m;
    }

    /**
     * One input's lines; the model's line before the first. With many images the load time is said once, after the
     * last ({@link InputLoop.Summary#totalLine}), and each image's line says its own times.
     */
    private void printText(PrintWriter out, ImageClassifier classifier, Path source, Tensor batch,
                           List<List<Prediction>> results, Timing timing, Map<String, Object> reduction, boolean many) {
        if (!modelPrinted) {
            out.println("model    " + classifier.describe());
            modelPrinted = true;
        }
        out.println("input    " + source + " -> " + batch.shape());
        if (reduction.get("images") != null) {
            StringBuilder stages = new StringBuilder();
            for (Object o : (List<?>) reduction.get("images")) {
                Map<?, ?> image = (Map<?, ?>) o;
                stages.append(stages.isEmpty() ? "" : ", ").append(image.get("stage")).append(String.format(
                        java.util.Locale.ROOT, " (p=%.3f)", (Float) image.get("coarse_max_probability")));
            }
            out.println("cf-vit   " + reduction.get("spec") + ": " + stages + "; " + reduction.get("gflops")
                    + " GFLOPs per image on average (the plain ViT on the fine grid: " + reduction.get("gflops_unreduced")
                    + ")");
        } else if (!"none".equals(reduction.get("method"))) {
            out.println("reduce   " + reduction.get("spec") + ": tokens after each block "
                    + java.util.Arrays.toString((int[]) reduction.get("tokens_after_block")) + ", "
                    + reduction.get("gflops") + " GFLOPs (unreduced " + reduction.get("gflops_unreduced") + ")");
        }
        for (int b = 0; b < results.size(); b++) {
            if (results.size() > 1) {
                out.println("image " + b);
            }
            int rank = 1;
            for (Prediction p : results.get(b)) {
                out.printf("  %2d  %7.4f  %s (%d)%n", rank++, p.score(), p.label(), p.index());
            }
        }
        if (many) {
            out.printf("time     preprocess %.1f ms, forward %.1f ms (median of %d)%n", timing.preprocessMs,
                    timing.median(), timing.forwardMs.length);
        } else {
            out.printf("time     load %.0f ms, preprocess %.1f ms, forward %.1f ms (median of %d)%n", timing.loadMs,
                    timing.preprocessMs, timing.median(), timing.forwardMs.length);
        }
    }

    private Map<String, Object> report(ImageClassifier classifier, Map<String, Object> inputInfo,
                                       List<List<Prediction>> results, Timing timing, Map<String, Object> reduction) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", Map.of("path", model.toString(), "description", classifier.describe()));
        r.put("backend", classifier.backendDescription());
        r.put("input", inputInfo);
        List<Object> images = new ArrayList<>();
        for (List<Prediction> preds : results) {
            List<Object> list = new ArrayList<>();
            int rank = 1;
            for (Prediction p : preds) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("rank", rank++);
                m.put("index", p.index());
                m.put("label", p.label());
                m.put("score", p.score());
                m.put("logit", p.logit());
                list.add(m);
            }
            images.add(Map.of("predictions", list));
        }
        r.put("results", images);
        r.put("reduction", reduction);
        r.put("timing_ms", timing.toMap());
        return r;
    }

    static double millisSince(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    /** Wall-clock times of one run. */
    record Timing(double loadMs, double preprocessMs, double[] forwardMs) {
        double median() {
            double[] s = forwardMs.clone();
            java.util.Arrays.sort(s);
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("load", round(loadMs));
            m.put("preprocess", round(preprocessMs));
            m.put("forward_median", round(median()));
            m.put("forward_min", round(java.util.Arrays.stream(forwardMs).min().orElse(0)));
            m.put("forward_max", round(java.util.Arrays.stream(forwardMs).max().orElse(0)));
            m.put("repeat", forwardMs.length);
            return m;
        }

        private static double round(double v) {
            return Math.round(v * 100) / 100.0;
        }
    }
}
