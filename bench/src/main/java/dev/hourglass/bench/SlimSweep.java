package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import dev.hourglass.reduce.slim.SlimMasks;
import dev.hourglass.reduce.slim.SlimSearch;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;

/**
 * Patch Slimming's training-free mask search on the demo classifier: for each tolerance, masks searched on the first
 * {@code --calibration} held-out images, then top-1 accuracy, agreement with the unpruned model and GFLOPs on the
 * other held-out images (never the calibration ones). Prints a markdown table.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.hourglass.bench.SlimSweep [--data bench-out/shapes-vit-val]
 *     [--calibration 64] [--count 1000] [--tolerances 0.005,0.01,0.02,0.05,0.1,0.2] [--step 4]
 * </pre>
 */
public final class SlimSweep {
    private static final String DEMO_MODEL = "dev/hourglass/demo/shapes-vit";

    private SlimSweep() {
    }

    public static void main(String[] args) throws IOException {
        Args a = Args.parse(args, Set.of(), Set.of("data", "calibration", "count", "tolerances", "step"));
        Path data = Path.of(a.get("data", "bench-out/shapes-vit-val"));
        int calibration = a.integer("calibration", 64);
        int count = a.integer("count", 1000);
        int step = a.integer("step", 4);
        List<String> lines = Files.readAllLines(data.resolve("labels.tsv"));
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (String line : lines.subList(1, Math.min(lines.size(), count + 1))) {
            String[] f = line.split("\t");
            files.add(data.resolve(f[0]));
            labels.add(Integer.parseInt(f[1]));
        }
        try (ImageClassifier c = ImageClassifier.loadResource(DEMO_MODEL, new ModelOptions(1, "cpu"))) {
            List<Tensor> inputs = new ArrayList<>();
            for (Path f : files) {
                inputs.add(c.preprocess(RgbImage.read(f)));
            }
            List<Tensor> calib = List.of(concat(inputs.subList(0, calibration)));
            List<Tensor> test = inputs.subList(calibration, inputs.size());
            List<Integer> testLabels = labels.subList(calibration, labels.size());
            int[] plain = new int[test.size()];
            int plainCorrect = 0;
            for (int i = 0; i < test.size(); i++) {
                plain[i] = TokenReductionBench.argmax(c.logits(test.get(i)).toFloatArray());
                plainCorrect += plain[i] == testLabels.get(i) ? 1 : 0;
            }
            System.out.printf(Locale.ROOT, "Demo classifier (%s), %d calibration images, %d test images, step %d%n%n",
                    c.describe(), calibration, test.size(), step);
            System.out.println("| tolerance | tokens kept per block | GFLOPs | vs unpruned | top-1 | agreement |");
            System.out.println("| --- | --- | --- | --- | --- | --- |");
            double unpruned = Double.NaN;
            for (String t : a.list("tolerances", "0.005,0.01,0.02,0.05,0.1,0.2")) {
                SlimSearch.Result r = SlimSearch.search(c.encoder(), calib,
                        new SlimSearch.Settings(Double.parseDouble(t), step), null);
                unpruned = r.unprunedGflops();
                SlimMasks masks = new SlimMasks(r.masks(), null);
                int correct = 0;
                int agree = 0;
                for (int i = 0; i < test.size(); i++) {
                    int top = TokenReductionBench.argmax(c.logits(test.get(i), masks).logits().toFloatArray());
                    correct += top == testLabels.get(i) ? 1 : 0;
                    agree += top == plain[i] ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "| %s | %s | %.4f | %.0f%% | %.1f%% | %.1f%% |%n", t,
                        Arrays.toString(r.masks().counts()), r.gflops(), 100 * r.gflops() / r.unprunedGflops(),
                        100.0 * correct / test.size(), 100.0 * agree / test.size());
            }
            System.out.printf(Locale.ROOT, "| unpruned | all 65 | %.4f | 100%% | %.1f%% | 100%% |%n", unpruned,
                    100.0 * plainCorrect / test.size());
        }
    }

    private static Tensor concat(List<Tensor> images) {
        long plane = images.get(0).elementCount();
        float[] x = new float[Math.toIntExact(plane * images.size())];
        for (int i = 0; i < images.size(); i++) {
            images.get(i).copyToFloats(0, x, (int) (i * plane), (int) plane);
        }
        long[] dims = images.get(0).shape().dims().clone();
        dims[0] = images.size();
        return Tensor.ofFloats(x, dims);
    }
}
