package dev.hourglass.vit;

/**
 * What a model family changes in timm's ViT beyond {@link VitConfig}: the patch embedding and the scale of the
 * residual branches.
 *
 * @param stem    how pixels become patch embeddings
 * @param skipLam every residual branch (attention and MLP) is divided by it before it is added, as LV-ViT's
 *                {@code skip_lam} (1 for ViT and DeiT). It is folded into the weights at load time ({@code attn.proj}
 *                and {@code mlp.fc2}, weight and bias, divided by it), which is exact for a power of two such as
 *                LV-ViT's 2
 */
public record VitVariant(Stem stem, float skipLam) {

    /** ViT and DeiT as timm defines them. */
    public static final VitVariant TIMM = new VitVariant(Stem.PATCH, 1f);

    /** ViT-Hybrid: a ResNetV2 stem before the transformer (DPT-Hybrid). */
    public static final VitVariant HYBRID = new VitVariant(Stem.RESNET_V2, 1f);

    /** The patch embedding. */
    public enum Stem {
        /** One convolution with kernel = stride = patch size ({@code patch_embed.proj}). */
        PATCH,
        /**
         * LV-ViT's ({@code MultiResoPatchEmbed4_2}): three convolutions, each with BatchNorm (folded at load) and
         * ReLU, 7x7 stride 2 then two 3x3 ({@code lvvit.stem.conv1..3}, {@code lvvit.stem.bn1..3}), then
         * {@code patch_embed.proj} with kernel = stride = half the patch size. The stem's width is read from the
         * weights.
         */
        LVVIT,
        /**
         * ViT-Hybrid's ({@code vit_base_resnet50_384}, DPT-Hybrid's encoder): timm's ResNetV2 without pre-activation
         * ({@code hybrid.stem.*}, {@code hybrid.stages.*}, see {@link ResNetNames}), then {@code patch_embed.proj}, a
         * 1x1 convolution from the last stage's width; the patch size is the ResNet's total stride (16). A forward
         * pass keeps every stage's output ({@link VisionTransformer.Pass#stemStages}).
         */
        RESNET_V2
    }

    public VitVariant {
        if (stem == null) {
            throw new IllegalArgumentException("stem is missing");
        }
        if (!(skipLam > 0f) || Float.isInfinite(skipLam)) {
            throw new IllegalArgumentException("skip_lam must be a positive number, got " + skipLam);
        }
    }

    /** LV-ViT's stem with its residual scale. */
    public static VitVariant lvvit(float skipLam) {
        return new VitVariant(Stem.LVVIT, skipLam);
    }
}
