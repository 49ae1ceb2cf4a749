package dev.hourglass.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.reduce.cfvit.CfVit;
import dev.hourglass.reduce.cfvit.CfVitThreshold;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.CfVitPictures;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tensor.Tensor;

/**
 * The CF-ViT part of {@code hourglass demo}: the shipped tiny CF-ViT (trained on the demo shapes by
 * {@code tools/train_demo_cfvit.py}) classifies the demo images coarse to fine at its threshold; for each image, which
 * stage it stopped at, the answer, and agreement with PyTorch's (stored in the model's {@code expected.json}); in
 * total, accuracy and the GFLOPs against running every image through the fine stage. Writes one picture per image of
 * the coarse cells it re-split, and {@code cfvit.json}.
 */
final class CfVitDemo {
    static final String MODEL = "dev/hourglass/demo/shapes-cfvit";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintWriter log;
    private final Path out;
    private final ModelOptions options;
    private final int repeat;

    CfVitDemo(PrintWriter log, Path out, ModelOptions options, int repeat) {
        this.log = log;
        this.out = out;
        this.options = options;
        this.repeat = repeat;
    }

    /** Runs it; returns whether every image agreed with PyTorch (stage, and logits within the tolerance). */
    boolean run() throws IOException {
        JsonNode expected = DemoCommand.readResourceJson(MODEL + "/expected.json");
        double threshold = expected.get("threshold").asDouble();
        CfVitThreshold method = new CfVitThreshold(threshold);
        Path dir = FileErrors.createOutputFolder("--out", out.resolve("cfvit"));
        try (ImageClassifier classifier = ImageClassifier.loadResource(MODEL, options)) {
            CfVit model = classifier.coarseToFine();
            log.println("Hourglass demo: CF-ViT, coarse to fine (" + method.spec() + ")");
            log.println("  model    " + classifier.describe() + ", coarse " + model.coarseSize() + "px / fine "
                    + model.fineSize() + "px, trained on the same shapes by tools/train_demo_cfvit.py");
            log.printf("  %-26s %-18s %8s %-7s %-18s %s%n", "image", "truth", "coarse p", "stage", "prediction",
                    "logits vs PyTorch");
            int correct = 0;
            int exited = 0;
            boolean agrees = true;
            double spent = 0;
            double worst = 0;
            double[] times = new double[0];
            List<Object> items = new ArrayList<>();
            for (JsonNode item : expected.get("images")) {
                String file = item.get("file").asText().replace("../", "");
                BufferedImage image;
                try (InputStream in = DemoCommand.resource(DemoCommand.RESOURCES + file)) {
                    image = ImageIO.read(in);
                }
                RgbImage rgb = RgbImage.from(image);
                Tensor input = classifier.preprocess(rgb);
                ImageClassifier.Reduced r = null;
                double[] ms = new double[repeat];
                for (int i = 0; i < repeat; i++) {
                    long t0 = System.nanoTime();
                    r = classifier.logits(input, method);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                CfVit.Result cf = r.coarseToFine();
                float[] logits = r.logits().toFloatArray();
                double diff = 0;
                for (int i = 0; i < logits.length; i++) {
                    diff = Math.max(diff, Math.abs(logits[i] - item.get("logits").get(i).asDouble()));
                }
                String stage = cf.fine()[0] ? "fine" : "coarse";
                boolean sameStage = stage.equals(item.get("stage").asText());
                agrees &= sameStage && diff <= DemoCommand.LOGIT_TOLERANCE;
                worst = Math.max(worst, diff);
                String prediction = classifier.topK(r.logits(), 1).get(0).get(0).label();
                String truth = item.get("true_label").asText();
                correct += prediction.equals(truth) ? 1 : 0;
                exited += cf.fine()[0] ? 0 : 1;
                spent += cf.gflops()[0];
                times = append(times, DemoCommand.median(ms));
                log.printf("  %-26s %-18s %8.3f %-7s %-18s max |diff| %.1e%s%n", DemoCommand.shortName(file), truth,
                        cf.maxProbability()[0], stage, prediction, diff,
                        sameStage && diff <= DemoCommand.LOGIT_TOLERANCE ? "" : "  MISMATCH");
                Path picture = dir.resolve(DemoCommand.shortName(file).replace(".png", ".cfvit.png"));
                BufferedImage regions = CfVitPictures.informativeRegions(classifier.preprocessing().resizeAndCrop(rgb),
                        cf.important()[0], model.settings().coarseGrid());
                FileErrors.writing(picture, () -> SegmentationPictures.writePng(regions, picture));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", file);
                m.put("truth", truth);
                m.put("stage", stage);
                m.put("coarse_max_probability", cf.maxProbability()[0]);
                m.put("prediction", prediction);
                m.put("gflops", cf.gflops()[0]);
                m.put("max_abs_logit_difference_vs_pytorch", diff);
                m.put("picture", picture.toString());
                items.add(m);
            }
            int n = items.size();
            double allFine = n * model.gflops(true);
            log.printf("%n  %d of %d correct; %d of %d stopped at the coarse stage; %.4f GFLOPs per image on average"
                    + " against %.4f with every image through the fine stage (%.0f%% fewer); logits agree with"
                    + " PyTorch's to %.1e; forward %.2f ms/image (median of %d runs)%n", correct, n, exited, n,
                    spent / n, allFine / n, 100 * (1 - spent / allFine), worst, DemoCommand.median(times), repeat);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", classifier.describe());
            report.put("threshold", threshold);
            report.put("correct", correct);
            report.put("early_exits", exited);
            report.put("average_gflops", spent / n);
            report.put("all_fine_gflops", allFine / n);
            report.put("max_abs_logit_difference_vs_pytorch", worst);
            report.put("images", items);
            Path json = dir.resolve("cfvit.json");
            String text = JSON.writeValueAsString(report) + "\n";
            FileErrors.writing(json, () -> AtomicFiles.writeString(json, text));
            log.println("  wrote " + json + " and one picture per image of the coarse cells re-split, in " + dir);
            log.println();
            log.flush();
            return agrees;
        }
    }

    private static double[] append(double[] a, double v) {
        double[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }
}
