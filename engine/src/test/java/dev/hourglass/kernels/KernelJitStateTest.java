package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every vector kernel gives the same bits whatever the JIT has done: cold in a fresh JVM that only interprets (the
 * Vector API's Java fallback), in one that stops at C1, in one that compiles the kernels with C2 before the measured
 * call (checked in its compilation log), and warm in this test JVM. A kernel whose result depends on the JIT's state
 * makes thread-split and golden comparisons flaky (the GELU case once failed CI this way, see {@link PanamaMath}).
 */
class KernelJitStateTest {
    /** Rounds before the measured one in the C2 JVM: the kernels are called thousands of times, past the threshold. */
    private static final int C2_WARM_ROUNDS = 400;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"scalar", "panama"})
    void coldAndWarmKernelsAgreeBitForBit(String implementation, @TempDir Path dir) throws Exception {
        if (implementation.equals("panama")) {
            assumeTrue(KernelSupportLookup.vectorModuleReadable(),
                    "jdk.incubator.vector is not readable in this run: Panama kernels not tested here");
        }
        Map<String, float[]> warm = null;
        for (int round = 0; round < 300; round++) {
            warm = KernelFingerprint.compute(implementation);
        }
        Map<String, float[]> interpreted = run(dir, "interpreter", implementation, 0, List.of("-Xint"));
        Map<String, float[]> c1 = run(dir, "C1", implementation, 20, List.of("-XX:TieredStopAtLevel=1"));
        Map<String, float[]> c2 = run(dir, "C2", implementation, C2_WARM_ROUNDS,
                List.of("-XX:-TieredCompilation", "-Xbatch", "-XX:CompileThreshold=1000", "-XX:+PrintCompilation"));
        assertSame("interpreter", interpreted, "this JVM, warm", warm);
        assertSame("C1", c1, "this JVM, warm", warm);
        assertSame("C2", c2, "this JVM, warm", warm);
    }

    private static void assertSame(String aName, Map<String, float[]> a, String bName, Map<String, float[]> b) {
        assertEquals(b.keySet(), a.keySet(), "kernels computed");
        for (Map.Entry<String, float[]> e : b.entrySet()) {
            float[] want = e.getValue();
            float[] got = a.get(e.getKey());
            assertEquals(want.length, got.length, e.getKey());
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToIntBits(want[i]) != Float.floatToIntBits(got[i])) {
                    throw new AssertionError(e.getKey() + "[" + i + "]: " + aName + " gives " + got[i] + " ("
                            + Integer.toHexString(Float.floatToRawIntBits(got[i])) + "), " + bName + " gives "
                            + want[i] + " (" + Integer.toHexString(Float.floatToRawIntBits(want[i])) + ")");
                }
            }
        }
    }

    /** Runs {@link KernelFingerprint#main} in a fresh JVM with these options and reads what it computed. */
    private static Map<String, float[]> run(Path dir, String label, String implementation, int warmRounds,
                                            List<String> jitOptions) throws IOException, InterruptedException {
        Path out = dir.resolve(label + ".bin");
        Path log = dir.resolve(label + ".log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (implementation.equals("panama")) {
            command.add("--add-modules");
            command.add(KernelSupportLookup.VECTOR_MODULE);
        }
        String bits = System.getProperty(PanamaSpecies.BITS_PROPERTY);
        if (bits != null) {
            command.add("-D" + PanamaSpecies.BITS_PROPERTY + "=" + bits);
        }
        // The same vector shape as this JVM: -XX:UseAVX=2 on an AVX-512 machine makes vectors 256-bit, and lane sums
        // differ between widths (by design), so a child on another width would compare different sums.
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.matches("-XX:(UseAVX|UseSSE|MaxVectorSize)=\\d+|-XX:[+-]Use(FMA|AVX512\\w*)")) {
                command.add(arg);
            }
        }
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        command.addAll(jitOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(KernelFingerprint.class.getName());
        command.add(implementation);
        command.add(Integer.toString(warmRounds));
        command.add(out.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done && p.exitValue() == 0, label + " JVM failed: " + command + "\n" + output);
        if (jitOptions.contains("-XX:+PrintCompilation")) {
            String kernelClass = implementation.equals("panama") ? "PanamaKernelSupport" : "ScalarKernelSupport";
            for (String kernel : List.of("::gelu", "::softmax", "::layerNorm", "::dot")) {
                assertTrue(output.lines().anyMatch(l -> l.contains(kernelClass + kernel)),
                        label + " JVM did not compile " + kernelClass + kernel + " before the measured call");
            }
        }
        try (InputStream in = Files.newInputStream(out)) {
            return KernelFingerprint.read(in);
        }
    }
}
