package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.depth.Depth;
import dev.hourglass.tasks.depth.DepthEstimator;
import dev.hourglass.tasks.depth.DepthPictures;
import dev.hourglass.tasks.image.DptPreprocessing;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.SegmentationSheet;

/**
 * The depth part of {@code hourglass demo}: the small DPT shipped in the jar (trained by
 * {@code tools/train_demo_depth.py} on procedurally rendered scenes with exact depth) on the shipped photos, prepared
 * as {@code run_monodepth.py} prepares them, without and with Expedit; the network input is checked bit for bit
 * against PyTorch's (its SHA-256) and the depth against PyTorch's statistics and sampled pixels. Writes one picture per
 * photo (the photo, its depth, its depth with Expedit) and {@code depth.json}.
 */
final class DepthDemo {
    static final String DATA = "dev/hourglass/demo/depth/";
    /**
     * Expedit on the demo DPT's 8x8 tokens (128x128 input, 4 blocks): the tokens leaving the 2nd block clustered into
     * 4x4, with Expedit-DPT's temperature.
     */
    static final ExpeditSettings EXPEDIT = ExpeditSettings.parse("alpha=2,grid=4x4,iters=5,window=5,tau=1.0");
    /** Depth within this share of its range of PyTorch's: float32 sums in another order, as the golden tests. */
    static final double TOLERANCE = 1e-4;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintWriter log;
    private final Path out;
    private final ModelOptions options;
    private final int repeat;

    DepthDemo(PrintWriter log, Path out, ModelOptions options, int repeat) {
        this.log = log;
        this.out = out;
        this.options = options;
        this.repeat = repeat;
    }

    /** What one photo gave. */
    private record Outcome(String file, int[] network, boolean inputIdentical, double maxDifference, double range,
                           double plainMs, double expeditMs, double gflops, double expeditGflops,
                           double agreement) {
    }

    /** Runs the demo; returns whether every photo's depth agreed with PyTorch's. */
    boolean run() throws IOException {
        JsonNode expected = DemoCommand.readResourceJson(DATA + "expected.json");
        JsonNode pre = expected.get("preprocessing");
        DptPreprocessing preprocessing = DptPreprocessing.monodepth(pre.get("net_width").asInt(),
                pre.get("net_height").asInt());
        long t0 = System.nanoTime();
        try (DepthEstimator dpt = DepthEstimator.loadResource(DATA.substring(0, DATA.length() - 1), options)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            log.println("Hourglass demo: monocular depth with DPT, without and with Expedit");
            log.println("  model    " + dpt.describe());
            log.println("           a small DPT trained on rendered scenes by tools/train_demo_depth.py,"
                    + String.format(Locale.ROOT, " loaded in %.0f ms", loadMs));
            log.println("  expedit  " + EXPEDIT);
            log.println();
            log.printf("  %-24s %8s %9s %8s %9s %12s   %s%n", "photo", "ms", "+Expedit", "GFLOPs", "+Expedit",
                    "correlation", "depth vs PyTorch");
            Path folder = FileErrors.createOutputFolder("--out", out.resolve("depth"));
            List<Outcome> outcomes = new ArrayList<>();
            for (JsonNode photo : expected.get("photos")) {
                Outcome o = estimateOne(dpt, preprocessing, photo, folder);
                outcomes.add(o);
                log.printf(Locale.ROOT, "  %-24s %8.1f %9.1f %8.3f %9.3f %12.4f   %s%n", o.file(), o.plainMs(),
                        o.expeditMs(), o.gflops(), o.expeditGflops(), o.agreement(), String.format(Locale.ROOT,
                                "max |diff| %.1e of a range %.2f%s%s", o.maxDifference(), o.range(),
                                o.inputIdentical() ? ", input identical" : ", INPUT DIFFERS",
                                agrees(o) ? "" : "  MISMATCH"));
            }
            log.println();
            log.println("  the depth is relative inverse depth (brighter is nearer); correlation: of the depth with and"
                    + " without Expedit");
            Path report = folder.resolve("depth.json");
            writeReport(report, dpt, outcomes);
            log.println("  wrote " + folder + " (per photo, NAME.sheet.png: the photo, its depth, its depth with"
                    + " Expedit; depth.json)");
            log.flush();
            return outcomes.stream().allMatch(DepthDemo::agrees);
        }
    }

    private static boolean agrees(Outcome o) {
        return o.inputIdentical() && o.maxDifference() <= TOLERANCE * o.range();
    }

    private Outcome estimateOne(DepthEstimator dpt, DptPreprocessing preprocessing, JsonNode photo, Path folder)
            throws IOException {
        String file = photo.get("file").asText();
        RgbImage image = RgbImage.from(SegmentationDemo.readImage(DATA + file));
        DptPreprocessing.Prepared prepared = preprocessing.apply(image);
        boolean inputIdentical = sha256(prepared.pixels()).equals(photo.get("input_sha256").asText());
        Depth plain = null;
        Depth fast = null;
        double[] plainMs = new double[repeat];
        double[] fastMs = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long s = System.nanoTime();
            plain = dpt.estimate(image, preprocessing, null);
            plainMs[i] = (System.nanoTime() - s) / 1e6;
            s = System.nanoTime();
            fast = dpt.estimate(image, preprocessing, EXPEDIT);
            fastMs[i] = (System.nanoTime() - s) / 1e6;
        }
        JsonNode reference = photo.get("depth");
        float[] values = plain.network();
        double range = reference.get("max").asDouble() - reference.get("min").asDouble();
        double worst = Math.max(Math.abs(min(values) - reference.get("min").asDouble()),
                Math.abs(max(values) - reference.get("max").asDouble()));
        worst = Math.max(worst, Math.abs(mean(values) - reference.get("mean").asDouble()));
        for (JsonNode sample : reference.get("samples")) {
            float v = values[sample.get("row").asInt() * plain.networkWidth() + sample.get("col").asInt()];
            worst = Math.max(worst, Math.abs(v - sample.get("value").asDouble()));
        }
        String stem = file.replaceFirst("\\.png$", "");
        float[] full = plain.image();
        float[] fullFast = fast.image();
        SegmentationSheet sheet = new SegmentationSheet(stem + ": DPT depth without and with Expedit",
                List.of(new SegmentationSheet.Panel("photo", image.toBufferedImage()),
                        new SegmentationSheet.Panel(String.format(Locale.ROOT, "depth: %.3f GFLOPs", plain.gflops()),
                                DepthPictures.colours(full, image.width(), image.height())),
                        new SegmentationSheet.Panel(String.format(Locale.ROOT, "Expedit %dx%d after block %d: %.3f"
                                + " GFLOPs", EXPEDIT.clustersHigh(), EXPEDIT.clustersWide(), EXPEDIT.alpha(),
                                fast.gflops()), DepthPictures.colours(fullFast, image.width(), image.height()))),
                List.of());
        InputLoop.writePng(folder, stem + ".sheet.png", sheet.draw(), new ArrayList<>());
        return new Outcome(file, new int[] {plain.networkHeight(), plain.networkWidth()}, inputIdentical, worst, range,
                DemoCommand.median(plainMs), DemoCommand.median(fastMs), plain.gflops(), fast.gflops(),
                correlation(full, fullFast));
    }

    private void writeReport(Path file, DepthEstimator dpt, List<Outcome> outcomes) throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", dpt.describe());
        r.put("backend", dpt.backendDescription());
        r.put("expedit", EXPEDIT.toString());
        r.put("repeat", repeat);
        r.put("tolerance_share_of_range", TOLERANCE);
        List<Object> items = new ArrayList<>();
        for (Outcome o : outcomes) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", o.file());
            m.put("network_input", o.network());
            m.put("input_identical_to_pytorch", o.inputIdentical());
            m.put("max_abs_difference_vs_pytorch", o.maxDifference());
            m.put("pytorch_range", o.range());
            m.put("median_ms", DemoCommand.round(o.plainMs()));
            m.put("expedit_median_ms", DemoCommand.round(o.expeditMs()));
            m.put("gflops", o.gflops());
            m.put("expedit_gflops", o.expeditGflops());
            m.put("expedit_correlation_with_plain", o.agreement());
            items.add(m);
        }
        r.put("photos", items);
        String text = JSON.writeValueAsString(r) + "\n";
        FileErrors.writing(file, () -> AtomicFiles.writeString(file, text));
    }

    /** SHA-256 of float32 values in little-endian order, as numpy's {@code tobytes()} on x86. */
    static String sha256(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static double min(float[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (float x : v) {
            m = Math.min(m, x);
        }
        return m;
    }

    private static double max(float[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (float x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** Pearson's correlation of two maps. */
    private static double correlation(float[] a, float[] b) {
        double ma = mean(a);
        double mb = mean(b);
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }
        return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    }
}
