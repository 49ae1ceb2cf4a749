package dev.hourglass.tasks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Set;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.BackendChoice;
import dev.hourglass.backend.Backends;
import dev.hourglass.backend.HeapTooSmallException;
import dev.hourglass.convert.ConvertedModel;
import dev.hourglass.convert.Converter;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.safetensors.TensorSource;

/**
 * The one way a task loads its model, chooses its backend and closes them: what {@code ImageClassifier} and
 * {@code SemanticSegmenter} (and any task after them) hold.
 *
 * <p>{@link #load} opens the model (a file or folder in any form the converter reads, a class path resource, or
 * streams), refuses a family the task does not run (one line naming the model and its family), and hands this object
 * to the task's builder, which reads the {@link #config()}, loads its weights from {@link #weights()} onto
 * {@link #backend()} (opened the first time it is asked for, so a configuration the task refuses never opens one) and
 * {@link #own owns} what it loaded. The model file is closed when the builder returns: the weights have been copied
 * into the backend's stores by then. If anything fails half-way, whatever was owned is closed, last first, then the
 * backend; nothing is left behind.
 *
 * <p>Afterwards every call of the task passes through {@link #enter()} and {@link #exit()} (a {@link CallGate}), and
 * the task's {@code close()} is {@link #close()}: it refuses new calls, waits for those inside, closes what was owned
 * (last first) and then the backend.
 *
 * <p>Thread-safe once {@link #load} has returned: {@link #enter}, {@link #exit} and {@link #close} may be called from
 * any thread. {@link #own} and {@link #backend()} are for the builder, on the loading thread.
 */
public final class LoadedModel implements AutoCloseable {

    /**
     * What a task runs.
     *
     * @param className how failures after close name the model: {@code "ImageClassifier"} gives {@code
     *                  "ImageClassifier shapes-vit is closed"}
     * @param families  the model families it runs
     * @param runs      the end of the message refusing another family, e.g. {@code "segmentation runs Segmenter
     *                  models"}
     */
    public record Task(String className, Set<ModelFamily> families, String runs) {
        public Task {
            Objects.requireNonNull(className, "className");
            families = Set.copyOf(families);
            Objects.requireNonNull(runs, "runs");
        }
    }

    /** Builds a task's model from a loaded model; what it loads it passes to {@link LoadedModel#own}. */
    @FunctionalInterface
    public interface Builder<T> {
        T build(LoadedModel model) throws IOException;
    }

    private final String name;
    private final ModelConfig config;
    private final ModelOptions options;
    private final CallGate calls;
    /** What the builder loaded, closed last first. */
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    /** The model file while the builder runs; null afterwards. */
    private TensorSource weights;
    /** Opened by the first {@link #backend()}; published to other threads by the task's final field. */
    private BackendChoice backend;

    private LoadedModel(String name, ModelConfig config, TensorSource weights, ModelOptions options, Task task) {
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.options = options;
        this.calls = new CallGate(task.className() + " " + name);
    }

    /**
     * Loads a model in any form the converter reads (an Hourglass model file, an original checkpoint file or folder,
     * converted in memory with {@code options.conversion()}; nothing is written) and builds the task's model from it.
     *
     * @throws IOException naming the file and what is wrong with it, or its family if the task does not run it
     * @throws dev.hourglass.backend.BackendUnavailableException if the backend named cannot run here
     */
    public static <T> T load(Path model, ModelOptions options, Task task, Builder<T> builder) throws IOException {
        Path file = model.getFileName();
        try (ConvertedModel converted = Converter.open(model, options.conversion())) {
            return build(file == null ? model.toString() : file.toString(), converted, options, task, builder);
        }
    }

    /**
     * Loads a model from the class path: {@code resource + "/model.safetensors"}, with {@code resource +
     * "/config.json"} beside it unless the weights are an Hourglass model file (so a model can ship inside an
     * application's jar); see {@link #load(InputStream, InputStream, String, ModelOptions, Task, Builder)}.
     */
    public static <T> T loadResource(String resource, ModelOptions options, Task task, Builder<T> builder)
            throws IOException {
        ClassLoader loader = LoadedModel.class.getClassLoader();
        String base = resource.endsWith("/") ? resource.substring(0, resource.length() - 1) : resource;
        try (InputStream weights = loader.getResourceAsStream(base + "/model.safetensors");
             InputStream config = loader.getResourceAsStream(base + "/config.json")) {
            if (weights == null) {
                throw new IOException("class path resource " + base + ": needs " + base + "/model.safetensors");
            }
            return load(weights, config, base, options, task, builder);
        }
    }

    /**
     * Loads a model from streams: a safetensors file and its {@code config.json} (null for an Hourglass model file,
     * which carries its configuration). They are spooled to a temporary folder (deleted before this returns),
     * because weights are memory-mapped while being read.
     *
     * @param name how error messages and the task call the model
     */
    public static <T> T load(InputStream safetensors, InputStream configJson, String name, ModelOptions options,
                             Task task, Builder<T> builder) throws IOException {
        Path dir = Files.createTempDirectory("hourglass-");
        try {
            Files.copy(safetensors, dir.resolve("model.safetensors"));
            if (configJson != null) {
                Files.copy(configJson, dir.resolve("config.json"));
            }
            try (ConvertedModel converted = Converter.open(dir, options.conversion())) {
                return build(name, converted, options, task, builder);
            } catch (IOException e) {
                // The file is a temporary one: its messages are given the model's name, once.
                if (String.valueOf(e.getMessage()).startsWith(name)) {
                    throw e;
                }
                throw new IOException(name + ": " + e.getMessage(), e);
            }
        } finally {
            Files.deleteIfExists(dir.resolve("model.safetensors"));
            Files.deleteIfExists(dir.resolve("config.json"));
            Files.deleteIfExists(dir);
        }
    }

    private static <T> T build(String name, ConvertedModel converted, ModelOptions options, Task task,
                               Builder<T> builder) throws IOException {
        ModelConfig config = converted.config();
        if (!task.families().contains(config.family())) {
            throw new IOException(name + " is a " + config.family() + " model; " + task.runs());
        }
        LoadedModel model = new LoadedModel(name, config, converted, options, task);
        try {
            T built = builder.build(model);
            model.weights = null;
            return built;
        } catch (IOException | RuntimeException | Error e) {
            try {
                model.closeParts();
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            if (e instanceof HeapTooSmallException heap) {
                throw HeapTooSmallException.forModel(converted, heap);
            }
            throw e;
        }
    }

    /** How messages and descriptions call the model: its file name, or the resource or name it was loaded as. */
    public String name() {
        return name;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelOptions options() {
        return options;
    }

    /**
     * The model's tensors, canonical names: for the builder only.
     *
     * @throws IllegalStateException once the builder has returned (the file is closed)
     */
    public TensorSource weights() {
        if (weights == null) {
            throw new IllegalStateException(name + ": the weights are read only while the model loads");
        }
        return weights;
    }

    /**
     * The backend the options name, opened on the first call ({@link Backends#open}).
     *
     * @throws dev.hourglass.backend.BackendUnavailableException if it cannot run here
     */
    public Backend backend() {
        if (backend == null) {
            backend = Backends.open(options.backend(), options.threads());
        }
        return backend.backend();
    }

    /**
     * One line saying which backend and device were chosen, and why a better one was not: what a command line prints
     * once.
     */
    public String backendSummary() {
        backend();
        return backend.summary();
    }

    /** Takes {@code part} (weights, a decoder's store, a thread pool) to close with the model, before the backend. */
    public <C extends AutoCloseable> C own(C part) {
        owned.push(Objects.requireNonNull(part, "part"));
        return part;
    }

    /**
     * Lets one call in; pair it with {@link #exit()} in a {@code finally}.
     *
     * @throws IllegalStateException naming the model if it is closed or closing
     */
    public void enter() {
        calls.enter();
    }

    /** The end of a call that {@link #enter()} let in. */
    public void exit() {
        calls.exit();
    }

    /**
     * Refuses new calls, waits for the calls in progress to return, then closes what was owned (last first) and the
     * backend. Safe from any thread and more than once (later calls do nothing); not from inside a call.
     */
    @Override
    public void close() {
        if (calls.close()) {
            closeParts();
        }
    }

    private void closeParts() {
        Throwable failure = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception | Error e) {
                failure = add(failure, e);
            }
        }
        if (backend != null) {
            try {
                backend.close();
            } catch (RuntimeException | Error e) {
                failure = add(failure, e);
            }
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException(name + ": closing failed", failure);
        }
    }

    private static Throwable add(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    @Override
    public String toString() {
        return "LoadedModel[" + name + ", " + config.family() + ", " + owned.size() + " parts, "
                + (backend == null ? "no backend" : backend.backend().description()) + "]";
    }
}
