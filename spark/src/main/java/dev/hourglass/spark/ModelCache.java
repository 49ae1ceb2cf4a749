package dev.hourglass.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.hourglass.convert.ConvertOptions;

/**
 * The models of this JVM (a Spark executor, or the driver in local mode): each one loaded once, by the first task that
 * needs it, and shared by every task the executor runs, concurrent ones included.
 *
 * <p>Keyed by what changes the loaded model ({@link Key}: the task, the model path, the compute threads, the backend,
 * the conversion options); two jobs with the same key share one model. Thread-safe: tasks asking at once for a model
 * not yet loaded wait while one of them loads it, so it is loaded once however many ask; tasks asking for other keys
 * do not wait. A load that fails is not remembered: the task fails with the reason, and the next task that asks (a
 * Spark retry) loads again.
 *
 * <p>Lifetime: a model stays loaded until the JVM exits (a shutdown hook closes every model; closing waits for calls
 * in progress, see {@code ImageClassifier#close}) or until {@link #closeAll()}. An executor is reused by the
 * application's later jobs, which find the model loaded; each distinct key holds its own weights, about 4 bytes per
 * parameter of executor heap.
 */
public final class ModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

    /** What identifies a loaded model. */
    record Key(String task, String model, int threads, String backend, ConvertOptions conversion) {
    }

    /** Loads a model; called at most once per key while it stays cached. */
    @FunctionalInterface
    interface Loader<M extends AutoCloseable> {
        M load() throws IOException;
    }

    private static final ConcurrentHashMap<Key, Slot> MODELS = new ConcurrentHashMap<>();
    private static final AtomicLong LOADS = new AtomicLong();

    static {
        Thread hook = new Thread(ModelCache::closeAll, "hourglass-model-cache-close");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private ModelCache() {
    }

    /** One key's model, loaded under the slot's lock, so loads of other keys go on meanwhile. */
    private static final class Slot {
        private AutoCloseable model;

        synchronized <M extends AutoCloseable> M get(Key key, Loader<M> loader) throws IOException {
            if (model == null) {
                M loaded = loader.load();
                LOADS.incrementAndGet();
                model = loaded;
            }
            @SuppressWarnings("unchecked")
            M m = (M) model;
            return m;
        }

        synchronized AutoCloseable take() {
            AutoCloseable m = model;
            model = null;
            return m;
        }
    }

    /**
     * The model for {@code key}: the cached one, or one {@code loader} loads now (once, however many threads ask).
     *
     * @throws IOException what the loader threw; nothing is cached then
     */
    static <M extends AutoCloseable> M get(Key key, Loader<M> loader) throws IOException {
        return MODELS.computeIfAbsent(key, k -> new Slot()).get(key, loader);
    }

    /**
     * How many models this JVM has loaded since it started (each load that succeeded, for any key): a job that ran
     * here and loaded nothing new found its model cached. For tests and monitoring.
     */
    public static long loads() {
        return LOADS.get();
    }

    /** How many models are loaded now. */
    public static int size() {
        int n = 0;
        for (Slot slot : MODELS.values()) {
            synchronized (slot) {
                n += slot.model == null ? 0 : 1;
            }
        }
        return n;
    }

    /**
     * Closes and forgets every model of this JVM; the next task that needs one loads it again. Closing waits for the
     * calls in progress on a model, and a call that starts afterwards fails ({@link IllegalStateException}), so call
     * it when no job is running here: the JVM's shutdown hook does, and so may a local-mode application between jobs to
     * free the memory.
     */
    public static void closeAll() {
        List<AutoCloseable> models = new ArrayList<>();
        for (Key key : List.copyOf(MODELS.keySet())) {
            Slot slot = MODELS.remove(key);
            AutoCloseable m = slot == null ? null : slot.take();
            if (m != null) {
                models.add(m);
            }
        }
        for (AutoCloseable m : models) {
            try {
                m.close();
            } catch (Exception e) {
                LOG.warn("hourglass: closing {} failed: {}", m, e.toString());
            }
        }
    }
}
