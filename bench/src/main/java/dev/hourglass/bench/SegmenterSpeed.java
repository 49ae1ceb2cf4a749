package dev.hourglass.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.kernels.Kernels;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * Latency of Segmenter ViT-L/16 with its mask transformer at ADE20K's shapes (640x640 window, 150 classes), random
 * weights, without and with Expedit ({@link ExpeditSettings#SEGMENTER_ADE20K} unless {@code --expedit} says
 * otherwise), on one image, for each thread count; with the analytic FLOP count of both (see
 * {@link SegmenterFlops}) and how many pixels keep the plain model's label under Expedit. Writes one JSON document.
 *
 * <pre>
 * bench/run-segmenter.sh speed [--threads 2,1] [--warmup 1] [--iterations 6] [--blocks 3]
 *     [--expedit alpha=10,grid=28x28] [--image photo.jpg]
 *     [--model bench-out/segmenter-vit-l-random-seed1234.safetensors]
 *     [--preset vit-l | tiny] [--seed 1234] [--size 640] [--wait-idle SECONDS]
 *     [--out bench-out/segmenter-speed.json]
 * bench/run-segmenter.sh speed --prepare      (only write the model file)
 * </pre>
 *
 * <p>The model file is written on the first run (1.3 GB of F32 for ViT-L: 24 blocks of width 1024, 16 heads, MLP
 * 4096, LayerNorm eps 1e-6 as Expedit's mmseg configuration; decoder 2 layers of width 1024, 16 heads, MLP 4096,
 * eps 1e-5) and reused while its configuration, generator and seed match. {@code --preset tiny} is the same layout
 * with a ViT-Ti encoder and decoder (width 192), for trying the harness out in seconds; its numbers mean nothing.
 *
 * <p>Without {@code --image} the input is a synthetic 640x640 picture (textured regions, seeded), normalised as the
 * model says. Both settings run on the same {@link SemanticSegmenter}: warm-up calls (alternating), then
 * {@code --blocks} blocks of timed calls back to back, the settings' order alternating from block to block so that
 * drift of the machine affects both alike.
 */
public final class SegmenterSpeed {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Expedit's paper, Table 1, Segmenter ViT-L/16 on ADE20K: multiply-adds ("GFLOPs") per image. */
    private static final double PAPER_BASELINE_GMACS = 658.98;
    private static final double PAPER_EXPEDIT_GMACS = 443.84;

    private SegmenterSpeed() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args, Set.of("prepare"), Set.of("prepare", "threads", "warmup", "iterations", "blocks",
                "expedit", "image", "model", "preset", "seed", "out", "size", "wait-idle"));
        String preset = a.get("preset", "vit-l");
        ModelConfig config = preset(preset);
        long seed = Long.parseLong(a.get("seed", "1234"));
        Path model = Path.of(a.get("model", "bench-out/segmenter-" + preset + "-random-seed" + seed
                + ".safetensors"));
        List<Integer> threadCounts = a.integers("threads", "2,1");
        int warmup = a.integer("warmup", 1);
        int iterations = a.integer("iterations", 6);
        int blocks = Math.max(1, Math.min(a.integer("blocks", 3), iterations));
        ExpeditSettings expedit = a.has("expedit") ? ExpeditSettings.parse(a.get("expedit", ""))
                : ExpeditSettings.SEGMENTER_ADE20K;
        Path out = Path.of(a.get("out", "bench-out/segmenter-speed.json"));
        double waitIdle = Double.parseDouble(a.get("wait-idle", "0"));

        System.err.printf("model %s (%s)%n", model, preset);
        long t0 = System.nanoTime();
        boolean written = RandomSegmenterWeights.ensureFile(model, config, seed);
        System.err.printf("%s in %.1f s%n", written ? "wrote it" : "reusing it", (System.nanoTime() - t0) / 1e9);
        if (a.has("prepare")) {
            return;
        }

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "Segmenter " + preset + " mask transformer, random weights, plain vs Expedit");
        report.put("date", Instant.now().toString());
        report.put("machine", Machine.describe());
        report.put("kernels", Kernels.description());
        report.put("load_average_at_start", Machine.loadAverage());
        report.put("other_processes_named_train_demo_segmenter", Machine.processesMatching("train_demo_segmenter"));
        if (waitIdle > 0) {
            Machine.waitForIdle(waitIdle, 0.15, 4);
        }
        Map<String, Object> peak = new LinkedHashMap<>();
        peak.put("vector_lanes", FmaPeak.lanes());
        double peak1 = FmaPeak.singleThread();
        peak.put("gflops_1_thread", Stats.round(peak1));
        report.put("fma_peak", peak);

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", model.toString());
        m.put("file_mb", Stats.round(Files.size(model) / 1048576.0));
        m.put("written_this_run", written);
        m.put("seed", seed);
        m.put("encoder", ModelConfig.encoderJson(config.encoder()));
        m.put("decoder", config.decoder());
        m.put("parameters", RandomSegmenterWeights.forConfig(config, seed).parameterCount());
        report.put("model", m);
        report.put("expedit", expedit.toString());
        report.put("warmup_per_setting", warmup);
        report.put("iterations_per_setting", iterations);
        report.put("blocks", blocks);

        List<Map<String, Object>> runs = new ArrayList<>();
        Map<String, Object> flopsReport = null;
        for (int threads : threadCounts) {
            System.err.printf("== %d thread(s)%n", threads);
            if (threads > 1 && !peak.containsKey("gflops_" + threads + "_threads")) {
                if (waitIdle > 0) {
                    Machine.waitForIdle(waitIdle, 0.15, 4);
                }
                peak.put("gflops_" + threads + "_threads", Stats.round(FmaPeak.threads(threads)));
            }
            double peakT = threads == 1 ? peak1 : (double) peak.get("gflops_" + threads + "_threads");
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("threads", threads);
            long l0 = System.nanoTime();
            try (SemanticSegmenter segmenter = SemanticSegmenter.load(model, new ModelOptions(threads))) {
                run.put("load_ms", Stats.round((System.nanoTime() - l0) / 1e6));
                run.put("backend", segmenter.backendDescription());
                Tensor input;
                String imageSource;
                if (a.has("image")) {
                    Path image = Path.of(a.get("image", ""));
                    input = segmenter.normalize(RgbImage.read(image));
                    imageSource = image.toString();
                } else {
                    int size = a.integer("size", segmenter.windowSize());
                    input = segmenter.normalize(syntheticImage(size, size, seed));
                    imageSource = "synthetic " + size + "x" + size + " (seed " + seed + ")";
                }
                report.put("image", imageSource + ", " + input.shape());
                run.put("load_average_before", Machine.loadAverage());
                Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
                Timed timed = interleave(segmenter, input, expedit, warmup, iterations, blocks, waitIdle);
                Machine.CpuTimes cpu1 = Machine.CpuTimes.now();
                run.put("load_average_after", Machine.loadAverage());
                run.put("other_processes_busy_cores", Stats.round(cpu1.othersBusyCores(cpu0)));

                int windows = timed.lastBaseline.windows();
                SegmenterFlops.Decoder dec = SegmenterFlops.Decoder.of(config.decoder(SegmenterDecoderConfig.class));
                SegmenterFlops.Count baseFlops = SegmenterFlops.window(segmenter.encoderConfig(),
                        segmenter.windowSize(), dec, null, false).times(windows);
                SegmenterFlops.Count expFlops = SegmenterFlops.window(segmenter.encoderConfig(),
                        segmenter.windowSize(), dec, expedit, false).times(windows);
                if (flopsReport == null) {
                    flopsReport = flops(baseFlops, expFlops, windows, segmenter.encoderConfig(), expedit,
                            segmenter.windowSize());
                    report.put("flops", flopsReport);
                }
                Stats base = Stats.of(timed.baseline);
                Stats exp = Stats.of(timed.expedit);
                run.put("baseline", latency(base, timed.baselineForward, baseFlops, peakT));
                run.put("expedit", latency(exp, timed.expeditForward, expFlops, peakT));
                run.put("ratio_baseline_to_expedit", Stats.round(base.median() / exp.median()));
                run.put("ratio_baseline_to_expedit_paired_median", Stats.round(pairedRatio(timed.baseline,
                        timed.expedit)));
                run.put("latency_reduction", Stats.round(1 - exp.median() / base.median()));
                run.put("label_agreement_with_baseline", Stats.round(agreement(timed.lastBaseline,
                        timed.lastExpedit) * 1000) / 1000.0);
                double upsampling = upsamplingMs(segmenter) * windows;
                run.put("mask_upsampling_ms", Stats.round(upsampling));
                // The model alone (encoder, clustering, decoder, reconstruction): the forward time less the resize.
                double baseModel = Stats.of(timed.baselineForward).median() - upsampling;
                double expModel = Stats.of(timed.expeditForward).median() - upsampling;
                Map<String, Object> modelOnly = new LinkedHashMap<>();
                modelOnly.put("baseline", Stats.round(baseModel));
                modelOnly.put("expedit", Stats.round(expModel));
                run.put("model_only_median_ms", modelOnly);
                run.put("ratio_baseline_to_expedit_model_only", Stats.round(baseModel / expModel));
                run.put("baseline_ms_in_call_order", rounded(timed.baseline));
                run.put("expedit_ms_in_call_order", rounded(timed.expedit));
                run.put("baseline_other_busy_cores_in_call_order", rounded(timed.baselineOthers));
                run.put("expedit_other_busy_cores_in_call_order", rounded(timed.expeditOthers));
                run.put("seconds_waited_for_an_idle_machine", Stats.round(timed.waitedSeconds));
                System.err.printf("baseline median %.1f ms (min %.1f, max %.1f); expedit median %.1f ms (min %.1f,"
                                + " max %.1f); ratio %.3f; labels agreeing %.4f%n", base.median(), base.min(),
                        base.max(), exp.median(), exp.min(), exp.max(), base.median() / exp.median(),
                        agreement(timed.lastBaseline, timed.lastExpedit));
            }
            runs.add(run);
        }
        report.put("runs", runs);
        report.put("load_average_at_end", Machine.loadAverage());
        String text = JSON.writeValueAsString(report);
        System.out.println(text);
        Args.write(out, text);
        System.err.println("wrote " + out);
    }

    /** The configurations this harness knows. */
    static ModelConfig preset(String name) {
        return switch (name) {
            // Segmenter ViT-L/16 Mask, ADE20K (Expedit's mmseg config: LN eps 1e-6 in the backbone).
            case "vit-l" -> RandomSegmenterWeights.segmenterConfig(
                    new VitConfig(640, 640, 16, 3, 1024, 24, 16, 4096, true, true, false, 0, 1e-6f,
                            Resize.Mode.BILINEAR, false),
                    150, 2, 1024, 16, 4096, 1e-5, 640, 512,
                    "Segmenter ViT-L/16 mask transformer, ADE20K shapes, random weights");
            case "tiny" -> RandomSegmenterWeights.segmenterConfig(
                    new VitConfig(640, 640, 16, 3, 192, 12, 3, 768, true, true, false, 0, 1e-6f,
                            Resize.Mode.BILINEAR, false),
                    150, 2, 192, 3, 768, 1e-5, 640, 512,
                    "Segmenter ViT-Ti/16 mask transformer at ADE20K shapes, random weights (harness check)");
            default -> throw new IllegalArgumentException("--preset " + name + ": known presets are vit-l, tiny");
        };
    }

    private static Map<String, Object> flops(SegmenterFlops.Count base, SegmenterFlops.Count exp, int windows,
                                             VitConfig enc, ExpeditSettings expedit, int window) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("windows_per_image", windows);
        int grid = (window + enc.patchSize() - 1) / enc.patchSize();
        f.put("encoder_tokens_before_clustering", grid * grid + enc.prefixTokens());
        f.put("encoder_tokens_after_clustering", expedit.clusters() + enc.prefixTokens());
        f.put("baseline", base.toMap());
        f.put("expedit", exp.toMap());
        f.put("reduction", Stats.round(1 - exp.total() / base.total()));
        // The original clustering (Expedit's code) computes every token's distance to every centre and masks it:
        // 2 N M D per round for the distances and as much for the means, where Hourglass computes the window only.
        double n = (double) grid * grid;
        double dense = expedit.iterations() * 2.0 * 2 * n * expedit.clusters() * enc.embedDim() * windows;
        f.put("expedit_gmacs_if_clustering_were_dense_as_the_original",
                Stats.round((exp.total() - exp.part("clustering") + dense) / 2e9));
        Map<String, Object> paper = new LinkedHashMap<>();
        paper.put("source", "Liang et al. 2022, Expediting Large-Scale Vision Transformer for Dense Prediction"
                + " without Fine-tuning, Table 1 (Segmenter ViT-L/16, ADE20K, alpha=10, 28x28)");
        paper.put("baseline_gmacs", PAPER_BASELINE_GMACS);
        paper.put("expedit_gmacs", PAPER_EXPEDIT_GMACS);
        paper.put("reduction", Stats.round(1 - PAPER_EXPEDIT_GMACS / PAPER_BASELINE_GMACS));
        f.put("paper", paper);
        return f;
    }

    private static Map<String, Object> latency(Stats s, double[] forwardMs, SegmenterFlops.Count flops,
                                               double peak) {
        Map<String, Object> m = new LinkedHashMap<>(s.toMap());
        m.put("forward_median_ms", Stats.round(Stats.of(forwardMs).median()));
        double gflops = flops.gflops() / (s.median() / 1000);
        m.put("gflops_per_s", Stats.round(gflops));
        m.put("share_of_fma_peak", Stats.round(gflops / peak));
        return m;
    }

    private record Timed(double[] baseline, double[] expedit, double[] baselineForward, double[] expeditForward,
                         double[] baselineOthers, double[] expeditOthers, double waitedSeconds,
                         Segmentation lastBaseline, Segmentation lastExpedit) {
    }

    /**
     * {@link Alternating#watched} over the baseline and the Expedit setting, keeping each call's forward time (the
     * segmentation without its pre- and post-processing).
     */
    private static Timed interleave(SemanticSegmenter segmenter, Tensor input, ExpeditSettings expedit, int warmup,
                                    int iterations, int blocks, double waitIdle) {
        double[][] forward = new double[2][iterations];
        double[] waited = {0};
        List<Alternating.Watched<Segmentation>> w = Alternating.watched(List.of("baseline", "expedit"),
                List.<Supplier<Segmentation>>of(() -> segmenter.segment(input, null),
                        () -> segmenter.segment(input, expedit)),
                warmup, iterations, blocks, waitIdle, (s, i, r) -> forward[s][i] = r.forwardNanos() / 1e6, waited);
        return new Timed(w.get(0).ms(), w.get(1).ms(), forward[0], forward[1], w.get(0).othersBusyCores(),
                w.get(1).othersBusyCores(), waited[0], w.get(0).last(), w.get(1).last());
    }

    /**
     * What one window's mask upsampling costs (the bilinear resize of the class planes from the token grid to the
     * window, inside the forward time and the same with or without Expedit): median of 5, after 2 untimed.
     */
    private static double upsamplingMs(SemanticSegmenter segmenter) {
        int patch = segmenter.encoderConfig().patchSize();
        int window = segmenter.windowSize();
        int padded = (window + patch - 1) / patch * patch;
        int grid = padded / patch;
        int classes = segmenter.classNames().size();
        float[] planes = new float[classes * grid * grid];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < planes.length; i++) {
            planes[i] = (float) r.nextGaussian();
        }
        double[] t = new double[5];
        for (int i = -2; i < t.length; i++) {
            long s = System.nanoTime();
            float[] up = Resize.resize(planes, classes, grid, grid, padded, padded, Resize.Mode.BILINEAR, false);
            if (i >= 0) {
                t[i] = (System.nanoTime() - s) / 1e6;
            }
            if (up.length == 0) {
                throw new AssertionError();
            }
        }
        return Stats.of(t).median();
    }

    /** Median of the ratios a[i] / b[i]: calls at the same place of the same block. */
    private static double pairedRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return Stats.of(r).median();
    }

    /** The share of pixels with the same label in both. */
    static double agreement(Segmentation a, Segmentation b) {
        int[] x = a.labels();
        int[] y = b.labels();
        long same = 0;
        for (int i = 0; i < x.length; i++) {
            if (x[i] == y[i]) {
                same++;
            }
        }
        return (double) same / x.length;
    }

    private static List<Double> rounded(double[] v) {
        List<Double> out = new ArrayList<>(v.length);
        for (double d : v) {
            out.add(Stats.round(d));
        }
        return out;
    }

    /**
     * A seeded synthetic photograph stand-in: a dozen Voronoi regions, each a base colour with a sinusoidal
     * texture of its own period and orientation and a soft gradient, plus a little noise. Random weights make the
     * content irrelevant to the labels, but a structured image gives Expedit's clustering the kind of token
     * similarity a real image has (neighbouring patches alike within a region), which uniform noise would not.
     */
    static RgbImage syntheticImage(int width, int height, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int regions = 12;
        double[][] site = new double[regions][2];
        double[][] colour = new double[regions][3];
        double[][] texture = new double[regions][4];
        for (int i = 0; i < regions; i++) {
            site[i][0] = r.nextDouble() * width;
            site[i][1] = r.nextDouble() * height;
            for (int c = 0; c < 3; c++) {
                colour[i][c] = 40 + r.nextDouble() * 175;
            }
            double angle = r.nextDouble() * Math.PI;
            double period = 8 + r.nextDouble() * 40;
            texture[i][0] = Math.cos(angle) * 2 * Math.PI / period;
            texture[i][1] = Math.sin(angle) * 2 * Math.PI / period;
            texture[i][2] = r.nextDouble() * 40;      // texture amplitude
            texture[i][3] = (r.nextDouble() - 0.5) * 0.1;  // gradient per pixel
        }
        byte[] rgb = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int best = 0;
                double bestD = Double.MAX_VALUE;
                for (int i = 0; i < regions; i++) {
                    double dx = x - site[i][0];
                    double dy = y - site[i][1];
                    double d = dx * dx + dy * dy;
                    if (d < bestD) {
                        bestD = d;
                        best = i;
                    }
                }
                double wave = Math.sin(x * texture[best][0] + y * texture[best][1]) * texture[best][2];
                double grad = (x + y) * texture[best][3];
                for (int c = 0; c < 3; c++) {
                    double v = colour[best][c] + wave + grad + (r.nextDouble() - 0.5) * 12;
                    rgb[3 * (y * width + x) + c] = (byte) Math.max(0, Math.min(255, Math.round(v)));
                }
            }
        }
        return RgbImage.of(width, height, rgb);
    }
}
