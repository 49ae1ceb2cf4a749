package dev.hourglass.dpt;

import java.io.IOException;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.vit.TensorLookup;

/**
 * One of DPT's fusion blocks ({@code scratch.refinenetK}, isl-org/DPT's {@code FeatureFusionBlock_custom} without
 * BatchNorm, as the depth models have it):
 * <pre>
 *   out = path (+ rcu1(skip))             rcu(x) = x + conv2(relu(conv1(relu(x))))   (3x3 convs, ReLU not in place)
 *   out = rcu2(out)
 *   out = out_conv(bilinear x2 (align_corners=True)(out))                             (out_conv: 1x1)
 * </pre>
 * The deepest block ({@code refinenet4}) has no path: its input is its tap alone. Immutable once loaded.
 */
final class FusionBlock {
    private final ConvLayer[] firstUnit;
    private final ConvLayer[] secondUnit;
    private final ConvLayer outConv;

    private FusionBlock(ConvLayer[] firstUnit, ConvLayer[] secondUnit, ConvLayer outConv) {
        this.firstUnit = firstUnit;
        this.secondUnit = secondUnit;
        this.outConv = outConv;
    }

    /** Block {@code k} (1 to 4) of width {@code features}; block 4 has no use for its first residual unit. */
    static FusionBlock load(WeightStore store, TensorLookup names, int k, int features) throws IOException {
        String base = DptNames.refinenet(k);
        ConvLayer[] first = k == 4 ? null : unit(store, names, base + ".resConfUnit1", features);
        return new FusionBlock(first, unit(store, names, base + ".resConfUnit2", features),
                ConvLayer.load(store, names, base + ".out_conv", features, features, 1, 1, 0, true));
    }

    private static ConvLayer[] unit(WeightStore store, TensorLookup names, String base, int features)
            throws IOException {
        return new ConvLayer[] {
                ConvLayer.load(store, names, base + ".conv1", features, features, 3, 1, 1, true),
                ConvLayer.load(store, names, base + ".conv2", features, features, 3, 1, 1, true)};
    }

    /** The block's output at twice the size of {@code skip}; {@code path} is null for the deepest block. */
    FeatureMap run(DptPass pass, FeatureMap path, FeatureMap skip) {
        Backend backend = pass.backend();
        FeatureMap out;
        if (path == null) {
            out = residual(pass, skip, secondUnit);
        } else {
            if (path.height() != skip.height() || path.width() != skip.width()) {
                throw new IllegalStateException("DPT fusion: the path is " + path.height() + "x" + path.width()
                        + " but its tap is " + skip.height() + "x" + skip.width());
            }
            // path + rcu1(skip), added in DPT's order: rcu1's own residual first.
            out = residual(pass, skip, firstUnit);
            backend.addScaled(out.data(), path.data(), out.size(), 1f);
            out = residual(pass, out, secondUnit);
        }
        FeatureMap up = pass.map(out.batch(), out.height() * 2, out.width() * 2, out.channels());
        backend.resizeBilinear(out.data(), up.data(), out.batch(), out.height(), out.width(), out.channels(),
                up.height(), up.width(), true);
        return outConv.run(pass, up, Epilogue.NONE);
    }

    /** {@code x + conv2(relu(conv1(relu(x))))} in a new map. */
    private static FeatureMap residual(DptPass pass, FeatureMap x, ConvLayer[] unit) {
        Backend backend = pass.backend();
        FeatureMap activated = pass.map(x.batch(), x.height(), x.width(), x.channels());
        backend.relu(x.data(), activated.data(), x.size());
        FeatureMap hidden = unit[0].run(pass, activated, Epilogue.RELU);
        FeatureMap sum = pass.map(x.batch(), x.height(), x.width(), x.channels());
        backend.copy(x.data(), 0, sum.data(), 0, x.size());
        unit[1].addTo(backend, hidden, sum);
        return sum;
    }

    /** Multiply-adds x 2 of this block for a skip of {@code h x w}, one image. */
    double flops(int h, int w) {
        int c = outConv.out();
        double conv3 = 2.0 * h * w * c * c * 9;
        int units = firstUnit == null ? 1 : 2;
        return units * 2 * conv3 + 2.0 * (4.0 * h * w) * c * c;
    }
}
