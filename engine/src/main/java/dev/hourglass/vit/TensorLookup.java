package dev.hourglass.vit;

import java.io.IOException;
import java.util.Arrays;

import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;

/** Finds a model's tensor by name and checks its shape; the message of a failure names the tensor and the file. */
@FunctionalInterface
public interface TensorLookup {

    /**
     * @throws IOException if the tensor is missing or its shape is not {@code expectedDims}
     */
    Tensor tensor(String name, long... expectedDims) throws IOException;

    /**
     * Looks tensors up in {@code source}; {@code neededBy} ends the message for a missing tensor (e.g. "needed by the
     * mask_transformer decoder").
     */
    static TensorLookup of(TensorSource source, String neededBy) {
        return (name, expectedDims) -> {
            Object file = source.path().getFileName();
            if (!source.contains(name)) {
                throw new IOException(file + ": tensor \"" + name + "\" is missing (" + neededBy + ")");
            }
            Tensor t = source.tensor(name);
            if (!t.shape().equals(Shape.of(expectedDims))) {
                throw new IOException(file + ": tensor \"" + name + "\" has shape " + t.shape() + ", expected "
                        + Arrays.toString(expectedDims));
            }
            return t;
        };
    }
}
