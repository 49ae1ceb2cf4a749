package dev.hourglass.spark;

import java.io.IOException;
import java.io.Serial;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tasks.classify.ImageClassifier;
import dev.hourglass.tasks.classify.Prediction;
import dev.hourglass.tensor.Tensor;

/**
 * Classification of a partition: rows decoded and preprocessed (timm's eval transform, {@link ImageClassifier#preprocess})
 * {@link InferenceOptions#batch()} at a time, the good ones run as one batch, top-k per row.
 */
final class ClassifyPartitions extends PartitionInference<ImageClassifier> {
    @Serial
    private static final long serialVersionUID = 1L;

    ClassifyPartitions(InferenceOptions options, ImageRows images) {
        super(options, images);
    }

    @Override
    String task() {
        return "classify";
    }

    @Override
    ImageClassifier load(int threads) throws IOException {
        return ImageClassifier.load(Path.of(options.model()), new ModelOptions(threads, options.backend(),
                options.conversion()));
    }

    @Override
    String describe(ImageClassifier model) {
        return model.describe();
    }

    @Override
    String backendSummary(ImageClassifier model) {
        return model.backendSummary();
    }

    @Override
    void check(ImageClassifier model, ReductionMethod reduction) {
        // The classifier checks a reduction on its first batch, at its input size (see run).
    }

    @Override
    int batchSize() {
        return options.batch();
    }

    @Override
    List<Row> run(ImageClassifier classifier, ReductionMethod reduction, List<Row> rows, List<String> names) {
        int n = rows.size();
        int h = classifier.preprocessing().height();
        int w = classifier.preprocessing().width();
        int size = 3 * h * w;
        String[] errors = new String[n];
        float[] inputs = new float[n * size];
        int good = 0;
        for (int i = 0; i < n; i++) {
            try {
                Tensor one = classifier.preprocess(images.read(rows.get(i), names.get(i)));
                one.copyToFloats(0, inputs, good * size, size);
                good++;
            } catch (IOException e) {
                errors[i] = oneLine(e);
            }
        }
        List<List<Prediction>> predictions = List.of();
        if (good > 0) {
            float[] batch = good == n ? inputs : java.util.Arrays.copyOf(inputs, good * size);
            Tensor t = Tensor.ofFloats(batch, good, 3, h, w);
            Tensor logits;
            if (reduction == null) {
                logits = classifier.logits(t);
            } else {
                try {
                    logits = classifier.logits(t, reduction).logits();
                } catch (IllegalArgumentException e) {
                    // Every image reaches the model at its input size: a refusal is the setting's, for every row.
                    throw new IllegalArgumentException("hourglass classify: reduce " + options.reduce() + ": "
                            + e.getMessage(), e);
                }
            }
            predictions = classifier.topK(logits, options.topK());
        }
        List<Row> out = new ArrayList<>(n);
        int next = 0;
        for (int i = 0; i < n; i++) {
            if (errors[i] != null) {
                out.add(append(rows.get(i), null, options.reduce(), errors[i]));
                continue;
            }
            List<Row> top = new ArrayList<>();
            for (Prediction p : predictions.get(next++)) {
                top.add(RowFactory.create(p.index(), p.label(), p.score(), p.logit()));
            }
            out.add(append(rows.get(i), seq(top), options.reduce(), null));
        }
        return out;
    }
}
