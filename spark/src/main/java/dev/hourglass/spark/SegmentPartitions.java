package dev.hourglass.spark;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serial;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.image.RgbImage;
import dev.hourglass.tasks.segment.Segmentation;
import dev.hourglass.tasks.segment.SegmentationPictures;
import dev.hourglass.tasks.segment.SemanticSegmenter;

/**
 * Segmentation of a partition, one image at a time (Segmenter's sliding windows of an image are its batch): each
 * row's classes with their share of the pixels, and its class map as a PNG.
 */
final class SegmentPartitions extends PartitionInference<SemanticSegmenter> {
    @Serial
    private static final long serialVersionUID = 1L;

    SegmentPartitions(InferenceOptions options, ImageRows images) {
        super(options, images);
    }

    @Override
    String task() {
        return "segment";
    }

    @Override
    SemanticSegmenter load(int threads) throws IOException {
        return SemanticSegmenter.load(Path.of(options.model()), new ModelOptions(threads, options.backend(),
                options.conversion()));
    }

    @Override
    String describe(SemanticSegmenter model) {
        return model.describe();
    }

    @Override
    String backendSummary(SemanticSegmenter model) {
        return model.backendSummary();
    }

    @Override
    void check(SemanticSegmenter model, ReductionMethod reduction) {
        model.checkReduction(reduction);
    }

    @Override
    int batchSize() {
        return 1;
    }

    @Override
    List<Row> run(SemanticSegmenter segmenter, ReductionMethod reduction, List<Row> rows, List<String> names) {
        List<Row> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            String name = names.get(i);
            RgbImage image;
            try {
                image = images.read(row, name);
            } catch (IOException e) {
                out.add(append(row, null, null, options.reduce(), oneLine(e)));
                continue;
            }
            String problem = segmenter.sizeProblem(image.width(), image.height());
            if (problem != null) {
                out.add(append(row, null, null, options.reduce(), name + ": " + problem));
                continue;
            }
            Segmentation s = segmenter.segment(image, reduction, false);
            out.add(append(row, seq(classes(s)), classMap(s), options.reduce(), null));
        }
        return out;
    }

    /** The classes present, most pixels first (ties by index), as the command line's JSON lists them. */
    static List<Row> classes(Segmentation s) {
        double[] fractions = s.classFractions();
        Integer[] order = new Integer[fractions.length];
        for (int c = 0; c < order.length; c++) {
            order[c] = c;
        }
        Arrays.sort(order, (a, b) -> fractions[a] != fractions[b] ? Double.compare(fractions[b], fractions[a])
                : Integer.compare(a, b));
        List<Row> classes = new ArrayList<>();
        for (int c : order) {
            if (fractions[c] > 0) {
                classes.add(RowFactory.create(c, s.classNames().get(c), fractions[c]));
            }
        }
        return classes;
    }

    /** The class of each pixel as a greyscale PNG (8-bit; 16-bit above 256 classes), as {@code NAME.classes.png}. */
    static byte[] classMap(Segmentation s) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(SegmentationPictures.classIndices(s), "png", png)) {
                throw new IOException("no PNG writer for the class map");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return png.toByteArray();
    }
}
