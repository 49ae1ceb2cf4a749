package dev.hourglass.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * End-to-end latency of ViT-B/16 at 224, batch 1: Hourglass against ONNX Runtime (Java API, same process) and PyTorch
 * fp32 (tools/bench_torch.py, a child process), measured in one run, for each thread count. Also measures the FMA peak
 * of this machine and, in a child JVM of its own, Hourglass's peak resident memory. Writes one JSON document.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.hourglass.bench.EndToEnd \
 *     [--models bench-out/models] [--threads 1,2] [--warmup 5] [--iterations 20] [--python /usr/bin/python3]
 *     [--no-torch] [--no-ort] [--out bench-out/e2e.json]
 * </pre>
 * The models folder is what {@code tools/export_onnx.py} writes: {@code vit_base_patch16_224/} (timm safetensors),
 * {@code vit_base_patch16_224.onnx}, {@code reference_input.npy} and {@code reference_logits.npy}.
 */
public final class EndToEnd {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The collector settings bin/hourglass uses unless HOURGLASS_JAVA_OPTS names another collector. */
    private static final List<String> CLI_GC_OPTIONS = List.of("-XX:+UseSerialGC", "-Xmn32m");

    private EndToEnd() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        Path models = Path.of(opts.getOrDefault("models", "bench-out/models"));
        Path modelDir = models.resolve("vit_base_patch16_224");
        Tensor input = Npy.read(models.resolve("reference_input.npy"));
        if (opts.containsKey("rss-child")) {
            rssChild(modelDir, input, Integer.parseInt(opts.get("rss-child")));
            return;
        }
        float[] reference = Npy.read(models.resolve("reference_logits.npy")).toFloatArray();
        int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));
        int iterations = Integer.parseInt(opts.getOrDefault("iterations", "20"));
        List<Integer> threadCounts = new ArrayList<>();
        for (String t : opts.getOrDefault("threads", "1,2").split(",")) {
            threadCounts.add(Integer.parseInt(t.trim()));
        }
        String python = opts.getOrDefault("python", "/usr/bin/python3");

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", "ViT-B/16, 224x224, batch 1, fp32, random weights");
        report.put("date", Instant.now().toString());
        report.put("machine", machine());
        report.put("kernels", Kernels.description());
        double peak1 = FmaPeak.singleThread();
        Map<String, Object> peak = new LinkedHashMap<>();
        peak.put("vector_lanes", FmaPeak.lanes());
        peak.put("gflops_1_thread", Stats.round(peak1));
        report.put("fma_peak", peak);
        report.put("warmup", warmup);
        report.put("iterations", iterations);

        List<Map<String, Object>> runs = new ArrayList<>();
        for (int threads : threadCounts) {
            System.err.printf("== %d thread(s)%n", threads);
            if (threads > 1) {
                peak.put("gflops_" + threads + "_threads", Stats.round(FmaPeak.threads(threads)));
            }
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("threads", threads);
            Map<String, Object> hg = hourglass(modelDir, input, reference, threads, warmup, iterations);
            run.put("hourglass", hg);
            double hgMedian = (double) ((Map<?, ?>) hg.get("latency")).get("median_ms");
            if (!opts.containsKey("no-ort")) {
                Map<String, Object> ort = onnxRuntime(models.resolve("vit_base_patch16_224.onnx"), input, reference,
                        threads, warmup, iterations);
                run.put("onnxruntime", ort);
                run.put("ratio_hourglass_to_onnxruntime", Stats.round(hgMedian
                        / (double) ((Map<?, ?>) ort.get("latency")).get("median_ms")));
            }
            if (!opts.containsKey("no-torch")) {
                JsonNode torch = torch(python, models, threads, warmup, iterations);
                run.put("pytorch", torch);
                if (torch.has("median_ms")) {
                    run.put("ratio_hourglass_to_pytorch", Stats.round(hgMedian / torch.get("median_ms").asDouble()));
                }
            }
            double gflops = (double) hg.get("gflop") / (hgMedian / 1000);
            run.put("hourglass_gflops", Stats.round(gflops));
            double peakT = threads == 1 ? peak1 : (double) peak.get("gflops_" + threads + "_threads");
            run.put("hourglass_share_of_fma_peak", Stats.round(gflops / peakT));
            runs.add(run);
        }
        report.put("runs", runs);
        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("bin_hourglass_jvm_options", rssInChild(models, 1, CLI_GC_OPTIONS));
        memory.put("jvm_defaults", rssInChild(models, 1, List.of()));
        report.put("hourglass_memory", memory);

        String text = JSON.writeValueAsString(report);
        System.out.println(text);
        if (opts.containsKey("out")) {
            Path out = Path.of(opts.get("out"));
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, text + "\n");
            System.err.println("wrote " + out);
        }
    }

    private static Map<String, Object> hourglass(Path modelDir, Tensor input, float[] reference, int threads,
                                                 int warmup, int iterations) throws IOException {
        try (CpuBackend backend = new CpuBackend(threads)) {
            long t0 = System.nanoTime();
            VisionTransformer model;
            VitConfig config;
            try (TensorSource weights = Safetensors.open(modelDir)) {
                config = TimmVitConfig.read(JSON.readTree(modelDir.resolve("config.json").toFile()), weights);
                model = VisionTransformer.create(config, weights, backend);
            }
            double loadMs = (System.nanoTime() - t0) / 1e6;
            try (model) {
                float[] logits = null;
                for (int i = 0; i < warmup; i++) {
                    logits = model.classify(input).toFloatArray();
                }
                double[] times = new double[iterations];
                for (int i = 0; i < iterations; i++) {
                    long s = System.nanoTime();
                    logits = model.classify(input).toFloatArray();
                    times[i] = (System.nanoTime() - s) / 1e6;
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("backend", backend.description());
                m.put("load_ms", Stats.round(loadMs));
                m.put("latency", Stats.of(times).toMap());
                m.put("max_abs_vs_pytorch_logits", maxAbs(logits, reference));
                m.put("gflop", config.flops(224, 224) / 1e9);
                System.err.printf("hourglass: median %.1f ms%n", Stats.of(times).median());
                return m;
            }
        }
    }

    private static Map<String, Object> onnxRuntime(Path onnx, Tensor input, float[] reference, int threads,
                                                   int warmup, int iterations) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(threads);
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            long t0 = System.nanoTime();
            try (OrtSession session = env.createSession(onnx.toString(), so);
                 OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.toFloatArray()),
                         input.shape().dims())) {
                double loadMs = (System.nanoTime() - t0) / 1e6;
                String name = session.getInputNames().iterator().next();
                float[] logits = null;
                for (int i = 0; i < warmup; i++) {
                    logits = runOrt(session, name, x);
                }
                double[] times = new double[iterations];
                for (int i = 0; i < iterations; i++) {
                    long s = System.nanoTime();
                    logits = runOrt(session, name, x);
                    times[i] = (System.nanoTime() - s) / 1e6;
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("version", env.getVersion());
                m.put("load_ms", Stats.round(loadMs));
                m.put("latency", Stats.of(times).toMap());
                m.put("max_abs_vs_pytorch_logits", maxAbs(logits, reference));
                System.err.printf("onnxruntime: median %.1f ms%n", Stats.of(times).median());
                return m;
            }
        }
    }

    private static float[] runOrt(OrtSession session, String name, OnnxTensor x) throws OrtException {
        try (OrtSession.Result r = session.run(Map.of(name, x))) {
            float[][] out = (float[][]) r.get(0).getValue();
            return out[0];
        }
    }

    private static JsonNode torch(String python, Path models, int threads, int warmup, int iterations)
            throws IOException, InterruptedException {
        Path script = Path.of("tools/bench_torch.py");
        List<String> cmd = List.of(python, script.toString(), "--models-dir", models.toString(), "--threads",
                String.valueOf(threads), "--warmup", String.valueOf(warmup), "--iterations",
                String.valueOf(iterations));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code != 0) {
            Map<String, Object> err = Map.of("error", "bench_torch.py exited with " + code, "command",
                    String.join(" ", cmd));
            return JSON.valueToTree(err);
        }
        JsonNode result = JSON.readTree(out);
        System.err.printf("pytorch: median %.1f ms%n", result.get("median_ms").asDouble());
        return result;
    }

    /**
     * Peak memory of Hourglass alone (load, then three forward passes), in a JVM of its own so that ONNX Runtime's
     * memory is not counted, started with {@code jvmOptions}.
     */
    private static Map<String, Object> rssInChild(Path models, int threads, List<String> jvmOptions)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                EndToEnd.class.getName(), "--models", models.toString(), "--rss-child", String.valueOf(threads)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            return Map.of("error", "memory child exited with " + p.exitValue());
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = JSON.readValue(out, Map.class);
        m.put("jvm_options", String.join(" ", jvmOptions));
        long file = Files.size(models.resolve("vit_base_patch16_224").resolve("model.safetensors"));
        m.put("weight_file_mb", Stats.round(file / 1048576.0));
        m.put("peak_rss_minus_weight_file_mb", Stats.round(((Number) m.get("peak_rss_mb")).doubleValue()
                - file / 1048576.0));
        return m;
    }

    private static void rssChild(Path modelDir, Tensor input, int threads) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rss_at_start_mb", procStatus().get("rss_mb"));
        try (CpuBackend backend = new CpuBackend(threads)) {
            VisionTransformer model;
            try (TensorSource weights = Safetensors.open(modelDir)) {
                VitConfig config = TimmVitConfig.read(JSON.readTree(modelDir.resolve("config.json").toFile()),
                        weights);
                model = VisionTransformer.create(config, weights, backend);
            }
            m.put("rss_after_load_mb", procStatus().get("rss_mb"));
            try (model) {
                for (int i = 0; i < 3; i++) {
                    model.classify(input);
                }
                m.putAll(procStatus());
                m.put("packed_weights_mb", Stats.round(model.weightBytes() / 1048576.0));
                m.put("java_heap_max_mb", Runtime.getRuntime().maxMemory() / 1048576);
                System.out.println(JSON.writeValueAsString(m));
            }
        }
    }

    private static Map<String, Object> procStatus() throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                m.put("peak_rss_mb", Stats.round(kb(line) / 1024.0));
            } else if (line.startsWith("VmRSS:")) {
                m.put("rss_mb", Stats.round(kb(line) / 1024.0));
            }
        }
        return m;
    }

    private static long kb(String statusLine) {
        return Long.parseLong(statusLine.replaceAll("[^0-9]", ""));
    }

    private static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("available_processors", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        return m;
    }

    private static String cpuModel() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                Files.newInputStream(Path.of("/proc/cpuinfo")), StandardCharsets.UTF_8))) {
            String model = null;
            String mhz = null;
            String line;
            while ((line = r.readLine()) != null) {
                if (model == null && line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                } else if (mhz == null && line.startsWith("cpu MHz")) {
                    mhz = line.substring(line.indexOf(':') + 1).trim();
                }
            }
            return model + (mhz == null ? "" : " (nominal " + mhz + " MHz)");
        } catch (IOException e) {
            return System.getProperty("os.arch");
        }
    }

    private static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            if (key.startsWith("no-")) {
                m.put(key, "true");
            } else if (i + 1 < args.length) {
                m.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
        }
        return m;
    }
}
