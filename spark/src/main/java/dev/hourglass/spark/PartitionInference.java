package dev.hourglass.spark;

import java.io.IOException;
import java.io.Serial;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.hourglass.reduce.ReductionMethod;

/**
 * The function {@code mapPartitions} runs on each partition: the executor's cached model ({@link ModelCache}), then
 * the partition's rows in batches, each row out with its input columns and the result columns after them. Rows are
 * pulled from Spark one batch at a time, so a partition of any size holds one batch of images in memory.
 *
 * @param <M> the model
 */
abstract class PartitionInference<M extends AutoCloseable> implements MapPartitionsFunction<Row, Row> {
    @Serial
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PartitionInference.class);

    protected final InferenceOptions options;
    protected final ImageRows images;

    PartitionInference(InferenceOptions options, ImageRows images) {
        this.options = options;
        this.images = images;
    }

    /** {@code classify} or {@code segment}: part of the cache key, and of messages. */
    abstract String task();

    /** Loads the model with {@code threads} compute threads. */
    abstract M load(int threads) throws IOException;

    /** The model in one line. */
    abstract String describe(M model);

    /** The backend the model computes on, and why (what the command line prints once). */
    abstract String backendSummary(M model);

    /** Refuses, before any row runs, a reduction the model cannot take (the job fails, naming the setting). */
    abstract void check(M model, ReductionMethod reduction);

    /** How many rows {@link #run} takes at once. */
    abstract int batchSize();

    /**
     * The output rows of a batch, in order: each input row's values followed by its results, or by nulls and an
     * error for a row whose image cannot be used.
     *
     * @param names what errors call each row's image
     */
    abstract List<Row> run(M model, ReductionMethod reduction, List<Row> rows, List<String> names);

    @Override
    public Iterator<Row> call(Iterator<Row> rows) throws IOException {
        if (!rows.hasNext()) {
            return Collections.emptyIterator(); // an empty partition loads nothing
        }
        TaskContext task = TaskContext.get();
        int threads = options.threads() != null ? options.threads() : task == null ? 1 : Math.max(1, task.cpus());
        int partition = task == null ? 0 : task.partitionId();
        ModelCache.Key key = new ModelCache.Key(task(), options.model(), threads, options.backend(),
                options.conversion());
        M model = ModelCache.get(key, () -> {
            try {
                long t0 = System.nanoTime();
                M loaded = load(threads);
                LOG.info("hourglass {}: loaded {} on {} in {} ms: {}; {}", task(), options.model(), where(),
                        (System.nanoTime() - t0) / 1_000_000, describe(loaded), backendSummary(loaded));
                return loaded;
            } catch (IOException e) {
                throw new IOException("hourglass " + task() + ": cannot load the model " + options.model() + " ("
                        + where() + "): " + e.getMessage(), e);
            }
        });
        ReductionMethod reduction;
        try {
            reduction = options.reduction();
        } catch (UncheckedIOException e) {
            throw new IOException("hourglass " + task() + ": reduce " + options.reduce() + ": "
                    + e.getCause().getMessage(), e.getCause());
        }
        try {
            check(model, reduction);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("hourglass " + task() + ": reduce " + options.reduce() + ": "
                    + e.getMessage(), e);
        }
        return new Batches(rows, partition, model, reduction);
    }

    /** Which executor this is, for messages. */
    private static String where() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "outside Spark" : "executor " + env.executorId();
    }

    /** The input row's values, then {@code results}. */
    static Row append(Row in, Object... results) {
        Object[] values = new Object[in.length() + results.length];
        for (int i = 0; i < in.length(); i++) {
            values[i] = in.get(i);
        }
        System.arraycopy(results, 0, values, in.length(), results.length);
        return RowFactory.create(values);
    }

    /** An array column's value: Spark's row encoder takes Scala sequences. */
    static scala.collection.Seq<Row> seq(List<Row> rows) {
        return scala.jdk.javaapi.CollectionConverters.asScala(rows);
    }

    /** A message on one line, as the command line prints them. */
    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** The output rows, computed one batch at a time as Spark pulls them. */
    private final class Batches implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final int partition;
        private final M model;
        private final ReductionMethod reduction;
        private Iterator<Row> out = Collections.emptyIterator();
        private long next;

        Batches(Iterator<Row> rows, int partition, M model, ReductionMethod reduction) {
            this.rows = rows;
            this.partition = partition;
            this.model = model;
            this.reduction = reduction;
        }

        @Override
        public boolean hasNext() {
            while (!out.hasNext() && rows.hasNext()) {
                int size = batchSize();
                List<Row> batch = new ArrayList<>(size);
                List<String> names = new ArrayList<>(size);
                while (batch.size() < size && rows.hasNext()) {
                    Row row = rows.next();
                    batch.add(row);
                    names.add(images.name(row, next++, partition));
                }
                out = run(model, reduction, batch, names).iterator();
            }
            return out.hasNext();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return out.next();
        }
    }
}
