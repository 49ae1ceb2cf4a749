package dev.hourglass.vit;

import java.io.IOException;
import java.util.List;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Tensor;

/**
 * A convolutional patch embedding (LV-ViT's, {@link VitVariant.Stem#LVVIT}): convolutions over channels-last
 * activations ({@link Backend#conv2d}, an im2col and a linear layer with its epilogue). BatchNorm in eval mode is
 * folded into the convolution before it at load time: {@code w' = w s}, {@code b' = beta - mean s} with
 * {@code s = gamma / sqrt(var + eps)}. Immutable; {@link #run} keeps its activations in buffers the caller owns.
 */
final class ConvStem {
    /** BatchNorm2d's default epsilon, which LV-ViT keeps. */
    static final float BATCH_NORM_EPS = 1e-5f;

    private record Layer(ConvWeights weights, int in, int out, int kernel, int stride, int padding,
                         Epilogue epilogue) {
    }

    private final List<Layer> layers;

    private ConvStem(List<Layer> layers) {
        this.layers = layers;
    }

    /** LV-ViT's stem and projection for a model of width {@code dim} and total stride {@code patch}. */
    static ConvStem lvvit(WeightStore store, TensorSource source, TensorLookup names, int inChannels, int dim,
                          int patch) throws IOException {
        if (patch % 2 != 0) {
            throw new IOException(source.path().getFileName() + ": LV-ViT's patch size (total stride) must be even,"
                    + " got " + patch);
        }
        String first = "lvvit.stem.conv1.weight";
        if (!source.contains(first)) {
            throw new IOException(source.path().getFileName() + ": tensor \"" + first + "\" is missing (needed by"
                    + " LV-ViT's convolutional stem)");
        }
        int width = Math.toIntExact(source.tensor(first).shape().dim(0));
        int proj = patch / 2;
        return new ConvStem(List.of(
                folded(store, names, "lvvit.stem.conv1", "lvvit.stem.bn1", inChannels, width, 7, 2, 3),
                folded(store, names, "lvvit.stem.conv2", "lvvit.stem.bn2", width, width, 3, 1, 1),
                folded(store, names, "lvvit.stem.conv3", "lvvit.stem.bn3", width, width, 3, 1, 1),
                new Layer(store.conv2d(names.tensor("patch_embed.proj.weight", dim, width, proj, proj),
                        names.tensor("patch_embed.proj.bias", dim)), width, dim, proj, proj, 0, Epilogue.NONE)));
    }

    private static Layer folded(WeightStore store, TensorLookup names, String conv, String bn, int in, int out,
                                int kernel, int stride, int padding) throws IOException {
        float[] w = names.tensor(conv + ".weight", out, in, kernel, kernel).toFloatArray();
        float[] gamma = names.tensor(bn + ".weight", out).toFloatArray();
        float[] beta = names.tensor(bn + ".bias", out).toFloatArray();
        float[] mean = names.tensor(bn + ".running_mean", out).toFloatArray();
        float[] var = names.tensor(bn + ".running_var", out).toFloatArray();
        float[] bias = new float[out];
        int per = in * kernel * kernel;
        for (int o = 0; o < out; o++) {
            double s = gamma[o] / Math.sqrt((double) var[o] + BATCH_NORM_EPS);
            for (int i = o * per; i < (o + 1) * per; i++) {
                w[i] = (float) (w[i] * s);
            }
            bias[o] = (float) (beta[o] - mean[o] * s);
        }
        return new Layer(store.conv2d(Tensor.ofFloats(w, out, in, kernel, kernel), Tensor.ofFloats(bias, out)), in,
                out, kernel, stride, padding, Epilogue.RELU);
    }

    /**
     * Patch embeddings {@code [batch * gridH * gridW, dim]} (row-major grid) from channels-last pixels
     * {@code [batch, height, width, channels]} on the backend, into {@code out}. Each intermediate activation is freed
     * as soon as the next convolution has read it.
     */
    void run(Backend backend, Buffer pixels, int batch, int height, int width, Buffer out) {
        Buffer x = pixels;
        int h = height;
        int w = width;
        try {
            for (int i = 0; i < layers.size(); i++) {
                Layer l = layers.get(i);
                Conv2d conv = Conv2d.of(batch, h, w, l.in(), l.out(), l.kernel(), l.stride(), l.padding());
                Buffer y = i == layers.size() - 1 ? out : backend.allocate(conv.outputSize());
                try {
                    backend.conv2d(x, conv, l.weights(), y, l.epilogue());
                } catch (RuntimeException | Error e) {
                    if (y != out) {
                        y.close();
                    }
                    throw e;
                }
                if (x != pixels) {
                    x.close();
                }
                x = y;
                h = conv.outHeight();
                w = conv.outWidth();
            }
        } catch (RuntimeException | Error e) {
            if (x != pixels && x != out) {
                x.close();
            }
            throw e;
        }
    }

    /** Multiply-adds x 2 of the stem on one {@code height x width} image. */
    double flops(int height, int width) {
        double total = 0;
        int h = height;
        int w = width;
        for (Layer l : layers) {
            Conv2d conv = Conv2d.of(1, h, w, l.in(), l.out(), l.kernel(), l.stride(), l.padding());
            total += 2.0 * conv.rows() * conv.rowLength() * l.out();
            h = conv.outHeight();
            w = conv.outWidth();
        }
        return total;
    }
}
