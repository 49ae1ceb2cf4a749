package dev.hourglass.bench.jmh;

import dev.hourglass.vit.VitConfig;

/**
 * Random timm-layout weights for a {@link VitConfig}, made in memory: no file, and no tensor exists before it is asked
 * for. Each {@link #tensor} call generates that tensor from a seed derived from its name (the same values every
 * time), on the heap, so a ViT-B (86 M parameters) never holds more than one layer's weight besides what the backend
 * packs. Values follow timm's initialisation scale (std 0.02 for weights and embeddings, LayerNorm weights near 1),
 * so activations stay in a realistic range through all blocks ({@link RandomTensors#addVit}). Thread-safe. The
 * encoder of {@code dev.hourglass.bench.RandomSegmenterWeights} and {@code RandomDptWeights} is drawn the same way.
 */
public final class RandomVitWeights extends RandomTensors {

    public RandomVitWeights(VitConfig c, long seed) {
        super("random-weights.safetensors", seed);
        addVit(c);
    }

    /**
     * Adds CF-ViT's tensors ({@code cfvit.pos_embed_coarse} for a {@code coarseGrid x coarseGrid} grid after the class
     * token, the reuse block's LayerNorm and MLP of hidden width {@code reuseHidden}), as the converter names them.
     *
     * @return this
     */
    public RandomVitWeights withCfVit(int coarseGrid, int embedDim, int reuseHidden) {
        add("cfvit.pos_embed_coarse", Init.WEIGHT, 1, 1 + (long) coarseGrid * coarseGrid, embedDim);
        add("cfvit.reuse_norm.weight", Init.NORM_GAIN, embedDim);
        add("cfvit.reuse_norm.bias", Init.BIAS, embedDim);
        add("cfvit.reuse_mlp.fc1.weight", Init.WEIGHT, reuseHidden, embedDim);
        add("cfvit.reuse_mlp.fc1.bias", Init.BIAS, reuseHidden);
        add("cfvit.reuse_mlp.fc2.weight", Init.WEIGHT, embedDim, reuseHidden);
        add("cfvit.reuse_mlp.fc2.bias", Init.BIAS, embedDim);
        return this;
    }

    /**
     * Replaces the patch embedding with LV-ViT's convolutional stem of width {@code stemChannels} (three
     * convolutions with BatchNorm, then {@code patch_embed.proj} with kernel {@code patchSize / 2}) and adds its
     * token-labelling head {@code lvvit.aux_head}, as the converter names them. BatchNorm's running variance is near 1.
     *
     * @return this
     */
    public RandomVitWeights withLvVitStem(int stemChannels, int inChannels, int embedDim, int patchSize,
                                          int numClasses) {
        remove("patch_embed.proj.weight");
        remove("patch_embed.proj.bias");
        long c = stemChannels;
        // A convolution's weights at a fan-in-scaled size (std about 1/sqrt(fan in)), so the stem keeps its scale.
        add("lvvit.stem.conv1.weight", Init.CONV, c, inChannels, 7, 7);
        add("lvvit.stem.conv2.weight", Init.CONV, c, c, 3, 3);
        add("lvvit.stem.conv3.weight", Init.CONV, c, c, 3, 3);
        for (int i = 1; i <= 3; i++) {
            String bn = "lvvit.stem.bn" + i + ".";
            add(bn + "weight", Init.NORM_GAIN, c);
            add(bn + "bias", Init.BIAS, c);
            add(bn + "running_mean", Init.BIAS, c);
            add(bn + "running_var", Init.NORM_GAIN, c);
        }
        add("patch_embed.proj.weight", Init.CONV, embedDim, c, patchSize / 2, patchSize / 2);
        add("patch_embed.proj.bias", Init.BIAS, embedDim);
        add("lvvit.aux_head.weight", Init.WEIGHT, numClasses, embedDim);
        add("lvvit.aux_head.bias", Init.BIAS, numClasses);
        return this;
    }
}
