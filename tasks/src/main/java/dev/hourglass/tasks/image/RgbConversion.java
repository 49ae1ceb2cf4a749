package dev.hourglass.tasks.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Decoded pixels to interleaved 8-bit RGB with the semantics of Pillow's {@code Image.convert('RGB')}, which timm
 * applies to every image it loads.
 *
 * <p>What Pillow does, and so what this does: grey is replicated into the three channels; a palette is looked up;
 * alpha (of RGBA, grey + alpha, or a palette's transparency) is dropped, never composited onto a background; ICC
 * profiles are ignored (the stored samples are used as they are, so no colour management). 16-bit samples keep their
 * high byte, as Pillow's PNG decoder does for 16-bit RGB, RGBA and grey + alpha.
 *
 * <p>One deliberate difference: Pillow 9.4 opens 16-bit greyscale PNGs as 32-bit integer mode {@code "I"} and
 * {@code convert('RGB')} then clips each value to 255, which turns all but the darkest pixels white. Here 16-bit grey
 * keeps its high byte like the other 16-bit layouts, so such images differ from timm's (saturated) input.
 *
 * <p>CMYK is refused rather than approximated. The samples are read from the raster, never through {@link BufferedImage#getRGB}, because Java2D would convert
 * them from the image's colour space (an embedded ICC profile, or linear grey) to sRGB.
 */
final class RgbConversion {

    private RgbConversion() {
    }

    /**
     * The image's pixels as interleaved RGB bytes, row by row.
     *
     * @throws IllegalArgumentException when the pixel layout has no Pillow-equivalent RGB reading (CMYK, floating
     *     point samples, other colour spaces) or the image is too large for one array
     */
    static byte[] toRgb(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        long bytes = 3L * width * height;
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a " + width + "x" + height + " image is too large for one RGB array");
        }
        ColorModel model = image.getColorModel();
        Raster raster = image.getRaster();
        byte[] rgb = new byte[(int) bytes];
        if (model instanceof IndexColorModel palette) {
            lookUpPalette(raster, palette, rgb);
            return rgb;
        }
        ColorSpace space = model.getColorSpace();
        int colours = model.getNumColorComponents();
        boolean isRgb = space.getType() == ColorSpace.TYPE_RGB && colours == 3;
        boolean isGrey = space.getType() == ColorSpace.TYPE_GRAY && colours == 1;
        int bits = uniformComponentBits(model);
        int dataType = raster.getDataBuffer().getDataType();
        boolean unsignedSamples = dataType == DataBuffer.TYPE_BYTE || dataType == DataBuffer.TYPE_USHORT
                || dataType == DataBuffer.TYPE_INT;
        if ((isRgb || isGrey) && (bits == 8 || bits == 16) && unsignedSamples && !model.isAlphaPremultiplied()) {
            copySamples(raster, isGrey, bits - 8, rgb);
            return rgb;
        }
        if (space.isCS_sRGB()) {
            // sRGB with narrow or premultiplied components (565, 555, ARGB_PRE): getRGB converts no colours here,
            // it only widens the components and undoes premultiplication.
            copyPackedRgb(image, rgb);
            return rgb;
        }
        if (space.getType() == ColorSpace.TYPE_CMYK) {
            // JDK 25 decodes CMYK JPEGs; Pillow converts them with its own naive CMYK formula and Adobe inversion
            // rules, which are not reproduced here.
            throw new IllegalArgumentException("CMYK images are not supported; convert the file to RGB first");
        }
        throw new IllegalArgumentException("unsupported pixel layout: " + describe(model, raster));
    }

    private static void lookUpPalette(Raster raster, IndexColorModel palette, byte[] rgb) {
        int entries = palette.getMapSize();
        byte[] reds = new byte[entries];
        byte[] greens = new byte[entries];
        byte[] blues = new byte[entries];
        palette.getReds(reds);
        palette.getGreens(greens);
        palette.getBlues(blues);
        int width = raster.getWidth();
        int[] row = new int[width];
        int o = 0;
        for (int y = 0; y < raster.getHeight(); y++) {
            raster.getSamples(raster.getMinX(), raster.getMinY() + y, width, 1, 0, row);
            for (int x = 0; x < width; x++) {
                int i = row[x];
                if (i < entries) {  // Pillow's palettes are zero beyond their end
                    rgb[o] = reds[i];
                    rgb[o + 1] = greens[i];
                    rgb[o + 2] = blues[i];
                }
                o += 3;
            }
        }
    }

    /** Colour bands 0..2 (or grey band 0, replicated) of each pixel; alpha and any other band ignored. */
    private static void copySamples(Raster raster, boolean grey, int shift, byte[] rgb) {
        int width = raster.getWidth();
        int bands = raster.getNumBands();
        int[] row = new int[width * bands];
        int o = 0;
        for (int y = 0; y < raster.getHeight(); y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int p = 0; p < row.length; p += bands) {
                if (grey) {
                    byte v = (byte) (row[p] >>> shift);
                    rgb[o] = v;
                    rgb[o + 1] = v;
                    rgb[o + 2] = v;
                } else {
                    rgb[o] = (byte) (row[p] >>> shift);
                    rgb[o + 1] = (byte) (row[p + 1] >>> shift);
                    rgb[o + 2] = (byte) (row[p + 2] >>> shift);
                }
                o += 3;
            }
        }
    }

    private static void copyPackedRgb(BufferedImage image, byte[] rgb) {
        int width = image.getWidth();
        int[] row = new int[width];
        int o = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            image.getRGB(0, y, width, 1, row, 0, width);
            for (int argb : row) {
                rgb[o] = (byte) (argb >>> 16);
                rgb[o + 1] = (byte) (argb >>> 8);
                rgb[o + 2] = (byte) argb;
                o += 3;
            }
        }
    }

    /** The bit depth shared by the colour components, or -1 when they differ. */
    private static int uniformComponentBits(ColorModel model) {
        int bits = model.getComponentSize(0);
        for (int i = 1; i < model.getNumColorComponents(); i++) {
            if (model.getComponentSize(i) != bits) {
                return -1;
            }
        }
        return bits;
    }

    private static String describe(ColorModel model, Raster raster) {
        ColorSpace space = model.getColorSpace();
        StringBuilder components = new StringBuilder();
        for (int i = 0; i < space.getNumComponents(); i++) {
            components.append(i == 0 ? "" : ", ").append(space.getName(i));
        }
        return model.getClass().getSimpleName() + " with " + model.getNumComponents() + " components ("
                + components + (model.hasAlpha() ? ", alpha" : "") + ") of " + model.getComponentSize(0)
                + " bits, data type " + dataTypeName(raster.getDataBuffer().getDataType())
                + (model.isAlphaPremultiplied() ? ", premultiplied" : "")
                + "; expected 8- or 16-bit grey, grey + alpha, RGB, RGBA or a palette";
    }

    private static String dataTypeName(int type) {
        return switch (type) {
            case DataBuffer.TYPE_BYTE -> "byte";
            case DataBuffer.TYPE_USHORT -> "ushort";
            case DataBuffer.TYPE_SHORT -> "short";
            case DataBuffer.TYPE_INT -> "int";
            case DataBuffer.TYPE_FLOAT -> "float";
            case DataBuffer.TYPE_DOUBLE -> "double";
            default -> "type " + type;
        };
    }
}
