package dev.hourglass.tasks.image;

import java.util.Arrays;
import java.util.Objects;

/**
 * Pillow's {@code Image.resize((width, height), filter)} for 8-bit RGB images, bit for bit.
 *
 * <p>A port of {@code ImagingResample} in Pillow's {@code libImaging/Resample.c} (Pillow 9.4, checked against it on
 * real photographs): separable convolution with {@link ResampleCoefficients}, a horizontal pass and then a vertical
 * pass, each summing in 32-bit fixed point and rounding to 8 bits. Like Pillow, no box, no {@code reducing_gap}.
 */
public final class PilResize {

    private PilResize() {
    }

    /**
     * Resizes {@code image} to {@code width x height} the way Pillow does.
     *
     * @param image  the source
     * @param width  the output width, at least 1
     * @param height the output height, at least 1
     * @param filter the resampling filter
     * @return the resized image; {@code image} itself when the size is unchanged (Pillow returns a copy, and
     *     {@link RgbImage} is immutable)
     * @throws IllegalArgumentException when {@code width} or {@code height} is not positive
     */
    public static RgbImage resize(RgbImage image, int width, int height, Filter filter) {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(filter, "filter");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be at least 1x1, got " + width + "x" + height);
        }
        if (width == image.width() && height == image.height()) {
            return image;
        }
        // ImagingResampleInner: both axes' taps first; then the horizontal pass, on only the source rows the
        // vertical pass will read; then the vertical pass, whose row indices are shifted to that band.
        ResampleCoefficients horizontal = ResampleCoefficients.compute(image.width(), width, filter);
        ResampleCoefficients vertical = ResampleCoefficients.compute(image.height(), height, filter);

        byte[] pixels = image.rgb();
        int rowsWidth = image.width();
        int bandStart = 0;
        if (width != image.width()) {
            bandStart = vertical.first(0);
            int bandEnd = vertical.end(height - 1);
            pixels = horizontalPass(pixels, image.width(), bandStart, bandEnd - bandStart, horizontal, width);
            rowsWidth = width;
        }
        if (height != image.height()) {
            pixels = verticalPass(pixels, rowsWidth, bandStart, vertical, height);
        }
        return RgbImage.wrap(rowsWidth, height, pixels);
    }

    /** {@code ImagingResampleHorizontal_8bpc}: rows {@code firstRow .. firstRow + rows - 1} of the source. */
    private static byte[] horizontalPass(byte[] src, int srcWidth, int firstRow, int rows,
                                         ResampleCoefficients taps, int outWidth) {
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(outWidth, rows), 3)];
        for (int y = 0; y < rows; y++) {
            int srcRow = (firstRow + y) * srcWidth * 3;
            int o = y * outWidth * 3;
            for (int xx = 0; xx < outWidth; xx++) {
                int r = ResampleCoefficients.ROUNDING;
                int g = r;
                int b = r;
                int p = srcRow + taps.first(xx) * 3;
                int n = taps.count(xx);
                for (int x = 0; x < n; x++, p += 3) {
                    int w = taps.weight(xx, x);
                    r += (src[p] & 0xFF) * w;
                    g += (src[p + 1] & 0xFF) * w;
                    b += (src[p + 2] & 0xFF) * w;
                }
                out[o++] = (byte) ResampleCoefficients.clip8(r);
                out[o++] = (byte) ResampleCoefficients.clip8(g);
                out[o++] = (byte) ResampleCoefficients.clip8(b);
            }
        }
        return out;
    }

    /**
     * {@code ImagingResampleVertical_8bpc}. {@code src} holds rows starting at source row {@code bandStart}, so each
     * output row's first tap row is shifted by it.
     */
    private static byte[] verticalPass(byte[] src, int width, int bandStart, ResampleCoefficients taps,
                                       int outHeight) {
        int rowBytes = width * 3;
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, outHeight), 3)];
        int[] sums = new int[rowBytes];
        for (int yy = 0; yy < outHeight; yy++) {
            // Tap rows outer, samples inner: the same integer sums as Pillow's per-pixel loop (integer addition
            // is exact and associative), read along rows.
            Arrays.fill(sums, ResampleCoefficients.ROUNDING);
            int top = (taps.first(yy) - bandStart) * rowBytes;
            int n = taps.count(yy);
            for (int y = 0; y < n; y++) {
                int w = taps.weight(yy, y);
                int p = top + y * rowBytes;
                for (int c = 0; c < rowBytes; c++) {
                    sums[c] += (src[p + c] & 0xFF) * w;
                }
            }
            int o = yy * rowBytes;
            for (int c = 0; c < rowBytes; c++) {
                out[o + c] = (byte) ResampleCoefficients.clip8(sums[c]);
            }
        }
        return out;
    }
}
