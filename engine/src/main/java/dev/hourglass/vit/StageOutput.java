package dev.hourglass.vit;

import dev.hourglass.backend.Buffer;

/**
 * One stage's output of a convolutional stem, kept by the forward pass that made it: a channels-last map
 * {@code [batch, height, width, channels]} on the backend (DPT-Hybrid reads ResNet stages 0 and 1 as its first two
 * taps). The buffer belongs to the pass and is freed when the pass closes.
 */
public record StageOutput(Buffer data, int batch, int height, int width, int channels) {

    /** Floats of the map. */
    public long size() {
        return (long) batch * height * width * channels;
    }
}
