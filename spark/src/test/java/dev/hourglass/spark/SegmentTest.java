package dev.hourglass.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SemanticSegmenter;

/**
 * {@link HourglassSpark#segment} on {@code local[2]} with the demo Segmenter and scenes: each row's classes and
 * pixel fractions and its class map are {@link SemanticSegmenter}'s own on the same file, with and without Expedit;
 * a corrupt image or one over the pixel limit is its row's error; a reduction the model refuses fails the job.
 */
class SegmentTest {
    /** The demo's Expedit setting (hourglass demo, README): 16x16 tokens clustered to 10x10 after block 4. */
    private static final String EXPEDIT = "expedit:alpha=4,grid=10x10,k=1";

    @TempDir
    static Path tmp;

    private static SparkSession spark;
    private static SemanticSegmenter direct;
    private static List<Path> scenes;
    private static Path truncated;

    @BeforeAll
    static void setUp() throws IOException {
        spark = TestSpark.session();
        TestSpark.copyInto(TestSpark.pngs(TestSpark.SCENES).subList(0, 3), tmp.resolve("scenes"));
        truncated = TestSpark.truncatedPng(tmp.resolve("scenes"), "99-truncated.png");
        scenes = TestSpark.pngs(tmp.resolve("scenes"));
        direct = SemanticSegmenter.load(TestSpark.SEGMENTER, new ModelOptions(1));
    }

    @AfterAll
    static void tearDown() {
        direct.close();
    }

    private static InferenceOptions options() {
        return InferenceOptions.model(TestSpark.SEGMENTER.toString()).threads(1);
    }

    private static Map<String, Row> segmented(InferenceOptions options) {
        Dataset<Row> images = spark.read().format("binaryFile").load(tmp.resolve("scenes").toString());
        Dataset<Row> result = HourglassSpark.segment(images.repartition(2), options);
        assertEquals(List.of("path", "modificationTime", "length", "content", "classes", "class_map", "reduce",
                "error"), List.of(result.schema().fieldNames()));
        Map<String, Row> rows = new HashMap<>();
        for (Row r : result.collectAsList()) {
            rows.put(r.getString(0), r);
        }
        assertEquals(scenes.size(), rows.size());
        return rows;
    }

    private static void assertSameSegmentation(Segmentation expected, Row row, String what) throws IOException {
        assertNull(row.get(row.fieldIndex(HourglassSpark.ERROR)), what);
        List<Row> classes = row.getList(row.fieldIndex(HourglassSpark.CLASSES));
        double[] fractions = expected.classFractions();
        double sum = 0;
        int present = 0;
        for (double f : fractions) {
            present += f > 0 ? 1 : 0;
        }
        assertEquals(present, classes.size(), what + ": the classes present");
        double previous = Double.POSITIVE_INFINITY;
        for (Row c : classes) {
            int index = c.getInt(0);
            assertEquals(expected.classNames().get(index), c.getString(1), what);
            assertEquals(fractions[index], c.getDouble(2), 0.0, what + ": class " + index);
            assertTrue(c.getDouble(2) <= previous, what + ": most pixels first");
            previous = c.getDouble(2);
            sum += c.getDouble(2);
        }
        assertEquals(1.0, sum, 1e-9, what);
        BufferedImage map = ImageIO.read(new ByteArrayInputStream((byte[]) row.get(row.fieldIndex(
                HourglassSpark.CLASS_MAP))));
        assertEquals(expected.width(), map.getWidth(), what);
        assertEquals(expected.height(), map.getHeight(), what);
        int[] labels = map.getRaster().getSamples(0, 0, map.getWidth(), map.getHeight(), 0, (int[]) null);
        assertArrayEquals(expected.labels(), labels, what + ": the class map");
    }

    @Test
    void rowsGetTheDirectSegmentersClassesAndClassMapWithAndWithoutExpedit() throws IOException {
        ReductionMethod expedit = Reductions.parse(EXPEDIT);
        Map<String, Row> plain = segmented(options());
        Map<String, Row> reduced = segmented(options().reduce(EXPEDIT));
        for (Path scene : scenes) {
            Row p = plain.get(TestSpark.uri(scene));
            Row r = reduced.get(TestSpark.uri(scene));
            if (scene.equals(truncated)) {
                for (Row bad : List.of(p, r)) {
                    assertNull(bad.get(bad.fieldIndex(HourglassSpark.CLASSES)));
                    assertNull(bad.get(bad.fieldIndex(HourglassSpark.CLASS_MAP)));
                    assertTrue(bad.getString(bad.fieldIndex(HourglassSpark.ERROR)).startsWith(TestSpark.uri(scene)
                            + ": "), bad.toString());
                }
                continue;
            }
            RgbImage image = RgbImage.read(scene);
            assertSameSegmentation(direct.segment(image, null, false), p, scene.toString());
            assertSameSegmentation(direct.segment(image, expedit, false), r, scene + " with Expedit");
            assertNull(p.get(p.fieldIndex(HourglassSpark.REDUCE)));
            assertEquals(expedit.spec(), r.getString(r.fieldIndex(HourglassSpark.REDUCE)));
        }
    }

    @Test
    void anImageOverThePixelLimitIsItsRowsError() {
        Map<String, Row> rows = segmented(options().maxPixels(1000));
        for (Path scene : scenes) {
            String error = rows.get(TestSpark.uri(scene)).getString(7);
            assertNotNull(error, scene.toString());
            if (!scene.equals(truncated)) {
                assertTrue(error.startsWith(TestSpark.uri(scene) + ": the image is too large: 512x512 = 262144"
                        + " pixels is over the limit of 1000 pixels"), error);
            }
        }
    }

    @Test
    void aReductionTheModelRefusesFailsTheJobNamingIt() {
        Dataset<Row> images = spark.read().format("binaryFile").load(tmp.resolve("scenes").toString());
        Dataset<Row> result = HourglassSpark.segment(images, options().reduce("expedit:alpha=40,grid=10x10"));
        Exception e = assertThrows(Exception.class, result::collectAsList);
        String message = TestSpark.causeMessageStartingWith(e, "hourglass segment: reduce expedit:alpha=40");
        assertNotNull(message, () -> "no cause names the setting: " + e);
        assertTrue(message.contains("alpha"), message);
    }
}
