package dev.hourglass.vit;

import java.io.IOException;

import dev.hourglass.tensor.Tensor;

/** Finds a model's tensor by name and checks its shape; the message of a failure names the tensor and the file. */
@FunctionalInterface
public interface TensorLookup {

    /**
     * @throws IOException if the tensor is missing or its shape is not {@code expectedDims}
     */
    Tensor tensor(String name, long... expectedDims) throws IOException;
}
