package dev.hourglass.dpt;

import java.io.IOException;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TensorLookup;

/**
 * One of DPT's square convolutions ({@code nn.Conv2d} with symmetric padding), prepared once; {@link #run} applies it
 * to a channels-last map. Immutable.
 */
record ConvLayer(ConvWeights weights, int in, int out, int kernel, int stride, int padding) {

    /** {@code name.weight} ({@code [out, in, kernel, kernel]}) and, if {@code bias}, {@code name.bias}. */
    static ConvLayer load(WeightStore store, TensorLookup names, String name, int in, int out, int kernel, int stride,
                          int padding, boolean bias) throws IOException {
        Tensor w = names.tensor(name + ".weight", out, in, kernel, kernel);
        Tensor b = bias ? names.tensor(name + ".bias", out) : null;
        return new ConvLayer(store.conv2d(w, b), in, out, kernel, stride, padding);
    }

    /** The output map's shape for an input of {@code height x width}. */
    Conv2d shape(int batch, int height, int width) {
        return Conv2d.of(batch, height, width, in, out, kernel, stride, padding);
    }

    /** This convolution of {@code x} into a new buffer of {@code pass}, with {@code epilogue}. */
    FeatureMap run(DptPass pass, FeatureMap x, Epilogue epilogue) {
        Conv2d conv = shape(x.batch(), x.height(), x.width());
        FeatureMap y = pass.map(x.batch(), conv.outHeight(), conv.outWidth(), out);
        pass.backend().conv2d(x.data(), conv, weights, y.data(), epilogue);
        return y;
    }

    /** {@code dst += conv(x)}: the convolution added to a map of the output's shape (a residual connection). */
    void addTo(Backend backend, FeatureMap x, FeatureMap dst) {
        Conv2d conv = shape(x.batch(), x.height(), x.width());
        if (dst.height() != conv.outHeight() || dst.width() != conv.outWidth() || dst.channels() != out) {
            throw new IllegalStateException("residual " + dst + " does not match the convolution's output");
        }
        backend.conv2d(x.data(), conv, weights, dst.data(), Epilogue.RESIDUAL);
    }
}
