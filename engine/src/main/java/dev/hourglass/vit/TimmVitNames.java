package dev.hourglass.vit;

import java.io.IOException;

import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Tensor;

/** Looks tensors up by their timm names and checks each one's shape against the configuration. */
final class TimmVitNames implements TensorLookup {
    private final TensorLookup lookup;

    TimmVitNames(TensorSource source, VitConfig config) {
        this.lookup = TensorLookup.of(source, "needed by a ViT with " + config.depth() + " blocks, width "
                + config.embedDim());
    }

    @Override
    public Tensor tensor(String name, long... expectedDims) throws IOException {
        return lookup.tensor(name, expectedDims);
    }
}
