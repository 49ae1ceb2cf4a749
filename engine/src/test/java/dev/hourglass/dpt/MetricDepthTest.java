package dev.hourglass.dpt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.hourglass.model.DptConfig;

/**
 * The metric step against PyTorch's own bits: each expected value is what torch 1.13 (CPU, float32) returns for
 * {@code d = scale * x + shift; d[d < 1e-8] = 1e-8; 1.0 / d} on that input, with run_monodepth.py's KITTI and NYU
 * numbers (printed with {@code '0x%08x' % d.numpy().view(np.uint32)}).
 */
class MetricDepthTest {
    private static final DptConfig.Metric KITTI = new DptConfig.Metric(0.00006016, 0.00579);
    private static final DptConfig.Metric NYU = new DptConfig.Metric(0.000305, 0.1378);

    /** 0, -0, 1, the tiny model's maximum, 1/3, 1e-3, -1, -96.2, -96.24, NaN, +inf, -inf, 1e-30, 3e38, 0.5, e. */
    private static final int[] INPUTS = {0x00000000, 0x80000000, 0x3f800000, 0x40fb3a10, 0x40555555, 0x3a83126f,
        0xbf800000, 0xc2c06666, 0xc2c07ae1, 0x7fc00000, 0x7f800000, 0xff800000, 0x0da24260, 0x7f61b1e6, 0x3f000000,
        0x402df854};
    private static final int[] KITTI_TORCH = {0x432cb62a, 0x432cb62a, 0x432aef7d, 0x431faf82, 0x4326ee18, 0x432cb5b4,
        0x432e8663, 0x48bb3658, 0x4a975a75, 0x7fc00000, 0x00000000, 0x4cbebc20, 0x432cb62a, 0x06934c99, 0x432bd1a7,
        0x4327f7b0};
    private static final int[] NYU_TORCH = {0x40e8387b, 0x40e8387b, 0x40e7b531, 0x40e4411a, 0x40e68518, 0x40e8385a,
        0x40e8bc5a, 0x4113856d, 0x411389ad, 0x7fc00000, 0x00000000, 0x4cbebc20, 0x40e8387b, 0x05686eed, 0x40e7f6c3,
        0x40e6d4f3};

    /**
     * Negative inputs around -shift/scale with KITTI's numbers: scale * x + shift is 0, 4.7e-10 and 9.8e-9 (clamped to
     * 1e-8: depth 1e8), then 1.02e-8, 1.07e-8 and 1.16e-8 (not clamped).
     */
    private static final int[] AT_THE_FLOOR = {0xc2c07c98, 0xc2c07c97, 0xc2c07c83, 0xc2c07c82, 0xc2c07c81, 0xc2c07c7f};
    private static final int[] AT_THE_FLOOR_TORCH = {0x4cbebc20, 0x4cbebc20, 0x4cbebc20, 0x4cba2e8c, 0x4cb21643,
        0x4ca3d70a};

    @Test
    void matchesPyTorchBitForBitWithKittisAndNyusNumbers() {
        check(KITTI, INPUTS, KITTI_TORCH);
        check(NYU, INPUTS, NYU_TORCH);
    }

    @Test
    void theFloorClampsOnlyBelow1eMinus8AndNanStaysNan() {
        check(KITTI, AT_THE_FLOOR, AT_THE_FLOOR_TORCH);
        float[] v = {Float.NaN, -5f, 0f};
        MetricDepth.apply(new DptConfig.Metric(1, 0), v);
        assertEquals(Float.NaN, v[0], "NaN < 1e-8 is false: NaN stays");
        assertEquals(1f / 1e-8f, v[1], 0f, "a negative sum is clamped to 1e-8 (float32), then inverted");
        assertEquals(1f / 1e-8f, v[2], 0f, "so is 0: no infinity");
    }

    private static void check(DptConfig.Metric metric, int[] inputs, int[] expected) {
        float[] v = new float[inputs.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.intBitsToFloat(inputs[i]);
        }
        MetricDepth.apply(metric, v);
        for (int i = 0; i < v.length; i++) {
            int k = i;
            int bits = Float.floatToRawIntBits(v[k]);
            assertEquals(expected[k], bits, () -> String.format("input %s: torch 0x%08x (%s), got 0x%08x (%s)",
                    Float.intBitsToFloat(inputs[k]), expected[k], Float.intBitsToFloat(expected[k]), bits,
                    Float.intBitsToFloat(bits)));
        }
    }
}
