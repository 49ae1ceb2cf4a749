package dev.hourglass.tasks.segment;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.TransformerBlock;

/** A Segmenter decoder: patch tokens in, per-token class scores out. Immutable; safe to share between threads. */
interface SegmenterDecoder {

    /** Number of classes it scores. */
    int classes();

    /**
     * Class scores for the non-prefix tokens of {@code encoded} (the encoder's output after its final LayerNorm):
     * a new buffer {@code [batch, patchTokens, classes]} in token order, which the caller closes.
     */
    Buffer decode(Backend backend, TokenSequence encoded, TransformerBlock.Scratch scratch);
}
