package dev.hourglass.bench.jmh;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Prints a JMH JSON result file ({@code -rf json}) as a table with the derived rate JMH cannot show for a
 * time-per-call benchmark: GFLOP/s for the linear layers, attention and the whole forward pass (from the same
 * formulas the benchmarks document), ns per element for the row operations.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.hourglass.bench.jmh.JmhSummary bench-out/jmh-linear.json [more.json]
 * </pre>
 */
public final class JmhSummary {

    private JmhSummary() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: JmhSummary RESULT.json [RESULT.json...]");
            System.exit(2);
        }
        ObjectMapper json = new ObjectMapper();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"benchmark", "params", "score", "error", "unit", "rate"});
        for (String file : args) {
            for (JsonNode r : json.readTree(Path.of(file).toFile())) {
                rows.add(row(r));
            }
        }
        print(rows);
    }

    private static String[] row(JsonNode r) {
        String benchmark = r.path("benchmark").asText();
        String shortName = benchmark.replace("dev.hourglass.bench.jmh.", "");
        JsonNode params = r.path("params");
        StringBuilder p = new StringBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = params.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            p.append(p.isEmpty() ? "" : " ").append(e.getKey()).append('=').append(e.getValue().asText());
        }
        JsonNode primary = r.path("primaryMetric");
        double score = primary.path("score").asDouble();
        double error = primary.path("scoreError").asDouble(Double.NaN);
        String unit = primary.path("scoreUnit").asText();
        double seconds = score * secondsPer(unit);
        String rate = "";
        double flop = flop(benchmark, params);
        if (flop > 0 && seconds > 0) {
            rate = String.format(Locale.ROOT, "%.1f GFLOP/s", flop / seconds / 1e9);
        }
        long elements = elements(benchmark, params);
        if (elements > 0 && seconds > 0) {
            rate = String.format(Locale.ROOT, "%.2f ns/element", seconds * 1e9 / elements);
        }
        return new String[] {shortName, p.toString(), format(score), Double.isNaN(error) ? "" : format(error), unit,
                rate};
    }

    /** Seconds in the time unit of a JMH score such as {@code ms/op}; 0 for a rate (ops/time) or unknown unit. */
    private static double secondsPer(String unit) {
        return switch (unit) {
            case "s/op" -> 1;
            case "ms/op" -> 1e-3;
            case "us/op" -> 1e-6;
            case "ns/op" -> 1e-9;
            default -> 0;
        };
    }

    /** Floating-point operations of one call, as the benchmark classes document them; 0 where not defined. */
    static double flop(String benchmark, JsonNode params) {
        if (benchmark.contains(".LinearBenchmark.")) {
            long tokens = params.path("tokens").asLong();
            long d = params.path("embedDim").asLong();
            long[] inOut = switch (params.path("layer").asText()) {
                case "qkv" -> new long[] {d, 3 * d};
                case "proj" -> new long[] {d, d};
                case "fc1" -> new long[] {d, 4 * d};
                case "fc2" -> new long[] {4 * d, d};
                default -> new long[] {0, 0};
            };
            return 2.0 * tokens * inOut[0] * inOut[1];
        }
        if (benchmark.contains(".AttentionBenchmark.")) {
            double tokens = params.path("tokens").asDouble();
            return 4.0 * params.path("batch").asDouble() * params.path("heads").asDouble() * tokens * tokens
                    * params.path("headDim").asDouble();
        }
        if (benchmark.contains(".VitForwardBenchmark.")) {
            int size = params.path("imageSize").asInt();
            return VitForwardBenchmark.vitBase16(size).flops(size, size);
        }
        return 0;
    }

    /** Elements a row-operation call processes; 0 for other benchmarks. */
    static long elements(String benchmark, JsonNode params) {
        if (!benchmark.contains(".RowOpsBenchmark.")) {
            return 0;
        }
        long tokens = params.path("tokens").asLong();
        if (benchmark.endsWith(".layerNorm")) {
            return tokens * params.path("dim").asLong();
        }
        if (benchmark.endsWith(".softmax")) {
            return tokens * tokens;
        }
        if (benchmark.endsWith(".gelu")) {
            return tokens * params.path("hidden").asLong();
        }
        return 0;
    }

    private static String format(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.1f" : v >= 1 ? "%.3f" : "%.4f", v);
    }

    private static void print(List<String[]> rows) {
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                String cell = r[i];
                boolean right = i == 2 || i == 3;
                String pad = " ".repeat(width[i] - cell.length());
                line.append(right ? pad + cell : cell + pad).append(i + 1 < r.length ? "  " : "");
            }
            System.out.println(line.toString().stripTrailing());
        }
    }
}
