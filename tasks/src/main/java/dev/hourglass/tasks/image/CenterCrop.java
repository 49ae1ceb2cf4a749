package dev.hourglass.tasks.image;

/**
 * torchvision's {@code CenterCrop((height, width))} on a Pillow image ({@code transforms.functional.center_crop},
 * torchvision 0.14), zero padding included.
 */
final class CenterCrop {

    private CenterCrop() {
    }

    /**
     * The centred {@code cropWidth x cropHeight} window of {@code image}.
     *
     * <p>When the window is larger than the image along an axis, torchvision first pads that axis with zeros
     * ({@code (crop - size) // 2} before, {@code (crop - size + 1) // 2} after). The window's offset along an axis
     * is {@code int(round((size - crop) / 2.0))}, Python's round half to even, which {@link Math#rint} shares.
     */
    static RgbImage apply(RgbImage image, int cropHeight, int cropWidth) {
        if (cropHeight <= 0 || cropWidth <= 0) {
            throw new IllegalArgumentException("crop must be at least 1x1, got " + cropWidth + "x" + cropHeight);
        }
        if (cropHeight == image.height() && cropWidth == image.width()) {
            return image;
        }
        int left = offset(image.width(), cropWidth);
        int top = offset(image.height(), cropHeight);
        byte[] src = image.rgb();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(cropWidth, cropHeight), 3)];
        for (int y = 0; y < cropHeight; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= image.height()) {
                continue;  // a padded row: stays zero
            }
            int x0 = Math.max(0, -left);
            int x1 = Math.min(cropWidth, image.width() - left);
            if (x1 > x0) {
                System.arraycopy(src, (sy * image.width() + x0 + left) * 3, out, (y * cropWidth + x0) * 3,
                        (x1 - x0) * 3);
            }
        }
        return RgbImage.wrap(cropWidth, cropHeight, out);
    }

    /**
     * Where the window starts along one axis, in source coordinates (negative when torchvision pads before).
     */
    static int offset(int size, int crop) {
        if (crop > size) {
            int padBefore = (crop - size) / 2;
            return -padBefore;  // after padding the padded size equals crop, so the window starts at 0
        }
        return (int) Math.rint((size - crop) / 2.0);
    }
}
