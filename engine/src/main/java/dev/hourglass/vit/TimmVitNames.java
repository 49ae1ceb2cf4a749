package dev.hourglass.vit;

import java.io.IOException;
import java.util.Arrays;

import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;

/** Looks tensors up by their timm names and checks each one's shape against the configuration. */
final class TimmVitNames implements TensorLookup {
    private final TensorSource source;
    private final VitConfig config;

    TimmVitNames(TensorSource source, VitConfig config) {
        this.source = source;
        this.config = config;
    }

    @Override
    public Tensor tensor(String name, long... expectedDims) throws IOException {
        if (!source.contains(name)) {
            throw new IOException(source.path().getFileName() + ": tensor \"" + name + "\" is missing (needed by a ViT with "
                    + config.depth() + " blocks, width " + config.embedDim() + ")");
        }
        Tensor t = source.tensor(name);
        if (!t.shape().equals(Shape.of(expectedDims))) {
            throw new IOException(source.path().getFileName() + ": tensor \"" + name + "\" has shape " + t.shape()
                    + ", expected " + Arrays.toString(expectedDims));
        }
        return t;
    }
}
