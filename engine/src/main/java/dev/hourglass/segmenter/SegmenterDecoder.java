package dev.hourglass.segmenter;

import java.io.IOException;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.vit.TensorLookup;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.TransformerBlock;

/**
 * A Segmenter decoder (Strudel et al., 2021): patch tokens in, per-token class scores out; the linear decoder or the
 * mask transformer, as {@link SegmenterDecoderConfig} says. Its tensors are named in {@link SegmenterDecoderTensors}.
 * Immutable once loaded; safe to share between threads (its weights live in the {@link WeightStore} it was loaded
 * into, which its owner closes).
 */
public interface SegmenterDecoder {

    /**
     * Loads the decoder {@code config} describes from {@code weights} into {@code store}.
     *
     * @param encoderDim the encoder's width, which the decoder's first layer takes
     * @throws IOException naming the file and the tensor missing or mis-shaped
     */
    static SegmenterDecoder load(WeightStore store, TensorSource weights, int encoderDim, SegmenterDecoderConfig config)
            throws IOException {
        TensorLookup names = TensorLookup.of(weights, "needed by the " + config.type() + " decoder");
        SegmenterDecoderConfig.MaskTransformer mask = config.maskTransformer();
        return mask == null ? LinearDecoder.load(store, names, encoderDim, config.classes())
                : MaskTransformerDecoder.load(store, names, encoderDim, config.classes(), mask);
    }

    /** Number of classes it scores. */
    int classes();

    /**
     * Class scores for the non-prefix tokens of {@code encoded} (the encoder's output after its final LayerNorm):
     * a new buffer {@code [batch, patchTokens, classes]} in token order, which the caller closes.
     */
    Buffer decode(Backend backend, TokenSequence encoded, TransformerBlock.Scratch scratch);
}
