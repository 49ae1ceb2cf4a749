package dev.hourglass.tasks.image;

import java.util.Locale;

/**
 * A resampling filter of Pillow's {@code Image.resize}, as a continuous kernel with a finite support.
 *
 * <p>The kernels are the ones in Pillow's {@code libImaging/Resample.c}; the arithmetic is written in the same order
 * as there so that the double-precision weights, and so the fixed-point ones derived from them, come out identical.
 */
public enum Filter {

    /** Pillow's {@code BICUBIC}: Keys' cubic convolution with a = -0.5, support 2. timm's {@code 'bicubic'}. */
    BICUBIC("bicubic", 2.0) {
        private static final double A = -0.5;

        @Override
        double weight(double x) {
            double t = x < 0.0 ? -x : x;
            if (t < 1.0) {
                return ((A + 2.0) * t - (A + 3.0)) * t * t + 1;
            }
            if (t < 2.0) {
                return (((t - 5) * t + 8) * t - 4) * A;
            }
            return 0.0;
        }
    },

    /** Pillow's {@code BILINEAR}: the triangle kernel 1 - |x|, support 1. timm's {@code 'bilinear'}. */
    BILINEAR("bilinear", 1.0) {
        @Override
        double weight(double x) {
            double t = x < 0.0 ? -x : x;
            return t < 1.0 ? 1.0 - t : 0.0;
        }
    };

    private final String timmName;
    private final double support;

    Filter(String timmName, double support) {
        this.timmName = timmName;
        this.support = support;
    }

    /** The kernel's value at {@code x} (in units of source pixels at scale 1). */
    abstract double weight(double x);

    /** Half-width of the kernel at scale 1: the kernel is zero for |x| at or beyond it. */
    double support() {
        return support;
    }

    /** The name timm uses for this filter in a {@code pretrained_cfg}'s {@code interpolation}. */
    public String timmName() {
        return timmName;
    }

    /**
     * Parses the {@code interpolation} value of a timm {@code pretrained_cfg} ({@code "bicubic"} or
     * {@code "bilinear"}, case-insensitive).
     *
     * @throws IllegalArgumentException naming the value when it is not one of those
     */
    public static Filter fromTimmName(String name) {
        if (name != null) {
            String key = name.trim().toLowerCase(Locale.ROOT);
            for (Filter filter : values()) {
                if (filter.timmName.equals(key)) {
                    return filter;
                }
            }
        }
        throw new IllegalArgumentException("unsupported interpolation " + (name == null ? "null" : "'" + name + "'")
                + ": expected 'bicubic' or 'bilinear'");
    }
}
