package dev.hourglass.vit;

import dev.hourglass.ops.Resize;

/**
 * The architecture of a ViT or DeiT in timm's layout.
 *
 * @param imageHeight     input height the position embedding was trained for
 * @param imageWidth      input width the position embedding was trained for
 * @param patchSize       side of the square patches
 * @param inChannels      image channels (3)
 * @param embedDim        token width D
 * @param depth           number of transformer blocks
 * @param numHeads        attention heads; D must be a multiple
 * @param mlpHidden       width of the MLP's hidden layer
 * @param qkvBias         whether the qkv projection has a bias
 * @param classToken      whether a class token leads the sequence
 * @param distilled       whether a distillation token follows the class token (DeiT distilled)
 * @param numClasses      classifier outputs; 0 for a headless encoder
 * @param normEps         LayerNorm epsilon (timm: 1e-6)
 * @param posEmbedResize  how the position embedding is resized for other input sizes
 * @param posEmbedAntialias whether that resize is antialiased (timm: bicubic with antialias)
 */
public record VitConfig(
        int imageHeight,
        int imageWidth,
        int patchSize,
        int inChannels,
        int embedDim,
        int depth,
        int numHeads,
        int mlpHidden,
        boolean qkvBias,
        boolean classToken,
        boolean distilled,
        int numClasses,
        float normEps,
        Resize.Mode posEmbedResize,
        boolean posEmbedAntialias) {

    public VitConfig {
        require(patchSize >= 1, "patch size", patchSize);
        require(imageHeight >= patchSize && imageHeight % patchSize == 0, "image height (multiple of the patch size "
                + patchSize + ")", imageHeight);
        require(imageWidth >= patchSize && imageWidth % patchSize == 0, "image width (multiple of the patch size "
                + patchSize + ")", imageWidth);
        require(inChannels >= 1, "input channels", inChannels);
        require(embedDim >= 1, "embedding width", embedDim);
        require(depth >= 0, "depth", depth);
        require(numHeads >= 1 && embedDim % numHeads == 0, "number of heads (must divide the width " + embedDim + ")",
                numHeads);
        require(mlpHidden >= 1, "MLP hidden width", mlpHidden);
        require(numClasses >= 0, "number of classes", numClasses);
        require(!distilled || classToken, "distillation token without a class token", 1);
        if (!(normEps > 0f)) {
            throw new IllegalArgumentException("LayerNorm epsilon must be positive, got " + normEps);
        }
        if (posEmbedResize == null) {
            throw new IllegalArgumentException("position embedding interpolation is missing");
        }
    }

    private static void require(boolean ok, String what, long value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid ViT configuration: " + what + " = " + value);
        }
    }

    /** Class and distillation tokens in front of the patches. */
    public int prefixTokens() {
        return (classToken ? 1 : 0) + (distilled ? 1 : 0);
    }

    public int headDim() {
        return embedDim / numHeads;
    }

    public int gridHeight() {
        return imageHeight / patchSize;
    }

    public int gridWidth() {
        return imageWidth / patchSize;
    }

    /** Multiply-adds x 2 of one image's forward pass at {@code height x width}, for GFLOP/s reports. */
    public double flops(int height, int width) {
        double n = (double) (height / patchSize) * (width / patchSize);
        double t = n + prefixTokens();
        double d = embedDim;
        double patchEmbed = 2 * n * inChannels * patchSize * patchSize * d;
        double perBlock = 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * mlpHidden;
        double head = 2 * d * numClasses * (distilled ? 2 : 1);
        return patchEmbed + depth * perBlock + head;
    }
}
