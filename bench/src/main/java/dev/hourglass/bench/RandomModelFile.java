package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.bench.jmh.RandomTensors;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;

/**
 * An Hourglass model file of random weights, written once and reused while it is the same model: what the harnesses
 * whose task classes load files ({@code SemanticSegmenter.load}, {@code DepthEstimator.load}) time. A file is the
 * same model when its configuration, the generator's stamp (name, version, seed) and every tensor's name, shape and
 * dtype match.
 */
final class RandomModelFile {
    /** Metadata key naming the generator and seed of a file {@link #ensure} wrote. */
    static final String METADATA_KEY = "hourglass.bench.random_weights";

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private RandomModelFile() {
    }

    /**
     * The {@code preprocessing} of a random model as the converter writes one (timm's key names): an input of
     * {@code height x width}, squashed, normalised with mean = std = 0.5 as Segmenter's and DPT's ViTs are.
     */
    static ObjectNode preprocessing(int height, int width, String interpolation) {
        ObjectNode p = NODES.objectNode();
        p.putArray("input_size").add(3).add(height).add(width);
        p.put("interpolation", interpolation);
        p.put("crop_pct", 1.0);
        p.put("crop_mode", "squash");
        p.putArray("mean").add(0.5).add(0.5).add(0.5);
        p.putArray("std").add(0.5).add(0.5).add(0.5);
        return p;
    }

    /** The {@code source} of a random model: layout {@code random} and what it stands for. */
    static ObjectNode source(String description) {
        ObjectNode source = NODES.objectNode();
        source.put("layout", "random");
        source.put("description", description);
        return source;
    }

    /**
     * Makes sure {@code file} is an Hourglass model file of {@code config} holding {@code weights}: reuses it if it
     * matches, writes it (atomically) otherwise.
     *
     * @param generator the generator's name and version (bump the version when the values a seed gives change, so
     *                  that files written by an older one are made again)
     * @return true if the file was written, false if an existing one was reused
     */
    static boolean ensure(Path file, ModelConfig config, RandomTensors weights, String generator, long seed)
            throws IOException {
        String stamp = generator + ", seed " + seed + ", F32";
        if (Files.isRegularFile(file) && matches(file, config, weights, stamp)) {
            return false;
        }
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        SafetensorsWriter writer = new SafetensorsWriter();
        ModelFormat.metadata(config).forEach(writer::metadata);
        writer.metadata(METADATA_KEY, stamp);
        for (TensorInfo info : weights.tensors()) {
            writer.add(info.name(), "F32", info.shape(), () -> weights.tensor(info.name()).data());
        }
        writer.write(file);
        return true;
    }

    private static boolean matches(Path file, ModelConfig config, RandomTensors weights, String stamp) {
        try (TensorSource existing = Safetensors.open(file)) {
            if (!ModelFormat.isHourglass(existing) || !stamp.equals(existing.metadata().get(METADATA_KEY))
                    || !config.toJson().equals(ModelFormat.config(existing).toJson())) {
                return false;
            }
            if (existing.tensors().size() != weights.tensors().size()) {
                return false;
            }
            for (TensorInfo want : weights.tensors()) {
                Optional<TensorInfo> have = existing.info(want.name());
                if (have.isEmpty() || !have.get().shape().equals(want.shape()) || !"F32".equals(have.get().dtype())) {
                    return false;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
