package dev.hourglass.spark;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

import dev.hourglass.backend.Backends;
import dev.hourglass.cli.ConversionOptions;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.tasks.image.RgbImage;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hourglass-spark}: classifies or segments a folder of images on Spark and writes the results as Parquet, with
 * the {@code hourglass} command line's options. Run by {@code bin/hourglass-spark} (local mode, Spark from the Maven
 * build) or by {@code spark-submit --class dev.hourglass.spark.HourglassSparkJob spark/target/hourglass-spark.jar} on a
 * cluster.
 *
 * <p>Errors as the command line has them: a bad argument is one line and exit code 2 (an existing {@code --out}
 * without {@code --force}, a {@code --reduce} setting the model refuses included); a file that cannot be read, a model
 * that cannot load, is one line and exit code 1. Images that cannot be read do not stop the job: their rows carry an error, and the job exits with code 1 once the
 * output is complete, saying how many.
 */
@Command(name = "hourglass-spark",
        mixinStandardHelpOptions = true,
        versionProvider = HourglassSparkJob.Version.class,
        description = "Batch classification and segmentation of images on Apache Spark, to Parquet: the model loads"
                + " once per executor JVM, nothing native is needed on the executors.",
        subcommands = {HourglassSparkJob.Classify.class, HourglassSparkJob.Segment.class, SparkBench.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Local mode: bin/hourglass-spark classify --master local[2] --model M --images DIR --out OUT",
                "A cluster: spark-submit --class " + "dev.hourglass.spark.HourglassSparkJob"
                        + " spark/target/hourglass-spark.jar classify --model M --images DIR --out OUT",
                "(the model at a path every executor can read; see README.md, Spark)."})
public final class HourglassSparkJob implements Runnable {
    /** The image files a folder stands for, as {@code hourglass classify} takes them, in any letter case. */
    static final String IMAGE_GLOB = "*.{" + String.join(",", caseless("png"), caseless("jpg"), caseless("jpeg"),
            caseless("bmp"), caseless("gif")) + "}";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (classify, segment,"
                + " bench)");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, for {@link #main} and for tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new HourglassSparkJob());
        cl.setParameterExceptionHandler(HourglassSparkJob::reportUsageError);
        cl.setExecutionExceptionHandler(HourglassSparkJob::reportFailure);
        return cl;
    }

    private static String caseless(String extension) {
        StringBuilder glob = new StringBuilder();
        for (char c : extension.toCharArray()) {
            glob.append('[').append(c).append(Character.toUpperCase(c)).append(']');
        }
        return glob.toString();
    }

    private static int reportUsageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        String command = cl.getCommandSpec().qualifiedName();
        String line = oneLine(e.getMessage());
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            line += " (did you mean " + String.join(" or ", u.getSuggestions()) + "?)";
        }
        PrintWriter err = cl.getErr();
        err.println(command + ": error: " + line);
        err.println("Try '" + command + " --help'.");
        err.flush();
        return 2;
    }

    /**
     * A failure as one line, exit code 1: a file that cannot be read, or a Spark job that failed, by the first
     * exception of ours in its causes (a model that cannot load on an executor, a setting it refuses), else Spark's
     * first line.
     */
    private static int reportFailure(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        String command = cl.getCommandSpec().qualifiedName();
        if (e instanceof dev.hourglass.convert.MissingSettingException missing) {
            err.println(command + ": error: " + oneLine(missing.getMessage()));
            err.flush();
            return 2;
        }
        String message = oneLine(failureMessage(e));
        if (message.startsWith("reduce ")) {
            // A --reduce (or --expedite) setting the model refuses, found once an executor had loaded it: a bad
            // argument, as hourglass classify and segment report it.
            err.println(command + ": error: --" + message);
            err.println("Try '" + command + " --help'.");
            err.flush();
            return 2;
        }
        err.println(command + ": error: " + message);
        err.flush();
        return 1;
    }

    /** The message that says what went wrong: ours, found among the causes, else the first line of the outermost. */
    static String failureMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().startsWith("hourglass ")) {
                return t.getMessage().substring("hourglass ".length()).replaceFirst("^(classify|segment): ", "");
            }
            if (t instanceof dev.hourglass.convert.MissingSettingException) {
                return t.getMessage();
            }
        }
        if (e instanceof IOException || e instanceof IllegalArgumentException || e instanceof UncheckedIOException) {
            return e.getMessage();
        }
        String first = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
        return e.getClass().getSimpleName() + ": " + first;
    }

    static String oneLine(String message) {
        return message == null ? "(no message)" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** What both tasks take. */
    abstract static class Job implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--master", paramLabel = "URL", description = "Spark's master: local[N] (N cores of this"
                + " machine), spark://..., yarn, k8s://... Default: what spark-submit says, else local[*].")
        String master;

        @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model, at a path every"
                + " executor can read: any form hourglass classify/segment --model takes.")
        String model;

        @Option(names = "--images", required = true, arity = "1..*", paramLabel = "PATH", description = "Folders"
                + " (read with their sub-folders), files or globs of any file system Spark reads (local, hdfs://,"
                + " s3a://, ...): the files ending .png, .jpg, .jpeg, .bmp or .gif, in any letter case.")
        List<String> images;

        @Option(names = "--out", required = true, paramLabel = "PATH", description = "Where the Parquet output goes"
                + " (a folder of part files, complete when _SUCCESS is there): the input's path, modificationTime and"
                + " length, then the result columns. Refused if it exists, unless --force.")
        String out;

        @Option(names = "--force", description = "Replace an existing --out (it is deleted when the job starts"
                + " writing). A job that fails leaves no output behind, with or without --force.")
        boolean force;

        @Option(names = "--partitions", paramLabel = "N", description = "Repartition the images into N partitions"
                + " (tasks) first. Default: as binaryFile packs the files (it counts 4 MB per file: at most about 30"
                + " small images per partition).")
        Integer partitions;

        @Option(names = "--threads", paramLabel = "N", description = "Compute threads of the model in each executor"
                + " (shared by its tasks; each task also computes on its own thread). Default: spark.task.cpus (1).")
        Integer threads;

        @Option(names = "--backend", defaultValue = Backends.AUTO, paramLabel = "NAME", description = "Where each"
                + " executor computes: auto (its best backend), cpu, tornado. Default: ${DEFAULT-VALUE}.")
        String backend;

        @Option(names = "--reduce", paramLabel = "SPEC", description = "Token reduction, no fine-tuning, as hourglass"
                + " takes it: tome:r=R, expedit:alpha=A,grid=HxW[,...], slim:masks=FILE (a file every executor can"
                + " read), cfvit:threshold=T.")
        String reduce;

        @Option(names = "--max-pixels", defaultValue = "" + RgbImage.DEFAULT_MAX_PIXELS, paramLabel = "N",
                description = "Images of more pixels get an error row, checked before decoding (default:"
                        + " ${DEFAULT-VALUE}, Pillow's limit).")
        long maxPixels;

        @CommandLine.Mixin
        ConversionOptions conversion;

        abstract String task();

        /** This task's options on top of the common ones; checks its own options (exit 2). */
        abstract InferenceOptions taskOptions(CommandLine cl, InferenceOptions options) throws IOException;

        abstract Dataset<Row> infer(Dataset<Row> images, InferenceOptions options);

        @Override
        public Integer call() throws IOException {
            CommandLine cl = spec.commandLine();
            InferenceOptions options = options(cl);
            boolean local = master != null ? master.startsWith("local")
                    : System.getProperty("spark.master", "local").startsWith("local");
            Path localModel = ImageRows.localPath(model);
            if (local && localModel != null && !Files.exists(localModel)) {
                // In local mode this JVM is the executor: say it now rather than from a failed task.
                throw new IOException("--model " + model + ": no such file or folder");
            }
            SparkSession spark = Session.start(master, "hourglass-spark " + task());
            try {
                Configuration hadoop = spark.sparkContext().hadoopConfiguration();
                checkOutput(cl, hadoop);
                checkImages(hadoop);
                Dataset<Row> images = spark.read().format("binaryFile").option("pathGlobFilter", IMAGE_GLOB)
                        .option("recursiveFileLookup", "true").load(this.images.toArray(String[]::new));
                if (images.select("path").isEmpty()) {
                    throw new IOException("--images " + String.join(" ", this.images) + ": no images (files ending"
                            + " .png, .jpg, .jpeg, .bmp or .gif)");
                }
                if (partitions != null) {
                    images = images.repartition(partitions);
                }
                long t0 = System.nanoTime();
                Dataset<Row> results = infer(images, options).drop(InferenceOptions.DEFAULT_IMAGE_COLUMN);
                try {
                    results.write().mode(force ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(out);
                } catch (Exception e) { // Spark's SparkException, undeclared (Scala)
                    removeIncomplete(spark, hadoop);
                    throw e;
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                return summarise(cl, spark, seconds);
            } finally {
                Session.stopIfOurs(spark);
            }
        }

        private InferenceOptions options(CommandLine cl) throws IOException {
            if (threads != null && threads < 1) {
                throw new CommandLine.ParameterException(cl, "--threads must be at least 1, got " + threads);
            }
            if (partitions != null && partitions < 1) {
                throw new CommandLine.ParameterException(cl, "--partitions must be at least 1, got " + partitions);
            }
            if (maxPixels < 1) {
                throw new CommandLine.ParameterException(cl, "--max-pixels must be at least 1, got " + maxPixels);
            }
            InferenceOptions options = InferenceOptions.model(model).backend(backend).maxPixels(maxPixels);
            if (threads != null) {
                options = options.threads(threads);
            }
            options = taskOptions(cl, options);
            if (reduce != null) {
                options = withReduce(cl, options, "--reduce", reduce);
            }
            return options;
        }

        static InferenceOptions withReduce(CommandLine cl, InferenceOptions options, String option, String spec)
                throws IOException {
            try {
                Reductions.parse(spec);
            } catch (UncheckedIOException e) {
                throw new IOException(option + ": " + e.getCause().getMessage(), e.getCause());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, option + ": " + e.getMessage());
            }
            return options.reduce(spec);
        }

        private void checkOutput(CommandLine cl, Configuration hadoop) throws IOException {
            org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(out);
            FileSystem fs = path.getFileSystem(hadoop);
            if (fs.exists(path) && !force) {
                throw new CommandLine.ParameterException(cl, "--out " + out + ": already exists; give --force to"
                        + " replace it");
            }
        }

        /**
         * After a failed write, removes what it left at {@code --out} (Spark's abort removes its temporary files, not
         * the folder), unless the output is complete: the folder is this run's, since an existing one is refused
         * without {@code --force}, and with it Spark has deleted the old output already. So a failed job leaves
         * nothing that looks like an output, and the same command can run again. The job's other tasks are
         * cancelled, but may still be writing their temporary files: it waits (a minute at most) until no stage runs.
         */
        private void removeIncomplete(SparkSession spark, Configuration hadoop) {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (running(spark) && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
            }
            try {
                org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(out);
                FileSystem fs = path.getFileSystem(hadoop);
                if (fs.exists(path) && !fs.exists(new org.apache.hadoop.fs.Path(path, "_SUCCESS"))) {
                    fs.delete(path, true);
                }
            } catch (IOException e) {
                spec.commandLine().getErr().println(spec.qualifiedName() + ": warning: cannot remove the incomplete"
                        + " output " + out + ": " + e.getMessage());
            }
        }

        /** Whether a stage or a task (a cancelled one that has not stopped yet included) is still running. */
        private static boolean running(SparkSession spark) {
            var tracker = spark.sparkContext().statusTracker();
            if (tracker.getActiveStageIds().length > 0) {
                return true;
            }
            for (var executor : tracker.getExecutorInfos()) {
                if (executor.numRunningTasks() > 0) {
                    return true;
                }
            }
            return false;
        }

        private void checkImages(Configuration hadoop) throws IOException {
            for (String value : images) {
                if (value.contains("*") || value.contains("?") || value.contains("[") || value.contains("{")) {
                    continue; // a glob: Spark says whether it matches anything
                }
                org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(value);
                if (!path.getFileSystem(hadoop).exists(path)) {
                    throw new IOException("--images " + value + ": no such file or folder");
                }
            }
        }

        /** Counts the rows written and those with an error, from the output itself; exit code 1 if any. */
        private int summarise(CommandLine cl, SparkSession spark, double seconds) {
            Dataset<Row> written = spark.read().parquet(out);
            long rows = written.count();
            Dataset<Row> failed = written.where(functions.col(HourglassSpark.ERROR).isNotNull());
            long errors = failed.count();
            PrintWriter o = cl.getOut();
            o.printf(Locale.ROOT, "wrote %s: %d image(s) in %.1f s (%.1f images/s), %d with an error%n", out, rows,
                    seconds, rows / seconds, errors);
            o.flush();
            if (errors == 0) {
                return 0;
            }
            PrintWriter err = cl.getErr();
            for (Row r : failed.select(HourglassSpark.ERROR).limit(5).collectAsList()) {
                err.println(cl.getCommandSpec().qualifiedName() + ": " + r.getString(0));
            }
            err.println(cl.getCommandSpec().qualifiedName() + ": error: " + errors + " of " + rows + " image(s) have"
                    + " no result; their rows in " + out + " say why (column error)");
            err.flush();
            return 1;
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true, description = {"Classifies images with a ViT or DeiT"
            + " (or CF-ViT) on Spark, as hourglass classify does, and writes Parquet: per image the top-k classes"
            + " (predictions: index, label, score, logit), reduce and error.",
            "  hourglass-spark classify --master local[2] --model M --images photos/ --out labels.parquet"})
    static final class Classify extends Job {
        @Option(names = "--top-k", defaultValue = "5", paramLabel = "K", description = "Classes per image (default:"
                + " ${DEFAULT-VALUE}).")
        int topK;

        @Option(names = "--batch", defaultValue = "" + InferenceOptions.DEFAULT_BATCH, paramLabel = "N",
                description = "Images per forward pass in each task (default: ${DEFAULT-VALUE}).")
        int batch;

        @Override
        String task() {
            return "classify";
        }

        @Override
        InferenceOptions taskOptions(CommandLine cl, InferenceOptions options) throws IOException {
            if (topK < 1) {
                throw new CommandLine.ParameterException(cl, "--top-k must be at least 1, got " + topK);
            }
            if (batch < 1) {
                throw new CommandLine.ParameterException(cl, "--batch must be at least 1, got " + batch);
            }
            return options.topK(topK).batch(batch).conversion(conversion.toOptions());
        }

        @Override
        Dataset<Row> infer(Dataset<Row> images, InferenceOptions options) {
            return HourglassSpark.classify(images, options);
        }
    }

    @Command(name = "segment", mixinStandardHelpOptions = true, description = {"Segments images with a Segmenter on"
            + " Spark, as hourglass segment does, and writes Parquet: per image the classes present with their share"
            + " of the pixels (classes: index, name, fraction), the class map as a PNG (class_map), reduce and error.",
            "  hourglass-spark segment --master local[2] --model M --images scenes/ --out masks.parquet --expedite"
                    + " alpha=4,grid=10x10,k=1"})
    static final class Segment extends Job {
        @Option(names = "--expedite", arity = "0..1", fallbackValue = "", paramLabel = "SETTINGS",
                description = "Run with Expedit: the same as --reduce expedit:SETTINGS (defaults"
                        + " alpha=10,grid=28x28,iters=5,window=5,tau=0.02,k=20,tau_r=0.02).")
        String expedite;

        @Override
        String task() {
            return "segment";
        }

        @Override
        InferenceOptions taskOptions(CommandLine cl, InferenceOptions options) throws IOException {
            InferenceOptions o = options.conversion(conversion.toOptions());
            if (expedite != null) {
                if (reduce != null) {
                    throw new CommandLine.ParameterException(cl, "give --reduce or --expedite, not both");
                }
                try {
                    ExpeditSettings.parse(expedite);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, "--expedite: " + e.getMessage());
                }
                o = o.reduce("expedit:" + expedite);
            }
            return o;
        }

        @Override
        Dataset<Row> infer(Dataset<Row> images, InferenceOptions options) {
            return HourglassSpark.segment(images, options);
        }
    }

    /** The Spark session of a command: the running one (a test's, an application's), else a new one. */
    static final class Session {
        private static SparkSession created;

        private Session() {
        }

        static synchronized SparkSession start(String master, String name) {
            if (SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined()) {
                return SparkSession.builder().getOrCreate();
            }
            SparkSession.Builder builder = SparkSession.builder().appName(name);
            if (master != null) {
                builder = builder.master(master);
            } else if (System.getProperty("spark.master") == null) {
                builder = builder.master("local[*]");
            }
            created = builder.getOrCreate();
            return created;
        }

        static synchronized void stopIfOurs(SparkSession spark) {
            if (spark == created) {
                spark.stop();
                created = null;
            }
        }
    }

    /** The version of the Spark on the class path, from its own {@code spark-version-info.properties}. */
    static String sparkVersion() {
        try (java.io.InputStream in = SparkSession.class.getClassLoader()
                .getResourceAsStream("spark-version-info.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                return p.getProperty("version", "(unknown)");
            }
        } catch (IOException e) {
            // fall through
        }
        return "(unknown)";
    }

    /** The version Maven built (the jar manifest's), as {@code hourglass --version} says it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = HourglassSparkJob.class.getPackage().getImplementationVersion();
            return new String[] {"hourglass-spark " + (v != null ? v : "(version unknown: classes not built by Maven)"),
                    "Spark " + sparkVersion(),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")"};
        }
    }
}
