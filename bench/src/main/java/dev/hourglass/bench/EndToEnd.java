package dev.hourglass.bench;

import java.io.IOException;
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
import dev.hourglass.ops.Resize;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * End-to-end latency of ViT-B/16 at 224 (or ViT-L/16 at 512), batch 1: Hourglass against ONNX Runtime (Java API, same process, timed in
 * blocks alternating with Hourglass's, so that drift affects both alike) and PyTorch
 * fp32 (tools/bench_torch.py, a child process), measured in one run, for each thread count. Also measures the FMA peak
 * of this machine and, in a child JVM of its own, Hourglass's peak resident memory. Writes one JSON document.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.hourglass.bench.EndToEnd \
 *     [--models bench-out/models] [--threads 1,2] [--warmup 5] [--iterations 20] [--python /usr/bin/python3]
 *     [--no-torch] [--no-ort] [--arch vit_base_patch16_224|vit_large_patch16_512] [--out bench-out/e2e.json]
 * </pre>
 * The models folder is what {@code tools/export_onnx.py [--arch A]} writes: {@code vit_base_patch16_224/} (timm
 * safetensors), {@code vit_base_patch16_224.onnx}, {@code reference_input.npy} and {@code reference_logits.npy}; for
 * ViT-L/16 at 512 the same under {@code vit_large_patch16_512} with {@code vit_large_patch16_512_input.npy} and
 * {@code _logits.npy}. PyTorch is timed for ViT-B/16 only ({@code tools/bench_torch.py} builds that model).
 */
public final class EndToEnd {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The model the benchmark is about by default: timm's vit_base_patch16_224. */
    private static final Arch VIT_B_16 = new Arch("vit_base_patch16_224", "ViT-B/16, 224x224",
            new VitConfig(224, 224, 16, 3, 768, 12, 12, 3072, true, true, false, 1000, 1e-6f, Resize.Mode.BICUBIC,
                    true), "reference_input.npy", "reference_logits.npy");
    /** ViT-L/16 at 512 (1025 tokens), {@code --arch vit_large_patch16_512}. */
    private static final Arch VIT_L_16_512 = new Arch("vit_large_patch16_512", "ViT-L/16, 512x512",
            new VitConfig(512, 512, 16, 3, 1024, 24, 16, 4096, true, true, false, 1000, 1e-6f, Resize.Mode.BICUBIC,
                    true), "vit_large_patch16_512_input.npy", "vit_large_patch16_512_logits.npy");

    /**
     * One architecture {@code tools/export_onnx.py --arch} writes: the folder and ONNX file named {@code name}, the
     * input and PyTorch's logits for it.
     */
    private record Arch(String name, String title, VitConfig config, String inputFile, String logitsFile) {
        static Arch named(String name) {
            for (Arch a : List.of(VIT_B_16, VIT_L_16_512)) {
                if (a.name.equals(name)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("--arch " + name + ": use " + VIT_B_16.name + " or "
                    + VIT_L_16_512.name);
        }
    }
    /** Blocks of timed calls per engine and thread count (see {@link #interleave}). */
    private static final int BLOCKS = 4;
    /** The collector settings bin/hourglass uses unless HOURGLASS_JAVA_OPTS names another collector. */
    private static final List<String> CLI_GC_OPTIONS = List.of("-XX:+UseSerialGC", "-Xmn32m");

    private EndToEnd() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        Path models = Path.of(opts.getOrDefault("models", "bench-out/models"));
        Arch arch = Arch.named(opts.getOrDefault("arch", VIT_B_16.name));
        Path modelDir = models.resolve(arch.name);
        Tensor input = Npy.read(models.resolve(arch.inputFile));
        if (opts.containsKey("rss-child")) {
            rssChild(modelDir, input, Integer.parseInt(opts.get("rss-child")));
            return;
        }
        float[] reference = Npy.read(models.resolve(arch.logitsFile)).toFloatArray();
        int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));
        int iterations = Integer.parseInt(opts.getOrDefault("iterations", "20"));
        List<Integer> threadCounts = new ArrayList<>();
        for (String t : opts.getOrDefault("threads", "1,2").split(",")) {
            threadCounts.add(Integer.parseInt(t.trim()));
        }
        String python = opts.getOrDefault("python", "/usr/bin/python3");

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("benchmark", arch.title + ", batch 1, fp32, random weights");
        report.put("date", Instant.now().toString());
        report.put("machine", Machine.describe());
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
            List<Engine> engines = new ArrayList<>();
            try {
                engines.add(new HourglassEngine(modelDir, arch.config, threads));
                if (!opts.containsKey("no-ort")) {
                    engines.add(new OrtEngine(models.resolve(arch.name + ".onnx"), threads));
                }
                Map<String, double[]> times = interleave(engines, input, warmup, iterations);
                for (Engine e : engines) {
                    Map<String, Object> m = new LinkedHashMap<>(e.info());
                    m.put("latency", Stats.of(times.get(e.name())).toMap());
                    m.put("max_abs_vs_pytorch_logits", maxAbs(e.run(input), reference));
                    run.put(e.name(), m);
                    System.err.printf("%s: median %.1f ms%n", e.name(), Stats.of(times.get(e.name())).median());
                }
                double hgMedian = Stats.of(times.get("hourglass")).median();
                if (times.containsKey("onnxruntime")) {
                    run.put("ratio_hourglass_to_onnxruntime",
                            Stats.round(hgMedian / Stats.of(times.get("onnxruntime")).median()));
                    run.put("ratio_hourglass_to_onnxruntime_paired_median",
                            Stats.round(Alternating.pairedRatio(times.get("hourglass"), times.get("onnxruntime"))));
                }
                if (!opts.containsKey("no-torch") && arch == VIT_B_16) {
                    JsonNode torch = torch(python, models, threads, warmup, iterations);
                    run.put("pytorch", torch);
                    if (torch.has("median_ms")) {
                        run.put("ratio_hourglass_to_pytorch",
                                Stats.round(hgMedian / torch.get("median_ms").asDouble()));
                    }
                }
                double gflop = arch.config.flops(arch.config.imageHeight(), arch.config.imageWidth()) / 1e9;
                double gflops = gflop / (hgMedian / 1000);
                run.put("gflop_per_image", Stats.round(gflop));
                run.put("hourglass_gflops", Stats.round(gflops));
                double peakT = threads == 1 ? peak1 : (double) peak.get("gflops_" + threads + "_threads");
                run.put("hourglass_share_of_fma_peak", Stats.round(gflops / peakT));
            } finally {
                for (Engine e : engines) {
                    e.close();
                }
            }
            runs.add(run);
        }
        report.put("runs", runs);
        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("bin_hourglass_jvm_options", rssInChild(models, arch, 1, CLI_GC_OPTIONS));
        memory.put("jvm_defaults", rssInChild(models, arch, 1, List.of()));
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

    /** One implementation under test, loaded once per thread count. */
    private interface Engine extends AutoCloseable {
        String name();

        Map<String, Object> info();

        float[] run(Tensor input) throws Exception;

        @Override
        void close() throws Exception;
    }

    /** Hourglass: the timm checkpoint loaded into a VisionTransformer on a CPU backend. */
    private static final class HourglassEngine implements Engine {
        private final CpuBackend backend;
        private final VisionTransformer model;
        private final double loadMs;

        HourglassEngine(Path modelDir, VitConfig expected, int threads) throws IOException {
            backend = new CpuBackend(threads);
            long t0 = System.nanoTime();
            try (TensorSource weights = Safetensors.open(modelDir)) {
                VitConfig config = TimmVitConfig.read(JSON.readTree(modelDir.resolve("config.json").toFile()),
                        weights);
                if (!config.equals(expected)) {
                    throw new IOException(modelDir + " is not the model this benchmark is about: " + config);
                }
                model = VisionTransformer.create(config, weights, backend);
            }
            loadMs = (System.nanoTime() - t0) / 1e6;
        }

        @Override
        public String name() {
            return "hourglass";
        }

        @Override
        public Map<String, Object> info() {
            return Map.of("backend", backend.description(), "load_ms", Stats.round(loadMs));
        }

        @Override
        public float[] run(Tensor input) {
            return model.classify(input).toFloatArray();
        }

        @Override
        public void close() {
            model.close();
            backend.close();
        }
    }

    /** ONNX Runtime through its Java API, on the ONNX export of the same model. */
    private static final class OrtEngine implements Engine {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        private final OrtSession session;
        private final String inputName;
        private final double loadMs;

        OrtEngine(Path onnx, int threads) throws OrtException {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            long t0 = System.nanoTime();
            session = env.createSession(onnx.toString(), options);
            loadMs = (System.nanoTime() - t0) / 1e6;
            inputName = session.getInputNames().iterator().next();
        }

        @Override
        public String name() {
            return "onnxruntime";
        }

        @Override
        public Map<String, Object> info() {
            return Map.of("version", env.getVersion(), "load_ms", Stats.round(loadMs));
        }

        @Override
        public float[] run(Tensor input) throws OrtException {
            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.toFloatArray()),
                    input.shape().dims());
                 OrtSession.Result r = session.run(Map.of(inputName, x))) {
                return ((float[][]) r.get(0).getValue())[0];
            }
        }

        @Override
        public void close() throws OrtException {
            session.close();
            options.close();
        }
    }

    /** Every engine on the same input, timed in {@link #BLOCKS} alternating blocks ({@link Alternating#time}). */
    private static Map<String, double[]> interleave(List<Engine> engines, Tensor input, int warmup, int iterations)
            throws Exception {
        List<Alternating.Contender> contenders = new ArrayList<>();
        for (Engine e : engines) {
            contenders.add(new Alternating.Contender(e.name(), () -> e.run(input)));
        }
        return Alternating.time(contenders, warmup, iterations, BLOCKS);
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
    private static Map<String, Object> rssInChild(Path models, Arch arch, int threads, List<String> jvmOptions)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                EndToEnd.class.getName(), "--models", models.toString(), "--arch", arch.name, "--rss-child",
                String.valueOf(threads)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            return Map.of("error", "memory child exited with " + p.exitValue());
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = JSON.readValue(out, Map.class);
        m.put("jvm_options", String.join(" ", jvmOptions));
        long file = Files.size(models.resolve(arch.name).resolve("model.safetensors"));
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
