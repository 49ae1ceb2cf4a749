package dev.hourglass.segmenter;

import java.io.IOException;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.vit.TensorLookup;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.TransformerBlock;

/**
 * Segmenter's {@code DecoderLinear}: one linear layer ({@code decoder.head}) on each patch token. Immutable; safe to
 * share between threads.
 */
final class LinearDecoder implements SegmenterDecoder {
    private final LinearWeights head;
    private final int classes;

    private LinearDecoder(LinearWeights head, int classes) {
        this.head = head;
        this.classes = classes;
    }

    static LinearDecoder load(WeightStore store, TensorLookup names, int encoderDim, int classes) throws IOException {
        return new LinearDecoder(store.linear(names.tensor(SegmenterDecoderTensors.HEAD_WEIGHT, classes, encoderDim),
                names.tensor(SegmenterDecoderTensors.HEAD_BIAS, classes)), classes);
    }

    @Override
    public int classes() {
        return classes;
    }

    @Override
    public Buffer decode(Backend backend, TokenSequence encoded, TransformerBlock.Scratch scratch) {
        int n = encoded.patchTokens();
        int d = encoded.dim();
        Buffer masks = backend.allocate((long) encoded.batch() * n * classes);
        for (int b = 0; b < encoded.batch(); b++) {
            long in = ((long) b * encoded.tokens() + encoded.prefixTokens()) * d;
            backend.linear(encoded.data(), in, n, head, masks, (long) b * n * classes, Epilogue.NONE);
        }
        return masks;
    }
}
