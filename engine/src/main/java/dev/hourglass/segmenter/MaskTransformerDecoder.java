package dev.hourglass.segmenter;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TensorLookup;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.TransformerBlock;

/**
 * Segmenter's mask transformer (ALGORITHMS.md §1.7): {@code proj_dec} on the patch tokens, the class embeddings
 * appended after them, pre-LN blocks, {@code decoder_norm}; then patches {@code @ proj_patch} and classes
 * {@code @ proj_classes}, each L2-normalised, their products as masks, and {@code mask_norm} (a LayerNorm over the
 * classes). Immutable; safe to share between threads.
 */
final class MaskTransformerDecoder implements SegmenterDecoder {
    private final LinearWeights projDec;
    private final Buffer classEmbeddings;
    private final List<TransformerBlock> blocks;
    private final Buffer normWeight;
    private final Buffer normBias;
    private final LinearWeights projPatch;
    private final LinearWeights projClasses;
    private final Buffer maskNormWeight;
    private final Buffer maskNormBias;
    private final int classes;
    private final int dModel;
    private final float eps;

    private MaskTransformerDecoder(LinearWeights projDec, Buffer classEmbeddings, List<TransformerBlock> blocks,
                                   Buffer normWeight, Buffer normBias, LinearWeights projPatch,
                                   LinearWeights projClasses, Buffer maskNormWeight, Buffer maskNormBias, int classes,
                                   int dModel, float eps) {
        this.projDec = projDec;
        this.classEmbeddings = classEmbeddings;
        this.blocks = blocks;
        this.normWeight = normWeight;
        this.normBias = normBias;
        this.projPatch = projPatch;
        this.projClasses = projClasses;
        this.maskNormWeight = maskNormWeight;
        this.maskNormBias = maskNormBias;
        this.classes = classes;
        this.dModel = dModel;
        this.eps = eps;
    }

    static MaskTransformerDecoder load(WeightStore store, TensorLookup names, int encoderDim, int classes,
                                       SegmenterDecoderConfig.MaskTransformer settings) throws IOException {
        int dModel = settings.width();
        float eps = settings.normEps();
        List<TransformerBlock> blocks = new ArrayList<>(settings.layers());
        for (int i = 0; i < settings.layers(); i++) {
            blocks.add(TransformerBlock.load(store, names, SegmenterDecoderTensors.block(i), dModel,
                    settings.mlpHidden(), settings.heads(), true, eps));
        }
        return new MaskTransformerDecoder(
                store.linear(names.tensor(SegmenterDecoderTensors.PROJ_DEC_WEIGHT, dModel, encoderDim),
                        names.tensor(SegmenterDecoderTensors.PROJ_DEC_BIAS, dModel)),
                store.constant(names.tensor(SegmenterDecoderTensors.CLASS_EMBEDDINGS, 1, classes, dModel)),
                List.copyOf(blocks),
                store.constant(names.tensor(SegmenterDecoderTensors.NORM_WEIGHT, dModel)),
                store.constant(names.tensor(SegmenterDecoderTensors.NORM_BIAS, dModel)),
                // Used as x @ P, i.e. a linear layer whose weight is P transposed.
                store.linear(transposed(names.tensor(SegmenterDecoderTensors.PROJ_PATCH, dModel, dModel), dModel),
                        null),
                store.linear(transposed(names.tensor(SegmenterDecoderTensors.PROJ_CLASSES, dModel, dModel), dModel),
                        null),
                store.constant(names.tensor(SegmenterDecoderTensors.MASK_NORM_WEIGHT, classes)),
                store.constant(names.tensor(SegmenterDecoderTensors.MASK_NORM_BIAS, classes)),
                classes, dModel, eps);
    }

    private static Tensor transposed(Tensor square, int n) {
        float[] v = square.toFloatArray();
        float[] t = new float[v.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                t[j * n + i] = v[i * n + j];
            }
        }
        return Tensor.ofFloats(t, n, n);
    }

    @Override
    public int classes() {
        return classes;
    }

    @Override
    public Buffer decode(Backend backend, TokenSequence encoded, TransformerBlock.Scratch scratch) {
        int batch = encoded.batch();
        int n = encoded.patchTokens();
        int tokens = n + classes;
        int d = dModel;
        Buffer masks = backend.allocate((long) batch * n * classes);
        try (Buffer x = backend.allocate((long) batch * tokens * d);
             Buffer patches = backend.allocate((long) batch * n * d);
             Buffer classTokens = backend.allocate((long) batch * classes * d)) {
            for (int b = 0; b < batch; b++) {
                long in = ((long) b * encoded.tokens() + encoded.prefixTokens()) * encoded.dim();
                backend.linear(encoded.data(), in, n, projDec, x, (long) b * tokens * d, Epilogue.NONE);
                backend.copy(classEmbeddings, 0, x, ((long) b * tokens + n) * d, (long) classes * d);
            }
            for (TransformerBlock block : blocks) {
                block.run(backend, x, batch, tokens, scratch);
            }
            backend.layerNorm(x, x, batch * tokens, d, normWeight, normBias, eps);
            for (int b = 0; b < batch; b++) {
                backend.linear(x, (long) b * tokens * d, n, projPatch, patches, (long) b * n * d, Epilogue.NONE);
                backend.linear(x, ((long) b * tokens + n) * d, classes, projClasses, classTokens,
                        (long) b * classes * d, Epilogue.NONE);
            }
            backend.normalizeRows(patches, 0, batch * n, d);
            backend.normalizeRows(classTokens, 0, batch * classes, d);
            for (int b = 0; b < batch; b++) {
                backend.matmulTransposed(patches, (long) b * n * d, n, classTokens, (long) b * classes * d, classes, d,
                        masks, (long) b * n * classes);
            }
            backend.layerNorm(masks, masks, batch * n, classes, maskNormWeight, maskNormBias, eps);
        } catch (RuntimeException | Error e) {
            masks.close();
            throw e;
        }
        return masks;
    }
}
