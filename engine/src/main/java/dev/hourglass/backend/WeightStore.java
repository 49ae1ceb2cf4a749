package dev.hourglass.backend;

import dev.hourglass.tensor.Tensor;

/**
 * One model's weights as a backend keeps them. Preparing converts each tensor once (to float32, packed for the CPU
 * kernels or copied to the device); the source tensors may be released afterwards. Closing the store frees all of it;
 * the model that owns the store closes it. Thread-safe.
 */
public interface WeightStore extends AutoCloseable {

    /** A linear layer: {@code weight} is {@code [out, in]} as in PyTorch, {@code bias} is {@code [out]} or null. */
    LinearWeights linear(Tensor weight, Tensor bias);

    /** A constant (LayerNorm parameters, embeddings), converted to float32. */
    Buffer constant(Tensor tensor);

    /** A constant from values already in float32 (a resized position embedding, say). */
    Buffer constant(float[] values);

    /** Bytes held for the weights prepared so far. */
    long byteSize();

    @Override
    void close();
}
