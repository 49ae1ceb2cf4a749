package dev.hourglass.backend;

import dev.hourglass.ops.Convolution;
import dev.hourglass.tensor.Tensor;

/**
 * One model's weights as a backend keeps them. Preparing converts each tensor once (to float32, packed for the CPU
 * kernels or copied to the device); the source tensors may be released afterwards. Closing the store frees all of it;
 * the model that owns the store closes it. Thread-safe.
 */
public interface WeightStore extends AutoCloseable {

    /** A linear layer: {@code weight} is {@code [out, in]} as in PyTorch, {@code bias} is {@code [out]} or null. */
    LinearWeights linear(Tensor weight, Tensor bias);

    /**
     * A convolution: {@code weight} is PyTorch's {@code Conv2d} weight {@code [out, in, kernel, kernel]} (square
     * kernel), {@code bias} is {@code [out]} or null. Weights computed on the host (BatchNorm folded in, BiT's weight
     * standardisation) come in as {@link Tensor#ofFloats(float[], long...)}. The default reorders the weight to window
     * order ({@link Convolution#weightRows}) on the host and prepares it as a {@link #linear} layer.
     */
    default ConvWeights conv2d(Tensor weight, Tensor bias) {
        int[] d = convShape(weight, bias, "convolution", 0);
        int out = d[0];
        int in = d[1];
        int k = d[2];
        LinearWeights gemm = linear(Tensor.ofFloats(Convolution.weightRows(weight.toFloatArray(), out, in, k), out,
                (long) k * k * in), bias);
        return ConvWeights.of(gemm, in, out, k, false);
    }

    /**
     * A transposed convolution: {@code weight} is PyTorch's {@code ConvTranspose2d} weight
     * {@code [in, out, kernel, kernel]}, {@code bias} is {@code [out]} or null. The default reorders the weight
     * ({@link Convolution#transposedWeightRows}) and repeats the bias for each kernel cell on the host, and prepares
     * them as a {@link #linear} layer.
     */
    default ConvWeights convTranspose2d(Tensor weight, Tensor bias) {
        int[] d = convShape(weight, bias, "transposed convolution", 1);
        int in = d[0];
        int out = d[1];
        int k = d[2];
        int cells = k * k;
        Tensor repeated = null;
        if (bias != null) {
            float[] b = bias.toFloatArray();
            float[] r = new float[Math.multiplyExact(cells, out)];
            for (int c = 0; c < cells; c++) {
                System.arraycopy(b, 0, r, c * out, out);
            }
            repeated = Tensor.ofFloats(r, r.length);
        }
        LinearWeights gemm = linear(Tensor.ofFloats(Convolution.transposedWeightRows(weight.toFloatArray(), in, out,
                k), (long) cells * out, in), repeated);
        return ConvWeights.of(gemm, in, out, k, true);
    }

    /**
     * {@code [dim0, dim1, k]} of a rank-4 weight with a square kernel, checking the bias against dimension
     * {@code biasDim}.
     */
    private static int[] convShape(Tensor weight, Tensor bias, String what, int biasDim) {
        if (weight.shape().rank() != 4 || weight.shape().dim(2) != weight.shape().dim(3)) {
            throw new IllegalArgumentException("a " + what + " weight must be [" + (biasDim == 0 ? "out, in" : "in, out")
                    + ", k, k] with a square kernel, got " + weight.shape());
        }
        int[] d = {weight.shape().intDim(0), weight.shape().intDim(1), weight.shape().intDim(2)};
        if (bias != null && (bias.shape().rank() != 1 || bias.shape().dim(0) != d[biasDim])) {
            throw new IllegalArgumentException("a " + what + " bias must be [" + d[biasDim] + "], got "
                    + bias.shape());
        }
        return d;
    }

    /** A constant (LayerNorm parameters, embeddings), converted to float32. */
    Buffer constant(Tensor tensor);

    /** A constant from values already in float32 (a resized position embedding, say). */
    Buffer constant(float[] values);

    /** Bytes held for the weights prepared so far. */
    long byteSize();

    @Override
    void close();
}
