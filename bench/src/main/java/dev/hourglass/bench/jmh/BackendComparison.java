package dev.hourglass.bench.jmh;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs {@link BackendBenchmark} three ways in one command and prints one table: the CPU backend with the scalar
 * kernels, the CPU backend with the Vector API kernels, and the TornadoVM backend (when {@code TORNADOVM_HOME} names an
 * SDK and the tornado-kernels jar is on the class path; {@code bench/run-backends.sh} sees to both). Each way is its
 * own JMH run with its own fork JVM options, so the three never share a JVM.
 *
 * <p>Usage: {@code BackendComparison [--quick] [--threads N] [--out DIR]}: {@code --quick} for a short check (1
 * warm-up and 2 measured iterations of 1 s; numbers rough), {@code --threads} for the CPU backend (default 2),
 * {@code --out} for the JSON results (default bench-out).
 */
public final class BackendComparison {
    private static final String PROVIDER = "dev.hourglass.tornado.TornadoBackendProvider";

    private record Way(String label, String backend, String kernels, List<String> jvmArgs) {
    }

    private BackendComparison() {
    }

    public static void main(String[] args) throws RunnerException, java.io.IOException {
        boolean quick = false;
        String threads = "2";
        Path out = Path.of("bench-out");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--threads" -> threads = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "' (--quick, --threads N, --out DIR)");
            }
        }
        Files.createDirectories(out);
        List<String> common = List.of("-Xms2g", "-Xmx2g", JvmArgs.NATIVE_ACCESS, JvmArgs.UNSAFE_ACCESS);
        List<Way> ways = new ArrayList<>();
        ways.add(new Way("scalar (CPU)", "cpu", "scalar", concat(common, List.of(JvmArgs.FORCE_SCALAR))));
        ways.add(new Way("Vector API (CPU)", "cpu", "panama",
                concat(common, List.of(JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE))));
        String tornadoSkipped = tornadoMissing();
        if (tornadoSkipped == null) {
            String argfile = "@" + Path.of(System.getenv("TORNADOVM_HOME"), "tornado-argfile");
            ways.add(new Way("TornadoVM", "tornado", "any",
                    concat(List.of(argfile), concat(common, List.of(JvmArgs.ADD_MODULES, JvmArgs.VECTOR_MODULE)))));
        }

        Map<String, Map<String, String>> table = new LinkedHashMap<>();
        for (Way way : ways) {
            ChainedOptionsBuilder o = new OptionsBuilder()
                    .include(BackendBenchmark.class.getName() + "\\.")
                    .param("backend", way.backend())
                    .param("kernels", way.kernels())
                    .param("threads", threads)
                    .forks(1)
                    .jvmArgs(way.jvmArgs().toArray(String[]::new))
                    .resultFormat(ResultFormatType.JSON)
                    .result(out.resolve("jmh-backends-" + way.backend() + "-" + way.kernels() + ".json").toString());
            if (quick) {
                o.warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(2)
                        .measurementTime(TimeValue.seconds(1));
            }
            for (RunResult r : new Runner(o.build()).run()) {
                String bench = r.getParams().getBenchmark();
                bench = bench.substring(bench.lastIndexOf('.') + 1);
                table.computeIfAbsent(bench, k -> new LinkedHashMap<>()).put(way.label(),
                        String.format(Locale.ROOT, "%.2f ± %.2f", r.getPrimaryResult().getScore(),
                                r.getPrimaryResult().getScoreError()));
            }
        }

        System.out.println();
        System.out.println("BackendBenchmark, ms per call (JMH average time, 99.9% error), CPU threads " + threads);
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-12s", "benchmark"));
        for (Way way : ways) {
            header.append(String.format(Locale.ROOT, " | %-20s", way.label()));
        }
        System.out.println(header);
        for (Map.Entry<String, Map<String, String>> row : table.entrySet()) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-12s", row.getKey()));
            for (Way way : ways) {
                line.append(String.format(Locale.ROOT, " | %-20s", row.getValue().getOrDefault(way.label(), "-")));
            }
            System.out.println(line);
        }
        if (tornadoSkipped != null) {
            System.out.println("TornadoVM not run: " + tornadoSkipped);
        }
    }

    /** Why the TornadoVM way cannot run from this JVM, or null if it can. */
    private static String tornadoMissing() {
        String home = System.getenv("TORNADOVM_HOME");
        if (home == null || home.isBlank()) {
            return "TORNADOVM_HOME is not set";
        }
        if (!Files.isRegularFile(Path.of(home, "tornado-argfile"))) {
            return Path.of(home, "tornado-argfile") + " does not exist";
        }
        try {
            Class.forName(PROVIDER, false, BackendComparison.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return "the tornado-kernels jar is not on the class path (run bench/run-backends.sh)";
        }
        return null;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
