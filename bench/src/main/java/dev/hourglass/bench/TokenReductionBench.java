package dev.hourglass.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.bench.jmh.VitForwardBenchmark;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.reduce.tome.ToMeSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * Token reduction on classification, ToMe against Expedit, in one run (issue 10):
 *
 * <ol>
 *   <li><b>Latency</b>: ViT-B/16 at 224, batch 1, random weights ({@link RandomVitWeights}, the model of
 *       {@link VitForwardBenchmark}) on the CPU backend, unreduced against ToMe at {@code --tome-latency} r values
 *       (inflect 0, proportional attention), for each of {@code --threads}: the settings timed in alternating blocks
 *       ({@link Alternating}), median ms, time relative to unreduced, the encoder's GFLOPs at the traced token counts
 *       ({@link ReductionTrace#gflops}) and the tokens leaving the last block.</li>
 *   <li><b>Accuracy</b>: the demo classifier (shapes-vit: 64x64, patch 8, depth 4) over held-out images that
 *       {@code tools/train_demo_classifier.py --export-val DIR} writes, unreduced, ToMe at every r of {@code --tome-r}
 *       and inflect of {@code --tome-inflect}, Expedit-on-classification (cluster after block α, read the class token)
 *       at every α of {@code --expedit-alphas} (below the depth) and grid of {@code --expedit-grids}; settings that
 *       {@link ReductionMethod#check} refuses are listed as skipped. Per setting: GFLOPs per image, top-1 accuracy
 *       against the labels, top-1 agreement with the unreduced model; then, for GFLOPs budgets (fractions of the
 *       unreduced model's), the best ToMe and the best Expedit setting at or below each.</li>
 *   <li>A PNG plot (Java2D) of accuracy against GFLOPs, a markdown report on stdout and in {@code --markdown}, and
 *       a JSON document in {@code --out}.</li>
 * </ol>
 *
 * <pre>
 * bench/run-reduction.sh [--threads 1,2] [--tome-latency 8,13,16] [--warmup 10] [--iterations 20] [--blocks 10]
 *     [--data bench-out/shapes-vit-val] [--count 1000] [--model DIR] [--accuracy-threads 1]
 *     [--tome-r 1,...,8,10,12] [--tome-inflect 0,-1] [--expedit-alphas 1,2,3] [--expedit-grids 2x2,...,7x7]
 *     [--expedit-extra iters=5,window=5,tau=1,k=20,tau_r=1] [--budgets 0.9,0.8,0.7,0.6,0.5]
 *     [--plot docs/token-reduction-accuracy.png] [--markdown bench-out/token-reduction.md]
 *     [--out bench-out/token-reduction.json] [--wait-idle SECONDS] [--no-latency] [--no-accuracy]
 * </pre>
 *
 * <p>Anything that looks like an engine bug (token counts other than the method's schedule, counts that differ from
 * image to image, non-finite logits, the unreduced seam giving other logits than the plain forward, a ToMe setting
 * slower than unreduced at the largest r) is listed under "Problems" in the report and on stderr.
 */
public final class TokenReductionBench {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String DEMO_MODEL = "dev/hourglass/demo/shapes-vit";
    private static final String UNREDUCED = "unreduced";

    private TokenReductionBench() {
    }

    /** One timed setting at one thread count. */
    record LatencyRow(int threads, String setting, String spec, Stats stats, double timeRatio, double pairedRatio,
                      double gflops, double unreducedGflops, int[] tokensAfterBlock, double[] callsMs) {
        int lastTokens() {
            return tokensAfterBlock[tokensAfterBlock.length - 1];
        }
    }

    /** One accuracy setting over the validation images. */
    record AccuracyRow(String method, String setting, ReductionMethod reduction, double gflops,
                       double unreducedGflops, int[] tokensAfterBlock, int correct, int agree, int images,
                       double msPerImage) {
        double accuracy() {
            return (double) correct / images;
        }

        double agreement() {
            return (double) agree / images;
        }

        /** The plot's and the matched table's series: the method, and ToMe's inflect or Expedit's α. */
        String family() {
            if (reduction instanceof ToMeSettings t) {
                return "ToMe, inflect " + inflect(t.inflect());
            }
            if (reduction instanceof ExpeditSettings e) {
                return "Expedit, \u03b1=" + e.alpha();
            }
            return UNREDUCED;
        }
    }

    /** A labelled validation image. */
    record Sample(Path file, int label, int torchTop1) {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args, Set.of("no-latency", "no-accuracy"), Set.of("threads", "tome-latency", "warmup",
                "iterations", "blocks", "data", "count", "model", "accuracy-threads", "tome-r", "tome-inflect",
                "expedit-alphas", "expedit-grids", "expedit-extra", "budgets", "plot", "markdown", "out", "wait-idle",
                "no-latency", "no-accuracy"));
        Instant started = Instant.now();
        List<String> problems = new ArrayList<>();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "token reduction on classification: ToMe and Expedit");
        report.put("date", started.toString());
        report.put("command", System.getProperty("hourglass.bench.command",
                "java ... " + TokenReductionBench.class.getName() + " " + String.join(" ", args)));
        report.put("machine", machine());
        report.put("kernels", Kernels.description());
        double waitIdle = Double.parseDouble(a.get("wait-idle", "0"));

        List<LatencyRow> latency = new ArrayList<>();
        Map<String, Object> latencyLoad = new LinkedHashMap<>();
        if (!a.has("no-latency")) {
            List<ReductionMethod> methods = new ArrayList<>();
            for (int r : a.integers("tome-latency", "8,13,16")) {
                methods.add(Reductions.parse("tome:r=" + r + ",inflect=0,prop_attn=true"));
            }
            for (int threads : a.integers("threads", "1,2")) {
                if (waitIdle > 0) {
                    Machine.waitForIdle(waitIdle, 0.15, 2);
                }
                try (Machine.LoadSampler load = new Machine.LoadSampler()) {
                    Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
                    List<Double> busyPerBlock = new ArrayList<>();
                    latency.addAll(latency(threads, methods, a.integer("warmup", 10), a.integer("iterations", 20),
                            a.integer("blocks", 10), waitIdle, busyPerBlock, problems));
                    load.close();
                    Map<String, Object> m = load.toMap();
                    m.put("other_processes_busy_cores_per_block", busyPerBlock);
                    m.put("other_processes_busy_cores", Stats.round(Machine.CpuTimes.now().othersBusyCores(cpu0)));
                    latencyLoad.put(threads + "_threads", m);
                }
            }
            report.put("latency", latencyJson(latency));
            report.put("latency_load_average", latencyLoad);
        }

        List<AccuracyRow> accuracy = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        Map<String, Object> accuracyInfo = new LinkedHashMap<>();
        if (!a.has("no-accuracy")) {
            try (Machine.LoadSampler load = new Machine.LoadSampler()) {
                Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
                long t0 = System.nanoTime();
                accuracy = accuracy(a, accuracyInfo, skipped, problems);
                load.close();
                accuracyInfo.put("seconds", Stats.round((System.nanoTime() - t0) / 1e9));
                accuracyInfo.put("load_average", load.toMap());
                accuracyInfo.put("other_processes_busy_cores",
                        Stats.round(Machine.CpuTimes.now().othersBusyCores(cpu0)));
            }
            report.put("accuracy", accuracyInfo);
            report.put("accuracy_settings", accuracyJson(accuracy));
            report.put("skipped", skipped);
        }
        List<Double> budgets = a.list("budgets", "0.9,0.8,0.7,0.6,0.5").stream().map(Double::parseDouble).toList();
        List<Map<String, Object>> matched = accuracy.isEmpty() ? List.of() : matched(accuracy, budgets);
        report.put("matched_gflops", matched);
        if (!accuracy.isEmpty()) {
            Path plot = Path.of(a.get("plot", "docs/token-reduction-accuracy.png"));
            plot(accuracy, (int) accuracyInfo.get("images"), plot);
            report.put("plot", plot.toString());
            System.err.println("wrote " + plot);
        }
        report.put("problems", problems);
        Instant ended = Instant.now();
        report.put("ended", ended.toString());

        String md = markdown(report, started, ended, latency, latencyLoad, accuracy, accuracyInfo, skipped, matched,
                problems);
        System.out.print(md);
        Path markdown = Path.of(a.get("markdown", "bench-out/token-reduction.md"));
        Args.write(markdown, md);
        Path out = Path.of(a.get("out", "bench-out/token-reduction.json"));
        Args.write(out, JSON.writeValueAsString(report));
        System.err.println("wrote " + markdown + " and " + out);
        for (String p : problems) {
            System.err.println("PROBLEM: " + p);
        }
    }

    // ------------------------------------------------------------------ latency: ViT-B/16

    /**
     * Times unreduced and every method at {@code threads} threads. With {@code waitIdle > 0} every block first waits
     * (at most that many seconds) for other processes to leave the machine alone; either way {@code busyPerBlock}
     * gets the cores other processes kept busy during each block.
     */
    private static List<LatencyRow> latency(int threads, List<ReductionMethod> methods, int warmup, int iterations,
                                            int blocks, double waitIdle, List<Double> busyPerBlock,
                                            List<String> problems) throws Exception {
        VitConfig config = VitForwardBenchmark.vitBase16(224);
        Tensor image = VitForwardBenchmark.randomImage(224);
        int gh = config.gridHeight();
        int gw = config.gridWidth();
        int[] full = new int[config.depth()];
        Arrays.fill(full, config.prefixTokens() + gh * gw);
        double unreducedGflops = ReductionTrace.encoderGflops(config, full, full);
        List<LatencyRow> rows = new ArrayList<>();
        System.err.printf("== latency, ViT-B/16 @224, %d thread(s)%n", threads);
        try (CpuBackend backend = new CpuBackend(threads)) {
            VisionTransformer model;
            try (RandomVitWeights weights = new RandomVitWeights(config, 7)) {
                model = VisionTransformer.create(config, weights, backend);
            }
            try (model) {
                List<Alternating.Contender> contenders = new ArrayList<>();
                contenders.add(new Alternating.Contender(UNREDUCED, () -> model.classify(image)));
                Map<String, int[]> tokens = new LinkedHashMap<>();
                Map<String, Double> gflops = new LinkedHashMap<>();
                tokens.put(UNREDUCED, full);
                gflops.put(UNREDUCED, unreducedGflops);
                float[] plain = model.classify(image).toFloatArray();
                try (ReductionTrace none = new ReductionTrace(TokenReducer.NONE, config.depth())) {
                    float[] seam = model.classify(image, none).toFloatArray();
                    if (maxAbsDiff(plain, seam) > 0) {
                        problems.add("ViT-B/16: classify(image, ReductionTrace(NONE)) differs from classify(image)"
                                + " by " + maxAbsDiff(plain, seam));
                    }
                    if (!Arrays.equals(none.tokensAfterBlock(), full)) {
                        problems.add("ViT-B/16 unreduced: traced tokens " + Arrays.toString(none.tokensAfterBlock()));
                    }
                }
                for (ReductionMethod m : methods) {
                    m.check(config, gh, gw);
                    try (ReductionTrace trace = new ReductionTrace(m.newReducer(backend, config), config.depth())) {
                        float[] logits = model.classify(image, trace).toFloatArray();
                        checkFinite("ViT-B/16 " + m.spec(), logits, problems);
                        tokens.put(label(m), trace.tokensAfterBlock());
                        gflops.put(label(m), trace.gflops(config));
                        checkTokens("ViT-B/16 " + m.spec(), m, config, gh, gw, trace.tokensAfterBlock(), problems);
                    }
                    contenders.add(new Alternating.Contender(label(m), () -> {
                        try (TokenReducer r = m.newReducer(backend, config)) {
                            model.classify(image, r);
                        }
                    }));
                }
                Machine.BlockWatch beforeBlock = Machine.beforeEachBlock(waitIdle, busyPerBlock);
                Map<String, double[]> times = Alternating.time(contenders, warmup, iterations, blocks, beforeBlock);
                beforeBlock.finish();
                double[] base = times.get(UNREDUCED);
                double baseMedian = Stats.of(base).median();
                for (Alternating.Contender c : contenders) {
                    double[] t = times.get(c.name());
                    Stats s = Stats.of(t);
                    String spec = c.name().equals(UNREDUCED) ? "" : specOf(methods, c.name());
                    rows.add(new LatencyRow(threads, c.name(), spec, s, s.median() / baseMedian,
                            Alternating.pairedRatio(t, base), gflops.get(c.name()), unreducedGflops,
                            tokens.get(c.name()), t));
                    System.err.printf("%d thread(s) %-10s median %7.1f ms  (%.3f of unreduced)  %.2f GFLOPs%n",
                            threads, c.name(), s.median(), s.median() / baseMedian, gflops.get(c.name()));
                }
            }
        }
        LatencyRow largest = rows.get(rows.size() - 1);
        if (rows.size() > 1 && largest.timeRatio() >= 1) {
            problems.add(String.format(Locale.ROOT, "ViT-B/16, %d thread(s): %s is not faster than unreduced"
                    + " (%.1f ms against %.1f ms)", threads, largest.setting(), largest.stats().median(),
                    rows.get(0).stats().median()));
        }
        return rows;
    }

    private static String specOf(List<ReductionMethod> methods, String label) {
        return methods.stream().filter(m -> label(m).equals(label)).findFirst().map(ReductionMethod::spec)
                .orElse("");
    }

    // ------------------------------------------------------------------ accuracy: the demo classifier

    private static List<AccuracyRow> accuracy(Args a, Map<String, Object> info, List<String> skipped,
                                              List<String> problems) throws IOException {
        Path data = Path.of(a.get("data", "bench-out/shapes-vit-val"));
        List<Sample> samples = samples(data);
        int count = Math.min(samples.size(), a.integer("count", 1000));
        samples = samples.subList(0, count);
        int threads = a.integer("accuracy-threads", 1);
        ModelOptions options = new ModelOptions(threads, "cpu");
        String modelName = a.get("model", "class path " + DEMO_MODEL);
        System.err.printf("== accuracy, %s, %d images from %s, %d thread(s)%n", modelName, count, data, threads);
        try (ImageClassifier classifier = a.has("model") ? ImageClassifier.load(Path.of(a.get("model", "")),
                options) : ImageClassifier.loadResource(DEMO_MODEL, options)) {
            VitConfig config = classifier.config();
            info.put("model", modelName);
            info.put("describe", classifier.describe());
            info.put("backend", classifier.backendDescription());
            info.put("data", data.toString());
            info.put("images", count);
            info.put("threads", threads);
            List<Tensor> inputs = new ArrayList<>();
            for (Sample s : samples) {
                inputs.add(classifier.preprocess(RgbImage.read(s.file())));
            }
            int gh = inputs.get(0).shape().intDim(2) / config.patchSize();
            int gw = inputs.get(0).shape().intDim(3) / config.patchSize();

            List<ReductionMethod> methods = new ArrayList<>();
            methods.add(null);
            for (String inflect : a.list("tome-inflect", "0,-1")) {
                for (int r : a.integers("tome-r", "1,2,3,4,5,6,7,8,10,12")) {
                    methods.add(Reductions.parse("tome:r=" + r + ",inflect=" + inflect + ",prop_attn=true"));
                }
            }
            String extra = a.get("expedit-extra", "iters=5,window=5,tau=1,k=20,tau_r=1");
            for (int alpha : a.integers("expedit-alphas", "1,2,3")) {
                if (alpha >= config.depth()) {
                    skipped.add("expedit alpha=" + alpha + ": clustering after block " + alpha + " of "
                            + config.depth() + " leaves nothing to save");
                    continue;
                }
                for (String grid : a.list("expedit-grids", "2x2,3x3,4x4,5x5,6x6,7x7")) {
                    methods.add(Reductions.parse("expedit:alpha=" + alpha + ",grid=" + grid
                            + (extra.isBlank() ? "" : "," + extra)));
                }
            }

            // The plain forward's top-1, to check that the seam with no reduction changes nothing.
            int[] plainTop1 = new int[count];
            for (int i = 0; i < count; i++) {
                plainTop1[i] = argmax(classifier.logits(inputs.get(i)).toFloatArray());
            }
            int[] unreducedTop1 = null;
            List<AccuracyRow> rows = new ArrayList<>();
            for (ReductionMethod m : methods) {
                if (m != null) {
                    try {
                        m.check(config, gh, gw);
                    } catch (IllegalArgumentException e) {
                        skipped.add(m.spec() + ": " + e.getMessage());
                        continue;
                    }
                }
                String name = m == null ? UNREDUCED : m.spec();
                int[] top1 = new int[count];
                int[] tokens = null;
                double gflops = 0;
                double unreducedGflops = 0;
                long t0 = System.nanoTime();
                try {
                    for (int i = 0; i < count; i++) {
                        ImageClassifier.Reduced r = classifier.logits(inputs.get(i), m);
                        float[] logits = r.logits().toFloatArray();
                        if (!checkFinite(name + ", image " + i, logits, problems)) {
                            break;
                        }
                        top1[i] = argmax(logits);
                        if (tokens == null) {
                            tokens = r.tokensAfterBlock();
                            gflops = r.gflops();
                            unreducedGflops = r.unreducedGflops();
                            checkTokens(name, m, config, gh, gw, tokens, problems);
                        } else if (!Arrays.equals(tokens, r.tokensAfterBlock())) {
                            problems.add(name + ": image " + i + " leaves " + Arrays.toString(r.tokensAfterBlock())
                                    + " tokens, image 0 " + Arrays.toString(tokens));
                        }
                    }
                } catch (RuntimeException e) {
                    problems.add(name + ": " + e);
                    continue;
                }
                double ms = (System.nanoTime() - t0) / 1e6 / count;
                if (m == null) {
                    unreducedTop1 = top1;
                    int differ = 0;
                    for (int i = 0; i < count; i++) {
                        differ += top1[i] != plainTop1[i] ? 1 : 0;
                    }
                    if (differ > 0) {
                        problems.add("logits(batch, null) and logits(batch) disagree on " + differ + " images");
                    }
                    int torchAgree = 0;
                    for (int i = 0; i < count; i++) {
                        torchAgree += top1[i] == samples.get(i).torchTop1() ? 1 : 0;
                    }
                    info.put("unreduced_top1_agreement_with_pytorch", (double) torchAgree / count);
                }
                int correct = 0;
                int agree = 0;
                for (int i = 0; i < count; i++) {
                    correct += top1[i] == samples.get(i).label() ? 1 : 0;
                    agree += unreducedTop1 != null && top1[i] == unreducedTop1[i] ? 1 : 0;
                }
                AccuracyRow row = new AccuracyRow(m == null ? UNREDUCED : m instanceof ToMeSettings ? "ToMe"
                        : "Expedit", m == null ? UNREDUCED : shortName(m), m, gflops, unreducedGflops, tokens,
                        correct, agree, count, ms);
                rows.add(row);
                System.err.printf("%-58s %.4f GFLOPs  top-1 %.2f%%  agreement %.2f%%%n", name, gflops,
                        100 * row.accuracy(), 100 * row.agreement());
            }
            return rows;
        }
    }

    /** The folder's images and labels: {@code labels.tsv} as {@code tools/train_demo_classifier.py} writes it. */
    static List<Sample> samples(Path dir) throws IOException {
        Path tsv = dir.resolve("labels.tsv");
        if (!Files.isRegularFile(tsv)) {
            throw new IOException(tsv + " is missing: write the folder with /usr/bin/python3"
                    + " tools/train_demo_classifier.py --export-val " + dir);
        }
        List<Sample> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(tsv);
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            out.add(new Sample(dir.resolve(f[0]), Integer.parseInt(f[1]), f.length > 3 ? Integer.parseInt(f[3])
                    : -1));
        }
        if (out.isEmpty()) {
            throw new IOException(tsv + ": no images");
        }
        return out;
    }

    // ------------------------------------------------------------------ checks

    /** Compares traced token counts with what the method's settings imply; adds a problem when they differ. */
    private static void checkTokens(String what, ReductionMethod m, VitConfig config, int gh, int gw, int[] traced,
                                    List<String> problems) {
        int tokens = config.prefixTokens() + gh * gw;
        int[] expected;
        if (m == null) {
            expected = new int[config.depth()];
            Arrays.fill(expected, tokens);
        } else if (m instanceof ToMeSettings t) {
            expected = t.tokensAfterBlocks(config.depth(), tokens, config.prefixTokens());
        } else if (m instanceof ExpeditSettings e) {
            expected = new int[config.depth()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = i < e.blockIndex() ? tokens : config.prefixTokens() + e.clusters();
            }
        } else {
            return;
        }
        if (!Arrays.equals(expected, traced)) {
            problems.add(what + ": tokens after each block " + Arrays.toString(traced) + ", expected "
                    + Arrays.toString(expected));
        }
    }

    private static boolean checkFinite(String what, float[] logits, List<String> problems) {
        for (float v : logits) {
            if (!Float.isFinite(v)) {
                problems.add(what + ": non-finite logit " + v);
                return false;
            }
        }
        return true;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ matched GFLOPs

    /**
     * For each budget (a fraction of the unreduced model's GFLOPs), the best ToMe and the best Expedit setting at or
     * below it: highest top-1 accuracy, then highest agreement, then fewest GFLOPs.
     */
    private static List<Map<String, Object>> matched(List<AccuracyRow> rows, List<Double> budgets) {
        double full = rows.get(0).unreducedGflops();
        Comparator<AccuracyRow> better = Comparator.comparingDouble(AccuracyRow::accuracy)
                .thenComparingDouble(AccuracyRow::agreement)
                .thenComparing(Comparator.comparingDouble(AccuracyRow::gflops).reversed());
        List<Map<String, Object>> out = new ArrayList<>();
        for (double b : budgets) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("budget_fraction", b);
            m.put("budget_gflops", b * full);
            for (String method : List.of("ToMe", "Expedit")) {
                rows.stream().filter(r -> r.method().equals(method) && r.gflops() <= b * full + 1e-12)
                        .max(better).ifPresent(r -> m.put(method, rowJson(r)));
            }
            out.add(m);
        }
        return out;
    }

    // ------------------------------------------------------------------ plot

    /**
     * Two panels, one above the other: every setting, then a zoom on the settings within {@code ZOOM_POINTS}
     * percentage points of the unreduced model's top-1.
     */
    private static void plot(List<AccuracyRow> rows, int images, Path png) throws IOException {
        String title = "Demo classifier (shapes-vit, 64x64, depth 4): top-1 on " + images + " held-out images";
        ScatterPlot all = plotOf(rows, title);
        double base = 100 * rows.get(0).accuracy();
        double yLow = Math.floor(base - ZOOM_POINTS);
        double yHigh = Math.ceil(rows.stream().mapToDouble(r -> 100 * r.accuracy()).max().orElse(base) + 0.5);
        double xLow = rows.stream().filter(r -> 100 * r.accuracy() >= yLow).mapToDouble(AccuracyRow::gflops).min()
                .orElse(0);
        double xHigh = rows.get(0).unreducedGflops();
        double pad = 0.04 * (xHigh - xLow);
        ScatterPlot zoom = plotOf(rows, String.format(Locale.ROOT, "Zoom: settings within %.0f points of the"
                + " unreduced model's top-1", ZOOM_POINTS)).range(xLow - pad, xHigh + pad, yLow, yHigh);
        ScatterPlot.writePanels(png, 1400, 850, List.of(all, zoom));
    }

    /** Percentage points below the unreduced model's top-1 that the plot's zoom panel shows. */
    private static final double ZOOM_POINTS = 5;

    private static ScatterPlot plotOf(List<AccuracyRow> rows, String title) {
        Map<String, List<ScatterPlot.Point>> byFamily = new TreeMap<>(Comparator
                .comparing((String f) -> f.startsWith("ToMe") ? 0 : f.startsWith("Expedit") ? 1 : 2)
                .thenComparing(Comparator.reverseOrder()));
        for (AccuracyRow r : rows) {
            String label = r.reduction() instanceof ToMeSettings t ? "r=" + t.r()
                    : r.reduction() instanceof ExpeditSettings e ? e.clustersHigh() + "x" + e.clustersWide() : null;
            byFamily.computeIfAbsent(r.family(), k -> new ArrayList<>())
                    .add(new ScatterPlot.Point(r.gflops(), 100 * r.accuracy(), label));
        }
        ScatterPlot plot = new ScatterPlot(title, "encoder GFLOPs per image (2 x multiply-adds)",
                "top-1 accuracy (%)", "%.3f", "%.0f");
        Color[] tome = {new Color(31, 119, 180), new Color(23, 160, 190), new Color(60, 60, 200)};
        Color[] expedit = {new Color(230, 110, 0), new Color(200, 30, 40), new Color(130, 80, 180),
            new Color(120, 80, 60)};
        ScatterPlot.Marker[] expeditMarkers = {ScatterPlot.Marker.SQUARE, ScatterPlot.Marker.TRIANGLE,
            ScatterPlot.Marker.DIAMOND, ScatterPlot.Marker.SQUARE};
        int t = 0;
        int e = 0;
        for (Map.Entry<String, List<ScatterPlot.Point>> f : byFamily.entrySet()) {
            String name = f.getKey();
            if (name.startsWith("ToMe")) {
                plot.add(new ScatterPlot.Series(name, tome[t % tome.length], ScatterPlot.Marker.CIRCLE, t == 0, true,
                        f.getValue()));
                t++;
            } else if (name.startsWith("Expedit")) {
                plot.add(new ScatterPlot.Series(name, expedit[e % expedit.length],
                        expeditMarkers[e % expeditMarkers.length], true, true, f.getValue()));
                e++;
            } else {
                List<ScatterPlot.Point> p = f.getValue().stream()
                        .map(q -> new ScatterPlot.Point(q.x(), q.y(), null)).toList();
                plot.add(new ScatterPlot.Series(name, Color.BLACK, ScatterPlot.Marker.STAR, true, false, p));
            }
        }
        return plot;
    }

    // ------------------------------------------------------------------ reports

    private static Map<String, Object> machine() {
        Map<String, Object> m = Machine.describe();
        m.put("cpu_family_model", Machine.cpuFamilyModel());
        m.put("vector_isa", Machine.vectorIsa());
        return m;
    }

    private static List<Map<String, Object>> latencyJson(List<LatencyRow> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (LatencyRow r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("threads", r.threads());
            m.put("setting", r.setting());
            m.put("spec", r.spec());
            m.put("latency", r.stats().toMap());
            m.put("time_ratio_to_unreduced", Stats.round(r.timeRatio()));
            m.put("paired_time_ratio_to_unreduced", Stats.round(r.pairedRatio()));
            m.put("speedup", Stats.round(1 / r.timeRatio()));
            m.put("gflops", Stats.round(r.gflops()));
            m.put("gflops_ratio_to_unreduced", Stats.round(r.gflops() / r.unreducedGflops()));
            m.put("achieved_gflop_per_s", Stats.round(r.gflops() / (r.stats().median() / 1000)));
            m.put("tokens_after_block", r.tokensAfterBlock());
            m.put("calls_ms_in_order", Arrays.stream(r.callsMs()).map(Stats::round).toArray());
            out.add(m);
        }
        return out;
    }

    private static List<Map<String, Object>> accuracyJson(List<AccuracyRow> rows) {
        return rows.stream().map(TokenReductionBench::rowJson).toList();
    }

    private static Map<String, Object> rowJson(AccuracyRow r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", r.method());
        m.put("setting", r.setting());
        m.put("spec", r.reduction() == null ? null : r.reduction().spec());
        m.put("gflops", Math.round(r.gflops() * 1e6) / 1e6);
        m.put("gflops_ratio_to_unreduced", Stats.round(r.gflops() / r.unreducedGflops()));
        m.put("tokens_after_block", r.tokensAfterBlock());
        m.put("top1_accuracy", r.accuracy());
        m.put("top1_agreement_with_unreduced", r.agreement());
        m.put("images", r.images());
        m.put("ms_per_image", Stats.round(r.msPerImage()));
        return m;
    }

    @SuppressWarnings("unchecked")
    private static String markdown(Map<String, Object> report, Instant started, Instant ended,
                                   List<LatencyRow> latency, Map<String, Object> latencyLoad,
                                   List<AccuracyRow> accuracy, Map<String, Object> accuracyInfo,
                                   List<String> skipped, List<Map<String, Object>> matched, List<String> problems) {
        DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneOffset.UTC);
        Map<String, Object> mach = (Map<String, Object>) report.get("machine");
        StringBuilder b = new StringBuilder();
        b.append("## Token reduction on classification: ToMe and Expedit\n\n");
        b.append("- Run: ").append(time.format(started)).append(" to ")
                .append(DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneOffset.UTC).format(ended))
                .append(" UTC\n");
        b.append("- Machine: ").append(mach.get("cpu")).append(", ").append(mach.get("cpu_family_model"))
                .append(", ").append(mach.get("available_processors")).append(" processors, ")
                .append(mach.get("vector_isa")).append("; kernels: ").append(report.get("kernels"))
                .append("; ").append(mach.get("java")).append("; ").append(mach.get("os")).append('\n');
        b.append("- Threads: ").append(latency.isEmpty() ? "" : "latency " + String.join(", ", latency.stream()
                .map(r -> String.valueOf(r.threads())).distinct().toList()) + (accuracyInfo.isEmpty() ? "" : "; "))
                .append(accuracyInfo.isEmpty() ? "" : "accuracy " + accuracyInfo.get("threads")).append('\n');
        b.append("- Command: `").append(report.get("command")).append("`\n");
        if (!latencyLoad.isEmpty()) {
            b.append("- Load average (1, 5, 15 min) during the latency runs:");
            latencyLoad.forEach((k, v) -> {
                Map<String, Object> m = (Map<String, Object>) v;
                b.append(' ').append(k.equals("1_threads") ? "1 thread" : k.replace('_', ' ')).append(": start ")
                        .append(m.get("start"))
                        .append(", highest 1-min ").append(m.get("max_1min")).append(", end ").append(m.get("end"))
                        .append(" (other processes kept ").append(m.get("other_processes_busy_cores"))
                        .append(" cores busy; per block of timed calls: ")
                        .append(m.get("other_processes_busy_cores_per_block")).append(");");
            });
            b.setLength(b.length() - 1);
            b.append('\n');
        }
        if (!accuracyInfo.isEmpty()) {
            Map<String, Object> m = (Map<String, Object>) accuracyInfo.get("load_average");
            b.append("- Load average during the accuracy sweep: start ").append(m.get("start"))
                    .append(", highest 1-min ").append(m.get("max_1min")).append(", end ").append(m.get("end"))
                    .append(" (").append(accuracyInfo.get("seconds")).append(" s)\n");
        }
        b.append('\n');
        if (!latency.isEmpty()) {
            LatencyRow first = latency.get(0);
            b.append("### Latency: ViT-B/16 @224, batch 1, random weights, CPU backend\n\n");
            b.append(String.format(Locale.ROOT, "Median of %d timed calls per setting in alternating blocks;"
                    + " unreduced %.2f GFLOPs per image (encoder matmuls, 2 x multiply-adds).%n%n",
                    first.stats().samples(), first.unreducedGflops()));
            b.append("| threads | setting | median ms (p10-p90) | time / unreduced (paired) | speed-up | GFLOPs |"
                    + " GFLOPs / unreduced | tokens after last block | GFLOP/s |\n");
            b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            for (LatencyRow r : latency) {
                b.append(String.format(Locale.ROOT, "| %d | %s | %.1f (%.1f-%.1f) | %.3f (%.3f) | %.2fx | %.2f |"
                        + " %.3f | %d | %.1f |%n", r.threads(), r.setting(), r.stats().median(), r.stats().p10(),
                        r.stats().p90(), r.timeRatio(), r.pairedRatio(), 1 / r.timeRatio(), r.gflops(),
                        r.gflops() / r.unreducedGflops(), r.lastTokens(), r.gflops() / (r.stats().median() / 1000)));
            }
            b.append('\n');
        }
        if (!accuracy.isEmpty()) {
            AccuracyRow base = accuracy.get(0);
            b.append(String.format(Locale.ROOT, "### Accuracy: demo classifier, %d held-out images%n%n",
                    base.images()));
            b.append(String.format(Locale.ROOT, "%s; %s; %s. Unreduced: %.4f GFLOPs per image; its top-1 agrees"
                    + " with PyTorch's on %.1f%% of the images. GFLOPs leave out the reduction's own matching and"
                    + " clustering.%n%n", accuracyInfo.get("describe"), accuracyInfo.get("data"),
                    accuracyInfo.get("backend"), base.unreducedGflops(),
                    100 * ((Number) accuracyInfo.getOrDefault("unreduced_top1_agreement_with_pytorch", Double.NaN))
                            .doubleValue()));
            b.append("| method | setting | GFLOPs | GFLOPs / unreduced | tokens after each block | top-1 |"
                    + " agreement with unreduced |\n");
            b.append("| --- | --- | --- | --- | --- | --- | --- |\n");
            for (AccuracyRow r : accuracy) {
                b.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.3f | %s | %.1f%% | %.1f%% |%n", r.method(),
                        r.setting(), r.gflops(), r.gflops() / r.unreducedGflops(),
                        Arrays.toString(r.tokensAfterBlock()).replace(" ", ""), 100 * r.accuracy(),
                        100 * r.agreement()));
            }
            b.append('\n');
            bullets(b, "Skipped (refused by `check()` or beyond the depth):\n\n", skipped);
            b.append("### Matched GFLOPs: best setting at or below each budget\n\n");
            b.append("| budget (GFLOPs) | best ToMe | GFLOPs | top-1 | agreement | best Expedit | GFLOPs | top-1 |"
                    + " agreement |\n");
            b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
            for (Map<String, Object> m : matched) {
                b.append(String.format(Locale.ROOT, "| %.0f%% (%.4f) |", 100 * (double) m.get("budget_fraction"),
                        (double) m.get("budget_gflops")));
                for (String method : List.of("ToMe", "Expedit")) {
                    Map<String, Object> r = (Map<String, Object>) m.get(method);
                    if (r == null) {
                        b.append(" none | | | |");
                    } else {
                        b.append(String.format(Locale.ROOT, " %s | %.4f | %.1f%% | %.1f%% |", r.get("setting"),
                                (double) r.get("gflops"), 100 * (double) r.get("top1_accuracy"),
                                100 * (double) r.get("top1_agreement_with_unreduced")));
                    }
                }
                b.append('\n');
            }
            b.append('\n');
        }
        bullets(b, "### Problems\n\n", problems);
        return b.toString();
    }

    /** A heading and a bullet list, or nothing for an empty list. */
    private static void bullets(StringBuilder b, String heading, List<String> items) {
        if (!items.isEmpty()) {
            b.append(heading);
            for (String s : items) {
                b.append("- ").append(s).append('\n');
            }
            b.append('\n');
        }
    }

    // ------------------------------------------------------------------ names

    /** {@code "r=8"} for the latency table (inflect 0 throughout there). */
    private static String label(ReductionMethod m) {
        return m instanceof ToMeSettings t ? "ToMe r=" + t.r() : m.spec();
    }

    /** {@code "r=4"}, {@code "r=4, inflect -1"}, {@code "α=2, 4x4"}. */
    private static String shortName(ReductionMethod m) {
        if (m instanceof ToMeSettings t) {
            return "r=" + t.r() + (t.inflect() == 0 ? "" : ", inflect " + inflect(t.inflect()))
                    + (t.propAttn() ? "" : ", no prop. attn");
        }
        if (m instanceof ExpeditSettings e) {
            return "\u03b1=" + e.alpha() + ", " + e.clustersHigh() + "x" + e.clustersWide();
        }
        return m.spec();
    }

    private static String inflect(double v) {
        return v == Math.rint(v) ? Integer.toString((int) v) : Double.toString(v);
    }
}
