package dev.hourglass.bench;

import java.awt.Color;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.kernels.Kernels;
import dev.hourglass.reduce.cfvit.CfVit;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;

/**
 * CF-ViT's threshold sweep on the shipped demo model (issue 11), in one run:
 *
 * <ol>
 *   <li><b>Accuracy</b>: the demo CF-ViT ({@code dev/hourglass/demo/shapes-cfvit}: fine 64x64, patch 8, coarse
 *       32x32, depth 4) over held-out images ({@code tools/train_demo_classifier.py --export-val DIR}), at every
 *       threshold η of {@code --thresholds} ({@link CfVit#classify}, one image per call): top-1 accuracy, share of
 *       early exits, average GFLOPs per image ({@link CfVit.Result#gflops}), relative to the plain fine model and to
 *       always-fine. Beside it the plain fine model alone (the same weights on all 64 fine tokens, no coarse stage:
 *       {@link CfVit#model()}) and, for reference, the separately trained plain demo ViT of the same shape
 *       ({@code shapes-vit}). Every threshold's answers are also derived from one all-fine pass (the coarse stage is
 *       shared; an image's fine answer does not depend on the threshold), and any image where the two disagree is
 *       listed under "Problems".</li>
 *   <li><b>Latency</b> per image at batch 1 (and any other {@code --latency-batch}) on {@code --threads}, for a few
 *       thresholds, always-fine and the plain models, timed in alternating blocks ({@link Alternating}): one call is
 *       one pass over a fixed subset of {@code --latency-images} images, so each threshold's exits are in it in the
 *       proportion the subset has, and the time per image is the call's time divided by the subset's size.</li>
 *   <li>A PNG plot (accuracy against GFLOPs, points labelled by η; latency against GFLOPs), a markdown report on
 *       stdout and in {@code --markdown}, and a JSON document in {@code --out}, with the paper's headline quoted
 *       beside the measured table and labelled as the paper's.</li>
 * </ol>
 *
 * <pre>
 * bench/run-cfvit.sh [--data bench-out/shapes-vit-val] [--count 1000] [--model DIR] [--vit-model DIR|none]
 *     [--thresholds 0,0.1,...,0.9,0.95,0.99,1,1.01] [--accuracy-threads 1] [--batch 50]
 *     [--threads 1] [--latency-thresholds 0,0.5,0.8,1.01] [--latency-batch 1,64] [--latency-images 64]
 *     [--warmup 5] [--iterations 40] [--blocks 20] [--wait-idle SECONDS] [--no-latency]
 *     [--plot docs/cfvit-threshold-sweep.png] [--markdown bench-out/cfvit-sweep.md] [--out bench-out/cfvit-sweep.json]
 * </pre>
 */
public final class CfVitSweep {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String DEMO_MODEL = "dev/hourglass/demo/shapes-cfvit";
    static final String DEMO_VIT = "dev/hourglass/demo/shapes-vit";
    /** A threshold above any probability: every image goes on to the fine stage. */
    static final double ALWAYS_FINE = 1.01;
    static final String PLAIN_FINE = "plain fine model (no coarse stage)";
    static final String SHAPES_VIT = "shapes-vit (separately trained ViT)";
    static final String DEFAULT_THRESHOLDS = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,0.99,1,1.01";

    /** The paper's headline, quoted beside the measured table (ALGORITHMS.md §3.9); nothing here is measured. */
    static final List<String> PAPER = List.of(
            "Abstract: \"without any compromise on performance, CF-ViT reduces 53% FLOPs of LV-ViT, and also achieves"
                    + " 2.01x throughput\" (ImageNet, 224x224).",
            "LV-ViT-S (7x7 coarse grid) at \u03b7 \u2248 0.63: 3.106 GFLOPs at 83.30% top-1, against LV-ViT-S's 6.6"
                    + " GFLOPs at 83.3% (-53%): the 53% is LV-ViT's.",
            "DeiT-S (7x7) at \u03b7 = 0.5: 1.877 GFLOPs at 79.84% top-1, against DeiT-S's 4.6 GFLOPs at 79.8% (-59%);"
                    + " always fine (\u03b7 = 0.99) 4.000 GFLOPs at 80.78%.",
            "Source: ChenMnZ/CF-ViT draw_picture.ipynb curves as transcribed in ALGORITHMS.md \u00a73.9; the paper's"
                    + " throughput table could not be checked.");

    private CfVitSweep() {
    }

    // ------------------------------------------------------------------ sweep bookkeeping (unit-tested)

    /**
     * What one image gave with every image sent on to the fine stage, from which any threshold's answer follows.
     *
     * @param plainTop1 the plain fine model's top-1 (no coarse stage), or -1
     */
    record Outcome(int label, int coarseTop1, int fineTop1, float maxProbability, int plainTop1) {
        /** The class CF-ViT answers at {@code threshold}. */
        int top1(double threshold) {
            return exits(maxProbability, threshold) ? coarseTop1 : fineTop1;
        }
    }

    /** CF-ViT's exit rule as {@link CfVit#classify} applies it: on unless the coarse maximum probability is below. */
    static boolean exits(float maxProbability, double threshold) {
        return !(maxProbability < threshold);
    }

    /** One threshold over a set of images. */
    record SweepPoint(double threshold, int images, int correct, int exited, double gflopsSum, int agreeAlwaysFine) {
        double accuracy() {
            return (double) correct / images;
        }

        double exitShare() {
            return (double) exited / images;
        }

        double avgGflops() {
            return gflopsSum / images;
        }

        double agreement() {
            return (double) agreeAlwaysFine / images;
        }
    }

    /** A threshold's accuracy, exits and average GFLOPs derived from the all-fine outcomes. */
    static SweepPoint sweep(List<Outcome> outcomes, double threshold, double coarseGflops, double fineGflops) {
        int correct = 0;
        int exited = 0;
        int agree = 0;
        double gflops = 0;
        for (Outcome o : outcomes) {
            boolean exit = exits(o.maxProbability(), threshold);
            int top1 = exit ? o.coarseTop1() : o.fineTop1();
            correct += top1 == o.label() ? 1 : 0;
            agree += top1 == o.fineTop1() ? 1 : 0;
            exited += exit ? 1 : 0;
            gflops += exit ? coarseGflops : fineGflops;
        }
        return new SweepPoint(threshold, outcomes.size(), correct, exited, gflops, agree);
    }

    /** {@code "0.5"}, {@code "1.01 (always fine)"}, {@code "0 (coarse only)"}. */
    static String thresholdName(double t) {
        String s = shortThreshold(t);
        return t > 1 ? s + " (always fine)" : t == 0 ? s + " (coarse only)" : s;
    }

    /** {@code "0"}, {@code "0.5"}, {@code "1"}. */
    static String shortThreshold(double t) {
        return t == Math.rint(t) ? Integer.toString((int) t) : Double.toString(t);
    }

    /** Quantiles of the images' coarse maximum probabilities: where the thresholds bite. */
    static Map<String, Object> probabilityQuantiles(List<Outcome> outcomes) {
        double[] p = outcomes.stream().mapToDouble(Outcome::maxProbability).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        for (double q : new double[] {0, 0.1, 0.25, 0.5, 0.75, 0.9, 1}) {
            m.put(q == 0 ? "min" : q == 1 ? "max" : "p" + Math.round(100 * q),
                    Math.round(p[(int) Math.round(q * (p.length - 1))] * 1e4) / 1e4);
        }
        return m;
    }

    // ------------------------------------------------------------------ main

    /** One accuracy row: a sweep point measured with {@link CfVit#classify} per image, or a plain model. */
    record AccuracyRow(String name, double threshold, SweepPoint point, double msPerImage) {
    }

    /** One latency contender at one batch size and thread count. */
    record LatencyRow(int threads, int batch, String name, double threshold, Stats stats, double gflops,
                      double exitShare, double ratioAlwaysFine, double pairedAlwaysFine, double ratioPlain,
                      double pairedPlain, double[] callsMsPerImage) {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args, Set.of("no-latency"), Set.of("data", "count", "model", "vit-model", "thresholds",
                "accuracy-threads", "batch", "threads", "latency-thresholds", "latency-batch", "latency-images",
                "warmup", "iterations", "blocks", "wait-idle", "no-latency", "plot", "markdown", "out"));
        Instant started = Instant.now();
        List<String> problems = new ArrayList<>();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "CF-ViT threshold sweep on the demo model");
        report.put("date", started.toString());
        report.put("command", System.getProperty("hourglass.bench.command",
                "java ... " + CfVitSweep.class.getName() + " " + String.join(" ", args)));
        Map<String, Object> machine = Machine.describe();
        machine.put("cpu_family_model", Machine.cpuFamilyModel());
        machine.put("vector_isa", Machine.vectorIsa());
        report.put("machine", machine);
        report.put("kernels", Kernels.description());
        report.put("paper_headline_not_measured_here", PAPER);
        double waitIdle = Double.parseDouble(a.get("wait-idle", "0"));

        Path data = Path.of(a.get("data", "bench-out/shapes-vit-val"));
        List<TokenReductionBench.Sample> samples = TokenReductionBench.samples(data);
        int count = Math.min(samples.size(), a.integer("count", 1000));
        samples = samples.subList(0, count);
        String modelName = a.get("model", "class path " + DEMO_MODEL);
        String vitName = a.get("vit-model", "class path " + DEMO_VIT);
        boolean withVit = !vitName.equals("none");
        int accThreads = a.integer("accuracy-threads", 1);
        List<Double> thresholds = a.list("thresholds", DEFAULT_THRESHOLDS).stream().map(Double::parseDouble)
                .toList();

        Map<String, Object> acc = new LinkedHashMap<>();
        List<AccuracyRow> rows = new ArrayList<>();
        List<Outcome> outcomes = new ArrayList<>();
        List<Tensor> inputs = new ArrayList<>();
        double[] gf = new double[3];
        try (ImageClassifier cls = loadCf(a, accThreads);
             Machine.LoadSampler load = new Machine.LoadSampler()) {
            CfVit cf = cf(cls);
            long t0 = System.nanoTime();
            System.err.printf("== accuracy, %s, %d images from %s, %d thread(s)%n", modelName, count, data,
                    accThreads);
            for (TokenReductionBench.Sample s : samples) {
                inputs.add(cls.preprocess(RgbImage.read(s.file())));
            }
            gf[0] = cf.gflops(false);
            gf[1] = cf.gflops(true);
            gf[2] = cf.plainFineGflops();
            acc.put("model", modelName);
            acc.put("describe", cls.describe());
            acc.put("backend", cls.backendDescription());
            acc.put("labels", cls.labels());
            acc.put("data", data.toString());
            acc.put("images", count);
            acc.put("threads", accThreads);
            acc.put("gflops_coarse_only", gf[0]);
            acc.put("gflops_coarse_plus_fine", gf[1]);
            acc.put("gflops_plain_fine_model", gf[2]);
            checkLabels(cls.labels(), data, problems);

            // One all-fine pass in batches (plus the plain fine model): every threshold's answer follows from it.
            int batch = a.integer("batch", 50);
            for (int from = 0; from < count; from += batch) {
                int to = Math.min(count, from + batch);
                Tensor x = stack(inputs, from, to);
                CfVit.Result r = cf.classify(x, ALWAYS_FINE);
                int[] plain = argmaxRows(cf.model().classify(x).toFloatArray(), cls.labels().size());
                int[] coarse = argmaxRows(r.coarseLogits().toFloatArray(), cls.labels().size());
                int[] fine = argmaxRows(r.fineLogits().toFloatArray(), cls.labels().size());
                for (int i = from; i < to; i++) {
                    int b = i - from;
                    if (!r.fine()[b]) {
                        problems.add("image " + i + " exited at threshold " + ALWAYS_FINE + " (max probability "
                                + r.maxProbability()[b] + ")");
                    }
                    outcomes.add(new Outcome(samples.get(i).label(), coarse[b], fine[b], r.maxProbability()[b],
                            plain[b]));
                }
            }

            acc.put("coarse_max_probability", probabilityQuantiles(outcomes));

            // The plain fine model: the same weights on every fine token, no coarse stage.
            int plainCorrect = 0;
            int plainAgree = 0;
            for (Outcome o : outcomes) {
                plainCorrect += o.plainTop1() == o.label() ? 1 : 0;
                plainAgree += o.plainTop1() == o.fineTop1() ? 1 : 0;
            }
            rows.add(new AccuracyRow(PLAIN_FINE, Double.NaN, new SweepPoint(Double.NaN, count, plainCorrect, 0,
                    gf[2] * count, plainAgree), Double.NaN));

            // Every threshold, measured: CfVit.classify per image, as `hourglass classify` runs it.
            for (double t : thresholds) {
                long s0 = System.nanoTime();
                int correct = 0;
                int exited = 0;
                int agree = 0;
                int differ = 0;
                double gflops = 0;
                for (int i = 0; i < count; i++) {
                    CfVit.Result r = cf.classify(inputs.get(i), t);
                    int top1 = argmaxRows(r.logits().toFloatArray(), cls.labels().size())[0];
                    Outcome o = outcomes.get(i);
                    correct += top1 == o.label() ? 1 : 0;
                    agree += top1 == o.fineTop1() ? 1 : 0;
                    exited += r.fine()[0] ? 0 : 1;
                    gflops += r.gflops()[0];
                    if (top1 != o.top1(t) || r.fine()[0] == exits(o.maxProbability(), t)) {
                        differ++;
                    }
                }
                double ms = (System.nanoTime() - s0) / 1e6 / count;
                SweepPoint p = new SweepPoint(t, count, correct, exited, gflops, agree);
                SweepPoint derived = sweep(outcomes, t, gf[0], gf[1]);
                if (differ > 0 || derived.correct() != p.correct() || derived.exited() != p.exited()
                        || Math.abs(derived.gflopsSum() - p.gflopsSum()) > 1e-9 * count) {
                    problems.add(String.format(Locale.ROOT, "threshold %s: one image per call and the batched"
                            + " all-fine pass disagree on %d image(s) (top-1 %d vs %d correct, exits %d vs %d)",
                            thresholdName(t), differ, p.correct(), derived.correct(), p.exited(),
                            derived.exited()));
                }
                rows.add(new AccuracyRow("CF-ViT \u03b7=" + thresholdName(t), t, p, ms));
                System.err.printf(Locale.ROOT, "threshold %-20s top-1 %.1f%%  exits %.1f%%  %.5f GFLOPs  %.2f ms%n",
                        thresholdName(t), 100 * p.accuracy(), 100 * p.exitShare(), p.avgGflops(), ms);
            }
            acc.put("seconds", Stats.round((System.nanoTime() - t0) / 1e9));
            load.close();
            acc.put("load_average", load.toMap());
        }
        if (withVit) {
            try (ImageClassifier vit = loadVit(a, accThreads)) {
                int correct = 0;
                double gflops = 0;
                int agree = 0;
                for (int i = 0; i < count; i++) {
                    ImageClassifier.Reduced r = vit.logits(vit.preprocess(RgbImage.read(samples.get(i).file())),
                            null);
                    int top1 = argmaxRows(r.logits().toFloatArray(), vit.labels().size())[0];
                    correct += top1 == samples.get(i).label() ? 1 : 0;
                    agree += top1 == outcomes.get(i).fineTop1() ? 1 : 0;
                    gflops += r.gflops();
                }
                rows.add(1, new AccuracyRow(SHAPES_VIT, Double.NaN, new SweepPoint(Double.NaN, count, correct, 0,
                        gflops, agree), Double.NaN));
                acc.put("vit_model", vitName);
                acc.put("vit_describe", vit.describe());
            }
        }
        Map<Double, double[]> pytorch = pytorchSweep(a);
        report.put("accuracy", acc);
        report.put("accuracy_rows", accuracyJson(rows, gf, pytorch));
        report.put("pytorch_reference_sweep", pytorch.isEmpty() ? null
                : "tasks/src/main/resources/" + DEMO_MODEL + "/expected.json \"pipeline\"");

        List<LatencyRow> latency = new ArrayList<>();
        Map<String, Object> latencyInfo = new LinkedHashMap<>();
        if (!a.has("no-latency")) {
            int n = Math.min(count, a.integer("latency-images", 64));
            List<Double> lt = a.list("latency-thresholds", "0,0.5,0.8," + ALWAYS_FINE).stream()
                    .map(Double::parseDouble).toList();
            latencyInfo.put("images_per_call", n);
            latencyInfo.put("thresholds", lt);
            for (int threads : a.integers("threads", "1")) {
                for (int batch : a.integers("latency-batch", "1,64")) {
                    if (waitIdle > 0) {
                        Machine.waitForIdle(waitIdle, 0.15, 2);
                    }
                    try (Machine.LoadSampler load = new Machine.LoadSampler()) {
                        Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
                        List<Double> busy = new ArrayList<>();
                        latency.addAll(latency(a, threads, batch, n, lt, inputs, outcomes, withVit, samples,
                                waitIdle, busy, gf));
                        load.close();
                        Map<String, Object> m = load.toMap();
                        m.put("other_processes_busy_cores_per_block", busy);
                        m.put("other_processes_busy_cores",
                                Stats.round(Machine.CpuTimes.now().othersBusyCores(cpu0)));
                        latencyInfo.put(threads + "_threads_batch_" + batch, m);
                    }
                }
            }
            report.put("latency_info", latencyInfo);
            report.put("latency", latencyJson(latency));
        }

        Path plot = Path.of(a.get("plot", "docs/cfvit-threshold-sweep.png"));
        plot(rows, latency, count, plot);
        report.put("plot", plot.toString());
        report.put("problems", problems);
        Instant ended = Instant.now();
        report.put("ended", ended.toString());
        String md = markdown(report, started, ended, acc, rows, gf, pytorch, latency, latencyInfo, problems);
        System.out.print(md);
        Path markdown = Path.of(a.get("markdown", "bench-out/cfvit-sweep.md"));
        Args.write(markdown, md);
        Path out = Path.of(a.get("out", "bench-out/cfvit-sweep.json"));
        Args.write(out, JSON.writeValueAsString(report));
        System.err.println("wrote " + plot + ", " + markdown + " and " + out);
        for (String p : problems) {
            System.err.println("PROBLEM: " + p);
        }
    }

    private static ImageClassifier loadCf(Args a, int threads) throws IOException {
        ModelOptions options = new ModelOptions(threads, "cpu");
        return a.has("model") ? ImageClassifier.load(Path.of(a.get("model", "")), options)
                : ImageClassifier.loadResource(DEMO_MODEL, options);
    }

    private static ImageClassifier loadVit(Args a, int threads) throws IOException {
        ModelOptions options = new ModelOptions(threads, "cpu");
        return a.has("vit-model") ? ImageClassifier.load(Path.of(a.get("vit-model", "")), options)
                : ImageClassifier.loadResource(DEMO_VIT, options);
    }

    private static CfVit cf(ImageClassifier cls) throws IOException {
        CfVit cf = cls.coarseToFine();
        if (cf == null) {
            throw new IOException(cls.name() + " is not a CF-ViT checkpoint");
        }
        return cf;
    }

    /** The label file's class names (its third column) must be the classifier's names of those indices. */
    private static void checkLabels(List<String> labels, Path data, List<String> problems) throws IOException {
        List<String> lines = java.nio.file.Files.readAllLines(data.resolve("labels.tsv"));
        int wrong = 0;
        String first = null;
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            if (line.isBlank() || f.length < 3) {
                continue;
            }
            int label = Integer.parseInt(f[1]);
            if (label < 0 || label >= labels.size() || !labels.get(label).equals(f[2])) {
                wrong++;
                first = first == null ? line : first;
            }
        }
        if (wrong > 0) {
            problems.add(data.resolve("labels.tsv") + ": " + wrong + " line(s) name another class than the model's"
                    + " label of that index, e.g. " + first + "; model labels " + labels);
        }
    }

    // ------------------------------------------------------------------ latency

    private static List<LatencyRow> latency(Args a, int threads, int batch, int n, List<Double> thresholds,
                                            List<Tensor> inputs, List<Outcome> outcomes, boolean withVit,
                                            List<TokenReductionBench.Sample> samples, double waitIdle,
                                            List<Double> busy, double[] gf) throws Exception {
        System.err.printf("== latency, %d image(s) per call in batches of %d, %d thread(s)%n", n, batch, threads);
        List<Tensor> batches = new ArrayList<>();
        for (int from = 0; from < n; from += batch) {
            batches.add(stack(inputs, from, Math.min(n, from + batch)));
        }
        List<Outcome> subset = outcomes.subList(0, n);
        try (ImageClassifier cls = loadCf(a, threads);
             ImageClassifier vit = withVit ? loadVit(a, threads) : null) {
            CfVit cf = cf(cls);
            VisionTransformer plain = cf.model();
            List<Alternating.Contender> contenders = new ArrayList<>();
            Map<String, Double> gflops = new LinkedHashMap<>();
            Map<String, Double> exitShare = new LinkedHashMap<>();
            Map<String, Double> threshold = new LinkedHashMap<>();
            contenders.add(new Alternating.Contender(PLAIN_FINE, () -> {
                for (Tensor x : batches) {
                    plain.classify(x);
                }
            }));
            gflops.put(PLAIN_FINE, gf[2]);
            if (vit != null) {
                List<Tensor> vitBatches = new ArrayList<>();
                List<Tensor> vitInputs = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    vitInputs.add(vit.preprocess(RgbImage.read(samples.get(i).file())));
                }
                for (int from = 0; from < n; from += batch) {
                    vitBatches.add(stack(vitInputs, from, Math.min(n, from + batch)));
                }
                contenders.add(new Alternating.Contender(SHAPES_VIT, () -> {
                    for (Tensor x : vitBatches) {
                        vit.logits(x);
                    }
                }));
                gflops.put(SHAPES_VIT, vit.logits(vitBatches.get(0), null).unreducedGflops());
            }
            for (double t : thresholds) {
                String name = "CF-ViT \u03b7=" + thresholdName(t);
                contenders.add(new Alternating.Contender(name, () -> {
                    for (Tensor x : batches) {
                        cf.classify(x, t);
                    }
                }));
                SweepPoint p = sweep(subset, t, gf[0], gf[1]);
                gflops.put(name, p.avgGflops());
                exitShare.put(name, p.exitShare());
                threshold.put(name, t);
            }
            Machine.BlockWatch beforeBlock = Machine.beforeEachBlock(waitIdle, busy);
            Map<String, double[]> times = Alternating.time(contenders, a.integer("warmup", 5),
                    a.integer("iterations", 40), a.integer("blocks", 20), beforeBlock);
            beforeBlock.finish();
            // Per image: each call ran the whole subset.
            for (double[] t : times.values()) {
                for (int i = 0; i < t.length; i++) {
                    t[i] /= n;
                }
            }
            String alwaysName = "CF-ViT \u03b7=" + thresholdName(ALWAYS_FINE);
            double[] always = times.get(alwaysName);
            double[] plainTimes = times.get(PLAIN_FINE);
            List<LatencyRow> rows = new ArrayList<>();
            for (Alternating.Contender c : contenders) {
                double[] t = times.get(c.name());
                Stats s = Stats.of(t);
                double ra = always == null ? Double.NaN : s.median() / Stats.of(always).median();
                double pa = always == null ? Double.NaN : Alternating.pairedRatio(t, always);
                rows.add(new LatencyRow(threads, batch, c.name(), threshold.getOrDefault(c.name(), Double.NaN), s,
                        gflops.get(c.name()), exitShare.getOrDefault(c.name(), Double.NaN), ra, pa,
                        s.median() / Stats.of(plainTimes).median(), Alternating.pairedRatio(t, plainTimes), t));
                System.err.printf(Locale.ROOT, "%-40s %.3f ms/image (p10 %.3f, p90 %.3f)  %.5f GFLOPs%n", c.name(),
                        s.median(), s.p10(), s.p90(), gflops.get(c.name()));
            }
            return rows;
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Images {@code [1, 3, H, W]} from {@code from} to {@code to} as one batch. */
    static Tensor stack(List<Tensor> images, int from, int to) {
        long[] dims = images.get(from).shape().dims();
        int per = images.get(from).toFloatArray().length;
        float[] all = new float[(to - from) * per];
        for (int i = from; i < to; i++) {
            System.arraycopy(images.get(i).toFloatArray(), 0, all, (i - from) * per, per);
        }
        return Tensor.ofFloats(all, to - from, dims[1], dims[2], dims[3]);
    }

    /** The arg max of each row of {@code [rows, classes]} logits. */
    static int[] argmaxRows(float[] logits, int classes) {
        int[] out = new int[logits.length / classes];
        for (int r = 0; r < out.length; r++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[r * classes + c] > logits[r * classes + best]) {
                    best = c;
                }
            }
            out[r] = best;
        }
        return out;
    }

    /**
     * PyTorch's sweep of the demo model over the images {@code --export-val} writes (the same seed: expected.json's
     * {@code pipeline}), by threshold: accuracy, exit share, GFLOPs; empty for another model or another data set.
     */
    private static Map<Double, double[]> pytorchSweep(Args a) {
        Map<Double, double[]> out = new LinkedHashMap<>();
        if (a.has("model") || a.has("data") && !a.get("data", "").equals("bench-out/shapes-vit-val")
                || a.integer("count", 1000) != 1000) {
            return out;
        }
        try (InputStream in = CfVitSweep.class.getClassLoader().getResourceAsStream(DEMO_MODEL + "/expected.json")) {
            if (in == null) {
                return out;
            }
            JsonNode pipeline = JSON.readTree(in).path("pipeline");
            if (pipeline.path("images").asInt() != 1000) {
                return out;
            }
            for (JsonNode p : pipeline.path("sweep")) {
                out.put(p.path("threshold").asDouble(), new double[] {p.path("accuracy").asDouble(),
                    p.path("early_exit_share").asDouble(), p.path("avg_gflops").asDouble()});
            }
        } catch (IOException e) {
            out.clear();
        }
        return out;
    }

    // ------------------------------------------------------------------ plot

    private static void plot(List<AccuracyRow> rows, List<LatencyRow> latency, int images, Path png)
            throws IOException {
        List<ScatterPlot.Point> sweep = new ArrayList<>();
        ScatterPlot acc = new ScatterPlot("Demo CF-ViT (shapes-cfvit, 64x64, depth 4): top-1 on " + images
                + " held-out images", "average GFLOPs per image (2 x multiply-adds)", "top-1 accuracy (%)", "%.3f",
                "%.0f");
        for (AccuracyRow r : rows) {
            ScatterPlot.Point p = new ScatterPlot.Point(r.point().avgGflops(), 100 * r.point().accuracy(), null);
            if (r.name().equals(PLAIN_FINE)) {
                acc.add(new ScatterPlot.Series(PLAIN_FINE, Color.BLACK, ScatterPlot.Marker.STAR, true, false,
                        List.of(p)));
            } else if (r.name().equals(SHAPES_VIT)) {
                acc.add(new ScatterPlot.Series(SHAPES_VIT, new Color(120, 120, 120), ScatterPlot.Marker.DIAMOND,
                        false, false, List.of(p)));
            } else {
                String label = r.threshold() > 1 ? "always fine" : "\u03b7=" + shortThreshold(r.threshold());
                sweep.add(new ScatterPlot.Point(p.x(), p.y(), label));
            }
        }
        acc.add(new ScatterPlot.Series("CF-ViT, threshold \u03b7", new Color(31, 119, 180), ScatterPlot.Marker.CIRCLE,
                true, true, sweep));
        List<ScatterPlot> panels = new ArrayList<>(List.of(acc));
        if (!latency.isEmpty()) {
            ScatterPlot lat = new ScatterPlot("Measured latency per image against GFLOPs (median, "
                    + latency.get(0).threads() + " thread(s))", "average GFLOPs per image", "ms per image", "%.3f",
                    "%.2f");
            Color[] colors = {new Color(200, 30, 40), new Color(230, 110, 0), new Color(130, 80, 180)};
            int k = 0;
            for (int batch : latency.stream().map(LatencyRow::batch).distinct().toList()) {
                List<ScatterPlot.Point> pts = new ArrayList<>();
                for (LatencyRow r : latency) {
                    if (r.batch() == batch && r.threads() == latency.get(0).threads()) {
                        String label = r.name().equals(PLAIN_FINE) ? "plain fine" : r.name().equals(SHAPES_VIT)
                                ? "shapes-vit" : r.threshold() > 1 ? "always fine"
                                : "\u03b7=" + shortThreshold(r.threshold());
                        pts.add(new ScatterPlot.Point(r.gflops(), r.stats().median(), label));
                    }
                }
                lat.add(new ScatterPlot.Series("batch " + batch, colors[k % colors.length],
                        k == 0 ? ScatterPlot.Marker.CIRCLE : ScatterPlot.Marker.SQUARE, true, false, pts));
                k++;
            }
            panels.add(lat);
        }
        ScatterPlot.writePanels(png, 1400, 800, panels);
    }

    // ------------------------------------------------------------------ reports

    private static List<Map<String, Object>> accuracyJson(List<AccuracyRow> rows, double[] gf,
                                                          Map<Double, double[]> pytorch) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (AccuracyRow r : rows) {
            SweepPoint p = r.point();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("setting", r.name());
            m.put("threshold", Double.isNaN(r.threshold()) ? null : r.threshold());
            m.put("top1_accuracy", p.accuracy());
            m.put("correct", p.correct());
            m.put("images", p.images());
            m.put("early_exit_share", Double.isNaN(r.threshold()) ? null : p.exitShare());
            m.put("avg_gflops", Math.round(p.avgGflops() * 1e7) / 1e7);
            m.put("gflops_ratio_to_plain_fine", Stats.round(p.avgGflops() / gf[2]));
            m.put("gflops_ratio_to_always_fine", Stats.round(p.avgGflops() / gf[1]));
            m.put("top1_agreement_with_always_fine", p.agreement());
            m.put("ms_per_image_in_sweep", Double.isNaN(r.msPerImage()) ? null : Stats.round(r.msPerImage()));
            double[] ref = pytorch.get(r.threshold());
            if (ref != null) {
                m.put("pytorch_top1_accuracy", ref[0]);
                m.put("pytorch_early_exit_share", ref[1]);
                m.put("pytorch_avg_gflops", ref[2]);
            }
            out.add(m);
        }
        return out;
    }

    private static List<Map<String, Object>> latencyJson(List<LatencyRow> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (LatencyRow r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("threads", r.threads());
            m.put("batch", r.batch());
            m.put("setting", r.name());
            m.put("threshold", Double.isNaN(r.threshold()) ? null : r.threshold());
            m.put("ms_per_image", r.stats().toMap());
            m.put("avg_gflops", Math.round(r.gflops() * 1e7) / 1e7);
            m.put("early_exit_share_in_subset", Double.isNaN(r.exitShare()) ? null : r.exitShare());
            m.put("time_ratio_to_always_fine", Stats.round(r.ratioAlwaysFine()));
            m.put("paired_time_ratio_to_always_fine", Stats.round(r.pairedAlwaysFine()));
            m.put("time_ratio_to_plain_fine", Stats.round(r.ratioPlain()));
            m.put("paired_time_ratio_to_plain_fine", Stats.round(r.pairedPlain()));
            m.put("achieved_gflop_per_s", Stats.round(r.gflops() / (r.stats().median() / 1000)));
            m.put("calls_ms_per_image_in_order", java.util.Arrays.stream(r.callsMsPerImage()).map(Stats::round)
                    .toArray());
            out.add(m);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static String markdown(Map<String, Object> report, Instant started, Instant ended,
                                   Map<String, Object> acc, List<AccuracyRow> rows, double[] gf,
                                   Map<Double, double[]> pytorch, List<LatencyRow> latency,
                                   Map<String, Object> latencyInfo, List<String> problems) {
        DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneOffset.UTC);
        Map<String, Object> mach = (Map<String, Object>) report.get("machine");
        StringBuilder b = new StringBuilder();
        b.append("## CF-ViT: threshold sweep on the demo model\n\n");
        b.append("- Run: ").append(time.format(started)).append(" to ")
                .append(DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC).format(ended))
                .append(" UTC\n");
        b.append("- Machine: ").append(mach.get("cpu")).append(", ").append(mach.get("cpu_family_model"))
                .append(", ").append(mach.get("available_processors")).append(" processors, ")
                .append(mach.get("vector_isa")).append("; kernels: ").append(report.get("kernels"))
                .append("; ").append(mach.get("java")).append("; ").append(mach.get("os")).append('\n');
        b.append("- Command: `").append(report.get("command")).append("`\n");
        Map<String, Object> al = (Map<String, Object>) acc.get("load_average");
        b.append("- Accuracy sweep: ").append(acc.get("threads")).append(" thread(s), ").append(acc.get("seconds"))
                .append(" s; load average start ").append(al.get("start")).append(", highest 1-min ")
                .append(al.get("max_1min")).append(", end ").append(al.get("end")).append('\n');
        latencyInfo.forEach((k, v) -> {
            if (v instanceof Map<?, ?> m) {
                b.append("- Latency, ").append(k.replace('_', ' ')).append(": load average start ")
                        .append(m.get("start")).append(", highest 1-min ").append(m.get("max_1min"))
                        .append(", end ").append(m.get("end")).append("; other processes kept ")
                        .append(m.get("other_processes_busy_cores")).append(" cores busy (per block: ")
                        .append(m.get("other_processes_busy_cores_per_block")).append(")\n");
            }
        });
        b.append('\n');

        b.append(String.format(Locale.ROOT, "### Accuracy, early exits and GFLOPs: %d held-out images%n%n",
                (int) acc.get("images")));
        b.append(String.format(Locale.ROOT, "%s; %s; %s. GFLOPs per image (2 x multiply-adds of the matmuls,"
                + " `CfVit.gflops`): coarse stage only %.5f, coarse + reuse + fine %.5f, plain fine model on all 65"
                + " tokens %.5f. Each threshold measured with `CfVit.classify`, one image per call. An image exits"
                + " when its coarse maximum probability is >= \u03b7; over these images that probability has"
                + " quantiles %s.%n%n", acc.get("describe"), acc.get("data"),
                acc.get("backend"), gf[0], gf[1], gf[2], acc.get("coarse_max_probability")));
        boolean ref = !pytorch.isEmpty();
        b.append("| setting | top-1 | early exits | avg GFLOPs | GFLOPs / plain fine | GFLOPs / always fine |"
                + " top-1 agreement with always fine |" + (ref ? " PyTorch top-1 / exits (expected.json) |" : "")
                + "\n");
        b.append("| --- | --- | --- | --- | --- | --- | --- |" + (ref ? " --- |" : "") + "\n");
        for (AccuracyRow r : rows) {
            SweepPoint p = r.point();
            boolean model = Double.isNaN(r.threshold());
            b.append(String.format(Locale.ROOT, "| %s | %.1f%% | %s | %.5f | %.3f | %.3f | %.1f%% |",
                    model ? r.name() : "\u03b7 = " + thresholdName(r.threshold()), 100 * p.accuracy(),
                    model ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * p.exitShare()), p.avgGflops(),
                    p.avgGflops() / gf[2], p.avgGflops() / gf[1], 100 * p.agreement()));
            if (ref) {
                double[] q = model ? null : pytorch.get(r.threshold());
                b.append(q == null ? " |" : String.format(Locale.ROOT, " %.1f%% / %.1f%% |", 100 * q[0],
                        100 * q[1]));
            }
            b.append('\n');
        }
        b.append('\n');
        b.append(reading(rows, gf));
        b.append("**The paper's numbers** (CF-ViT, Chen et al., AAAI 2023, ImageNet; quoted, not measured here):\n\n");
        for (String s : PAPER) {
            b.append("- ").append(s).append('\n');
        }
        b.append('\n');

        if (!latency.isEmpty()) {
            b.append(String.format(Locale.ROOT, "### Latency per image: %d images per timed call%n%n",
                    (int) latencyInfo.get("images_per_call")));
            b.append("Median (p10-p90) over the timed calls of the call's time / images; the contenders timed in"
                    + " alternating blocks; a threshold's exits are those of the timed images (the subset's share"
                    + " below). \"paired\": median of the ratios of calls at the same place of the same block.\n\n");
            b.append("| threads | batch | setting | exits in subset | avg GFLOPs | ms / image (p10-p90) | time / always"
                    + " fine (paired) | time / plain fine (paired) | GFLOPs / plain fine |\n");
            b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            for (LatencyRow r : latency) {
                b.append(String.format(Locale.ROOT, "| %d | %d | %s | %s | %.5f | %.3f (%.3f-%.3f) | %.3f (%.3f) |"
                        + " %.3f (%.3f) | %.3f |%n", r.threads(), r.batch(), Double.isNaN(r.threshold()) ? r.name()
                        : "\u03b7 = " + thresholdName(r.threshold()), Double.isNaN(r.exitShare()) ? "-"
                        : String.format(Locale.ROOT, "%.1f%%", 100 * r.exitShare()), r.gflops(), r.stats().median(),
                        r.stats().p10(), r.stats().p90(), r.ratioAlwaysFine(), r.pairedAlwaysFine(), r.ratioPlain(),
                        r.pairedPlain(), r.gflops() / gf[2]));
            }
            b.append('\n');
        }
        if (!problems.isEmpty()) {
            b.append("### Problems\n\n");
            for (String p : problems) {
                b.append("- ").append(p).append('\n');
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** A few sentences computed from the table: where CF-ViT matches always-fine's and the plain model's top-1. */
    static String reading(List<AccuracyRow> rows, double[] gf) {
        StringBuilder b = new StringBuilder();
        AccuracyRow always = null;
        AccuracyRow plain = null;
        for (AccuracyRow r : rows) {
            if (r.name().equals(PLAIN_FINE)) {
                plain = r;
            } else if (!Double.isNaN(r.threshold()) && r.threshold() > 1) {
                always = r;
            }
        }
        for (AccuracyRow ref : new AccuracyRow[] {always, plain}) {
            if (ref == null) {
                continue;
            }
            AccuracyRow best = null;
            for (AccuracyRow r : rows) {
                if (!Double.isNaN(r.threshold()) && r.point().correct() >= ref.point().correct()
                        && (best == null || r.point().avgGflops() < best.point().avgGflops())) {
                    best = r;
                }
            }
            if (best != null) {
                b.append(String.format(Locale.ROOT, "- Fewest GFLOPs at a top-1 at least the %s's (%.1f%%):"
                        + " \u03b7 = %s, %.1f%% top-1 at %.5f GFLOPs, %.0f%% fewer than always fine and %.0f%% fewer"
                        + " than the plain fine model; %.1f%% of the images exit early.%n", ref == always
                        ? "always-fine CF-ViT" : "plain fine model", 100 * ref.point().accuracy(),
                        thresholdName(best.threshold()), 100 * best.point().accuracy(), best.point().avgGflops(),
                        100 * (1 - best.point().avgGflops() / gf[1]), 100 * (1 - best.point().avgGflops() / gf[2]),
                        100 * best.point().exitShare()));
            }
        }
        return b.isEmpty() ? "" : b.append('\n').toString();
    }
}
