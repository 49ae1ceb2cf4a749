package dev.hourglass.dpt;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.vit.VisionTransformer;

/** One forward call's buffers: every map is allocated through the encoder's pass and closed with it. Not thread-safe. */
final class DptPass {
    private final VisionTransformer.Pass pass;
    private final Backend backend;

    DptPass(VisionTransformer.Pass pass, Backend backend) {
        this.pass = pass;
        this.backend = backend;
    }

    Backend backend() {
        return backend;
    }

    /** A new map whose contents are unspecified. */
    FeatureMap map(int batch, int height, int width, int channels) {
        FeatureMap m = new FeatureMap(null, batch, height, width, channels);
        return new FeatureMap(buffer(m.size()), batch, height, width, channels);
    }

    Buffer buffer(long floats) {
        return pass.scratch(floats);
    }
}
