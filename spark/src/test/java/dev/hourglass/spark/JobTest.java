package dev.hourglass.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tasks.image.RgbImage;

/**
 * The {@code hourglass-spark} job in this JVM (it takes the tests' {@code local[2]} session): the Parquet it writes,
 * its exit codes (0 done, 1 bad data or files, 2 bad arguments) and one-line errors.
 */
class JobTest {
    @TempDir
    static Path tmp;

    private static SparkSession spark;
    private static Path images;
    private static Path truncated;

    @BeforeAll
    static void setUp() throws IOException {
        spark = TestSpark.session();
        images = tmp.resolve("images");
        TestSpark.copyInto(TestSpark.pngs(TestSpark.IMAGES), images);
        truncated = TestSpark.truncatedPng(images, "99-Truncated.PNG");
        Files.writeString(images.resolve("notes.txt"), "not an image, not read");
    }

    /** A run of the job: exit code, standard output and standard error. */
    record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = HourglassSparkJob.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static List<String> classify(Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("classify", "--master", "local[2]", "--model",
                TestSpark.CLASSIFIER.toString(), "--images", images.toString(), "--out", out.toString(), "--top-k",
                "2", "--threads", "1"));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void classifyWritesParquetWithAnErrorRowAndExitsOneSayingHowMany() throws IOException {
        Path out = tmp.resolve("labels.parquet");
        Run run = run(classify(out).toArray(String[]::new));
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(Files.exists(out.resolve("_SUCCESS")), "the output is committed");
        assertTrue(run.out().startsWith("wrote " + out + ": 9 image(s) in "), run.out());
        assertTrue(run.out().strip().endsWith(", 1 with an error"), run.out());
        List<String> errLines = run.err().lines().filter(l -> l.startsWith("hourglass-spark")).toList();
        assertEquals(List.of("hourglass-spark classify: " + TestSpark.uri(truncated) + ": cannot decode the PNG data:",
                "hourglass-spark classify: error: 1 of 9 image(s) have no result; their rows in " + out
                        + " say why (column error)"),
                List.of(errLines.get(0).substring(0, errLines.get(0).indexOf("data:") + 5), errLines.get(1)),
                run.err());

        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(List.of("path", "modificationTime", "length", "predictions", "reduce", "error"),
                List.of(rows.getFirst().schema().fieldNames()), "the images' bytes are not copied to the output");
        try (ImageClassifier direct = ImageClassifier.load(TestSpark.CLASSIFIER, new ModelOptions(1))) {
            for (Row row : rows) {
                String path = row.getString(0);
                if (path.equals(TestSpark.uri(truncated))) {
                    assertNull(row.get(3));
                    assertNotNull(row.get(5));
                    continue;
                }
                List<Prediction> expected = direct.classify(RgbImage.read(Path.of(path.substring(5))), 2);
                List<Row> got = row.getList(3);
                assertEquals(expected.get(0).label(), got.get(0).getString(1), path);
                assertEquals(expected.get(0).score(), got.get(0).getFloat(2), 0f, path);
                assertEquals(2, got.size());
                assertNull(row.get(5));
            }
        }
    }

    @Test
    void anExistingOutIsRefusedUnlessForced() throws IOException {
        Path out = tmp.resolve("existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        Run refused = run(classify(out).toArray(String[]::new));
        assertEquals(2, refused.exitCode(), refused.err());
        assertEquals("hourglass-spark classify: error: --out " + out + ": already exists; give --force to replace it"
                + System.lineSeparator() + "Try 'hourglass-spark classify --help'." + System.lineSeparator(),
                refused.err());
        assertTrue(Files.exists(out.resolve("keep.txt")));

        Files.delete(truncated);
        try {
            Run forced = run(classify(out, "--force", "--reduce", "tome:r=4", "--partitions", "3").toArray(
                    String[]::new));
            assertEquals(0, forced.exitCode(), forced.err());
            assertFalse(Files.exists(out.resolve("keep.txt")));
            List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
            assertEquals(8, rows.size());
            for (Row row : rows) {
                assertTrue(row.getString(4).startsWith("tome:r=4"), row.toString());
            }
        } finally {
            TestSpark.truncatedPng(images, truncated.getFileName().toString());
        }
    }

    @Test
    void segmentWritesClassesAndClassMaps() throws IOException {
        Path scenes = tmp.resolve("scenes");
        TestSpark.copyInto(TestSpark.pngs(TestSpark.SCENES).subList(0, 2), scenes);
        Path out = tmp.resolve("masks");
        Run run = run("segment", "--model", TestSpark.SEGMENTER.toString(), "--images", scenes.toString(), "--out",
                out.toString(), "--expedite", "alpha=4,grid=10x10,k=1", "--threads", "1");
        assertEquals(0, run.exitCode(), run.err());
        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(List.of("path", "modificationTime", "length", "classes", "class_map", "reduce", "error"),
                List.of(rows.getFirst().schema().fieldNames()));
        assertEquals(2, rows.size());
        for (Row row : rows) {
            assertFalse(row.getList(3).isEmpty());
            assertTrue(((byte[]) row.get(4)).length > 0);
            assertTrue(row.getString(5).startsWith("expedit:alpha=4,grid=10x10"), row.getString(5));
        }
    }

    @Test
    void badArgumentsExitTwoAndBadFilesOne() {
        Path out = tmp.resolve("never");
        Run topK = run("classify", "--model", "m", "--images", "i", "--out", out.toString(), "--top-k", "0");
        assertEquals(2, topK.exitCode());
        assertTrue(topK.err().startsWith("hourglass-spark classify: error: --top-k must be at least 1, got 0"),
                topK.err());
        Run reduce = run(classify(out, "--reduce", "tome:q=1").toArray(String[]::new));
        assertEquals(2, reduce.exitCode());
        assertTrue(reduce.err().startsWith("hourglass-spark classify: error: --reduce: "), reduce.err());
        Run both = run("segment", "--model", "m", "--images", "i", "--out", out.toString(), "--reduce", "tome:r=2",
                "--expedite");
        assertEquals(2, both.exitCode());
        assertTrue(both.err().contains("give --reduce or --expedite, not both"), both.err());
        // Known only once an executor has loaded the model: the job fails, exit 2 as hourglass classify says it, and
        // leaves nothing at --out, so that the same command can run again.
        Run refused = run(classify(out, "--reduce", "expedit:alpha=10,grid=2x2").toArray(String[]::new));
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().startsWith("hourglass-spark classify: error: --reduce expedit:alpha=10,grid=2x2"),
                refused.err());
        assertFalse(Files.exists(out), "a failed job leaves no output");
        Run unknown = run(classify(out, "--toop-k", "1").toArray(String[]::new));
        assertEquals(2, unknown.exitCode());
        Run noCommand = run();
        assertEquals(2, noCommand.exitCode());
        assertEquals(0, run("classify", "--help").exitCode());

        Path nowhere = tmp.resolve("no-model");
        List<String> args = classify(out);
        args.set(args.indexOf("--model") + 1, nowhere.toString());
        Run model = run(args.toArray(String[]::new));
        assertEquals(1, model.exitCode());
        assertEquals("hourglass-spark classify: error: --model " + nowhere + ": no such file or folder"
                + System.lineSeparator(), model.err());
        Run noImages = run("classify", "--model", TestSpark.CLASSIFIER.toString(), "--images",
                tmp.resolve("nothing").toString(), "--out", out.toString());
        assertEquals(1, noImages.exitCode());
        assertEquals("hourglass-spark classify: error: --images " + tmp.resolve("nothing") + ": no such file or"
                + " folder" + System.lineSeparator(), noImages.err());
        assertFalse(Files.exists(out));
    }
}
