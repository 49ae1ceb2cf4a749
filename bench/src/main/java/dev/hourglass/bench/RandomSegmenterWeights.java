package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import dev.hourglass.bench.jmh.RandomTensors;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.segmenter.SegmenterDecoderTensors;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.VitConfig;

/**
 * Random weights of a Segmenter with a mask-transformer decoder, in Hourglass's canonical names: the encoder as
 * {@link RandomVitWeights} (timm's initialisation scale), the decoder as Segmenter initialises it (linear weights and
 * {@code cls_emb} std 0.02, small biases, LayerNorm gains near 1, {@code proj_patch} and {@code proj_classes} with
 * std {@code d_model^-0.5}, as its {@code scale * torch.randn}). Every tensor is generated on request from a seed
 * derived from its name, so the same seed gives the same model. Thread-safe.
 *
 * <p>{@link #ensureFile} writes them as an Hourglass model file once and reuses it while it is the same model, so
 * that {@code SemanticSegmenter.load} can read them (it takes files, not tensor sources).
 */
final class RandomSegmenterWeights extends RandomTensors {
    /** Bump when the values a seed gives change, so that files written by an older generator are made again. */
    static final String GENERATOR = "dev.hourglass.bench.RandomSegmenterWeights v1";

    /**
     * @param encoder the encoder; its classifier head, if any, is generated too (Segmenter's checkpoints keep an
     *                unused one), but a headless encoder ({@code numClasses} 0) is what a Segmenter needs
     */
    RandomSegmenterWeights(VitConfig encoder, SegmenterDecoderConfig decoder, long seed) {
        super("random-segmenter.safetensors", seed);
        SegmenterDecoderConfig.MaskTransformer mask = decoder.maskTransformer();
        if (mask == null) {
            throw new IllegalArgumentException("random weights are made for the mask-transformer decoder only, not "
                    + decoder.type());
        }
        addVit(encoder);
        // The decoder's tensors as the engine names them, each drawn as Segmenter initialises its kind.
        SegmenterDecoderTensors.expectedShapes(decoder, encoder.embedDim()).forEach((name, shape) ->
                addDecoder(name, shape, mask.width()));
    }

    /**
     * The weights a Segmenter configuration needs: its encoder and its mask-transformer decoder
     * ({@code n_cls}, {@code n_layers}, {@code d_model}, {@code mlp_hidden}).
     */
    static RandomSegmenterWeights forConfig(ModelConfig config, long seed) {
        return new RandomSegmenterWeights(config.encoder(), config.decoder(SegmenterDecoderConfig.class), seed);
    }

    /** A decoder tensor drawn as Segmenter initialises its kind, from its name. */
    private void addDecoder(String name, Shape shape, int dModel) {
        if (name.endsWith(".bias")) {
            add(name, Init.BIAS, shape);
        } else if (name.endsWith(".weight") && name.contains("norm")) {
            add(name, Init.NORM_GAIN, shape);
        } else if (name.endsWith("proj_patch") || name.endsWith("proj_classes")) {
            // Segmenter's scale * torch.randn: std d_model^-0.5, so uniform with half-width sqrt(3 / d_model).
            addUniform(name, 0, Math.sqrt(3.0 / dModel), shape);
        } else {
            add(name, Init.WEIGHT, shape);
        }
    }

    /**
     * The configuration of a Segmenter with a mask-transformer decoder, as the converter writes one for Segmenter's
     * own checkpoints ('vit' normalisation: mean and std 0.5).
     */
    static ModelConfig segmenterConfig(VitConfig encoder, int classes, int layers, int dModel, int heads,
                                       int mlpHidden, double decoderEps, int window, int stride, String description) {
        SegmenterDecoderConfig d = new SegmenterDecoderConfig(classes, window, stride,
                new SegmenterDecoderConfig.MaskTransformer(layers, dModel, heads, mlpHidden, (float) decoderEps), 0);
        return new ModelConfig(ModelFamily.SEGMENTER, encoder,
                RandomModelFile.preprocessing(window, window, "bilinear"), List.of(), d,
                RandomModelFile.source(description), List.of("random weights"));
    }

    /**
     * Makes sure {@code file} is an Hourglass model file of {@code config} with this generator's weights for
     * {@code seed}: reuses it if its configuration, generator, seed and tensor shapes match, writes it (atomically)
     * otherwise ({@link RandomModelFile}).
     *
     * @return true if the file was written, false if an existing one was reused
     */
    static boolean ensureFile(Path file, ModelConfig config, long seed) throws IOException {
        return RandomModelFile.ensure(file, config, forConfig(config, seed), GENERATOR, seed);
    }
}
