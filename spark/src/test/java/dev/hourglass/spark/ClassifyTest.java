package dev.hourglass.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.reduce.Reductions;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tasks.image.ImageReadException;
import dev.hourglass.tasks.image.RgbImage;

/**
 * {@link HourglassSpark#classify} on {@code local[2]} with the demo classifier and images: the same predictions as
 * {@link ImageClassifier} run directly on the same files, whichever column the images come from; an unreadable image
 * is its row's error, with the words {@code hourglass classify} would say; the model loads once per JVM; a model that
 * cannot load fails the job, saying why.
 */
class ClassifyTest {
    @TempDir
    static Path tmp;

    private static SparkSession spark;
    private static ImageClassifier direct;
    private static List<Path> images;
    private static Path truncated;

    @BeforeAll
    static void setUp() throws IOException {
        spark = TestSpark.session();
        TestSpark.copyInto(TestSpark.pngs(TestSpark.IMAGES), tmp.resolve("images"));
        truncated = TestSpark.truncatedPng(tmp.resolve("images"), "99-truncated.png");
        images = TestSpark.pngs(tmp.resolve("images"));
        // The same thread count as the executors' model (one per task): the same backend, the same bits.
        direct = ImageClassifier.load(TestSpark.CLASSIFIER, new ModelOptions(1));
    }

    @AfterAll
    static void tearDown() {
        direct.close();
    }

    private static InferenceOptions options() {
        return InferenceOptions.model(TestSpark.CLASSIFIER.toString()).topK(3).threads(1);
    }

    private static Dataset<Row> binaryFiles() {
        return spark.read().format("binaryFile").load(tmp.resolve("images").toString());
    }

    /** The rows by their path column. */
    private static Map<String, Row> byPath(List<Row> rows, String column) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            m.put(r.getString(r.fieldIndex(column)), r);
        }
        return m;
    }

    private static void assertSamePredictions(List<Prediction> expected, Row row, String what) {
        assertNull(row.get(row.fieldIndex(HourglassSpark.ERROR)), what);
        List<Row> got = row.getList(row.fieldIndex(HourglassSpark.PREDICTIONS));
        assertEquals(expected.size(), got.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            Prediction p = expected.get(i);
            Row g = got.get(i);
            assertEquals(p.index(), g.getInt(0), what + " rank " + i);
            assertEquals(p.label(), g.getString(1), what + " rank " + i);
            // Bit for bit: same model, same thread count, same kernels; batching does not change a row's sums.
            assertEquals(Float.floatToIntBits(p.score()), Float.floatToIntBits(g.getFloat(2)), what + " score");
            assertEquals(Float.floatToIntBits(p.logit()), Float.floatToIntBits(g.getFloat(3)), what + " logit");
        }
    }

    /** What {@code RgbImage.read} says about a file, without the file's name. */
    private static String problem(Path file) {
        ImageReadException e = assertThrows(ImageReadException.class, () -> RgbImage.read(file));
        return e.getMessage().substring((file + ": ").length());
    }

    @Test
    void binaryFileRowsGetTheDirectClassifiersPredictionsAndABadFileItsError() throws IOException {
        Dataset<Row> result = HourglassSpark.classify(binaryFiles().repartition(3), options());
        assertEquals(List.of("path", "modificationTime", "length", "content", "predictions", "reduce", "error"),
                List.of(result.schema().fieldNames()));
        Map<String, Row> rows = byPath(result.collectAsList(), "path");
        assertEquals(images.size(), rows.size());
        for (Path image : images) {
            Row row = rows.get(TestSpark.uri(image));
            assertNotNull(row, image.toString());
            if (image.equals(truncated)) {
                continue;
            }
            assertSamePredictions(direct.classify(RgbImage.read(image), 3), row, image.toString());
            assertNull(row.get(row.fieldIndex(HourglassSpark.REDUCE)));
        }
        Row bad = rows.get(TestSpark.uri(truncated));
        assertNull(bad.get(bad.fieldIndex(HourglassSpark.PREDICTIONS)));
        assertEquals(TestSpark.uri(truncated) + ": " + problem(truncated), bad.getString(bad.fieldIndex("error")));
    }

    @Test
    void aTokenReductionGivesTheDirectReducedPredictionsAndNamesItself() throws IOException {
        String spec = "tome:r=4";
        Dataset<Row> result = HourglassSpark.classify(binaryFiles(), options().reduce(spec).batch(3));
        Map<String, Row> rows = byPath(result.collectAsList(), "path");
        var reduction = Reductions.parse(spec);
        for (Path image : images) {
            if (image.equals(truncated)) {
                continue;
            }
            Row row = rows.get(TestSpark.uri(image));
            ImageClassifier.Reduced reduced = direct.logits(direct.preprocess(RgbImage.read(image)), reduction);
            assertSamePredictions(direct.topK(reduced.logits(), 3).getFirst(), row, image.toString());
            assertEquals(reduction.spec(), row.getString(row.fieldIndex(HourglassSpark.REDUCE)));
        }
    }

    @Test
    void aBytesColumnAndAPathsColumnWorkToo() throws IOException {
        StructType bytesSchema = new StructType().add("id", DataTypes.IntegerType).add("img", DataTypes.BinaryType);
        List<Row> bytesRows = new ArrayList<>();
        StructType pathSchema = new StructType().add("file", DataTypes.StringType);
        List<Row> pathRows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            bytesRows.add(RowFactory.create(i, Files.readAllBytes(images.get(i))));
            pathRows.add(RowFactory.create(images.get(i).toString()));
        }
        bytesRows.add(RowFactory.create(100, null));
        bytesRows.add(RowFactory.create(101, new byte[] {1, 2, 3}));
        Path missing = tmp.resolve("images/missing.png");
        pathRows.add(RowFactory.create(missing.toString()));

        List<Row> fromBytes = HourglassSpark.classify(spark.createDataFrame(bytesRows, bytesSchema).repartition(1),
                options().imageColumn("img")).collectAsList();
        List<Row> fromPaths = HourglassSpark.classify(spark.createDataFrame(pathRows, pathSchema),
                options().pathColumn("file")).collectAsList();
        Map<String, Row> paths = byPath(fromPaths, "file");
        Map<Integer, Row> ids = new HashMap<>();
        for (Row r : fromBytes) {
            ids.put(r.getInt(0), r);
        }
        for (int i = 0; i < images.size(); i++) {
            Path image = images.get(i);
            if (image.equals(truncated)) {
                String expected = ": " + problem(truncated);
                assertTrue(ids.get(i).getString(4).matches("row \\d+ of partition 0" + java.util.regex.Pattern
                        .quote(expected)), ids.get(i).getString(4));
                assertEquals(image + expected, paths.get(image.toString()).getString(3));
                continue;
            }
            List<Prediction> expected = direct.classify(RgbImage.read(image), 3);
            assertSamePredictions(expected, ids.get(i), "bytes of " + image);
            assertSamePredictions(expected, paths.get(image.toString()), "path " + image);
        }
        assertTrue(ids.get(100).getString(4).endsWith(": no image (column 'img' is null)"), ids.get(100).toString());
        assertTrue(ids.get(101).getString(4).contains("unsupported format"), ids.get(101).toString());
        assertEquals(missing + ": no such file", paths.get(missing.toString()).getString(3));
    }

    @Test
    void theModelLoadsOncePerJvmWhateverTheTasksAndJobs() throws IOException {
        ModelCache.closeAll();
        long before = ModelCache.loads();
        // Six tasks, two at a time, over two jobs: one load.
        Dataset<Row> result = HourglassSpark.classify(binaryFiles().repartition(6), options().batch(1));
        assertEquals(images.size(), result.collectAsList().size());
        assertEquals(images.size(), result.where("error is null").count() + 1);
        assertEquals(1, ModelCache.loads() - before);
        assertEquals(1, ModelCache.size());
        // Other options that change the loaded model (its threads) are another model, with the same results: the
        // kernels' sums do not depend on the thread count.
        Map<String, Row> twoThreads = byPath(HourglassSpark.classify(binaryFiles(), options().threads(2))
                .collectAsList(), "path");
        assertEquals(2, ModelCache.loads() - before);
        assertEquals(2, ModelCache.size());
        for (Path image : images) {
            if (!image.equals(truncated)) {
                assertSamePredictions(direct.classify(RgbImage.read(image), 3), twoThreads.get(TestSpark.uri(image)),
                        image + ", 2 threads");
            }
        }
    }

    @Test
    void aModelThatCannotLoadFailsTheJobSayingWhy() {
        Path nowhere = tmp.resolve("no-such-model");
        long before = ModelCache.loads();
        Dataset<Row> result = HourglassSpark.classify(binaryFiles(), InferenceOptions.model(nowhere.toString()));
        Exception e = assertThrows(Exception.class, result::collectAsList);
        String message = TestSpark.causeMessageStartingWith(e, "hourglass classify: cannot load the model " + nowhere);
        assertNotNull(message, () -> "no cause says the model cannot load: " + e);
        assertTrue(message.contains("(executor driver)") && message.contains(nowhere.toString()), message);
        assertEquals(before, ModelCache.loads());
        assertEquals(message.substring("hourglass classify: ".length()), HourglassSparkJob.failureMessage(e),
                "the job's one line");
    }

    @Test
    void aReductionTheModelRefusesFailsTheJobNamingIt() {
        // The demo ViT has 4 blocks: Expedit after the 10th cannot run.
        Dataset<Row> result = HourglassSpark.classify(binaryFiles(), options().reduce("expedit:alpha=10,grid=2x2"));
        Exception e = assertThrows(Exception.class, result::collectAsList);
        String message = TestSpark.causeMessageStartingWith(e, "hourglass classify: reduce expedit:alpha=10,grid=2x2");
        assertNotNull(message, () -> "no cause names the setting: " + e);
        assertTrue(message.contains("alpha=10"), message);
        assertTrue(HourglassSparkJob.failureMessage(e).startsWith("reduce expedit:alpha=10"), message);
    }

    @Test
    void aDataFrameWithoutImagesOrWithAResultColumnIsRefusedAtOnce() {
        Dataset<Row> noImages = spark.range(3).toDF("id");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> HourglassSpark.classify(noImages, options()));
        assertTrue(none.getMessage().startsWith("images: no column 'content' (an image file's bytes) or 'path'"),
                none.getMessage());
        Dataset<Row> clash = binaryFiles().withColumn("error", org.apache.spark.sql.functions.lit("x"));
        IllegalArgumentException taken = assertThrows(IllegalArgumentException.class,
                () -> HourglassSpark.classify(clash, options()));
        assertTrue(taken.getMessage().contains("already has a column 'error'"), taken.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> HourglassSpark.classify(binaryFiles(), options().pathColumn("length")));
        assertTrue(type.getMessage().contains("column 'length' (pathColumn: the image's path or name) is bigint"),
                type.getMessage());
        IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                () -> HourglassSpark.classify(binaryFiles(), options().imageColumn("contents")));
        assertTrue(typo.getMessage().startsWith("images: no column 'contents' (imageColumn)"), typo.getMessage());
        assertThrows(IllegalArgumentException.class, () -> options().reduce("tome:q=1"));
    }
}
