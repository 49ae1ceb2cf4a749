package dev.hourglass.vit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import dev.hourglass.tensor.Shape;

/**
 * The canonical tensor names of a ViT-Hybrid's ResNetV2 stem ({@link VitVariant.Stem#RESNET_V2}): timm's ResNetV2
 * names under {@code hybrid.}. The one place these names are written; the converter maps checkpoints onto them and
 * {@link ResNetStem} reads them.
 *
 * <pre>
 *   hybrid.stem.conv.weight                               [stem, in, 7, 7]
 *   hybrid.stem.norm.{weight,bias}                        [stem]               GroupNorm
 *   hybrid.stages.S.blocks.U.conv1.weight                 [mid, in, 1, 1]      U = 0, 1, ... units of stage S
 *   hybrid.stages.S.blocks.U.conv2.weight                 [mid, mid, 3, 3]     (the stage's stride in unit 0)
 *   hybrid.stages.S.blocks.U.conv3.weight                 [out, mid, 1, 1]
 *   hybrid.stages.S.blocks.U.norm{1,2,3}.{weight,bias}    [mid], [mid], [out]
 *   hybrid.stages.S.blocks.0.downsample.conv.weight       [out, in, 1, 1]      unit 0 only
 *   hybrid.stages.S.blocks.0.downsample.norm.{weight,bias} [out]
 *   patch_embed.proj.{weight,bias}                        [dim, out of the last stage, 1, 1], [dim]
 * </pre>
 *
 * The convolution weights are plain: a checkpoint's weight standardisation (timm's {@code StdConv2dSame}, or
 * transformers' BiT {@code WeightStandardizedConv2d}, whose names the converter maps onto these) is applied by the
 * converter, each with its own rule, so the engine runs ordinary convolutions.
 */
public final class ResNetNames {
    /** Every stem tensor's prefix. */
    public static final String PREFIX = "hybrid.";
    /** The stem's 7x7 stride-2 convolution. */
    public static final String STEM_CONV = PREFIX + "stem.conv";
    /** The GroupNorm after it. */
    public static final String STEM_NORM = PREFIX + "stem.norm";

    /** timm's ResNetV2 names relative to the backbone, as they may appear in a checkpoint. */
    private static final Pattern TIMM = Pattern.compile(
            "stem\\.(conv\\.weight|norm\\.(weight|bias))"
                    + "|stages\\.\\d+\\.blocks\\.\\d+\\.(conv[123]\\.weight|norm[123]\\.(weight|bias)"
                    + "|downsample\\.conv\\.weight|downsample\\.norm\\.(weight|bias))");

    private ResNetNames() {
    }

    /** Unit {@code unit} of stage {@code stage}, e.g. {@code hybrid.stages.0.blocks.0}. */
    public static String unit(int stage, int unit) {
        return PREFIX + "stages." + stage + ".blocks." + unit;
    }

    /**
     * The canonical name of a tensor named {@code timmName} inside a timm ResNetV2 (e.g. {@code stem.conv.weight} ->
     * {@code hybrid.stem.conv.weight}), or null if it is not one the stem has.
     */
    public static String canonical(String timmName) {
        return TIMM.matcher(timmName).matches() ? PREFIX + timmName : null;
    }

    /** The number of stages whose first unit is among {@code names} (canonical names). */
    public static int stages(java.util.Collection<String> names) {
        int s = 0;
        while (names.contains(unit(s, 0) + ".conv1.weight")) {
            s++;
        }
        return s;
    }

    /**
     * Every stem tensor's expected shape, the structure read from {@code actual} (canonical names and shapes): the
     * stem's width from its convolution, the units of each stage and their bottleneck and output widths from
     * {@code conv1} and {@code conv3}, each unit's input from the one before. Includes {@code patch_embed.proj} for a
     * token width {@code dim}. A stem or unit whose defining tensor is missing or not rank 4 ends the map there (the
     * caller reports what is then missing).
     */
    public static Map<String, Shape> expectedShapes(Map<String, Shape> actual, int inChannels, int dim) {
        Map<String, Shape> e = new LinkedHashMap<>();
        Shape stem = actual.get(STEM_CONV + ".weight");
        int width = stem != null && stem.rank() == 4 ? stem.intDim(0) : -1;
        if (width < 1) {
            e.put(STEM_CONV + ".weight", Shape.of(64, inChannels, 7, 7));
            return e;
        }
        e.put(STEM_CONV + ".weight", Shape.of(width, inChannels, 7, 7));
        e.put(STEM_NORM + ".weight", Shape.of(width));
        e.put(STEM_NORM + ".bias", Shape.of(width));
        int in = width;
        for (int s = 0; actual.containsKey(unit(s, 0) + ".conv1.weight"); s++) {
            for (int u = 0; actual.containsKey(unit(s, u) + ".conv1.weight"); u++) {
                String base = unit(s, u);
                Shape c1 = actual.get(base + ".conv1.weight");
                Shape c3 = actual.get(base + ".conv3.weight");
                if (c1.rank() != 4 || c3 == null || c3.rank() != 4) {
                    e.put(base + ".conv3.weight", Shape.of(4L * c1.dim(0), c1.dim(0), 1, 1));
                    return e;
                }
                int mid = c1.intDim(0);
                int out = c3.intDim(0);
                if (u == 0) {
                    e.put(base + ".downsample.conv.weight", Shape.of(out, in, 1, 1));
                    e.put(base + ".downsample.norm.weight", Shape.of(out));
                    e.put(base + ".downsample.norm.bias", Shape.of(out));
                }
                e.put(base + ".conv1.weight", Shape.of(mid, in, 1, 1));
                e.put(base + ".norm1.weight", Shape.of(mid));
                e.put(base + ".norm1.bias", Shape.of(mid));
                e.put(base + ".conv2.weight", Shape.of(mid, mid, 3, 3));
                e.put(base + ".norm2.weight", Shape.of(mid));
                e.put(base + ".norm2.bias", Shape.of(mid));
                e.put(base + ".conv3.weight", Shape.of(out, mid, 1, 1));
                e.put(base + ".norm3.weight", Shape.of(out));
                e.put(base + ".norm3.bias", Shape.of(out));
                in = out;
            }
        }
        e.put("patch_embed.proj.weight", Shape.of(dim, in, 1, 1));
        e.put("patch_embed.proj.bias", Shape.of(dim));
        return e;
    }

    /** Whether a canonical stem tensor is a convolution weight (standardised by the converter). */
    public static boolean isConvolution(String canonicalName) {
        return canonicalName.startsWith(PREFIX) && canonicalName.endsWith(".weight")
                && canonicalName.matches(".*\\.conv\\d?\\.weight");
    }
}
