package dev.hourglass.bench;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.kernels.Kernels;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SegmentationMetrics;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * How much of a Segmenter's accuracy Expedit keeps, and for how much speed: mIoU and pixel accuracy over a labelled
 * validation folder for the plain model and for a grid of Expedit settings (α x cluster grid), with the median
 * latency per image, the retention (mIoU / the plain model's) and the speed-up (the plain model's median latency /
 * the setting's). Prints a table and writes one JSON document.
 *
 * <pre>
 * bench/run-segmenter.sh retention --data DIR
 *     [--model tasks/src/main/resources/dev/hourglass/demo/shapes-segmenter/model.safetensors]
 *     [--alphas 2,4,6,8] [--grids 8x8,10x10,12x12] [--expedit-extra iters=5,window=5] [--threads 2]
 *     [--limit N] [--warmup 2] [--wait-idle SECONDS] [--out bench-out/expedit-retention.json]
 * </pre>
 *
 * <p>The folder is what {@code tools/make_segmentation_data.py --split val --count N --size 512 --out DIR} writes:
 * {@code DIR/images/*.png} (RGB) and {@code DIR/labels/*.png} (8-bit class indices, 255 or any value beyond the
 * classes ignored), paired by file name, or failing that by the number the names start with. α values at or beyond
 * the encoder's depth are skipped (clustering after the last block leaves nothing to speed up).
 *
 * <p>Timing: every image runs through every setting, the settings' order reversed from one image to the next so that
 * drift of the machine is shared out; the first {@code --warmup} images are run once through every setting untimed
 * first. Latency is the wall time of {@link SemanticSegmenter#segment(Tensor, dev.hourglass.reduce.ReductionMethod)} on the normalised
 * image (all windows, merging, argmax); "forward" is the windows' forward passes alone. With {@code --wait-idle},
 * every eighth image first waits (at most that many seconds) until other processes leave the machine alone for 10 s.
 */
public final class ExpeditRetention {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String DEFAULT_MODEL =
            "tasks/src/main/resources/dev/hourglass/demo/shapes-segmenter/model.safetensors";
    /** Retention and speed-up a setting must reach to be marked. */
    private static final double KEEP = 0.99;
    private static final double SPEEDUP = 1.3;

    private ExpeditRetention() {
    }

    /** One labelled image. */
    record Sample(String name, Path image, Path labels) {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args, Set.of(), Set.of("data", "model", "alphas", "grids", "expedit-extra", "threads",
                "limit", "warmup", "out", "wait-idle"));
        if (!a.has("data")) {
            throw new IllegalArgumentException("--data DIR is required (tools/make_segmentation_data.py --out DIR)");
        }
        Path data = Path.of(a.get("data", ""));
        Path model = Path.of(a.get("model", DEFAULT_MODEL));
        int threads = a.integer("threads", 2);
        int warmup = a.integer("warmup", 2);
        double waitIdle = Double.parseDouble(a.get("wait-idle", "0"));
        Path out = Path.of(a.get("out", "bench-out/expedit-retention.json"));
        List<Sample> samples = samples(data);
        if (a.has("limit")) {
            samples = samples.subList(0, Math.min(samples.size(), a.integer("limit", samples.size())));
        }
        if (samples.isEmpty()) {
            throw new IOException(data + ": no image/label pairs");
        }

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "Expedit accuracy retention and speed-up, Segmenter");
        report.put("date", Instant.now().toString());
        report.put("machine", Machine.describe());
        report.put("kernels", Kernels.description());
        report.put("load_average_at_start", Machine.loadAverage());
        report.put("other_processes_named_train_demo_segmenter", Machine.processesMatching("train_demo_segmenter"));

        try (SemanticSegmenter segmenter = SemanticSegmenter.load(model, new ModelOptions(threads))) {
            VitConfig enc = segmenter.encoderConfig();
            int classes = segmenter.classNames().size();
            List<Setting> settings = new ArrayList<>();
            settings.add(new Setting("baseline", null));
            String extra = a.get("expedit-extra", "");
            for (int alpha : a.integers("alphas", "2,4,6,8")) {
                if (alpha >= enc.depth()) {
                    System.err.printf("skipping alpha=%d: the encoder has %d blocks%n", alpha, enc.depth());
                    continue;
                }
                for (String grid : a.list("grids", "8x8,10x10,12x12")) {
                    String spec = "alpha=" + alpha + ",grid=" + grid + (extra.isBlank() ? "" : "," + extra);
                    settings.add(new Setting("alpha=" + alpha + " grid=" + grid, ExpeditSettings.parse(spec)));
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", model.toString());
            m.put("encoder", dev.hourglass.model.ModelConfig.encoderJson(enc));
            m.put("classes", segmenter.classNames());
            m.put("window", segmenter.windowSize());
            m.put("stride", segmenter.windowStride());
            m.put("backend", segmenter.backendDescription());
            report.put("model", m);
            report.put("data", Map.of("folder", data.toString(), "images", samples.size()));
            report.put("warmup_images", Math.min(warmup, samples.size()));

            System.err.printf("%s: %d images, %d settings, %d thread(s)%n", model, samples.size(), settings.size(),
                    threads);
            for (int i = 0; i < Math.min(warmup, samples.size()); i++) {
                Tensor input = segmenter.normalize(RgbImage.read(samples.get(i).image()));
                for (Setting s : settings) {
                    segmenter.segment(input, s.expedit);
                }
            }
            Machine.CpuTimes cpu0 = Machine.CpuTimes.now();
            int size = -1;
            int windows = -1;
            double waited = 0;
            List<Double> othersPerImage = new ArrayList<>();
            for (int i = 0; i < samples.size(); i++) {
                if (waitIdle > 0 && i % 8 == 0) {
                    waited += Machine.waitForIdle(waitIdle, 0.15, 2);
                }
                Machine.CpuTimes imageStart = Machine.CpuTimes.now();
                Sample sample = samples.get(i);
                RgbImage image = RgbImage.read(sample.image());
                int[] truth = readLabels(sample.labels(), image.width(), image.height());
                Tensor input = segmenter.normalize(image);
                for (int j = 0; j < settings.size(); j++) {
                    Setting s = settings.get(i % 2 == 0 ? j : settings.size() - 1 - j);
                    long t0 = System.nanoTime();
                    Segmentation r = segmenter.segment(input, s.expedit);
                    s.latency.add((System.nanoTime() - t0) / 1e6);
                    s.forward.add(r.forwardNanos() / 1e6);
                    s.metrics(classes).add(truth, r.labels());
                    windows = r.windows();
                }
                othersPerImage.add(Stats.round(Machine.CpuTimes.now().othersBusyCores(imageStart)));
                size = image.width() == image.height() ? image.width() : -1;
                if ((i + 1) % 10 == 0 || i + 1 == samples.size()) {
                    System.err.printf("%d/%d images%n", i + 1, samples.size());
                }
            }
            Machine.CpuTimes cpu1 = Machine.CpuTimes.now();
            report.put("load_average_at_end", Machine.loadAverage());
            report.put("other_processes_busy_cores", Stats.round(cpu1.othersBusyCores(cpu0)));
            report.put("other_processes_busy_cores_per_image", othersPerImage);
            report.put("seconds_waited_for_an_idle_machine", Stats.round(waited));
            report.put("image_size", size);
            report.put("windows_per_image", windows);

            Setting base = settings.get(0);
            double baseMiou = base.metrics.meanIou();
            double baseLatency = Stats.of(base.latencyArray()).median();
            SegmenterFlops.Decoder dec = decoder(model);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Setting s : settings) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("setting", s.name);
                row.put("expedit", s.expedit == null ? null : s.expedit.toString());
                row.put("miou", round6(s.metrics.meanIou()));
                row.put("pixel_accuracy", round6(s.metrics.pixelAccuracy()));
                row.put("iou_per_class", s.metrics.iouList());
                Stats lat = Stats.of(s.latencyArray());
                row.put("latency", lat.toMap());
                row.put("forward_median_ms", Stats.round(Stats.of(s.forwardArray()).median()));
                s.retention = s.metrics.meanIou() / baseMiou;
                s.speedup = baseLatency / lat.median();
                row.put("retention", round6(s.retention));
                row.put("speedup", Stats.round(s.speedup));
                if (dec != null && windows > 0) {
                    SegmenterFlops.Count f = SegmenterFlops.window(enc, segmenter.windowSize(), dec, s.expedit,
                            false).times(windows);
                    row.put("gmacs_per_image", Stats.round(f.gmacs()));
                }
                row.put("keeps_99_percent_at_1_3x", s.expedit != null && s.retention >= KEEP && s.speedup >= SPEEDUP);
                rows.add(row);
            }
            report.put("settings", rows);
            report.put("marked", "keeps >= " + (int) (KEEP * 100) + "% of the baseline mIoU at >= " + SPEEDUP
                    + "x speed-up");
            System.out.print(table(settings, rows));
        }
        String text = JSON.writeValueAsString(report);
        Args.write(out, text);
        System.err.println("wrote " + out);
    }

    /** The decoder's shape from the model file, for the FLOP count; null if it cannot be read. */
    private static SegmenterFlops.Decoder decoder(Path model) {
        try (dev.hourglass.safetensors.TensorSource s = dev.hourglass.safetensors.Safetensors.open(model)) {
            return SegmenterFlops.Decoder.of(dev.hourglass.model.ModelFormat.config(s)
                    .decoder(dev.hourglass.model.SegmenterDecoderConfig.class));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static final class Setting {
        final String name;
        final ExpeditSettings expedit;
        final List<Double> latency = new ArrayList<>();
        final List<Double> forward = new ArrayList<>();
        SegmentationMetrics metrics;
        double retention;
        double speedup;

        Setting(String name, ExpeditSettings expedit) {
            this.name = name;
            this.expedit = expedit;
        }

        SegmentationMetrics metrics(int classes) {
            if (metrics == null) {
                metrics = new SegmentationMetrics(classes);
            }
            return metrics;
        }

        double[] latencyArray() {
            return latency.stream().mapToDouble(Double::doubleValue).toArray();
        }

        double[] forwardArray() {
            return forward.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    private static String table(List<Setting> settings, List<Map<String, Object>> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-22s %8s %8s %9s %11s %8s %9s %s%n", "setting", "mIoU", "pix acc",
                "retention", "median ms", "speedup", "GMACs", ""));
        for (int i = 0; i < settings.size(); i++) {
            Setting s = settings.get(i);
            Map<String, Object> r = rows.get(i);
            @SuppressWarnings("unchecked")
            Map<String, Object> lat = (Map<String, Object>) r.get("latency");
            b.append(String.format(Locale.ROOT, "%-22s %8.4f %8.4f %8.2f%% %11.1f %7.2fx %9s %s%n", s.name,
                    s.metrics.meanIou(), s.metrics.pixelAccuracy(), 100 * s.retention, lat.get("median_ms"),
                    s.speedup, r.getOrDefault("gmacs_per_image", ""),
                    Boolean.TRUE.equals(r.get("keeps_99_percent_at_1_3x")) ? "*" : ""));
        }
        b.append(String.format(Locale.ROOT, "* keeps >= %.0f%% of the baseline mIoU at >= %.1fx speed-up%n",
                KEEP * 100, SPEEDUP));
        return b.toString();
    }

    private static Double round6(double v) {
        return Double.isNaN(v) ? null : Math.round(v * 1e6) / 1e6;
    }

    /**
     * The folder's image/label pairs, sorted by name: {@code images/X.png} with {@code labels/X.png}, or, for names
     * that differ, the label file whose leading number equals the image's.
     */
    static List<Sample> samples(Path dir) throws IOException {
        Path images = dir.resolve("images");
        Path labels = dir.resolve("labels");
        if (!Files.isDirectory(images) || !Files.isDirectory(labels)) {
            throw new IOException(dir + " must hold images/ and labels/");
        }
        Map<String, Path> labelByName = new TreeMap<>();
        Map<String, Path> labelByNumber = new TreeMap<>();
        try (Stream<Path> s = Files.list(labels)) {
            for (Path p : s.filter(ExpeditRetention::isPng).toList()) {
                labelByName.put(p.getFileName().toString(), p);
                String n = leadingNumber(p.getFileName().toString());
                if (n != null) {
                    labelByNumber.put(n, p);
                }
            }
        }
        List<Sample> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(images)) {
            for (Path p : s.filter(ExpeditRetention::isPng).sorted().toList()) {
                String name = p.getFileName().toString();
                Path l = labelByName.get(name);
                if (l == null && leadingNumber(name) != null) {
                    l = labelByNumber.get(leadingNumber(name));
                }
                if (l == null) {
                    throw new IOException(p + " has no label map in " + labels);
                }
                out.add(new Sample(name, p, l));
            }
        }
        return out;
    }

    private static boolean isPng(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png");
    }

    private static final Pattern LEADING_NUMBER = Pattern.compile("^(\\d+)");

    private static String leadingNumber(String name) {
        Matcher m = LEADING_NUMBER.matcher(name);
        return m.find() ? String.valueOf(Long.parseLong(m.group(1))) : null;
    }

    /** An 8-bit label map: the first band's samples (the value of a grey PNG, the index of a palette PNG). */
    static int[] readLabels(Path file, int width, int height) throws IOException {
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) {
            throw new IOException(file + ": not an image ImageIO reads");
        }
        if (img.getWidth() != width || img.getHeight() != height) {
            throw new IOException(file + ": " + img.getWidth() + "x" + img.getHeight() + " labels for a " + width + "x"
                    + height + " image");
        }
        Raster r = img.getRaster();
        int[] out = new int[width * height];
        r.getSamples(0, 0, width, height, 0, out);
        return out;
    }
}
