package dev.hourglass.tasks.image;

/**
 * The output size of torchvision's {@code transforms.Resize} (0.14, {@code _compute_resized_output_size}).
 *
 * @param width  pixels across
 * @param height pixels down
 */
record ResizeTarget(int width, int height) {

    /**
     * {@code Resize(size)} with a single int: the shorter side becomes {@code size}, the longer one
     * {@code int(size * long / short)}, Python's true division truncated (not rounded). A square image's "shorter"
     * side is its width.
     */
    static ResizeTarget shorterSide(int imageWidth, int imageHeight, int size) {
        boolean portrait = imageWidth <= imageHeight;
        int shorter = portrait ? imageWidth : imageHeight;
        int longer = portrait ? imageHeight : imageWidth;
        // size * longer is exact in double, and Java's division of two doubles is correctly rounded like Python's
        // int / int, so the truncated quotient is the same.
        double newLonger = Math.floor((double) ((long) size * longer) / shorter);  // int() of a positive float
        if (newLonger * size * 3 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("resizing a " + imageWidth + "x" + imageHeight + " image to a shorter "
                    + "side of " + size + " gives a longer side of " + (long) newLonger + ", too large");
        }
        int longerSide = (int) newLonger;
        return portrait ? new ResizeTarget(size, longerSide) : new ResizeTarget(longerSide, size);
    }
}
