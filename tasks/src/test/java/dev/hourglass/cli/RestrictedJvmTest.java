package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.kernels.Kernels;
import dev.hourglass.tensor.Npy;

/**
 * {@code classify} in a JVM started without {@code --add-modules jdk.incubator.vector}, the way {@code java -jar
 * hourglass.jar} starts (a jar's manifest cannot add a module): it runs on the scalar kernels, prints exactly one
 * warning that says how to enable the Vector API (for {@code -jar}, the option before {@code -jar}), and gives this
 * JVM's result. The child runs the built classes through a jar like the shaded one: a manifest with the main class,
 * native access, and the test class path as its {@code Class-Path}.
 */
class RestrictedJvmTest {
    private static final Path DEMO = Path.of("src/main/resources/dev/hourglass/demo");
    private static final String WARNING = "the Vector API module jdk.incubator.vector is not readable";

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-jar", "-cp"})
    void classifyWithoutTheVectorModuleWarnsOnceAndGivesTheSameResult(String launch) throws Exception {
        List<String> classify = List.of("classify", "--model", DEMO.resolve("shapes-vit").toString(), "--image",
                DEMO.resolve("images/04-star.png").toString(), "--threads", "1", "--save-logits");
        Path here = tmp.resolve("here.npy");
        List<String> args = new ArrayList<>(classify);
        args.add(here.toString());
        CliRunner inProcess = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, inProcess.exitCode(), inProcess.err());

        Path jar = launcherJar(tmp.resolve("hourglass.jar"));
        Path child = tmp.resolve("child.npy");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        if (launch.equals("-jar")) {
            command.addAll(List.of("-jar", jar.toString()));
        } else {
            command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    HourglassCommand.class.getName()));
        }
        command.addAll(classify);
        command.add(child.toString());
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(3, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done && p.exitValue() == 0, "child JVM failed: " + command + "\n" + output);

        List<String> warnings = output.lines().filter(l -> l.contains(WARNING)).toList();
        assertEquals(1, warnings.size(), "one warning about the vector module:\n" + output);
        String fix = launch.equals("-jar")
                ? "start it as java --add-modules jdk.incubator.vector -jar " + jar + " ... (a jar's manifest cannot"
                        + " add a module), or with bin/hourglass, which does."
                : "add --add-modules jdk.incubator.vector to the java command line.";
        assertTrue(warnings.getFirst().endsWith("Fix: " + fix), warnings.getFirst());
        assertEquals(1, output.lines().filter(l -> l.startsWith("[WARN]") || l.startsWith("WARNING")).count(),
                "no other warning:\n" + output);
        assertTrue(output.contains("scalar Java (no Vector API)"), output);

        float[] want = Npy.read(here).toFloatArray();
        float[] got = Npy.read(child).toFloatArray();
        assertEquals(want.length, got.length);
        // This JVM on the scalar kernels (the suite's run without the module) computes the same operations in the
        // same order: the same bits. On the Vector API kernels, sums are split across lanes: the last bits differ.
        boolean sameKernels = Kernels.implementation().equals("scalar");
        for (int i = 0; i < want.length; i++) {
            String what = "logit " + i + " (this JVM on " + Kernels.implementation() + " kernels): " + want[i]
                    + " here, " + got[i] + " in the child";
            if (sameKernels) {
                assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), what);
            } else {
                assertEquals(want[i], got[i], 1e-4f * Math.max(1, Math.abs(want[i])), what);
            }
        }
    }

    /** A jar holding only a manifest, as {@code hourglass.jar}'s: main class, native access, the class path. */
    private static Path launcherJar(Path jar) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.put(Attributes.Name.MAIN_CLASS, HourglassCommand.class.getName());
        main.put(new Attributes.Name("Enable-Native-Access"), "ALL-UNNAMED");
        StringBuilder classPath = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                // Absolute file URLs; a folder's must end with a slash.
                classPath.append(classPath.isEmpty() ? "" : " ").append(Path.of(entry).toAbsolutePath().toUri());
            }
        }
        main.put(Attributes.Name.CLASS_PATH, classPath.toString());
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, manifest)) {
            j.flush();
        }
        return jar;
    }
}
