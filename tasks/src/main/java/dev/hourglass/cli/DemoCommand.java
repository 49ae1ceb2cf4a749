package dev.hourglass.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hourglass demo}: classifies the images shipped in the jar with the small ViT shipped in the jar (trained by
 * {@code tools/train_demo_classifier.py} on procedurally drawn shapes and textures), checks every logit against the
 * PyTorch reference stored beside them, and writes a JSON report and a contact sheet; then segments the shipped
 * 512x512 scenes with the shipped Segmenter without and with Expedit ({@link SegmentationDemo}) and estimates depth
 * on the shipped photos with the shipped DPT ({@link DepthDemo}). Needs nothing downloaded.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {"Runs end to end on the models and images shipped with Hourglass (nothing to download):"
                + " classifies each image, checks the logits against PyTorch's, and writes a JSON report and a"
                + " contact sheet; runs a small CF-ViT coarse to fine on the same images (which stopped at the coarse"
                + " stage, GFLOPs saved, pictures of the re-split regions in DIR/cfvit).",
                "Then segments the shipped scenes with a small Segmenter without and with Expedit (mIoU against the"
                + " ground truth, time, agreement with PyTorch), writing to DIR/segmentation one NAME.sheet.png per"
                + " scene (the scene, its ground truth, the predictions without and with Expedit, Expedit's clusters"
                + " outlined, a legend of the classes' colours) and segmentation.json.",
                "Then estimates depth on the shipped photos with a small DPT without and with Expedit (the network"
                + " input and the depth checked against PyTorch's), writing to DIR/depth one NAME.sheet.png per photo"
                + " (the photo, its depth, its depth with Expedit) and depth.json."})
final class DemoCommand implements Callable<Integer> {
    static final String MODEL = "dev/hourglass/demo/shapes-vit";
    static final String EXPECTED = "dev/hourglass/demo/expected.json";
    static final String RESOURCES = "dev/hourglass/demo/";
    /** Same tolerance as the golden tests: float32 forward passes summed in different orders. */
    static final double LOGIT_TOLERANCE = 1e-4;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR",
            description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--threads", paramLabel = "N", description = Threads.HELP)
    Integer threads;

    @CommandLine.Mixin
    BackendOption backend;

    @Option(names = "--top-k", defaultValue = "3", paramLabel = "K", description = "Classes reported per image (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--repeat", defaultValue = "5", paramLabel = "N",
            description = "Runs per image (and per setting); the median is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    /** What the demo found for one image. */
    private record Result(String file, String truth, List<Prediction> top, double maxAbsVsPyTorch,
                          double preprocessMs, double forwardMs, BufferedImage image) {
    }

    @Override
    public Integer call() throws IOException {
        if (topK < 1 || repeat < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--top-k and --repeat must be at least 1");
        }
        ModelOptions options = new ModelOptions(Threads.resolve(spec.commandLine(), threads))
                .withBackend(backend.name);
        FileErrors.checkOutputFolder(spec.commandLine(), "--out", out,
                "classification.json, contact-sheet.png, cfvit/, segmentation/, depth/");
        PrintWriter log = spec.commandLine().getOut();
        JsonNode expected = readResourceJson(EXPECTED);

        long t0 = System.nanoTime();
        try (ImageClassifier classifier = ImageClassifier.loadResource(MODEL, options)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            BackendOption.report(spec.commandLine().getErr(), classifier.backendSummary());
            log.println("Hourglass demo: image classification, nothing downloaded");
            log.println("  model    " + classifier.describe());
            log.println("           a small ViT trained on drawn shapes by tools/train_demo_classifier.py,"
                    + " loaded from the jar in " + String.format("%.0f ms", loadMs));
            log.println();
            log.printf("  %-28s %-20s %-20s %7s  %s%n", "image", "truth", "prediction", "score", "logits vs PyTorch");

            List<Result> results = new ArrayList<>();
            for (JsonNode item : expected.get("images")) {
                Result r = classifyOne(classifier, item);
                results.add(r);
                Prediction best = r.top().get(0);
                log.printf("  %-28s %-20s %-20s %6.1f%%  max |diff| %.1e%s%n", shortName(r.file()), r.truth(),
                        best.label(), 100 * best.score(), r.maxAbsVsPyTorch(),
                        r.maxAbsVsPyTorch() <= LOGIT_TOLERANCE ? "" : "  MISMATCH");
            }

            long correct = results.stream().filter(r -> r.top().get(0).label().equals(r.truth())).count();
            double worst = results.stream().mapToDouble(Result::maxAbsVsPyTorch).max().orElse(0);
            double[] pre = results.stream().mapToDouble(Result::preprocessMs).toArray();
            double[] fwd = results.stream().mapToDouble(Result::forwardMs).toArray();
            log.println();
            log.printf("  %d of %d correct; logits agree with PyTorch's to %.1e (max abs, tolerance %.0e)%n",
                    correct, results.size(), worst, LOGIT_TOLERANCE);
            log.printf("  time: load %.0f ms, preprocess %.2f ms/image, forward %.2f ms/image (median of %d runs"
                    + " per image; the first runs include JIT warm-up)%n", loadMs, median(pre), median(fwd), repeat);

            FileErrors.createOutputFolder("--out", out);
            Path json = out.resolve("classification.json");
            Path sheet = out.resolve("contact-sheet.png");
            writeReport(json, classifier, loadMs, results, correct, worst);
            BufferedImage picture = contactSheet(results);
            FileErrors.writing(sheet, () -> SegmentationPictures.writePng(picture, sheet));
            log.println("  wrote " + json + " and " + sheet);
            log.println();
            log.flush();
            if (worst > LOGIT_TOLERANCE) {
                spec.commandLine().getErr().println("hourglass demo: error: logits differ from PyTorch's by " + worst
                        + ", more than " + LOGIT_TOLERANCE);
                return 1;
            }
        }
        if (!new CfVitDemo(log, out, options, repeat).run()) {
            spec.commandLine().getErr().println("hourglass demo: error: CF-ViT's stages or logits differ from"
                    + " PyTorch's");
            return 1;
        }
        boolean segmentationAgrees = new SegmentationDemo(log, out, options.threads(), options.backend(), repeat).run();
        if (!segmentationAgrees) {
            spec.commandLine().getErr().println("hourglass demo: error: the segmentation differs from PyTorch's by"
                    + " more pixels than its near-ties explain");
            return 1;
        }
        log.println();
        if (!new DepthDemo(log, out, options, repeat).run()) {
            spec.commandLine().getErr().println("hourglass demo: error: the depth differs from PyTorch's by more than "
                    + DepthDemo.TOLERANCE + " of its range, or the network input is not PyTorch's");
            return 1;
        }
        return 0;
    }

    private Result classifyOne(ImageClassifier classifier, JsonNode item) throws IOException {
        String file = item.get("file").asText();
        BufferedImage image;
        try (InputStream in = resource(RESOURCES + file)) {
            image = ImageIO.read(in);
        }
        if (image == null) {
            throw new IOException("demo image " + file + " could not be decoded");
        }
        long p0 = System.nanoTime();
        Tensor input = classifier.preprocess(RgbImage.from(image));
        double preprocessMs = (System.nanoTime() - p0) / 1e6;
        double[] times = new double[repeat];
        Tensor logits = null;
        for (int i = 0; i < repeat; i++) {
            long s = System.nanoTime();
            logits = classifier.logits(input);
            times[i] = (System.nanoTime() - s) / 1e6;
        }
        float[] got = logits.toFloatArray();
        JsonNode reference = item.get("logits");
        double maxAbs = reference.size() == got.length ? 0 : Double.POSITIVE_INFINITY;
        for (int i = 0; i < Math.min(got.length, reference.size()); i++) {
            maxAbs = Math.max(maxAbs, Math.abs(got[i] - reference.get(i).asDouble()));
        }
        List<Prediction> top = classifier.topK(logits, topK).get(0);
        return new Result(file, item.get("true_label").asText(), top, maxAbs, preprocessMs, median(times), image);
    }

    private void writeReport(Path file, ImageClassifier classifier, double loadMs, List<Result> results, long correct,
                             double worst) throws IOException {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("model", classifier.describe());
        report.put("backend", classifier.backendDescription());
        report.put("load_ms", round(loadMs));
        report.put("correct", correct);
        report.put("images", results.size());
        report.put("max_abs_logit_difference_vs_pytorch", worst);
        List<Object> items = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", r.file());
            m.put("truth", r.truth());
            List<Object> preds = new ArrayList<>();
            for (Prediction p : r.top()) {
                preds.add(Map.of("index", p.index(), "label", p.label(), "score", p.score(), "logit", p.logit()));
            }
            m.put("predictions", preds);
            m.put("max_abs_logit_difference_vs_pytorch", r.maxAbsVsPyTorch());
            m.put("preprocess_ms", round(r.preprocessMs()));
            m.put("forward_median_ms", round(r.forwardMs()));
            items.add(m);
        }
        report.put("results", items);
        String text = JSON.writeValueAsString(report) + "\n";
        FileErrors.writing(file, () -> AtomicFiles.writeString(file, text));
    }

    /** Every image with its prediction underneath: green when right, red when wrong. */
    private static BufferedImage contactSheet(List<Result> results) {
        int cell = 160;
        int caption = 40;
        int columns = Math.min(4, results.size());
        int rows = (results.size() + columns - 1) / columns;
        BufferedImage sheet = new BufferedImage(columns * cell, rows * (cell + caption), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            for (int i = 0; i < results.size(); i++) {
                Result r = results.get(i);
                int x = (i % columns) * cell;
                int y = (i / columns) * (cell + caption);
                g.drawImage(r.image(), x + 8, y + 8, cell - 16, cell - 16, null);
                Prediction best = r.top().get(0);
                boolean right = best.label().equals(r.truth());
                g.setColor(right ? new Color(0, 130, 0) : new Color(200, 0, 0));
                g.setStroke(new BasicStroke(3));
                g.drawRect(x + 6, y + 6, cell - 12, cell - 12);
                g.drawString(String.format("%s %.0f%%", best.label(), 100 * best.score()), x + 8, y + cell + 12);
                g.setColor(Color.DARK_GRAY);
                g.drawString("truth: " + r.truth(), x + 8, y + cell + 28);
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }

    static InputStream resource(String name) throws IOException {
        InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException("packaging bug: demo resource " + name + " is missing from the jar");
        }
        return in;
    }

    static JsonNode readResourceJson(String name) throws IOException {
        try (InputStream in = resource(name)) {
            return new ObjectMapper().readTree(in);
        }
    }

    static String shortName(String file) {
        return file.substring(file.lastIndexOf('/') + 1);
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? 0 : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
