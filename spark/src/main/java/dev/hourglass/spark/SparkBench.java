package dev.hourglass.spark;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SemanticSegmenter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hourglass-spark bench}: the throughput of the Spark path against a plain loop in one process over the same
 * files, measured in the same JVM, rounds alternating, after {@code --warmup} untimed rounds of each
 * (docs/PERFORMANCE.md). The loop is what a user writes without Spark: one model, {@code --loop-threads} compute
 * threads, each file read and classified (or segmented, its class map encoded as a PNG, as the Spark rows get it) in
 * turn. The Spark side reads the same files with {@code binaryFile} and runs {@link HourglassSpark} into Spark's
 * {@code noop} sink.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Images per second: a single-process loop over the images against the Spark job on the same"
                + " images (rounds alternating, after warm-up rounds of each), in one JVM.",
                "  hourglass-spark bench classify --master local[2] --model M --images DIR --copies 64"})
final class SparkBench implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TASK", description = "classify or segment")
    String task;

    @Option(names = "--master", defaultValue = "local[2]", paramLabel = "URL",
            description = "Spark's master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model.")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "DIR",
            description = "A folder of images (.png, .jpg, .jpeg, .bmp, .gif).")
    Path images;

    @Option(names = "--copies", defaultValue = "32", paramLabel = "N",
            description = "Each image copied N times into a temporary folder (default: ${DEFAULT-VALUE}).")
    int copies;

    @Option(names = "--rounds", defaultValue = "3", paramLabel = "N",
            description = "Timed rounds of each (default: ${DEFAULT-VALUE}); the median is reported.")
    int rounds;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N",
            description = "Untimed rounds of each first, alternating (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--partitions", paramLabel = "N",
            description = "Repartition the images into N partitions (default: as binaryFile splits the folder, no"
                    + " shuffle).")
    Integer partitions;

    @Option(names = "--threads", defaultValue = "1", paramLabel = "N",
            description = "Compute threads of the executor's model (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--loop-threads", paramLabel = "N",
            description = "Compute threads of the loop's model (default: all available processors).")
    Integer loopThreads;

    @Option(names = "--batch", defaultValue = "" + InferenceOptions.DEFAULT_BATCH, paramLabel = "N",
            description = "Spark: images per forward pass of a classifier (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--reduce", paramLabel = "SPEC", description = "A token reduction, for both.")
    String reduce;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        if (!task.equals("classify") && !task.equals("segment")) {
            throw new CommandLine.ParameterException(cl, "TASK must be classify or segment, got " + task);
        }
        if (copies < 1 || rounds < 1 || warmup < 0 || threads < 1 || batch < 1
                || (partitions != null && partitions < 1) || (loopThreads != null && loopThreads < 1)) {
            throw new CommandLine.ParameterException(cl, "--copies, --rounds, --threads, --loop-threads, --batch and"
                    + " --partitions must be at least 1");
        }
        InferenceOptions options = InferenceOptions.model(model.toString()).threads(threads).batch(batch);
        if (reduce != null) {
            options = HourglassSparkJob.Job.withReduce(cl, options, "--reduce", reduce);
        }
        List<Path> files = imageFiles(images);
        Path dir = Files.createTempDirectory("hourglass-spark-bench-");
        try {
            List<Path> all = copy(files, dir);
            int loopN = loopThreads != null ? loopThreads : Runtime.getRuntime().availableProcessors();
            SparkSession spark = HourglassSparkJob.Session.start(master, "hourglass-spark bench");
            try {
                Dataset<Row> df = spark.read().format("binaryFile").load(dir.toString());
                if (partitions != null) {
                    df = df.repartition(partitions);
                }
                int p = df.javaRDD().getNumPartitions();
                PrintWriter out = cl.getOut();
                out.printf(Locale.ROOT, "images   %d files x %d copies = %d, %s, %d partitions; machine: %d"
                        + " processors%n", files.size(), copies, all.size(), spark.sparkContext().master(), p,
                        Runtime.getRuntime().availableProcessors());
                out.flush();
                Dataset<Row> results = task.equals("classify") ? HourglassSpark.classify(df, options)
                        : HourglassSpark.segment(df, options);
                Runnable sparkRound = () -> results.write().format("noop").mode("overwrite").save();
                try (Loop loop = new Loop(task, model, loopN, options.reduction(), options.topK())) {
                    double[] loopWarm = new double[warmup];
                    double[] sparkWarm = new double[warmup];
                    for (int r = 0; r < warmup; r++) {
                        loopWarm[r] = seconds(() -> loop.run(all));
                        sparkWarm[r] = seconds(sparkRound);
                    }
                    double[] loopTimes = new double[rounds];
                    double[] sparkTimes = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        loopTimes[r] = seconds(() -> loop.run(all));
                        sparkTimes[r] = seconds(sparkRound);
                    }
                    double loopRate = all.size() / median(loopTimes);
                    double sparkRate = all.size() / median(sparkTimes);
                    out.printf(Locale.ROOT, "loop     one process, %s, %d thread(s): %.1f images/s (median of %d"
                            + " rounds: %s s; warm-up: %s s)%n", loop.describe(), loopN, loopRate, rounds,
                            times(loopTimes), times(loopWarm));
                    out.printf(Locale.ROOT, "spark    %s, %d partitions, %d thread(s) per executor model%s: %.1f"
                            + " images/s (median of %d rounds: %s s; warm-up: %s s)%n",
                            spark.sparkContext().master(), p, threads, task.equals("classify") ? ", batch " + batch
                            : "", sparkRate, rounds, times(sparkTimes), times(sparkWarm));
                    out.printf(Locale.ROOT, "ratio    spark / loop = %.2f%n", sparkRate / loopRate);
                    out.flush();
                }
            } finally {
                HourglassSparkJob.Session.stopIfOurs(spark);
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
        return 0;
    }

    /** The images of a folder as {@code hourglass classify} takes them: by extension, not hidden, sorted. */
    private static List<Path> imageFiles(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new IOException("--images " + folder + ": not a folder");
        }
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> files = s.filter(f -> !f.getFileName().toString().startsWith("."))
                    .filter(f -> f.getFileName().toString().toLowerCase(Locale.ROOT)
                            .matches(".*\\.(png|jpg|jpeg|bmp|gif)"))
                    .sorted().toList();
            if (files.isEmpty()) {
                throw new IOException("--images " + folder + ": no images in the folder");
            }
            return files;
        }
    }

    private List<Path> copy(List<Path> files, Path dir) throws IOException {
        List<Path> all = new ArrayList<>();
        for (int c = 0; c < copies; c++) {
            for (Path f : files) {
                Path to = dir.resolve(String.format(Locale.ROOT, "%04d-%s", c, f.getFileName()));
                Files.copy(f, to);
                all.add(to);
            }
        }
        return all;
    }

    private static double seconds(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static String times(double[] values) {
        List<String> parts = new ArrayList<>();
        for (double v : values) {
            parts.add(String.format(Locale.ROOT, "%.2f", v));
        }
        return String.join(", ", parts);
    }

    /** The single-process loop: the same work per image as a Spark row, on one model, one image after another. */
    private static final class Loop implements AutoCloseable {
        private final ImageClassifier classifier;
        private final SemanticSegmenter segmenter;
        private final ReductionMethod reduction;
        private final int topK;

        Loop(String task, Path model, int threads, ReductionMethod reduction, int topK) throws IOException {
            this.classifier = task.equals("classify") ? ImageClassifier.load(model, new ModelOptions(threads))
                    : null;
            this.segmenter = task.equals("segment") ? SemanticSegmenter.load(model, new ModelOptions(threads)) : null;
            this.reduction = reduction;
            this.topK = topK;
        }

        String describe() {
            return classifier != null ? "ImageClassifier.classify(RgbImage.read(file), k)"
                    : "SemanticSegmenter.segment(RgbImage.read(file), ...) + class map PNG";
        }

        void run(List<Path> files) {
            try {
                for (Path f : files) {
                    RgbImage image = RgbImage.read(f);
                    if (classifier != null) {
                        if (reduction == null) {
                            classifier.classify(image, topK);
                        } else {
                            classifier.topK(classifier.logits(classifier.preprocess(image), reduction).logits(), topK);
                        }
                    } else {
                        Segmentation s = segmenter.segment(image, reduction, false);
                        SegmentPartitions.classes(s);
                        SegmentPartitions.classMap(s);
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            if (classifier != null) {
                classifier.close();
            }
            if (segmenter != null) {
                segmenter.close();
            }
        }
    }
}
