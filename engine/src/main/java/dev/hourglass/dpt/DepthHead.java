package dev.hourglass.dpt;

import java.io.IOException;

import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.vit.TensorLookup;

/**
 * DPT's depth head ({@code scratch.output_conv} of {@code DPTDepthModel}, Hugging Face's {@code
 * DPTDepthEstimationHead}): conv 3x3 F -> F/2, bilinear x2 (align_corners=True), conv 3x3 F/2 -> 32, ReLU,
 * conv 1x1 32 -> 1, ReLU (the models' {@code non_negative=True}). Its output is inverse relative depth at the input's
 * size, one channel; {@link DptModel} makes it metric depth afterwards when the configuration says so
 * ({@link MetricDepth}). Immutable once loaded.
 */
final class DepthHead {
    /** The head's fixed hidden width before the last convolution (32 in every DPT). */
    static final int HIDDEN = 32;

    private final ConvLayer first;
    private final ConvLayer second;
    private final ConvLayer last;

    private DepthHead(ConvLayer first, ConvLayer second, ConvLayer last) {
        this.first = first;
        this.second = second;
        this.last = last;
    }

    static DepthHead load(WeightStore store, TensorLookup names, int features) throws IOException {
        if (features % 2 != 0) {
            throw new IOException("DPT's depth head halves the fusion width, which is odd: " + features);
        }
        return new DepthHead(
                ConvLayer.load(store, names, DptNames.HEAD + ".0", features, features / 2, 3, 1, 1, true),
                ConvLayer.load(store, names, DptNames.HEAD + ".2", features / 2, HIDDEN, 3, 1, 1, true),
                ConvLayer.load(store, names, DptNames.HEAD + ".4", HIDDEN, 1, 1, 1, 0, true));
    }

    /** The depth map {@code [batch, 2h, 2w, 1]} of the fused features ({@code [batch, h, w, F]}). */
    FeatureMap run(DptPass pass, FeatureMap fused) {
        FeatureMap x = first.run(pass, fused, Epilogue.NONE);
        FeatureMap up = pass.map(x.batch(), x.height() * 2, x.width() * 2, x.channels());
        pass.backend().resizeBilinear(x.data(), up.data(), x.batch(), x.height(), x.width(), x.channels(),
                up.height(), up.width(), true);
        return last.run(pass, second.run(pass, up, Epilogue.RELU), Epilogue.RELU);
    }

    /** Multiply-adds x 2 for fused features of {@code h x w}, one image. */
    double flops(int h, int w) {
        int f = first.in();
        return 2.0 * h * w * f * (f / 2) * 9 + 2.0 * (4.0 * h * w) * (f / 2) * HIDDEN * 9 + 2.0 * (4.0 * h * w) * HIDDEN;
    }
}
