package dev.hourglass.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serial;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import dev.hourglass.tasks.image.ImageReadException;
import dev.hourglass.tasks.image.RgbImage;

/**
 * Where a DataFrame's images are and how a row's image is read: from a binary column of encoded bytes (what
 * {@code binaryFile} reads), named by a path column if there is one, or from a string column of paths. Serializable:
 * it travels to the executors with the partition function.
 *
 * <p>Every image is read by {@link RgbImage#read(Path, long)}, so a row gets exactly the checks and the one-line
 * errors {@code hourglass classify} gives a file (missing, empty, unsupported format, truncated, over the pixel
 * limit, too costly to decode), with the row's name in place of the file's.
 */
final class ImageRows implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The image column's index, or -1 when images are read from the path column. */
    private final int imageIndex;
    /** The path column's index, or -1 when there is none. */
    private final int pathIndex;
    private final String imageColumn;
    private final String pathColumn;
    private final long maxPixels;
    /** The session's Hadoop configuration, for paths of another file system than the local one; null if unneeded. */
    private final HashMap<String, String> hadoopConf;

    private ImageRows(int imageIndex, int pathIndex, String imageColumn, String pathColumn, long maxPixels,
                      HashMap<String, String> hadoopConf) {
        this.imageIndex = imageIndex;
        this.pathIndex = pathIndex;
        this.imageColumn = imageColumn;
        this.pathColumn = pathColumn;
        this.maxPixels = maxPixels;
        this.hadoopConf = hadoopConf;
    }

    /**
     * Finds the image and path columns {@code options} name in {@code schema}.
     *
     * @param hadoopConf the session's Hadoop configuration, used only when images are read from paths
     * @throws IllegalArgumentException if neither column is there, or one has the wrong type, naming the columns
     */
    static ImageRows of(StructType schema, InferenceOptions options, Map<String, String> hadoopConf) {
        int image = index(schema, options.imageColumn());
        int path = index(schema, options.pathColumn());
        if (image >= 0) {
            requireType(schema, image, DataTypes.BinaryType, "imageColumn", "the image file's bytes");
        }
        if (path >= 0) {
            requireType(schema, path, DataTypes.StringType, "pathColumn", "the image's path or name");
        }
        // A column named on purpose must be there: a typo must not quietly read the images from another column.
        if (image < 0 && !options.imageColumn().equals(InferenceOptions.DEFAULT_IMAGE_COLUMN)) {
            throw new IllegalArgumentException("images: no column '" + options.imageColumn() + "' (imageColumn);"
                    + " the columns are " + Arrays.toString(schema.fieldNames()));
        }
        if (path < 0 && !options.pathColumn().equals(InferenceOptions.DEFAULT_PATH_COLUMN)) {
            throw new IllegalArgumentException("images: no column '" + options.pathColumn() + "' (pathColumn);"
                    + " the columns are " + Arrays.toString(schema.fieldNames()));
        }
        if (image < 0 && path < 0) {
            throw new IllegalArgumentException("images: no column '" + options.imageColumn() + "' (an image file's"
                    + " bytes) or '" + options.pathColumn() + "' (its path); the columns are "
                    + Arrays.toString(schema.fieldNames()) + ". Read images with spark.read().format(\"binaryFile\"),"
                    + " or name your columns with InferenceOptions.imageColumn(...) or pathColumn(...)");
        }
        return new ImageRows(image, path, options.imageColumn(), options.pathColumn(), options.maxPixels(),
                image < 0 ? new HashMap<>(hadoopConf) : null);
    }

    private static int index(StructType schema, String name) {
        for (int i = 0; i < schema.fields().length; i++) {
            if (schema.fields()[i].name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private static void requireType(StructType schema, int index, DataType type, String option, String what) {
        StructField f = schema.fields()[index];
        if (!f.dataType().equals(type)) {
            throw new IllegalArgumentException("images: column '" + f.name() + "' (" + option + ": " + what + ") is "
                    + f.dataType().simpleString() + ", not " + type.simpleString());
        }
    }

    /** Whether images are read from the path column rather than carried in the rows. */
    boolean readsPaths() {
        return imageIndex < 0;
    }

    /** How errors name a row's image: its path column, or where the row is. */
    String name(Row row, long rowInPartition, int partition) {
        if (pathIndex >= 0 && !row.isNullAt(pathIndex)) {
            return row.getString(pathIndex);
        }
        return "row " + rowInPartition + " of partition " + partition;
    }

    /**
     * The row's image.
     *
     * @param name what {@link #name} gives the row
     * @throws IOException saying in one line, starting with the name, why it cannot be read
     */
    RgbImage read(Row row, String name) throws IOException {
        if (imageIndex >= 0) {
            if (row.isNullAt(imageIndex)) {
                throw new IOException(name + ": no image (column '" + imageColumn + "' is null)");
            }
            return decode((byte[]) row.get(imageIndex), name, maxPixels);
        }
        if (row.isNullAt(pathIndex)) {
            throw new IOException(name + ": no image (column '" + pathColumn + "' is null)");
        }
        String path = row.getString(pathIndex);
        Path local = localPath(path);
        if (local != null) {
            return RgbImage.read(local, maxPixels);
        }
        return decode(readHadoop(path), name, maxPixels);
    }

    /**
     * Decodes an image file's bytes as {@link RgbImage#read(Path, long)} decodes a file, with the same checks and
     * messages ({@code name} where the file's path would be). The bytes are written to a temporary file first: the
     * reader's checks of what decoding would cost walk the file (JPEG scans, TIFF strips), and ImageIO itself
     * spools a stream to a cache file to read it, so this costs about what reading from memory would.
     */
    static RgbImage decode(byte[] bytes, String name, long maxPixels) throws IOException {
        if (bytes.length == 0) {
            throw new IOException(name + ": the file is empty (0 bytes)");
        }
        Path file = Files.createTempFile("hourglass-spark-", ".image");
        try {
            Files.write(file, bytes);
            return RgbImage.read(file, maxPixels);
        } catch (ImageReadException e) {
            String message = e.getMessage();
            String prefix = file + ": ";
            String problem = message.startsWith(prefix) ? message.substring(prefix.length())
                    : message.replace(file.toString(), name);
            throw new IOException(name + ": " + problem, e);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** A local path for {@code path} (no scheme, or {@code file:}), or null for another file system's URI. */
    static Path localPath(String path) {
        if (path.startsWith("/") || !path.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*")) {
            return Path.of(path);
        }
        if (path.toLowerCase(Locale.ROOT).startsWith("file:")) {
            // Hadoop's form, as binaryFile writes it (file:/a/b c.png, not percent-encoded): Hadoop reads it back.
            return Path.of(new org.apache.hadoop.fs.Path(path).toUri().getPath());
        }
        return null;
    }

    /** A file of another file system (HDFS, S3, ...), through Hadoop with the session's configuration. */
    private byte[] readHadoop(String path) throws IOException {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration(false);
        hadoopConf.forEach(conf::set);
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try (InputStream in = p.getFileSystem(conf).open(p)) {
            return in.readAllBytes();
        } catch (java.io.FileNotFoundException e) {
            throw new IOException(path + ": no such file", e);
        } catch (IOException e) {
            throw new IOException(path + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
