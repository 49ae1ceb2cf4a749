package dev.hourglass.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.apache.spark.sql.SparkSession;

/**
 * The tests' Spark: one {@code local[2]} session for the whole test JVM (started by the first test class that asks,
 * stopped by Spark's shutdown hook), sized for a 2-core CI machine: no UI, 2 shuffle partitions, bound to the
 * loopback address; and the demo's shipped models and images, which every test uses (nothing is downloaded).
 */
final class TestSpark {
    /** The demo's resources in the tasks module, as {@code bin/hourglass demo} ships them. */
    static final Path DEMO = Path.of("../tasks/src/main/resources/dev/hourglass/demo").toAbsolutePath().normalize();
    static final Path CLASSIFIER = DEMO.resolve("shapes-vit");
    static final Path SEGMENTER = DEMO.resolve("shapes-segmenter/model.safetensors");
    static final Path IMAGES = DEMO.resolve("images");
    static final Path SCENES = DEMO.resolve("segmentation/images");

    private static SparkSession session;

    private TestSpark() {
    }

    static synchronized SparkSession session() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("hourglass-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.ui.showConsoleProgress", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.warehouse.dir", System.getProperty("java.io.tmpdir") + "/hourglass-spark-wh")
                    .getOrCreate();
        }
        return session;
    }

    /** The {@code .png} files of a folder, sorted. */
    static List<Path> pngs(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
    }

    /** Copies the files into {@code dir} and returns the copies. */
    static List<Path> copyInto(List<Path> files, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Path f : files) {
            Files.copy(f, dir.resolve(f.getFileName()));
        }
        return pngs(dir);
    }

    /** A PNG cut off after 600 bytes: a file ImageIO cannot decode completely. */
    static Path truncatedPng(Path dir, String name) throws IOException {
        byte[] whole = Files.readAllBytes(pngs(IMAGES).getFirst());
        Path file = dir.resolve(name);
        Files.write(file, java.util.Arrays.copyOf(whole, 600));
        return file;
    }

    /** How binaryFile names a local file in its path column. */
    static String uri(Path file) {
        return "file:" + file.toAbsolutePath();
    }

    /** The message of the first cause (or the exception itself) whose message starts with {@code text}, or null. */
    static String causeMessageStartingWith(Throwable e, String text) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().startsWith(text)) {
                return t.getMessage();
            }
        }
        return null;
    }
}
