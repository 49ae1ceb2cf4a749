package dev.hourglass.dpt;

import dev.hourglass.backend.Buffer;

/**
 * A channels-last feature map on the backend: {@code [batch, height, width, channels]}. The buffer belongs to the
 * forward pass that made it.
 */
record FeatureMap(Buffer data, int batch, int height, int width, int channels) {

    long size() {
        return (long) batch * height * width * channels;
    }

    int rows() {
        return Math.multiplyExact(batch, Math.multiplyExact(height, width));
    }
}
