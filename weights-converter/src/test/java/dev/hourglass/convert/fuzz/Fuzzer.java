package dev.hourglass.convert.fuzz;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A seeded mutation harness: it writes mutants of valid files to one path, hands each to a reader, and requires that
 * every one is either read or refused with the reader's documented exception, with a one-line message naming the
 * file. Anything else (an unchecked exception, an {@link Error} such as {@link OutOfMemoryError} or
 * {@link StackOverflowError}, or a reader still busy after {@link #HANG}) fails the test, listing each distinct crash
 * with its iteration and its input (inline in base64 when short; always saved under
 * {@code target/fuzz-failures/READER/}). A reader must also release every file it mapped, whether it read the input
 * (and was closed) or refused it.
 *
 * <p>Runs are deterministic: mutant {@code i} comes from its own generator, seeded with the run's seed and {@code i}.
 * The normal test suite runs a short run of each reader; a long one is chosen with system properties:
 * <pre>
 * mvn -o -pl weights-converter -am test -Dtest='*FuzzTest' -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dhourglass.fuzz.iterations=200000 [-Dhourglass.fuzz.seed=N]
 * </pre>
 */
public final class Fuzzer {
    /** Mutants per reader, overriding each test's short default. */
    public static final String ITERATIONS_PROPERTY = "hourglass.fuzz.iterations";
    /** The run's seed; the default is fixed, so the suite always tries the same mutants. */
    public static final String SEED_PROPERTY = "hourglass.fuzz.seed";
    /** How long one input may take before the reader counts as hung: generous, a mutant takes milliseconds. */
    public static final Duration HANG = Duration.ofSeconds(30);
    private static final long DEFAULT_SEED = 0x486f7572676c6173L;
    private static final int MAX_DISTINCT_CRASHES = 20;
    private static final int INLINE_REPRODUCER_BYTES = 512;

    /** Reads one file, throwing what the reader throws. */
    @FunctionalInterface
    public interface Target {
        void read(Path file) throws Exception;
    }

    /** Whether a thrown exception is the reader's documented refusal: null if it is, else why not. */
    @FunctionalInterface
    public interface Refusals {
        String whyNot(Throwable thrown, Path file);
    }

    /** What a run did: how many mutants were read, and how many refused, by exception type. */
    public record Report(String reader, long seed, int iterations, int read, Map<String, Integer> refused,
                         Duration time) {
        @Override
        public String toString() {
            int refusedCount = refused.values().stream().mapToInt(Integer::intValue).sum();
            return String.format("fuzz %s: %d mutants (seed %d) in %.1f s: %d read, %d refused %s", reader, iterations,
                    seed, time.toMillis() / 1000.0, read, refusedCount, refused);
        }
    }

    private Fuzzer() {
    }

    /** The number of mutants to try: the system property if set, else {@code shortRun}. */
    public static int iterations(int shortRun) {
        return Integer.getInteger(ITERATIONS_PROPERTY, shortRun);
    }

    /**
     * The usual refusal: an exception of one of {@code types}, whose message is one line and contains the file's
     * name.
     */
    @SafeVarargs
    public static Refusals documented(Class<? extends Exception>... types) {
        return (thrown, file) -> {
            boolean typed = false;
            for (Class<? extends Exception> t : types) {
                typed |= t.isInstance(thrown);
            }
            if (!typed) {
                return "thrown " + thrown.getClass().getName() + ", not a documented refusal";
            }
            String message = thrown.getMessage();
            if (message == null || message.isBlank()) {
                return "refused without a message";
            }
            if (message.indexOf('\n') >= 0 || message.indexOf('\r') >= 0) {
                return "the message is not one line";
            }
            if (!message.contains(file.getFileName().toString())) {
                return "the message does not name the file " + file.getFileName();
            }
            return null;
        };
    }

    /**
     * Runs the reader on {@link #iterations(int) iterations(shortRun)} mutants written to {@code file}, and fails the
     * test with every distinct crash and hang found.
     */
    public static Report run(String reader, Function<SplittableRandom, byte[]> mutants, int shortRun, Path file,
                             Target target, Refusals refusals) {
        long seed = Long.getLong(SEED_PROPERTY, DEFAULT_SEED);
        int iterations = iterations(shortRun);
        Map<String, String> crashes = new LinkedHashMap<>();
        Map<String, Integer> refused = new TreeMap<>();
        int read = 0;
        long start = System.nanoTime();
        ExecutorService worker = newWorker(reader);
        try {
            for (int i = 0; i < iterations && crashes.size() < MAX_DISTINCT_CRASHES; i++) {
                byte[] input = mutants.apply(new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1))));
                Files.write(file, input);
                long mappedBefore = mappedFiles();
                Future<Throwable> outcome = worker.submit(() -> {
                    try {
                        target.read(file);
                        return null;
                    } catch (Throwable t) {
                        return t;
                    }
                });
                Throwable thrown;
                try {
                    thrown = outcome.get(HANG.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    outcome.cancel(true);
                    worker.shutdownNow();
                    crashes.put("hang", describe(reader, seed, i, input, "still reading after " + HANG, null));
                    break;          // the stuck thread may never return: stop here
                }
                long leaked = mappedFiles() - mappedBefore;
                if (leaked != 0) {
                    crashes.putIfAbsent("leak " + (thrown == null ? "read" : thrown.getClass().getName()),
                            describe(reader, seed, i, input, "left " + leaked + " file mapping(s) open after "
                                    + (thrown == null ? "reading and closing it" : "refusing it"), thrown));
                }
                if (thrown == null) {
                    read++;
                    continue;
                }
                String why = thrown instanceof Exception ? refusals.whyNot(thrown, file)
                        : "thrown " + thrown.getClass().getName();
                if (why == null) {
                    refused.merge(thrown.getClass().getSimpleName(), 1, Integer::sum);
                } else {
                    crashes.putIfAbsent(signature(thrown, why), describe(reader, seed, i, input, why, thrown));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        } finally {
            worker.shutdownNow();
        }
        Report report = new Report(reader, seed, iterations, read, refused,
                Duration.ofNanos(System.nanoTime() - start));
        System.out.println(report);
        if (!crashes.isEmpty()) {
            fail(crashes.size() + " distinct crash(es) of the " + reader + " reader (" + report + "):\n\n"
                    + String.join("\n\n", crashes.values()));
        }
        return report;
    }

    /** Files mapped by this JVM: the JDK counts each mapped memory segment in the "mapped" buffer pool. */
    private static long mappedFiles() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("mapped"))
                .mapToLong(BufferPoolMXBean::getCount)
                .sum();
    }

    private static ExecutorService newWorker(String reader) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-" + reader);
            t.setDaemon(true);
            return t;
        });
    }

    /** Crashes of one kind at one place count once. */
    private static String signature(Throwable t, String why) {
        StackTraceElement[] stack = t.getStackTrace();
        String where = "";
        for (StackTraceElement e : stack) {
            if (e.getClassName().startsWith("dev.hourglass.") || e.getClassName().startsWith("org.snakeyaml.")) {
                where = e.toString();
                break;
            }
        }
        if (where.isEmpty() && stack.length > 0) {
            where = stack[0].toString();
        }
        return t.getClass().getName() + " " + why.replaceAll("[0-9]+", "#") + " at " + where;
    }

    private static String describe(String reader, long seed, int iteration, byte[] input, String why,
                                   Throwable thrown) {
        Path saved = Path.of("target", "fuzz-failures", reader, "seed" + seed + "-" + iteration + ".bin");
        try {
            Files.createDirectories(saved.getParent());
            Files.write(saved, input);
        } catch (IOException e) {
            saved = null;
        }
        StringBuilder out = new StringBuilder()
                .append("iteration ").append(iteration).append(" (-D").append(SEED_PROPERTY).append('=').append(seed)
                .append("): ").append(why).append("; input of ").append(input.length).append(" bytes")
                .append(saved == null ? "" : ", saved as " + saved.toAbsolutePath());
        if (input.length <= INLINE_REPRODUCER_BYTES) {
            out.append("\nbase64: ").append(Base64.getEncoder().encodeToString(input));
        }
        if (thrown != null) {
            StringWriter trace = new StringWriter();
            thrown.printStackTrace(new PrintWriter(trace));
            String[] lines = trace.toString().split("\n");
            for (int i = 0; i < Math.min(lines.length, 25); i++) {
                out.append('\n').append(lines[i]);
            }
        }
        return out.toString();
    }
}
