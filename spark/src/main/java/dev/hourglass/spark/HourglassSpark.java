package dev.hourglass.spark;

import java.util.HashMap;
import java.util.Map;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Batch classification and segmentation of a DataFrame of images on Spark, with nothing native to download on the
 * executors: the model is plain Java, loaded once per executor JVM from a path every executor can read.
 *
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").option("pathGlobFilter", "*.jpg").load("hdfs:///photos");
 * Dataset<Row> labelled = HourglassSpark.classify(images, InferenceOptions.model("/shared/models/vit").topK(3));
 * labelled.drop("content").write().parquet("hdfs:///photos-labelled");
 * }</pre>
 *
 * <p>The images come from a binary column of image file bytes ({@code content}, as Spark's {@code binaryFile} source
 * reads them; errors name the image by the {@code path} column) or, when there is none, from a string column of paths
 * read on the executors ({@link InferenceOptions#imageColumn}, {@link InferenceOptions#pathColumn}). The result is the
 * input with result columns after its own, one row per input row, in the same partitions:
 *
 * <ul>
 *   <li>{@code classify}: {@value #PREDICTIONS} {@code array<struct<index:int, label:string, score:float,
 *       logit:float>>}, the top k classes, best first, softmax scores ({@link dev.hourglass.tasks.classify.Prediction}).
 *   <li>{@code segment}: {@value #CLASSES} {@code array<struct<index:int, name:string, fraction:double>>}, each class
 *       present with its share of the pixels, most first; {@value #CLASS_MAP} {@code binary}, the class index of every
 *       pixel as a greyscale PNG (what {@code hourglass segment} writes as {@code NAME.classes.png}).
 *   <li>both: {@value #REDUCE} {@code string}, the token reduction applied ({@link InferenceOptions#reduce}, null for
 *       none); {@value #ERROR} {@code string}, null, or for a row whose image cannot be used (missing, corrupt,
 *       truncated, over the pixel limit, too large to segment) one line naming it and saying why, the results being
 *       null. Such a row never fails the job; a model that cannot load, or a setting it refuses, does.
 * </ul>
 *
 * <p>Lazy, like any transformation: nothing runs until an action. Each task takes its executor's model from
 * {@link ModelCache} (loaded by the first task that needs it, shared by all), pulls its rows {@link
 * InferenceOptions#batch()} at a time, and computes on {@link InferenceOptions#threads} threads with the backend each
 * executor chooses ({@link InferenceOptions#backend}). Results equal {@code ImageClassifier} and
 * {@code SemanticSegmenter} run directly on the same files, bit for bit on the same backend and kind of CPU: neither
 * the batch nor the thread count changes the CPU kernels' sums (an executor with other vector widths may differ in the
 * last bits, see docs/ARCHITECTURE.md, Numerics).
 */
public final class HourglassSpark {
    /** {@code classify}'s result column: the top classes. */
    public static final String PREDICTIONS = "predictions";
    /** {@code segment}'s result column: the classes present and their shares of the pixels. */
    public static final String CLASSES = "classes";
    /** {@code segment}'s result column: the class map, a PNG. */
    public static final String CLASS_MAP = "class_map";
    /** The token reduction applied. */
    public static final String REDUCE = "reduce";
    /** Why a row has no result, or null. */
    public static final String ERROR = "error";

    /** One element of {@value #PREDICTIONS}. */
    public static final StructType PREDICTION = new StructType()
            .add("index", DataTypes.IntegerType, false)
            .add("label", DataTypes.StringType, false)
            .add("score", DataTypes.FloatType, false)
            .add("logit", DataTypes.FloatType, false);

    /** One element of {@value #CLASSES}. */
    public static final StructType CLASS_FRACTION = new StructType()
            .add("index", DataTypes.IntegerType, false)
            .add("name", DataTypes.StringType, false)
            .add("fraction", DataTypes.DoubleType, false);

    private HourglassSpark() {
    }

    /**
     * Classifies every image of {@code images} with the ViT/DeiT (or CF-ViT) classifier {@code options} names.
     *
     * @throws IllegalArgumentException if the DataFrame has no image or path column, or already has a column of a
     *     result's name
     */
    public static Dataset<Row> classify(Dataset<Row> images, InferenceOptions options) {
        StructType out = resultSchema(images.schema(), new StructField[] {
                field(PREDICTIONS, DataTypes.createArrayType(PREDICTION, false)),
                field(REDUCE, DataTypes.StringType),
                field(ERROR, DataTypes.StringType)});
        ImageRows rows = imageRows(images, options);
        return images.mapPartitions(new ClassifyPartitions(options, rows), Encoders.row(out));
    }

    /**
     * Segments every image of {@code images} with the Segmenter {@code options} names (its {@code topK} and
     * {@code batch} do not apply).
     *
     * @throws IllegalArgumentException if the DataFrame has no image or path column, or already has a column of a
     *     result's name
     */
    public static Dataset<Row> segment(Dataset<Row> images, InferenceOptions options) {
        StructType out = resultSchema(images.schema(), new StructField[] {
                field(CLASSES, DataTypes.createArrayType(CLASS_FRACTION, false)),
                field(CLASS_MAP, DataTypes.BinaryType),
                field(REDUCE, DataTypes.StringType),
                field(ERROR, DataTypes.StringType)});
        ImageRows rows = imageRows(images, options);
        return images.mapPartitions(new SegmentPartitions(options, rows), Encoders.row(out));
    }

    private static StructField field(String name, org.apache.spark.sql.types.DataType type) {
        return new StructField(name, type, true, Metadata.empty());
    }

    private static StructType resultSchema(StructType in, StructField[] results) {
        StructType out = in;
        for (StructField f : results) {
            for (String name : in.fieldNames()) {
                if (name.equalsIgnoreCase(f.name())) {
                    throw new IllegalArgumentException("images: the DataFrame already has a column '" + name + "',"
                            + " the name of a result column; rename or drop it first");
                }
            }
            out = out.add(f);
        }
        return out;
    }

    private static ImageRows imageRows(Dataset<Row> images, InferenceOptions options) {
        StructType schema = images.schema();
        boolean hasImages = java.util.Arrays.asList(schema.fieldNames()).contains(options.imageColumn());
        Map<String, String> hadoop = new HashMap<>();
        if (!hasImages) {
            // Paths of other file systems than the local one are read with the session's Hadoop configuration.
            for (Map.Entry<String, String> e : images.sparkSession().sparkContext().hadoopConfiguration()) {
                hadoop.put(e.getKey(), e.getValue());
            }
        }
        return ImageRows.of(schema, options, hadoop);
    }
}
