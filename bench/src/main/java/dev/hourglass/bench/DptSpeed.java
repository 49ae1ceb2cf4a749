package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.Depth;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * Latency of DPT monocular depth (random weights) without and with Expedit's token clustering, on one image, for each
 * thread count; with the GFLOPs of both and how closely Expedit's depth follows the plain model's. Writes one JSON
 * document.
 *
 * <pre>
 * bench/run-depth.sh speed [--preset dpt-large | dpt-hybrid | tiny] [--threads 2,1] [--warmup 1] [--iterations 6]
 *     [--blocks 3] [--expedit alpha=10,grid=16x16] [--image photo.jpg] [--size 384]
 *     [--model bench-out/depth-dpt-large-random-seed1234.safetensors] [--seed 1234] [--wait-idle SECONDS]
 *     [--out bench-out/depth-speed.json] [--no-peak]
 * bench/run-depth.sh speed --prepare      (only write the model file)
 * </pre>
 *
 * <p>{@code dpt-large} is isl-org/DPT's DPT-Large at 384x384: ViT-L/16 (24 blocks of width 1024, 16 heads, MLP 4096,
 * LayerNorm eps 1e-6, the position embedding resized bilinearly without antialias), taps after blocks 5, 11, 17, 23
 * (0-based), readout {@code project}, reassembled widths 256, 512, 1024, 1024, fusion width 256, no BatchNorm.
 * {@code dpt-hybrid} is DPT-Hybrid (ViT-B/16 after a ResNet-50 stem, taps 0, 1, 8, 11, widths 256, 512, 768, 768);
 * its random ResNet-50 stem comes from {@link RandomDptWeights}.
 * {@code tiny} is the DPT-Large layout at toy widths, for trying the harness in seconds; its numbers mean nothing.
 * The weights ({@link RandomDptWeights}) are written once as an F32 Hourglass file and reused while its
 * configuration, generator and seed match.
 *
 * <p>Expedit runs as Expedit-DPT runs it: clustering after block {@code alpha} (counted from 1; Expedit-DPT's
 * {@code -l L} is {@code alpha = L + 1}), each patch taking its cluster's features back at every later tap (the
 * hard-label gather of the official code), clustering temperature 1.0 (Expedit-DPT's parser default, not
 * Segmenter's 0.02). The default setting per preset is in {@link #defaultExpedit}; {@code --expedit} changes the keys
 * it names and keeps the preset's others.
 *
 * <p>Without {@code --image} the input is a synthetic {@code size x size} picture (textured regions, seeded;
 * {@link SegmenterSpeed#syntheticImage}) through run_monodepth's preparation at its own size (mean = std = 0.5).
 * Both settings run on the same {@link DepthEstimator}: warm-up calls (alternating), then {@code --blocks} blocks of
 * timed calls back to back, the settings' order alternating from block to block so that drift of the machine affects
 * both alike.
 */
public final class DptSpeed {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String[] SETTINGS = {"plain", "expedit"};

    private DptSpeed() {
    }

    /** A preset this engine cannot run, said in one line. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (Refused e) {
            System.err.println("run-depth.sh speed: " + e.getMessage());
            System.exit(2);
        }
    }

    /** The harness; returns the report's JSON (also printed and written to {@code --out}), null with --prepare. */
    static String run(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            throw new Refused(e.getMessage());
        }
        Args a = o.args();
        String preset = o.preset();
        ModelConfig config = o.config();
        long seed = o.seed();
        Path model = o.model();
        int warmup = o.warmup();
        int iterations = o.iterations();
        int blocks = o.blocks();
        ExpeditSettings expedit = o.expedit();
        double waitIdle = o.waitIdle();
        checkRunnable(preset, config, seed);
        System.err.printf("model %s (%s)%n", model, preset);
        long t0 = System.nanoTime();
        boolean written = RandomDptWeights.ensureFile(model, config, seed);
        System.err.printf("%s in %.1f s%n", written ? "wrote it" : "reusing it", (System.nanoTime() - t0) / 1e9);
        if (a.has("prepare")) {
            return null;
        }

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "DPT depth " + preset + ", random weights, plain vs Expedit");
        report.put("date", Instant.now().toString());
        report.put("machine", Machine.describe());
        report.put("kernels", Kernels.description());
        report.put("load_average_at_start", Machine.loadAverage());
        if (waitIdle > 0) {
            Machine.waitForIdle(waitIdle, 0.15, 4);
        }
        Map<String, Object> peak = new LinkedHashMap<>();
        // The peak needs the Vector API; --no-peak skips it (it takes seconds, and longer before the JIT is warm).
        boolean measurePeak = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() && !a.has("no-peak");
        if (measurePeak) {
            peak.put("vector_lanes", FmaPeak.lanes());
            peak.put("gflops_1_thread", Stats.round(FmaPeak.singleThread()));
        } else {
            peak.put("not_measured", a.has("no-peak") ? "--no-peak" : "the JVM runs without jdk.incubator.vector");
        }
        report.put("fma_peak", peak);

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("preset", preset);
        m.put("file", model.toString());
        m.put("file_mb", Stats.round(Files.size(model) / 1048576.0));
        m.put("written_this_run", written);
        m.put("seed", seed);
        m.put("encoder", ModelConfig.encoderJson(config.encoder()));
        m.put("decoder", config.decoder().toJson());
        m.put("parameters", RandomDptWeights.forConfig(config, seed).parameterCount());
        report.put("model", m);
        report.put("expedit", expedit.toString());
        report.put("expedit_note", "clustering after block alpha (from 1; Expedit-DPT's -l is alpha - 1), patches"
                + " gathered back by hard label at every later tap; tau " + expedit.tau() + " as Expedit-DPT's parser"
                + " default (Segmenter's is 0.02); k and tau_r unused (no token reconstruction layer in DPT)");
        report.put("warmup_per_setting", warmup);
        report.put("iterations_per_setting", iterations);
        report.put("blocks", blocks);

        List<Map<String, Object>> runs = new ArrayList<>();
        for (int threads : o.threadCounts()) {
            System.err.printf("== %d thread(s)%n", threads);
            String peakKey = threads == 1 ? "gflops_1_thread" : "gflops_" + threads + "_threads";
            if (measurePeak && !peak.containsKey(peakKey)) {
                if (waitIdle > 0) {
                    Machine.waitForIdle(waitIdle, 0.15, 4);
                }
                peak.put(peakKey, Stats.round(FmaPeak.threads(threads)));
            }
            double peakT = measurePeak ? (double) peak.get(peakKey) : Double.NaN;
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("threads", threads);
            long l0 = System.nanoTime();
            try (DepthEstimator estimator = DepthEstimator.load(model, new ModelOptions(threads))) {
                run.put("load_ms", Stats.round((System.nanoTime() - l0) / 1e6));
                run.put("backend", estimator.backendDescription());
                Tensor input = input(a, estimator, seed, report);
                run.put("load_average_before", Machine.loadAverage());
                Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
                Timed timed = interleave(estimator, input, expedit, warmup, iterations, blocks, waitIdle);
                Machine.CpuTimes cpu1 = Machine.CpuTimes.now();
                run.put("load_average_after", Machine.loadAverage());
                run.put("other_processes_busy_cores", Stats.round(cpu1.othersBusyCores(cpu0)));

                Depth plain = timed.last()[0];
                Depth fast = timed.last()[1];
                if (!report.containsKey("flops")) {
                    report.put("flops", flops(estimator.encoderConfig(), input, expedit, plain, fast));
                }
                Stats base = Stats.of(timed.ms()[0]);
                Stats exp = Stats.of(timed.ms()[1]);
                run.put("plain", latency(base, plain.unreducedGflops(), peakT));
                run.put("expedit", latency(exp, fast.gflops(), peakT));
                run.put("ratio_plain_to_expedit", Stats.round(base.median() / exp.median()));
                run.put("ratio_plain_to_expedit_paired_median",
                        Stats.round(Alternating.pairedRatio(timed.ms()[0], timed.ms()[1])));
                run.put("latency_reduction", Stats.round(1 - exp.median() / base.median()));
                Agreement agree = agreement(plain.network(), fast.network());
                run.put("depth_agreement_with_plain", agree.toMap());
                for (int s = 0; s < 2; s++) {
                    run.put(SETTINGS[s] + "_ms_in_call_order", rounded(timed.ms()[s]));
                }
                for (int s = 0; s < 2; s++) {
                    run.put(SETTINGS[s] + "_other_busy_cores_in_call_order", rounded(timed.others()[s]));
                }
                run.put("seconds_waited_for_an_idle_machine", Stats.round(timed.waitedSeconds()));
                System.err.printf("plain median %.1f ms (min %.1f, max %.1f); expedit median %.1f ms (min %.1f,"
                                + " max %.1f); ratio %.3f; %.2f -> %.2f GFLOPs; depth correlation %.4f%n",
                        base.median(), base.min(), base.max(), exp.median(), exp.min(), exp.max(),
                        base.median() / exp.median(), plain.unreducedGflops(), fast.gflops(), agree.correlation());
            }
            runs.add(run);
        }
        report.put("runs", runs);
        report.put("load_average_at_end", Machine.loadAverage());
        String text = JSON.writeValueAsString(report);
        System.out.println(text);
        Args.write(o.out(), text);
        System.err.println("wrote " + o.out());
        return text;
    }

    /** The command line, checked before anything runs. */
    private record Options(Args args, String preset, ModelConfig config, long seed, Path model,
                           List<Integer> threadCounts, int warmup, int iterations, int blocks, ExpeditSettings expedit,
                           Path out, double waitIdle) {
        /** @throws IllegalArgumentException naming the option that cannot be used */
        static Options parse(String[] args) {
            Args a = Args.parse(args, Set.of("prepare", "no-peak"), Set.of("prepare", "no-peak", "preset", "threads",
                    "warmup", "iterations", "blocks", "expedit", "image", "size", "model", "seed", "out",
                    "wait-idle"));
            String preset = a.get("preset", "dpt-large");
            long seed = Long.parseLong(a.get("seed", "1234"));
            Path model = Path.of(a.get("model", "bench-out/depth-" + preset + "-random-seed" + seed
                    + ".safetensors"));
            List<Integer> threadCounts = a.integers("threads", "2,1");
            int warmup = a.integer("warmup", 1);
            int iterations = a.integer("iterations", 6);
            if (iterations < 1 || warmup < 0 || threadCounts.isEmpty() || threadCounts.stream().anyMatch(t -> t < 1)) {
                throw new IllegalArgumentException("--iterations must be at least 1, --warmup at least 0, and"
                        + " --threads positive thread counts");
            }
            int blocks = Math.max(1, Math.min(a.integer("blocks", 3), iterations));
            ModelConfig config = DptSpeed.preset(preset);
            ExpeditSettings expedit = DptSpeed.expedit(a.get("expedit", ""), defaultExpedit(preset));
            if (!a.has("image")) {
                // The synthetic picture's token grid is known now: refuse a setting it cannot take before any work.
                VitConfig e = config.encoder();
                int grid = a.integer("size", e.imageHeight()) / e.patchSize();
                expedit.checkDense(e, grid, grid);
            }
            return new Options(a, preset, config, seed, model, threadCounts, warmup, iterations, blocks, expedit,
                    Path.of(a.get("out", "bench-out/depth-speed.json")), Double.parseDouble(a.get("wait-idle", "0")));
        }
    }

    /** The configurations this harness knows. */
    static ModelConfig preset(String name) {
        return switch (name) {
            // isl-org/DPT dpt_large-midas: vitl16_384, hooks [5, 11, 17, 23], readout project, features 256.
            case "dpt-large" -> RandomDptWeights.dptConfig(vit(1024, 24, 16, 4096),
                    DptConfig.depth(new int[] {5, 11, 17, 23}, DptConfig.Readout.PROJECT,
                            new int[] {256, 512, 1024, 1024}, 256, false),
                    "DPT-Large (ViT-L/16 at 384x384) depth, random weights");
            // isl-org/DPT dpt_hybrid-midas: vitb_rn50_384, hooks [0, 1, 8, 11] (the first two are ResNet stages).
            case "dpt-hybrid" -> RandomDptWeights.dptConfig(vit(768, 12, 12, 3072),
                    new DptConfig(new int[] {0, 1, 8, 11}, DptConfig.Readout.PROJECT, new int[] {256, 512, 768, 768},
                            256, new double[] {4, 2, 1, 0.5}, DptConfig.Head.DEPTH, false,
                            DptConfig.Backbone.HYBRID, 0),
                    "DPT-Hybrid (ResNet-50 stem, ViT-B/16 at 384x384) depth, random weights");
            case "tiny" -> RandomDptWeights.dptConfig(vit(64, 4, 2, 128),
                    DptConfig.depth(new int[] {0, 1, 2, 3}, DptConfig.Readout.PROJECT, new int[] {16, 32, 64, 64},
                            32, false),
                    "DPT-Large's layout at toy widths (384x384), random weights (harness check)");
            default -> throw new IllegalArgumentException("--preset " + name
                    + ": known presets are dpt-large, dpt-hybrid, tiny");
        };
    }

    /** A ViT/16 at 384x384 as DPT builds it: class token, qkv bias, eps 1e-6, bilinear position resize. */
    private static VitConfig vit(int width, int depth, int heads, int mlp) {
        return new VitConfig(384, 384, 16, 3, width, depth, heads, mlp, true, true, false, 0, 1e-6f,
                Resize.Mode.BILINEAR, false);
    }

    /**
     * A preset's Expedit: for DPT-Hybrid Expedit-DPT's KITTI setting (clustering after 0-based block 4 = alpha 5,
     * 16x16 clusters); for DPT-Large, which the official code has no setting for, the same relative depth carried to
     * 24 blocks (alpha 10) and the same grid; iterations 5, window 5, tau 1.0 (Expedit-DPT's parser defaults).
     */
    static ExpeditSettings defaultExpedit(String preset) {
        int alpha = switch (preset) {
            case "dpt-hybrid" -> 5;
            case "tiny" -> 2;
            default -> 10;
        };
        return new ExpeditSettings(alpha, 16, 16, 5, 5, 1.0f, 20, 1.0f);
    }

    /** {@code spec}'s keys over {@code defaults} (ExpeditSettings.parse alone would fill in Segmenter's values). */
    static ExpeditSettings expedit(String spec, ExpeditSettings defaults) {
        Map<String, String> keys = new LinkedHashMap<>();
        defaults.settings().forEach((k, v) -> keys.put(k, String.valueOf(v)));
        for (String part : spec.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--expedit " + spec + ": '" + part.strip() + "' is not key=value");
            }
            keys.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
        }
        StringBuilder merged = new StringBuilder();
        keys.forEach((k, v) -> merged.append(merged.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return ExpeditSettings.parse(merged.toString());
    }

    /**
     * Refuses, in one line, a preset the engine cannot run yet, before any file is written: a backbone other than the
     * plain ViT is tried on the random weights themselves (DptModel checks the backbone before it reads anything).
     */
    private static void checkRunnable(String preset, ModelConfig config, long seed) throws Refused, IOException {
        DptConfig dpt = config.decoder(DptConfig.class);
        if (dpt.backbone() == DptConfig.Backbone.VIT) {
            return;
        }
        try (CpuBackend backend = new CpuBackend(1);
             DptModel probe = DptModel.create(config.encoder(), dpt, RandomDptWeights.forConfig(config, seed),
                     backend)) {
            System.err.println("preset " + preset + ": " + probe);
        } catch (IOException e) {
            throw new Refused("--preset " + preset + ": DptModel refuses it: " + e.getMessage());
        }
    }

    /** The network input: a real picture through the model's preparation, or the synthetic one at its own size. */
    private static Tensor input(Args a, DepthEstimator estimator, long seed, Map<String, Object> report)
            throws IOException {
        DptPreprocessing.Prepared p;
        String what;
        if (a.has("image")) {
            Path image = Path.of(a.get("image", ""));
            p = estimator.preprocessing().apply(RgbImage.read(image));
            what = image.toString();
        } else {
            int size = a.integer("size", estimator.encoderConfig().imageHeight());
            p = DptPreprocessing.monodepth(size, size).apply(SegmenterSpeed.syntheticImage(size, size, seed));
            what = "synthetic " + size + "x" + size + " (seed " + seed + "), mean = std = 0.5";
        }
        report.put("image", what + ", network input " + p.width() + "x" + p.height());
        return Tensor.ofFloats(p.pixels(), 1, 3, p.height(), p.width());
    }

    private static Map<String, Object> flops(VitConfig enc, Tensor input, ExpeditSettings expedit, Depth plain,
                                             Depth fast) {
        int h = input.shape().intDim(2);
        int w = input.shape().intDim(3);
        int patches = (h / enc.patchSize()) * (w / enc.patchSize());
        int[] tokens = plain.tokensAfterBlock();
        double blocksPlain = ReductionTrace.blockGflops(enc, tokens, tokens);
        double rest = plain.unreducedGflops() - blocksPlain;
        double clustering = SegmenterFlops.clustering(patches, enc.embedDim(), expedit, true) / 1e9;
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("network_input", w + "x" + h);
        f.put("tokens_before_clustering", enc.prefixTokens() + patches);
        f.put("tokens_after_clustering", enc.prefixTokens() + expedit.clusters());
        f.put("plain_tokens_after_block", plain.tokensAfterBlock());
        f.put("expedit_tokens_after_block", fast.tokensAfterBlock());
        f.put("plain_gflops", Stats.round(plain.unreducedGflops()));
        f.put("expedit_gflops", Stats.round(fast.gflops()));
        f.put("plain_gmacs", Stats.round(plain.unreducedGflops() / 2));
        f.put("expedit_gmacs", Stats.round(fast.gflops() / 2));
        f.put("reduction", Stats.round(1 - fast.gflops() / plain.unreducedGflops()));
        Map<String, Object> parts = new LinkedHashMap<>();
        parts.put("blocks_plain", Stats.round(blocksPlain));
        parts.put("blocks_expedit", Stats.round(fast.gflops() - rest));
        parts.put("embedding_neck_and_head", Stats.round(rest));
        f.put("gflops_by_part", parts);
        f.put("expedit_clustering_gflops_not_in_the_totals", Stats.round(clustering));
        f.put("reduction_with_clustering", Stats.round(1 - (fast.gflops() + clustering) / plain.unreducedGflops()));
        f.put("counted", "2 x multiply-adds of the matrix products and convolutions (DepthEstimator's Depth.gflops:"
                + " the blocks at their traced token counts, blocks after the last tap not run, plus the patch"
                + " embedding (a hybrid's whole ResNet stem), the neck and the head); the clustering (iters x 2 x 2 N window^2 D, an upper bound, plus the hard labels' N x M x D"
                + " pass) is beside it");
        f.put("paper", paper());
        return f;
    }

    /** Expedit-DPT's README (ALGORITHMS.md §1.6): DPT-Hybrid only. */
    private static Map<String, Object> paper() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("source", "Expedit-DPT README (Liang et al. 2022) as ALGORITHMS.md 1.6 quotes it: DPT-Hybrid,"
                + " \"GFLOPs\" by torchprofile (a multiply-add counter: compare with gmacs) at each dataset's"
                + " evaluation input (the two baselines differ, so not one fixed size): compare reductions, not"
                + " totals, with a 384x384 count. Its alpha is Expedit-DPT's 0-based -l, alpha + 1 here. The official"
                + " code has no DPT-Large setting.");
        p.put("kitti", List.of(row("baseline", 0, "", 810.0, 810.0), row("expedit", 6, "28x28", 723.4, 810.0),
                row("expedit", 4, "20x20", 631.8, 810.0), row("expedit", 4, "16x16", 613.6, 810.0)));
        p.put("nyu_v2", List.of(row("baseline", 0, "", 560.2, 560.2), row("expedit", 6, "24x24", 504.2, 560.2),
                row("expedit", 4, "16x16", 439.2, 560.2), row("expedit", 2, "14x14", 395.0, 560.2)));
        return p;
    }

    private static Map<String, Object> row(String setting, int paperAlpha, String grid, double gflops,
                                           double baseline) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("setting", setting);
        if (!grid.isEmpty()) {
            r.put("paper_alpha", paperAlpha);
            r.put("alpha_here", paperAlpha + 1);
            r.put("grid", grid);
        }
        r.put("gflops", gflops);
        r.put("reduction", Stats.round(1 - gflops / baseline));
        return r;
    }

    private static Map<String, Object> latency(Stats s, double gflops, double peak) {
        Map<String, Object> m = new LinkedHashMap<>(s.toMap());
        double rate = gflops / (s.median() / 1000);
        m.put("gflops", Stats.round(gflops));
        m.put("gflops_per_s", Stats.round(rate));
        m.put("share_of_fma_peak", Double.isNaN(peak) ? null : Stats.round(rate / peak));
        return m;
    }

    /** Per setting (plain, Expedit): call times, other processes' busy cores per call, the last result. */
    private record Timed(double[][] ms, double[][] others, Depth[] last, double waitedSeconds) {
    }

    /** {@link Alternating#watched} over the plain and the Expedit setting. */
    private static Timed interleave(DepthEstimator estimator, Tensor input, ExpeditSettings expedit, int warmup,
                                    int iterations, int blocks, double waitIdle) {
        double[] waited = {0};
        List<Alternating.Watched<Depth>> w = Alternating.watched(List.of(SETTINGS),
                List.<Supplier<Depth>>of(() -> estimator.estimate(input, null),
                        () -> estimator.estimate(input, expedit)),
                warmup, iterations, blocks, waitIdle, (s, i, r) -> { }, waited);
        return new Timed(new double[][] {w.get(0).ms(), w.get(1).ms()},
                new double[][] {w.get(0).othersBusyCores(), w.get(1).othersBusyCores()},
                new Depth[] {w.get(0).last(), w.get(1).last()}, waited[0]);
    }

    /**
     * How closely one depth map follows another, both relative inverse depth: Pearson's correlation, the RMSE of the
     * difference over the RMS of {@code plain}, and the same after the least-squares scale and shift of {@code other}
     * onto {@code plain} (MiDaS-style evaluation aligns scale and shift, since the output's scale is arbitrary).
     */
    record Agreement(double correlation, double relativeRmse, double alignedRelativeRmse, double scale, double shift,
                     double plainZeroShare) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("correlation", round6(correlation));
            m.put("relative_rmse", round6(relativeRmse));
            m.put("relative_rmse_after_scale_and_shift", round6(alignedRelativeRmse));
            m.put("scale", round6(scale));
            m.put("shift", round6(shift));
            m.put("plain_pixels_at_zero", round6(plainZeroShare));
            return m;
        }

        private static Double round6(double v) {
            return Double.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null;
        }
    }

    static Agreement agreement(float[] plain, float[] other) {
        if (plain.length != other.length || plain.length == 0) {
            throw new IllegalArgumentException("depth maps of " + plain.length + " and " + other.length + " pixels");
        }
        int n = plain.length;
        double mp = 0;
        double mo = 0;
        int zeros = 0;
        for (int i = 0; i < n; i++) {
            mp += plain[i];
            mo += other[i];
            if (plain[i] == 0) {
                zeros++;
            }
        }
        mp /= n;
        mo /= n;
        double vp = 0;
        double vo = 0;
        double cov = 0;
        double sq = 0;
        double diff = 0;
        for (int i = 0; i < n; i++) {
            double p = plain[i] - mp;
            double o = other[i] - mo;
            vp += p * p;
            vo += o * o;
            cov += p * o;
            sq += (double) plain[i] * plain[i];
            double d = (double) other[i] - plain[i];
            diff += d * d;
        }
        double scale = vo > 0 ? cov / vo : 0;
        double shift = mp - scale * mo;
        double residual = 0;
        for (int i = 0; i < n; i++) {
            double d = scale * other[i] + shift - plain[i];
            residual += d * d;
        }
        double rms = Math.sqrt(sq / n);
        return new Agreement(cov / Math.sqrt(vp * vo), Math.sqrt(diff / n) / rms, Math.sqrt(residual / n) / rms,
                scale, shift, (double) zeros / n);
    }

    private static List<Double> rounded(double[] v) {
        return Arrays.stream(v).map(Stats::round).boxed().toList();
    }
}
