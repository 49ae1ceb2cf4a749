package dev.hourglass.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.io.AtomicFiles;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SegmentationMetrics;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tasks.segment.SegmentationSheet;
import dev.hourglass.tasks.segment.SemanticSegmenter;

/**
 * The segmentation half of {@code hourglass demo}: the small Segmenter shipped in the jar (trained by
 * {@code tools/train_demo_segmenter.py} on procedurally drawn textures) on the shipped 512x512 images, without and
 * with Expedit, scored against the ground truth shipped beside them and checked against PyTorch's result. Writes one
 * picture per image ({@link #sheet}) and {@code segmentation.json}.
 */
final class SegmentationDemo {
    static final String MODEL = "dev/hourglass/demo/shapes-segmenter";
    static final String DATA = "dev/hourglass/demo/segmentation/";
    /**
     * The Expedit setting the demo shows: chosen with {@code bench}'s ExpeditRetention on 64 validation scenes (see
     * docs/PERFORMANCE.md): the fastest that keeps 99% of the plain model's mIoU there (99.4% at 1.48x). This small
     * model's 16x16 token windows want k=1 (each token takes its nearest centre's scores) rather than ViT-L's k=20.
     */
    static final ExpeditSettings EXPEDIT = ExpeditSettings.parse("alpha=4,grid=10x10,k=1");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintWriter log;
    private final Path out;
    private final int threads;
    private final String backend;
    private final int repeat;

    SegmentationDemo(PrintWriter log, Path out, int threads, String backend, int repeat) {
        this.log = log;
        this.out = out;
        this.threads = threads;
        this.backend = backend;
        this.repeat = repeat;
    }

    /** What one image gave, with and without Expedit. */
    private record Outcome(String file, SegmentationMetrics plain, SegmentationMetrics expedit, double plainMs, double expeditMs,
                           long pixelsOffPyTorch, long allowedOff, boolean identicalToPyTorch, Path picture) {
    }

    /** Runs the demo; returns whether every image agreed with PyTorch within what its near-ties allow. */
    boolean run() throws IOException {
        JsonNode expected = DemoCommand.readResourceJson(DATA + "expected.json");
        long t0 = System.nanoTime();
        try (SemanticSegmenter segmenter = SemanticSegmenter.loadResource(MODEL, new ModelOptions(threads, backend))) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            int classes = segmenter.classNames().size();
            log.println("Hourglass demo: semantic segmentation, without and with Expedit");
            log.println("  model    " + segmenter.describe());
            log.println("           a small Segmenter trained on drawn textures by tools/train_demo_segmenter.py,"
                    + String.format(" loaded in %.0f ms", loadMs));
            log.println("  expedit  " + EXPEDIT);
            log.println();
            log.printf("  %-22s %9s %9s %9s %9s   %s%n", "image", "mIoU", "+Expedit", "ms", "+Expedit",
                    "vs PyTorch");
            Path folder = FileErrors.createOutputFolder("--out", out.resolve("segmentation"));
            SegmentationMetrics plainAll = new SegmentationMetrics(classes);
            SegmentationMetrics expeditAll = new SegmentationMetrics(classes);
            List<Outcome> outcomes = new ArrayList<>();
            for (JsonNode item : expected.get("images")) {
                Outcome o = segmentOne(segmenter, item, expected.get("classes"), folder, plainAll, expeditAll);
                outcomes.add(o);
                log.printf("  %-22s %8.1f%% %8.1f%% %9.1f %9.1f   %s%n", DemoCommand.shortName(o.file()),
                        100 * o.plain().meanIou(), 100 * o.expedit().meanIou(), o.plainMs(), o.expeditMs(),
                        o.identicalToPyTorch() ? "identical" : o.pixelsOffPyTorch() <= o.allowedOff()
                                ? o.pixelsOffPyTorch() + " px differ, near-ties allow " + o.allowedOff()
                                : "MISMATCH: " + o.pixelsOffPyTorch() + " px differ, near-ties allow "
                                + o.allowedOff());
            }
            if (outcomes.stream().anyMatch(o -> !o.identicalToPyTorch())) {
                log.println("  (near-ties: pixels whose two best class scores are less than 1e-3 apart in PyTorch's"
                        + " output; float32 sums in another order may flip them, so up to twice their count may"
                        + " differ)");
            }
            double plainMs = outcomes.stream().mapToDouble(Outcome::plainMs).sum();
            double expeditMs = outcomes.stream().mapToDouble(Outcome::expeditMs).sum();
            boolean agree = outcomes.stream().allMatch(o -> o.pixelsOffPyTorch() <= o.allowedOff());
            log.println();
            log.printf("  all images: mIoU %.1f%% plain, %.1f%% with Expedit (%.1f%% kept); %.0f ms vs %.0f ms,"
                            + " %.2fx faster (median of %d runs each)%n", 100 * plainAll.meanIou(),
                    100 * expeditAll.meanIou(), 100 * expeditAll.meanIou() / plainAll.meanIou(), plainMs, expeditMs,
                    plainMs / expeditMs, repeat);
            log.printf("  PyTorch's mIoU on the same images: %.1f%%%n", 100 * expected.get("overall").get("miou")
                    .asDouble());
            Path report = folder.resolve("segmentation.json");
            writeReport(report, segmenter, outcomes, plainAll, expeditAll);
            log.println("  wrote " + folder + " (per image, NAME.sheet.png: the image, its ground truth, the"
                    + " predictions without and with Expedit, Expedit's clusters outlined, the classes' colours;"
                    + " segmentation.json)");
            log.flush();
            return agree;
        }
    }

    /** Segments one scene both ways, adding its scores to the whole set's too. */
    private Outcome segmentOne(SemanticSegmenter segmenter, JsonNode item, JsonNode classNames, Path folder,
                               SegmentationMetrics plainAll, SegmentationMetrics expeditAll) throws IOException {
        String file = item.get("file").asText();
        RgbImage image = RgbImage.from(readImage(DATA + file));
        BufferedImage labelPicture = readImage(DATA + item.get("label_file").asText());
        int[] truth = labelPicture.getRaster().getSamples(0, 0, image.width(), image.height(), 0,
                new int[image.width() * image.height()]);
        int classes = segmenter.classNames().size();
        Segmentation plain = null;
        Segmentation fast = null;
        double[] plainMs = new double[repeat];
        double[] fastMs = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long s = System.nanoTime();
            plain = segmenter.segment(image, null, false);
            plainMs[i] = (System.nanoTime() - s) / 1e6;
            s = System.nanoTime();
            fast = segmenter.segment(image, EXPEDIT, i == repeat - 1);
            fastMs[i] = (System.nanoTime() - s) / 1e6;
        }
        SegmentationMetrics plainScores = new SegmentationMetrics(classes);
        plainScores.add(truth, plain.labels());
        plainAll.add(truth, plain.labels());
        SegmentationMetrics fastScores = new SegmentationMetrics(classes);
        fastScores.add(truth, fast.labels());
        expeditAll.add(truth, fast.labels());

        // PyTorch's prediction is known by its hash and class shares; pixels near a tie may flip either way.
        boolean identical = sha256(plain.labels()).equals(item.get("argmax_sha256").asText());
        long off = 0;
        double[] shares = plain.classFractions();
        int n = plain.labels().length;
        for (int c = 0; c < classes; c++) {
            double torch = item.get("pred_fractions").get(classNames.get(c).asText()).asDouble();
            off += Math.round(Math.abs(shares[c] - torch) * n);
        }
        long allowed = 2 * item.get("pixels_margin_below_1e-3").asLong();

        Path picture = folder.resolve(DemoCommand.shortName(file).replaceFirst("\\.png$", "") + ".sheet.png");
        writePng(sheet(DemoCommand.shortName(file), image, truth, plain, fast, plainScores.meanIou(),
                fastScores.meanIou()).draw(), picture);
        return new Outcome(file, plainScores, fastScores, DemoCommand.median(plainMs), DemoCommand.median(fastMs), off,
                allowed, identical, picture);
    }

    /**
     * One image's picture: the image, its ground truth, the prediction without and with Expedit (each titled with its
     * mIoU), Expedit's clusters outlined over the image, side by side at the image's size; below them the classes
     * that occur in any of the three label maps, with their colours ({@link SegmentationPictures#distinctPalette}).
     */
    static SegmentationSheet sheet(String name, RgbImage image, int[] truth, Segmentation plain, Segmentation fast,
                                   double plainMiou, double fastMiou) {
        List<String> classNames = plain.classNames();
        int[] palette = SegmentationPictures.distinctPalette(classNames.size());
        List<SegmentationSheet.Panel> panels = List.of(
                new SegmentationSheet.Panel("image", image.toBufferedImage()),
                new SegmentationSheet.Panel("ground truth",
                        SegmentationPictures.labelColours(truth, image.width(), image.height(), palette)),
                new SegmentationSheet.Panel(String.format("prediction: mIoU %.1f%%", 100 * plainMiou),
                        SegmentationPictures.colours(plain, palette)),
                new SegmentationSheet.Panel(String.format("with Expedit: mIoU %.1f%%", 100 * fastMiou),
                        SegmentationPictures.colours(fast, palette)),
                new SegmentationSheet.Panel(String.format("Expedit's clusters (%dx%d per window, after block %d)",
                        EXPEDIT.clustersHigh(), EXPEDIT.clustersWide(), EXPEDIT.alpha()),
                        SegmentationPictures.clusterOutlines(image, fast)));
        String heading = name + ": Segmenter without and with Expedit (" + EXPEDIT + ")";
        return new SegmentationSheet(heading, panels,
                SegmentationSheet.legend(classNames, palette, truth, plain.labels(), fast.labels()));
    }

    private void writeReport(Path file, SemanticSegmenter segmenter, List<Outcome> outcomes,
                             SegmentationMetrics plain, SegmentationMetrics expedit) throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", segmenter.describe());
        r.put("expedit", EXPEDIT.toString());
        r.put("repeat", repeat);
        r.put("miou", Map.of("plain", plain.meanIou(), "expedit", expedit.meanIou()));
        r.put("pixel_accuracy", Map.of("plain", plain.pixelAccuracy(), "expedit", expedit.pixelAccuracy()));
        List<Object> items = new ArrayList<>();
        for (Outcome o : outcomes) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", o.file());
            m.put("miou", Map.of("plain", o.plain().meanIou(), "expedit", o.expedit().meanIou()));
            m.put("pixel_accuracy", Map.of("plain", o.plain().pixelAccuracy(), "expedit", o.expedit().pixelAccuracy()));
            m.put("median_ms", Map.of("plain", DemoCommand.round(o.plainMs()), "expedit",
                    DemoCommand.round(o.expeditMs())));
            m.put("identical_to_pytorch", o.identicalToPyTorch());
            m.put("pixels_differing_from_pytorch_at_most", o.pixelsOffPyTorch());
            m.put("picture", o.picture().toString());
            items.add(m);
        }
        r.put("images", items);
        String text = JSON.writeValueAsString(r) + "\n";
        FileErrors.writing(file, () -> AtomicFiles.writeString(file, text));
    }

    private static void writePng(BufferedImage picture, Path file) throws IOException {
        FileErrors.writing(file, () -> SegmentationPictures.writePng(picture, file));
    }

    static BufferedImage readImage(String name) throws IOException {
        try (InputStream in = DemoCommand.resource(name)) {
            BufferedImage image = ImageIO.read(in);
            if (image == null) {
                throw new IOException("demo image " + name + " could not be decoded");
            }
            return image;
        }
    }

    private static String sha256(int[] labels) {
        byte[] bytes = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            bytes[i] = (byte) labels[i];
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
