package dev.hourglass.tasks.depth;

import java.util.Objects;

/**
 * One depth estimate: DPT's output ({@code quantity}: relative inverse depth, larger is nearer, non-negative; or, for
 * a model converted with a metric output, metric depth in metres, larger is farther) at the network's input size and,
 * for a photo, resized to the photo as the original's {@code run_monodepth.py} does it. Immutable; the arrays are
 * copied in and out.
 *
 * @param network          {@code [networkHeight, networkWidth]}, row-major
 * @param image            {@code [imageHeight, imageWidth]}: {@code network} resized bicubically (align_corners=False);
 *                         the same values as {@code network} when the input was a tensor
 * @param tokensAfterBlock tokens per image leaving each encoder block that ran (prefix included; 0 for blocks after
 *                         the last tap, which DPT does not need)
 * @param gflops           multiply-adds x 2 of this call in GFLOPs: the encoder as it ran plus the neck and head
 * @param unreducedGflops  the same without a token reduction
 * @param quantity         what the values are
 */
public record Depth(float[] network, int networkHeight, int networkWidth, float[] image, int imageHeight,
                    int imageWidth, int[] tokensAfterBlock, double gflops, double unreducedGflops,
                    DepthQuantity quantity) {

    public Depth {
        Objects.requireNonNull(quantity, "quantity");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(image, "image");
        if ((long) networkHeight * networkWidth != network.length || (long) imageHeight * imageWidth != image.length) {
            throw new IllegalArgumentException("depth maps do not match their sizes: " + network.length + " values for "
                    + networkHeight + "x" + networkWidth + ", " + image.length + " for " + imageHeight + "x"
                    + imageWidth);
        }
        network = network.clone();
        image = image.clone();
        tokensAfterBlock = tokensAfterBlock.clone();
    }

    @Override
    public float[] network() {
        return network.clone();
    }

    @Override
    public float[] image() {
        return image.clone();
    }

    @Override
    public int[] tokensAfterBlock() {
        return tokensAfterBlock.clone();
    }
}
