package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.hourglass.bench.jmh.RandomTensors;
import dev.hourglass.bench.jmh.RandomVitWeights;
import dev.hourglass.dpt.DptModel;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.ResNetNames;
import dev.hourglass.vit.VitConfig;

/**
 * Random weights of a DPT for depth, in Hourglass's canonical names: the encoder as {@link RandomVitWeights} (timm's
 * initialisation scale), the neck and head as {@link DptModel#neckShapes} lists them, each convolution and linear
 * layer at a variance-preserving scale (uniform with std {@code 1 / sqrt(fan in)}), small biases, normalisation gains
 * near 1. Every tensor is generated on request from a seed derived from its name, so the same seed gives the same
 * model. Thread-safe.
 *
 * <p>A tensor of the neck list that the encoder has too (a hybrid stem replacing the patch embedding) replaces the
 * encoder's. {@link #ensureFile} writes them as an Hourglass model file once and reuses it while it is the same model,
 * so that {@code DepthEstimator.load} can read them.
 */
public final class RandomDptWeights extends RandomTensors {
    /** Bump when the values a seed gives change, so that files written by an older generator are made again. */
    static final String GENERATOR = "dev.hourglass.bench.RandomDptWeights v1";

    public RandomDptWeights(VitConfig encoder, DptConfig dpt, long seed) {
        super("random-dpt.safetensors", seed);
        addVit(encoder);
        if (dpt.backbone() == DptConfig.Backbone.HYBRID) {
            // The ResNet-50 stem (replacing the encoder's patch convolution with its 1x1 projection), drawn as
            // convolutions and GroupNorm gains: the converter has standardised a real checkpoint's weights already.
            ResNetNames.expectedShapes(resNet50(encoder.inChannels()), encoder.inChannels(), encoder.embedDim())
                    .forEach(this::addNeck);
        }
        DptModel.neckShapes(encoder.embedDim(), dpt).forEach(this::addNeck);
    }

    /**
     * The structure of timm's ResNet-50 (v2, as ViT-Hybrid uses it: stem width 64, stages of 3, 4 and 9 bottleneck
     * units of 256, 512 and 1024 channels, a quarter of that inside), as the defining tensors {@link
     * ResNetNames#expectedShapes} reads the rest from.
     */
    private static Map<String, Shape> resNet50(int inChannels) {
        Map<String, Shape> skeleton = new LinkedHashMap<>();
        skeleton.put(ResNetNames.STEM_CONV + ".weight", Shape.of(64, inChannels, 7, 7));
        int[] units = {3, 4, 9};
        for (int stage = 0; stage < units.length; stage++) {
            int out = 256 << stage;
            for (int u = 0; u < units[stage]; u++) {
                skeleton.put(ResNetNames.unit(stage, u) + ".conv1.weight", Shape.of(out / 4, 1, 1, 1));
                skeleton.put(ResNetNames.unit(stage, u) + ".conv3.weight", Shape.of(out, out / 4, 1, 1));
            }
        }
        return skeleton;
    }

    /** The weights a DPT configuration needs: its encoder and its neck and depth head. */
    static RandomDptWeights forConfig(ModelConfig config, long seed) {
        return new RandomDptWeights(config.encoder(), config.decoder(DptConfig.class), seed);
    }

    /** A neck or head tensor, drawn by its kind as its name and shape say. */
    private void addNeck(String name, Shape shape) {
        if (shape.rank() >= 2) {
            if (shape.rank() == 4 && shape.dim(2) % 2 == 0 && shape.dim(2) == shape.dim(3)) {
                // An even kernel is one of DPT's transposed convolutions (kernel = stride, [in, out, k, k]): every
                // output pixel sees each input channel once, so std 1 / sqrt(in) keeps the scale.
                addUniform(name, 0, Math.sqrt(3.0 / shape.dim(0)), shape);
            } else {
                add(name, Init.CONV, shape);
            }
        } else if (name.endsWith("running_var") || name.endsWith(".weight")) {
            // A one-dimensional weight is a normalisation's gain.
            add(name, Init.NORM_GAIN, shape);
        } else {
            add(name, Init.BIAS, shape);
        }
    }

    /**
     * The configuration of a DPT depth model on {@code encoder}, as the converter writes one for isl-org/DPT's
     * checkpoints (the input normalised with mean = std = 0.5, bicubic resize).
     */
    static ModelConfig dptConfig(VitConfig encoder, DptConfig dpt, String description) {
        return new ModelConfig(ModelFamily.DPT, encoder,
                RandomModelFile.preprocessing(encoder.imageHeight(), encoder.imageWidth(), "bicubic"), List.of(), dpt,
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
