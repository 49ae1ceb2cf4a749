package dev.hourglass.spark;

import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Objects;

import dev.hourglass.backend.Backends;
import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.tasks.image.RgbImage;

/**
 * What {@link HourglassSpark#classify} and {@link HourglassSpark#segment} run: the model, where its images come from
 * in the DataFrame, and the settings the {@code hourglass} command line has ({@code --top-k}, {@code --threads},
 * {@code --backend}, {@code --reduce}, {@code --max-pixels}, and what a checkpoint may not say: {@code --family},
 * {@code --heads}, {@code --decoder-heads}, {@code --mean}/{@code --std}, {@code --labels}).
 *
 * <pre>{@code
 * InferenceOptions options = InferenceOptions.model("/shared/models/vit_base_patch16_224").topK(3).reduce("tome:r=8");
 * }</pre>
 *
 * <p>Immutable and serializable: each {@code with}-style method returns a copy. Spark ships it to the executors with
 * each task; every value is checked here, on the driver, so a bad one fails before any job runs (an
 * {@link IllegalArgumentException} naming the setting and the value).
 */
public final class InferenceOptions implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The binary column {@code binaryFile} reads an image file's bytes into. */
    public static final String DEFAULT_IMAGE_COLUMN = "content";
    /** The string column {@code binaryFile} writes the file's path (a URI) into. */
    public static final String DEFAULT_PATH_COLUMN = "path";
    /** Images per forward pass of a classifier, by default. */
    public static final int DEFAULT_BATCH = 8;

    private final String model;
    private final int topK;
    private final Integer threads;
    private final String backend;
    private final String reduce;
    private final long maxPixels;
    private final int batch;
    private final String imageColumn;
    private final String pathColumn;
    // ConvertOptions is not serializable: its fields travel instead.
    private final String family;
    private final Integer heads;
    private final Integer decoderHeads;
    private final ArrayList<String> labels;
    private final ArrayList<Double> mean;
    private final ArrayList<Double> std;
    /** {@link ConvertOptions#dptOutput()} by its enum name (kept so that the job refuses it as the CLI does). */
    private final String dptOutput;

    private InferenceOptions(String model, int topK, Integer threads, String backend, String reduce, long maxPixels,
                             int batch, String imageColumn, String pathColumn, ConvertOptions conversion) {
        this.model = model;
        this.topK = topK;
        this.threads = threads;
        this.backend = backend;
        this.reduce = reduce;
        this.maxPixels = maxPixels;
        this.batch = batch;
        this.imageColumn = imageColumn;
        this.pathColumn = pathColumn;
        this.family = conversion.layout();
        this.heads = conversion.heads();
        this.decoderHeads = conversion.decoderHeads();
        this.labels = conversion.labels() == null ? null : new ArrayList<>(conversion.labels());
        this.mean = conversion.mean() == null ? null : new ArrayList<>(conversion.mean());
        this.std = conversion.std() == null ? null : new ArrayList<>(conversion.std());
        this.dptOutput = conversion.dptOutput() == null ? null : conversion.dptOutput().name();
    }

    /**
     * Options for a model at {@code path}, which every executor must be able to read (a shared or replicated file
     * system path): any form {@code hourglass classify --model} or {@code segment --model} takes (an Hourglass model
     * file, a timm or Hugging Face folder, a {@code .pth}, Segmenter's {@code checkpoint.pth}). Defaults: top 5
     * classes, {@code spark.task.cpus} compute threads, backend {@code auto}, no token reduction, Pillow's pixel limit,
     * batches of {@value #DEFAULT_BATCH}, images from the {@code content} column (named by {@code path}) or, without
     * one, read from the paths in {@code path}.
     *
     * @throws IllegalArgumentException if the path is blank
     */
    public static InferenceOptions model(String path) {
        Objects.requireNonNull(path, "model");
        if (path.isBlank()) {
            throw new IllegalArgumentException("model: the path is empty");
        }
        return new InferenceOptions(path, 5, null, Backends.AUTO, null, RgbImage.DEFAULT_MAX_PIXELS, DEFAULT_BATCH,
                DEFAULT_IMAGE_COLUMN, DEFAULT_PATH_COLUMN, ConvertOptions.NONE);
    }

    /** The classes kept per image by {@code classify} (at least 1; all of them when the model has fewer). */
    public InferenceOptions topK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("topK must be at least 1, got " + k);
        }
        return new InferenceOptions(model, k, threads, backend, reduce, maxPixels, batch, imageColumn, pathColumn,
                conversion());
    }

    /**
     * Compute threads of the model in each executor JVM (at least 1). The model is shared by the executor's tasks:
     * each task computes on its own thread plus, for its parallel loops, the model's pool, so an executor running
     * {@code C} tasks keeps up to {@code C + threads - 1} threads busy. Default: {@code spark.task.cpus} (1 unless
     * set), one core per task as Spark schedules them; raise it when an executor runs fewer tasks than it has cores.
     */
    public InferenceOptions threads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + n);
        }
        return new InferenceOptions(model, topK, n, backend, reduce, maxPixels, batch, imageColumn, pathColumn,
                conversion());
    }

    /**
     * Where each executor computes: {@code auto} (each executor takes the best backend it has, e.g. a GPU where
     * TornadoVM and a GPU are present, else the CPU), {@code cpu}, {@code tornado}. A backend named but unable to run
     * on an executor fails its tasks with the reason, never a quiet fallback.
     */
    public InferenceOptions backend(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("backend: the name is empty; use auto, cpu or tornado");
        }
        return new InferenceOptions(model, topK, threads, name.strip(), reduce, maxPixels, batch, imageColumn,
                pathColumn, conversion());
    }

    /**
     * A token reduction, as {@code --reduce} takes it ({@code tome:r=8}, {@code expedit:alpha=4,grid=10x10,k=1},
     * {@code cfvit:threshold=0.5}, {@code slim:masks=FILE} with a file every executor can read), or null for none.
     * The spec is read here, so an unreadable one fails at once; whether the model can take it is checked when an
     * executor has loaded it (a setting it refuses fails the job, naming the setting).
     *
     * @throws IllegalArgumentException for an unknown method, key or value
     */
    public InferenceOptions reduce(String spec) {
        String canonical = null;
        if (spec != null && !spec.isBlank()) {
            try {
                canonical = Reductions.parse(spec).spec();
            } catch (java.io.UncheckedIOException e) {
                throw new IllegalArgumentException("reduce " + spec + ": " + e.getCause().getMessage(), e);
            }
        }
        return new InferenceOptions(model, topK, threads, backend, canonical, maxPixels, batch, imageColumn,
                pathColumn, conversion());
    }

    /** Images of more pixels than this get an error instead of a result, refused from the header before decoding. */
    public InferenceOptions maxPixels(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxPixels must be at least 1, got " + n);
        }
        return new InferenceOptions(model, topK, threads, backend, reduce, n, batch, imageColumn, pathColumn,
                conversion());
    }

    /**
     * Images per forward pass of a classifier (at least 1; default {@value #DEFAULT_BATCH}): each task decodes and
     * preprocesses this many rows, then runs them as one batch. Segmenter runs one image at a time (its sliding
     * windows are the batch), whatever this says.
     */
    public InferenceOptions batch(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + n);
        }
        return new InferenceOptions(model, topK, threads, backend, reduce, maxPixels, n, imageColumn, pathColumn,
                conversion());
    }

    /**
     * The binary column holding each image file's bytes (default {@code content}, what {@code binaryFile} reads). When
     * the DataFrame has no {@code content} column, images are read from the paths in {@link #pathColumn}; a column
     * named here must exist.
     */
    public InferenceOptions imageColumn(String name) {
        return new InferenceOptions(model, topK, threads, backend, reduce, maxPixels, batch, column("imageColumn",
                name), pathColumn, conversion());
    }

    /**
     * The string column naming each image (default {@code path}): its file, read on the executor, when the DataFrame
     * has no image column (a local path or {@code file:} URI read as {@code hourglass classify} reads it, any other
     * URI through Hadoop's file systems with the session's Hadoop configuration); otherwise the name error messages
     * give the image (without one, they say where the row is). A column named here must exist.
     */
    public InferenceOptions pathColumn(String name) {
        return new InferenceOptions(model, topK, threads, backend, reduce, maxPixels, batch, imageColumn,
                column("pathColumn", name), conversion());
    }

    /**
     * What the checkpoint does not say ({@code --family}, {@code --heads}, {@code --decoder-heads}, {@code --labels},
     * {@code --mean} and {@code --std} on the command line).
     */
    public InferenceOptions conversion(ConvertOptions options) {
        Objects.requireNonNull(options, "conversion");
        return new InferenceOptions(model, topK, threads, backend, reduce, maxPixels, batch, imageColumn, pathColumn,
                options);
    }

    private static String column(String option, String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(option + ": the column name is empty");
        }
        return name;
    }

    // ------------------------------------------------------------------ accessors

    public String model() {
        return model;
    }

    public int topK() {
        return topK;
    }

    /** The threads asked for, or null for {@code spark.task.cpus}. */
    public Integer threads() {
        return threads;
    }

    public String backend() {
        return backend;
    }

    /** The reduction spec, canonical ({@link ReductionMethod#spec()}), or null for none. */
    public String reduce() {
        return reduce;
    }

    /** The reduction, read again from its spec (a {@code slim:} mask file is read where this is called). */
    ReductionMethod reduction() {
        return reduce == null ? null : Reductions.parse(reduce);
    }

    public long maxPixels() {
        return maxPixels;
    }

    public int batch() {
        return batch;
    }

    public String imageColumn() {
        return imageColumn;
    }

    public String pathColumn() {
        return pathColumn;
    }

    public ConvertOptions conversion() {
        return new ConvertOptions(family, heads, decoderHeads, labels, mean, std,
                dptOutput == null ? null : dev.hourglass.convert.DptOutput.valueOf(dptOutput));
    }

    @Override
    public String toString() {
        return "InferenceOptions[model=" + model + ", topK=" + topK + ", threads="
                + (threads == null ? "spark.task.cpus" : threads) + ", backend=" + backend + ", reduce=" + reduce
                + ", maxPixels=" + maxPixels + ", batch=" + batch + ", imageColumn=" + imageColumn + ", pathColumn="
                + pathColumn + ", conversion=" + conversion() + "]";
    }
}
