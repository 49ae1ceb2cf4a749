package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.reduce.slim.SlimSearch;
import dev.hourglass.reduce.slim.TokenMasks;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hourglass slim-search}: Patch Slimming's token masks for a classifier, found without fine-tuning. */
@Command(name = "slim-search",
        mixinStandardHelpOptions = true,
        description = "Finds Patch Slimming token masks for a ViT/DeiT classifier, training-free (the published"
                + " search fine-tunes; this one only chooses tokens): top-down from the last block, which keeps the"
                + " class token(s), each block keeps the next block's tokens plus the best others by the significance"
                + " score, R0 at a time, until the next block's output on its tokens is within the tolerance of the"
                + " unpruned model's (relative Frobenius error over the calibration images). Run the result with"
                + " classify --reduce slim:masks=FILE.")
final class SlimSearchCommand implements Callable<Integer> {
    private static final List<String> IMAGE_EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The classifier (as for classify).")
    Path model;

    @CommandLine.Mixin
    ConversionOptions conversion;

    @CommandLine.Mixin
    BackendOption backend;

    @Option(names = "--images", required = true, paramLabel = "DIR",
            description = "Calibration images (PNG, JPEG, BMP, GIF), preprocessed as the model's configuration says.")
    Path images;

    @Option(names = "--tolerance", paramLabel = "EPS",
            description = "Largest relative error a block's pruning may cause in the next block's output (default: 0.02).")
    Double tolerance;

    @Option(names = "--step", paramLabel = "R0", description = "Tokens added per try (default: 4).")
    Integer step;

    @Option(names = "--limit", defaultValue = "64", paramLabel = "N",
            description = "Calibration images at most; more are sampled with --seed (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
            description = "Seed of the sample when the folder holds more than --limit images (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B",
            description = "Images per forward pass (memory; default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--out", required = true, paramLabel = "FILE.json", description = "The mask file to write.")
    Path out;

    @Option(names = "--force", description = "Replace --out if it exists.")
    boolean force;

    @Option(names = "--threads", paramLabel = "N", description = Threads.HELP)
    Integer threads;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        SlimSearch.Settings settings;
        try {
            settings = new SlimSearch.Settings(tolerance == null ? SlimSearch.Settings.DEFAULT.tolerance() : tolerance,
                    step == null ? SlimSearch.Settings.DEFAULT.step() : step);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (limit < 1 || batch < 1) {
            throw new CommandLine.ParameterException(cl, "--limit and --batch must be at least 1");
        }
        int n = Threads.resolve(cl, threads);
        if (Files.exists(out) && !force) {
            throw new CommandLine.ParameterException(cl, "--out " + out + " exists; --force replaces it");
        }
        FileErrors.checkOutputFile(cl, "--out", out, true);
        dev.hourglass.convert.ConvertOptions convertOptions = conversion.toOptions();
        List<Path> files = calibrationFiles();
        PrintWriter err = cl.getErr();
        ModelOptions options = new ModelOptions(n).withBackend(backend.name);
        try (ImageClassifier classifier = ImageClassifier.load(model, options.withConversion(convertOptions))) {
            conversion.reportGuesses(model, convertOptions);
            BackendOption.report(err, classifier.backendSummary());
            if (classifier.coarseToFine() != null) {
                throw new CommandLine.ParameterException(cl, model + " is a CF-ViT checkpoint, which prunes its own"
                        + " tokens coarse to fine; slim-search needs a ViT or DeiT classifier");
            }
            List<Tensor> batches = batches(classifier, files);
            err.printf(Locale.ROOT, "slim-search: %d calibration images from %s, tolerance %s, step %d%n",
                    files.size(), images, settings.tolerance(), settings.step());
            err.flush();
            SlimSearch.Result r = SlimSearch.search(classifier.encoder(), batches, settings, progress(err));
            TokenMasks found = withProvenance(r, settings, files.size());
            FileErrors.createOutputFolder("--out", out.toAbsolutePath().getParent());
            FileErrors.writing(out, () -> found.write(out));
            PrintWriter o = cl.getOut();
            o.printf(Locale.ROOT, "%s: tokens kept per block %s; %.3f of %.3f GFLOPs (%.0f%% fewer), training-free%n",
                    out, java.util.Arrays.toString(found.counts()), r.gflops(), r.unprunedGflops(),
                    100 * (1 - r.gflops() / r.unprunedGflops()));
            o.flush();
            return 0;
        }
    }

    /** The folder's images, sorted by name; more than --limit: a seeded sample of them, sorted again. */
    private List<Path> calibrationFiles() throws IOException {
        if (!Files.isDirectory(images)) {
            throw new IOException(images + ": not a folder of images");
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(images)) {
            s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return IMAGE_EXTENSIONS.stream().anyMatch(n::endsWith);
            }).sorted().forEach(files::add);
        }
        if (files.isEmpty()) {
            throw new IOException(images + ": no images (" + String.join(", ", IMAGE_EXTENSIONS) + ")");
        }
        if (files.size() > limit) {
            Collections.shuffle(files, new Random(seed));
            files = new ArrayList<>(files.subList(0, limit));
            Collections.sort(files);
        }
        return files;
    }

    private List<Tensor> batches(ImageClassifier classifier, List<Path> files) throws IOException {
        List<Tensor> out = new ArrayList<>();
        int h = classifier.preprocessing().height();
        int w = classifier.preprocessing().width();
        int plane = 3 * h * w;
        for (int i = 0; i < files.size(); i += batch) {
            int n = Math.min(batch, files.size() - i);
            float[] x = new float[n * plane];
            for (int j = 0; j < n; j++) {
                Tensor one = classifier.preprocess(RgbImage.read(files.get(i + j)));
                one.copyToFloats(0, x, j * plane, plane);
            }
            out.add(Tensor.ofFloats(x, n, 3, h, w));
        }
        return out;
    }

    private TokenMasks withProvenance(SlimSearch.Result r, SlimSearch.Settings settings, int count) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        java.util.Map<String, JsonNode> extras = new java.util.LinkedHashMap<>();
        extras.put("model", f.textNode(model.toString()));
        extras.put("training_free", f.booleanNode(true));
        extras.put("calibration_images", f.numberNode(count));
        extras.put("calibration_folder", f.textNode(images.toString()));
        extras.put("seed", f.numberNode(seed));
        extras.put("tolerance", f.numberNode(settings.tolerance()));
        extras.put("step", f.numberNode(settings.step()));
        extras.put("expected_gflops", f.numberNode(round(r.gflops())));
        extras.put("unpruned_gflops", f.numberNode(round(r.unprunedGflops())));
        var errors = f.arrayNode();
        for (double e : r.errors()) {
            errors.add(round(e));
        }
        extras.put("block_errors", errors);
        ObjectNode note = f.objectNode();
        note.put("search", "hourglass slim-search: Patch Slimming's top-down search without its block and final"
                + " fine-tuning; error = relative Frobenius error of the next block's output on its kept tokens");
        extras.put("about", note);
        return r.masks().withExtras(extras);
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }

    /** One line per block decided; on a terminal, the images of each pass counted in place. */
    private static SlimSearch.Progress progress(PrintWriter err) {
        boolean terminal = System.console() != null;
        return new SlimSearch.Progress() {
            @Override
            public void images(String what, int done, int total) {
                if (terminal) {
                    err.printf(Locale.ROOT, "\r  %s: %d/%d images   ", what, done, total);
                    err.flush();
                }
            }

            @Override
            public void block(int block, int kept, double error) {
                err.printf(Locale.ROOT, "%sblock %2d keeps %4d tokens (error %.4f)%n", terminal ? "\r" : "", block,
                        kept, error);
                err.flush();
            }
        };
    }
}
