package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.segmenter.SegmenterDecoderTensors;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.VitConfig;

/**
 * Random weights of a Segmenter with a mask-transformer decoder, in Hourglass's canonical names: the encoder from
 * {@link RandomVitWeights} (timm's initialisation scale), the decoder as Segmenter initialises it (linear weights and
 * {@code cls_emb} std 0.02, small biases, LayerNorm gains near 1, {@code proj_patch} and {@code proj_classes} with
 * std {@code d_model^-0.5}, as its {@code scale * torch.randn}). Every tensor is generated on request from a seed
 * derived from its name, so the same seed gives the same model. Thread-safe.
 *
 * <p>{@link #ensureFile} writes them as an Hourglass model file once and reuses it while it is the same model, so
 * that {@code SemanticSegmenter.load} can read them (it takes files, not tensor sources).
 */
final class RandomSegmenterWeights implements TensorSource {
    /** Bump when the values a seed gives change, so that files written by an older generator are made again. */
    static final String GENERATOR = "dev.hourglass.bench.RandomSegmenterWeights v1";
    /** Metadata key naming the generator and seed of a file {@link #ensureFile} wrote. */
    static final String METADATA_KEY = "hourglass.bench.random_weights";

    private static final Path NAME = Path.of("random-segmenter.safetensors");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private enum Init {
        /** std 0.02, as trunc_normal_(std=.02). */
        WEIGHT,
        /** small biases, so that the bias path is exercised. */
        BIAS,
        /** LayerNorm gain: 1 plus a little noise. */
        NORM_GAIN,
        /** Segmenter's proj_patch / proj_classes: std d_model^-0.5. */
        PROJECTION
    }

    private record Entry(TensorInfo info, Init init) {
    }

    private final RandomVitWeights encoder;
    private final Map<String, Entry> decoder = new LinkedHashMap<>();
    private final List<TensorInfo> all;
    private final long seed;
    private final int dModel;
    private long offset;

    /**
     * @param encoder the encoder; its classifier head, if any, is generated too (Segmenter's checkpoints keep an
     *                unused one), but a headless encoder ({@code numClasses} 0) is what a Segmenter needs
     */
    RandomSegmenterWeights(VitConfig encoder, SegmenterDecoderConfig decoder, long seed) {
        SegmenterDecoderConfig.MaskTransformer mask = decoder.maskTransformer();
        if (mask == null) {
            throw new IllegalArgumentException("random weights are made for the mask-transformer decoder only, not "
                    + decoder.type());
        }
        this.encoder = new RandomVitWeights(encoder, seed);
        this.seed = seed;
        this.dModel = mask.width();
        // Byte offsets continue after the encoder's, as in one file.
        offset = this.encoder.tensors().stream().mapToLong(TensorInfo::end).max().orElse(0);
        // The decoder's tensors as the engine names them, each drawn as Segmenter initialises its kind.
        SegmenterDecoderTensors.expectedShapes(decoder, encoder.embedDim()).forEach((name, shape) ->
                add(name, init(name), shape.dims()));
        List<TensorInfo> list = new ArrayList<>(this.encoder.tensors());
        for (Entry e : this.decoder.values()) {
            list.add(e.info());
        }
        all = Collections.unmodifiableList(list);
    }

    /**
     * The weights a Segmenter configuration needs: its encoder and its mask-transformer decoder
     * ({@code n_cls}, {@code n_layers}, {@code d_model}, {@code mlp_hidden}).
     */
    static RandomSegmenterWeights forConfig(ModelConfig config, long seed) {
        return new RandomSegmenterWeights(config.encoder(), config.decoder(SegmenterDecoderConfig.class), seed);
    }

    /** Segmenter's initialisation of a decoder tensor, from its name. */
    private static Init init(String name) {
        if (name.endsWith(".bias")) {
            return Init.BIAS;
        }
        if (name.endsWith(".weight") && name.contains("norm")) {
            return Init.NORM_GAIN;
        }
        if (name.endsWith("proj_patch") || name.endsWith("proj_classes")) {
            return Init.PROJECTION;
        }
        return Init.WEIGHT;
    }

    /**
     * The configuration of a Segmenter with a mask-transformer decoder, as the converter writes one for Segmenter's
     * own checkpoints ('vit' normalisation: mean and std 0.5).
     */
    static ModelConfig segmenterConfig(VitConfig encoder, int classes, int layers, int dModel, int heads,
                                       int mlpHidden, double decoderEps, int window, int stride, String description) {
        ObjectNode p = NODES.objectNode();
        p.putArray("input_size").add(3).add(window).add(window);
        p.put("interpolation", "bilinear");
        p.put("crop_pct", 1.0);
        p.put("crop_mode", "squash");
        p.putArray("mean").add(0.5).add(0.5).add(0.5);
        p.putArray("std").add(0.5).add(0.5).add(0.5);
        SegmenterDecoderConfig d = new SegmenterDecoderConfig(classes, window, stride,
                new SegmenterDecoderConfig.MaskTransformer(layers, dModel, heads, mlpHidden, (float) decoderEps), 0);
        ObjectNode source = NODES.objectNode();
        source.put("layout", "random");
        source.put("description", description);
        return new ModelConfig(ModelFamily.SEGMENTER, encoder, p, List.of(), d, source, List.of("random weights"));
    }

    /**
     * Makes sure {@code file} is an Hourglass model file of {@code config} with this generator's weights for
     * {@code seed}: reuses it if its configuration, generator, seed and tensor shapes match, writes it (atomically)
     * otherwise.
     *
     * @return true if the file was written, false if an existing one was reused
     */
    static boolean ensureFile(Path file, ModelConfig config, long seed) throws IOException {
        RandomSegmenterWeights weights = forConfig(config, seed);
        String stamp = GENERATOR + ", seed " + seed + ", F32";
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

    private static boolean matches(Path file, ModelConfig config, RandomSegmenterWeights weights, String stamp) {
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

    private void add(String name, Init init, long... dims) {
        Shape shape = Shape.of(dims);
        long bytes = shape.byteSize(DType.F32);
        decoder.put(name, new Entry(new TensorInfo(name, "F32", shape, offset, offset + bytes), init));
        offset += bytes;
    }

    /** Parameters in all tensors. */
    long parameterCount() {
        return all.stream().mapToLong(t -> t.shape().elementCount()).sum();
    }

    @Override
    public Path path() {
        return NAME;
    }

    @Override
    public List<TensorInfo> tensors() {
        return all;
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        Entry e = decoder.get(name);
        return e != null ? Optional.of(e.info()) : encoder.info(name);
    }

    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        Entry e = decoder.get(name);
        if (e == null) {
            return encoder.tensor(name);
        }
        Shape shape = e.info().shape();
        float[] v = new float[Math.toIntExact(shape.elementCount())];
        SplittableRandom r = new SplittableRandom(seed * 31 + name.hashCode());
        // Uniform in [-a, a) has std a / sqrt(3).
        double a = switch (e.init()) {
            case WEIGHT -> 0.02 * Math.sqrt(3);
            case BIAS -> 0.02;
            case NORM_GAIN -> 0.1;
            case PROJECTION -> Math.sqrt(3.0 / dModel);
        };
        double base = e.init() == Init.NORM_GAIN ? 1 : 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (base + (r.nextDouble() * 2 - 1) * a);
        }
        return Tensor.ofFloats(v, shape);
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public void close() {
        // Nothing is held: every tensor is made on request and belongs to its caller.
    }
}
