package dev.hourglass.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.image.RgbImage;

/**
 * Compiles and runs the README's Spark example exactly as written, on the tests' {@code local[2]} session (its
 * {@code getOrCreate} finds it) with the demo model and images, and reads back what it wrote.
 */
class ReadmeSparkExampleTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void theReadmesSparkExampleClassifiesTheDemoImagesToParquet(@TempDir Path tmp) throws Exception {
        String source = null;
        Matcher m = JAVA_BLOCK.matcher(Files.readString(Path.of("../README.md")));
        while (m.find()) {
            if (m.group(1).contains("public class ClassifyOnSpark ")) {
                source = m.group(1);
            }
        }
        assertNotNull(source, "README.md has no ```java block with public class ClassifyOnSpark");
        Path src = tmp.resolve("src/ClassifyOnSpark.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source);
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                src.toString());
        assertEquals(0, rc, "the README's example does not compile");

        TestSpark.session();
        Path out = tmp.resolve("labels.parquet");
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Method main = loader.loadClass("ClassifyOnSpark").getMethod("main", String[].class);
            main.invoke(null, (Object) new String[] {TestSpark.CLASSIFIER.toString(), TestSpark.IMAGES.toString(),
                    out.toString()});
        }
        List<Row> rows = TestSpark.session().read().parquet(out.toString()).collectAsList();
        assertEquals(TestSpark.pngs(TestSpark.IMAGES).size(), rows.size());
        try (ImageClassifier direct = ImageClassifier.load(TestSpark.CLASSIFIER, new ModelOptions(1))) {
            for (Row row : rows) {
                assertNull(row.get(row.fieldIndex("error")));
                List<Row> top = row.getList(row.fieldIndex("predictions"));
                assertEquals(3, top.size());
                assertEquals(direct.classify(RgbImage.read(Path.of(row.getString(0).substring("file:".length()))),
                        1).getFirst().label(), top.getFirst().getString(1), row.getString(0));
            }
        }
    }
}
