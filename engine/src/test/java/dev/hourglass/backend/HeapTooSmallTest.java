package dev.hourglass.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;

/**
 * Weights that do not fit the heap: one line naming what the model needs and what the JVM may use, not an
 * {@link OutOfMemoryError}. Run in a child JVM with a 48 MB heap and a 64 MB weight (off-heap until packed).
 */
class HeapTooSmallTest {
    static final int ROWS = 4096;
    static final int COLS = 4096;

    @Test
    void aWeightLargerThanTheHeapIsOneLineNamingBothSizes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("big.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zeros = arena.allocate((long) ROWS * COLS * Float.BYTES);
            new SafetensorsWriter().add("w", "F32", Shape.of(ROWS, COLS), zeros).write(file);
        }
        Path log = dir.resolve("child.log");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx48m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), file.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(2, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "the child JVM did not finish: " + output);
        assertEquals(3, p.exitValue(), output);
        String line = output.lines().filter(l -> l.startsWith("message: ")).findFirst().orElseThrow(
                () -> new AssertionError("no message in: " + output));
        assertTrue(line.matches("message: \\Q" + file + "\\E: the model needs about 64 MB of Java heap for its"
                + " float32 weights and more for its activations, this JVM's maximum heap is 4\\d MB; start java with"
                + " -Xmx1g or more \\(bin/hourglass: HOURGLASS_JAVA_OPTS=-Xmx1g\\)"), line);
        assertTrue(output.contains("needed: " + 64L * 1024 * 1024), output);
    }

    /** The child: packs the one weight of the file given, reports the exception's message, exits 3 on it. */
    public static final class Probe {
        public static void main(String[] args) throws IOException {
            try (CpuBackend backend = new CpuBackend(1); WeightStore store = backend.newWeightStore();
                 TensorSource weights = Safetensors.open(Path.of(args[0]))) {
                try {
                    store.linear(weights.tensor("w"), null);
                    System.out.println("packed without error");
                } catch (HeapTooSmallException e) {
                    HeapTooSmallException named = HeapTooSmallException.forModel(weights, e);
                    System.out.println("message: " + named.getMessage());
                    System.out.println("needed: " + named.neededBytes());
                    System.out.flush();
                    System.exit(3);
                }
            }
        }
    }
}
