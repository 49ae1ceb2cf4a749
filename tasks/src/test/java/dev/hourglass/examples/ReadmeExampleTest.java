package dev.hourglass.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles and runs the Java examples in the top-level README, exactly as written there (classification on the shipped
 * demo model and one demo image, segmentation on a test Segmenter): the README's examples cannot rot without this test
 * failing.
 */
class ReadmeExampleTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void readmeExampleCompilesRunsAndClassifies(@TempDir Path tmp) throws Exception {
        Path classes = compileExample(tmp, "ClassifyImage");
        Path model = tmp.resolve("shapes-vit");
        Files.createDirectories(model);
        copyResource("dev/hourglass/demo/shapes-vit/model.safetensors", model.resolve("model.safetensors"));
        copyResource("dev/hourglass/demo/shapes-vit/config.json", model.resolve("config.json"));
        Path image = tmp.resolve("star.png");
        copyResource("dev/hourglass/demo/images/04-star.png", image);

        String output = runMain(classes, "ClassifyImage", model.toString(), image.toString());
        List<String> lines = output.lines().toList();
        assertEquals(4, lines.size(), "expected a description and 3 predictions:\n" + output);
        assertTrue(lines.get(0).contains("ViT, 4 blocks"), output);
        assertTrue(lines.get(1).trim().endsWith("star"), "the top class should be star:\n" + output);
        assertTrue(lines.get(1).trim().matches("\\d+\\.\\d\\d%\\s+star"), output);
    }

    @Test
    void readmeSegmentationExampleCompilesAndRuns(@TempDir Path tmp) throws Exception {
        Path classes = compileExample(tmp, "SegmentImage");
        Path checkpoint = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");
        Path image = tmp.resolve("star.png");
        copyResource("dev/hourglass/demo/images/04-star.png", image);
        String output = runMain(classes, "SegmentImage", checkpoint.toString(), image.toString(),
                "alpha=2,grid=4x4,iters=3,window=3,k=4");
        List<String> lines = output.lines().toList();
        assertTrue(lines.size() >= 2, output);
        for (String line : lines.subList(0, lines.size() - 1)) {
            assertTrue(line.matches("\\s*\\d+\\.\\d%  class \\d"), "a class share per line:\n" + output);
        }
        assertTrue(lines.get(lines.size() - 1).matches("Expedit agrees with the plain model on \\d+\\.\\d% of the pixels"),
                output);
    }

    @Test
    void readmeDepthExampleCompilesAndRuns(@TempDir Path tmp) throws Exception {
        Path classes = compileExample(tmp, "EstimateDepth");
        Path dpt = Path.of("src/test/resources/golden/dpt");
        String output = runMain(classes, "EstimateDepth", dpt.resolve("dpt_tiny.pt").toString(), "2",
                dpt.resolve("photo.png").toString());
        assertTrue(output.strip().matches("157x100, network input 96x64, centre \\d+\\.\\d{4}, \\d+\\.\\d GFLOPs"),
                output);
    }

    /** Compiles the README's Java block that declares {@code public class NAME}, exactly as written. */
    private static Path compileExample(Path tmp, String name) throws IOException {
        Path readme = findReadme();
        Matcher m = JAVA_BLOCK.matcher(Files.readString(readme));
        String source = null;
        while (m.find()) {
            if (m.group(1).contains("public class " + name + " ")) {
                source = m.group(1);
            }
        }
        assertTrue(source != null, readme + " has no ```java block with public class " + name);
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.writeString(src.resolve(name + ".java"), source);
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-d", classes.toString(), "-cp",
                System.getProperty("java.class.path"), src.resolve(name + ".java").toString());
        assertEquals(0, rc, "the README example " + name + " does not compile:\n" + diagnostics);
        return classes;
    }

    private static String runMain(Path classes, String mainClass, String... args) throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                ReadmeExampleTest.class.getClassLoader())) {
            Method main = loader.loadClass(mainClass).getMethod("main", String[].class);
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) args);
        } finally {
            System.setOut(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static void copyResource(String name, Path target) throws IOException {
        try (InputStream in = ReadmeExampleTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " missing from the test class path");
            }
            Files.copy(in, target);
        }
    }

    /** The repository's README.md: surefire runs in the module folder, so it is one level up. */
    private static Path findReadme() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("README.md");
            if (Files.isRegularFile(candidate) && Files.isDirectory(dir.resolve("engine"))) {
                return candidate;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("README.md not found above " + Path.of("").toAbsolutePath());
    }
}
