package dev.hourglass.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.hourglass.backend.BackendChoice;
import dev.hourglass.backend.BackendProbe;
import dev.hourglass.backend.BackendReport;
import dev.hourglass.backend.Backends;
import dev.hourglass.backend.DeviceInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hourglass backends}: every backend and device found here, and which one {@code --backend auto} takes. */
@Command(name = "backends",
        mixinStandardHelpOptions = true,
        description = {"Lists every backend and device found here: its type and memory, whether it can run and why",
                "not, and which one --backend auto takes (a device backend only on a GPU or another accelerator).",
                "--probe also times ViT-B/16's fc1 GEMM on each backend that can run (a quarter of a second each)."})
final class BackendsCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--probe", description = "Measure each runnable backend's GFLOP/s on a ViT-shaped GEMM.")
    boolean probe;

    @Option(names = "--json", description = "Print the list as JSON.")
    boolean json;

    @Option(names = "--threads", paramLabel = "N",
            description = "Host threads for the probe (default: all available processors).")
    Integer threads;

    @Override
    public Integer call() throws JsonProcessingException {
        int n = Threads.resolve(spec.commandLine(), threads);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (BackendReport b : Backends.report()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", b.name());
            row.put("priority", b.priority());
            row.put("available", b.available());
            row.put("reason", b.reason());
            List<Map<String, Object>> devices = new ArrayList<>();
            for (DeviceInfo d : b.devices()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", d.name());
                m.put("type", d.kind().name().toLowerCase(Locale.ROOT));
                m.put("memory_bytes", d.memoryBytes());
                m.put("detail", d.detail());
                devices.add(m);
            }
            row.put("devices", devices);
            row.put("auto", b.autoChoice());
            row.put("not_auto_because", b.notAutoBecause());
            if (probe && b.available()) {
                row.put("probe", probe(b.name(), n));
            }
            rows.add(row);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JSON.writeValueAsString(Map.of("backends", rows)));
        } else {
            printText(out, rows);
        }
        out.flush();
        return 0;
    }

    /** The fc1 GEMM's GFLOP/s on one backend, or why it could not be measured (the backend is then skipped). */
    private static Map<String, Object> probe(String name, int threads) {
        Map<String, Object> m = new LinkedHashMap<>();
        try (BackendChoice choice = Backends.open(name, threads)) {
            m.put("gflops", Math.round(BackendProbe.gflops(choice.backend()) * 10) / 10.0);
            m.put("threads", threads);
        } catch (RuntimeException | LinkageError e) {
            m.put("error", String.valueOf(e.getMessage() == null ? e : e.getMessage()).strip()
                    .replaceAll("\\s*\\R\\s*", " "));
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void printText(PrintWriter out, List<Map<String, Object>> rows) {
        for (Map<String, Object> row : rows) {
            boolean auto = (Boolean) row.get("auto");
            out.println((auto ? "* " : "  ") + row.get("name") + "  priority " + row.get("priority") + ", "
                    + ((Boolean) row.get("available") ? "can run here" : "cannot run here: " + row.get("reason")));
            for (Map<String, Object> d : (List<Map<String, Object>>) row.get("devices")) {
                long bytes = (Long) d.get("memory_bytes");
                out.printf(Locale.ROOT, "      device %s: %s, %s, %s%n", d.get("type"), d.get("name"),
                        bytes < 0 ? "memory unknown" : String.format(Locale.ROOT, "%.1f GiB", bytes / 1073741824.0),
                        d.get("detail"));
            }
            Map<String, Object> probe = (Map<String, Object>) row.get("probe");
            if (probe != null) {
                out.println(probe.containsKey("gflops")
                        ? "      probe: " + probe.get("gflops") + " GFLOP/s on ViT-B/16's fc1 GEMM, "
                        + probe.get("threads") + " host threads"
                        : "      probe failed, skipped: " + probe.get("error"));
            }
            if (auto) {
                out.println("      taken by --backend auto");
            } else if (row.get("not_auto_because") != null && (Boolean) row.get("available")) {
                out.println("      not taken by --backend auto: " + row.get("not_auto_because"));
            }
        }
    }
}
