package dev.hourglass.reduce.cfvit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.HeapTooSmallException;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.reduce.ReductionTrace;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.TensorLookup;
import dev.hourglass.vit.TokenSequence;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;

/**
 * CF-ViT's coarse-to-fine inference (Chen et al., AAAI 2023; ALGORITHMS.md §3) on CF-ViT's own checkpoints, built
 * from {@link VisionTransformer}'s steps: one transformer runs twice.
 * <ol>
 *   <li>Coarse: the normalised fine input downsampled bilinearly ({@code align_corners=True}) to the coarse size, the
 *       coarse position embedding, every block; the class token's attention, averaged over heads, is accumulated from
 *       block {@code emaFromBlock} on as an exponential moving average (the global class attention).</li>
 *   <li>Early exit, per image: an image whose coarse maximum softmax probability reaches the threshold stops there.</li>
 *   <li>Fine, for the others only: the {@code K = ceil(α N_c)} coarse tokens with the most global attention are
 *       re-split into their four fine tokens (grouped by sub-position, in importance order); the coarse stage's final
 *       features go through the reuse block (LayerNorm + MLP), are copied to their 2x2 fine children and added to the
 *       fine patch embeddings (not to the class token); with the fine position embedding, the sequence is the class
 *       token, the 4K fine tokens and the N_c - K coarse input embeddings not re-split; every block; the head.</li>
 * </ol>
 * The original's {@code forward_early_exit} hard-codes a 14x14 fine grid and a 224 input, which is wrong for the 9x9
 * models; this follows its {@code forward}, right for every size. The weights are the fine model (timm names, fine
 * {@code pos_embed}) plus {@code cfvit.pos_embed_coarse}, {@code cfvit.reuse_norm.*} and {@code cfvit.reuse_mlp.*},
 * as the converter names CF-ViT's tensors. Immutable once made and thread-safe (every call keeps its state); close it
 * to free the weights.
 */
public final class CfVit implements AutoCloseable {
    /** LV-ViT's weight of the token-labelling maximum in CF-ViT's output. */
    static final float AUX_WEIGHT = 0.25f;
    /** CF-ViT divides the coarse stage's LV-ViT logits by 1 + {@link #AUX_WEIGHT}; not the fine stage's. */
    static final float COARSE_AUX_DIVISOR = 1.25f;

    private final VisionTransformer model;
    private final CfVitSettings settings;
    private final Backend backend;
    private final WeightStore store;
    private final Buffer coarsePositions;
    private final Buffer reuseNormWeight;
    private final Buffer reuseNormBias;
    private final LinearWeights reuseFc1;
    private final LinearWeights reuseFc2;
    private final LinearWeights auxHead;

    private CfVit(VisionTransformer model, CfVitSettings settings, WeightStore store, TensorLookup names)
            throws IOException {
        this.model = model;
        this.settings = settings;
        this.backend = model.backend();
        this.store = store;
        VitConfig c = model.config();
        int d = c.embedDim();
        int coarseTokens = c.prefixTokens() + settings.coarseGrid() * settings.coarseGrid();
        this.coarsePositions = store.constant(names.tensor("cfvit.pos_embed_coarse", 1, coarseTokens, d));
        this.reuseNormWeight = store.constant(names.tensor("cfvit.reuse_norm.weight", d));
        this.reuseNormBias = store.constant(names.tensor("cfvit.reuse_norm.bias", d));
        this.reuseFc1 = store.linear(names.tensor("cfvit.reuse_mlp.fc1.weight", settings.reuseHidden(), d),
                names.tensor("cfvit.reuse_mlp.fc1.bias", settings.reuseHidden()));
        this.reuseFc2 = store.linear(names.tensor("cfvit.reuse_mlp.fc2.weight", d, settings.reuseHidden()),
                names.tensor("cfvit.reuse_mlp.fc2.bias", d));
        this.auxHead = settings.auxHead() ? store.linear(names.tensor("lvvit.aux_head.weight", c.numClasses(), d),
                names.tensor("lvvit.aux_head.bias", c.numClasses())) : null;
    }

    /**
     * Prepares a CF-ViT from its weights: {@code config} is the fine model's (its grid is the fine grid).
     *
     * @throws IOException if a tensor is missing or mis-shaped, or the settings do not fit the model
     */
    public static CfVit create(VitConfig config, CfVitSettings settings, TensorSource weights, Backend backend)
            throws IOException {
        Objects.requireNonNull(settings, "settings");
        if (config.gridHeight() != settings.fineGrid() || config.gridWidth() != settings.fineGrid()) {
            throw new IOException(weights.path().getFileName() + ": the model's grid " + config.gridHeight() + "x"
                    + config.gridWidth() + " is not CF-ViT's fine grid " + settings.fineGrid());
        }
        if (!config.classToken() || config.distilled()) {
            throw new IOException(weights.path().getFileName() + ": CF-ViT needs a class token and no distillation"
                    + " token");
        }
        VisionTransformer model = VisionTransformer.create(config, settings.backbone(), weights, backend);
        WeightStore store = backend.newWeightStore();
        try {
            return new CfVit(model, settings, store, TensorLookup.of(weights, "needed by CF-ViT"));
        } catch (HeapTooSmallException e) {
            store.close();
            model.close();
            throw HeapTooSmallException.forModel(weights, e);
        } catch (IOException | RuntimeException | Error e) {
            store.close();
            model.close();
            throw e;
        }
    }

    public VisionTransformer model() {
        return model;
    }

    public CfVitSettings settings() {
        return settings;
    }

    /** Side of the fine input in pixels (the checkpoint's image size). */
    public int fineSize() {
        return settings.fineGrid() * model.config().patchSize();
    }

    /** Side of the coarse input in pixels. */
    public int coarseSize() {
        return settings.coarseGrid() * model.config().patchSize();
    }

    /**
     * What one call gave, per image.
     *
     * @param logits          the logits each image ended with: coarse for those that exited, fine for the others
     * @param coarseLogits    the coarse stage's logits, {@code [batch, classes]}
     * @param fineLogits      the fine stage's logits for the images that went on (rows of exited images are NaN)
     * @param fine            whether each image went on to the fine stage
     * @param maxProbability  each image's coarse maximum softmax probability
     * @param globalAttention the global class attention over the coarse patches, {@code [batch, N_c]}
     * @param important       each image's re-split coarse tokens, most attended first (empty for exited images)
     * @param gflops          the encoder GFLOPs each image cost (coarse, plus reuse block and fine when it went on)
     */
    public record Result(Tensor logits, Tensor coarseLogits, Tensor fineLogits, boolean[] fine,
                         float[] maxProbability, float[] globalAttention, int[][] important, double[] gflops) {
    }

    /**
     * Runs CF-ViT on normalised fine inputs {@code [batch, 3, S, S]}.
     *
     * @param threshold an image whose coarse maximum probability reaches it stops at the coarse stage: 0 stops every
     *                  image there, anything above 1 sends every image to the fine stage
     */
    public Result classify(Tensor images, double threshold) {
        int s = fineSize();
        if (images.shape().rank() != 4 || images.shape().dim(1) != 3 || images.shape().dim(2) != s
                || images.shape().dim(3) != s) {
            throw new IllegalArgumentException("CF-ViT takes [batch, 3, " + s + ", " + s + "] inputs, got "
                    + images.shape());
        }
        int batch = images.shape().intDim(0);
        VitConfig c = model.config();
        int classes = c.numClasses();
        int nc = settings.coarseGrid() * settings.coarseGrid();
        int coarseTokens = 1 + nc;
        int d = c.embedDim();

        float[] fineInput = images.toFloatArray();
        Tensor coarseImages = Tensor.ofFloats(downsample(fineInput, batch, s, coarseSize()), batch, 3, coarseSize(),
                coarseSize());
        float[] coarseLogits;
        float[] globalAttention;
        float[] coarseFeatures = new float[batch * nc * d];
        float[] coarseEmbedded = new float[batch * coarseTokens * d];
        try (VisionTransformer.Pass pass = model.start(coarseImages);
             GlobalClassAttention ema = new GlobalClassAttention(settings, batch, coarseTokens)) {
            TokenState embedded = pass.embed(pass.patchEmbeddings(), coarsePositions);
            backend.download(embedded.data(), 0, coarseEmbedded, 0, coarseEmbedded.length);
            TokenState out = pass.blocks(embedded, 0, c.depth(), ema);
            coarseLogits = pass.classHead(out).toFloatArray();
            TokenState normed = pass.finalNorm(out);
            if (auxHead != null) {
                coarseLogits = withAuxHead(pass, normed, coarseLogits, COARSE_AUX_DIVISOR);
            }
            float[] all = new float[batch * coarseTokens * d];
            backend.download(normed.data(), 0, all, 0, all.length);
            for (int b = 0; b < batch; b++) {
                System.arraycopy(all, (b * coarseTokens + 1) * d, coarseFeatures, b * nc * d, nc * d);
            }
            globalAttention = ema.patchAttention();
        }

        boolean[] fine = new boolean[batch];
        float[] maxProbability = new float[batch];
        List<Integer> goOn = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            maxProbability[b] = maxSoftmax(coarseLogits, b * classes, classes);
            fine[b] = maxProbability[b] < threshold;
            if (fine[b]) {
                goOn.add(b);
            }
        }
        float[] fineLogits = new float[batch * classes];
        Arrays.fill(fineLogits, Float.NaN);
        int[][] important = new int[batch][0];
        double[] gflops = new double[batch];
        Arrays.fill(gflops, gflops(false));
        if (!goOn.isEmpty()) {
            fineStage(fineInput, coarseFeatures, coarseEmbedded, globalAttention, goOn, fineLogits, important);
            for (int b : goOn) {
                gflops[b] = gflops(true);
            }
        }
        float[] logits = new float[batch * classes];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(fine[b] ? fineLogits : coarseLogits, b * classes, logits, b * classes, classes);
        }
        return new Result(Tensor.ofFloats(logits, batch, classes), Tensor.ofFloats(coarseLogits, batch, classes),
                Tensor.ofFloats(fineLogits, batch, classes), fine, maxProbability, globalAttention, important, gflops);
    }

    /**
     * GFLOPs of one image (multiply-adds counted as two, as {@link ReductionTrace#gflops}: the patch embedding and the
     * blocks' products, plus LV-ViT's token-labelling head over every token where the model has one): the coarse
     * stage alone, or the coarse stage, the reuse block and the fine stage. The fine stage's patch embedding covers
     * the whole fine image, though only 4K of its patches enter the blocks.
     */
    public double gflops(boolean fine) {
        int nc = settings.coarseGrid() * settings.coarseGrid();
        double coarse = stageGflops(coarseSize(), 1 + nc);
        if (!fine) {
            return coarse;
        }
        int k = settings.splitTokens();
        double reuse = 2.0 * nc * model.config().embedDim() * settings.reuseHidden() * 2 / 1e9;
        return coarse + reuse + stageGflops(fineSize(), 1 + 4 * k + (nc - k));
    }

    /** {@link #gflops} of the fine model run alone on every fine token (no coarse stage): the reference. */
    public double plainFineGflops() {
        return stageGflops(fineSize(), 1 + settings.fineGrid() * settings.fineGrid());
    }

    private double stageGflops(int imageSize, int tokens) {
        VitConfig c = model.config();
        double aux = auxHead == null ? 0 : 2.0 * (tokens - 1) * c.embedDim() * c.numClasses() / 1e9;
        return model.patchEmbeddingFlops(imageSize, imageSize) / 1e9
                + ReductionTrace.blockGflops(c, repeat(tokens, c.depth()), repeat(tokens, c.depth())) + aux;
    }

    /**
     * LV-ViT's token-labelling output as CF-ViT computes it: {@code head(cls) + 0.25 * max over the patch tokens of
     * aux_head(token)}, divided by {@code divisor} (1.25 on the coarse stage, 1 on the fine one: the original divides
     * only the coarse logits, so the two stages' scales differ; the arg max does not care, the exit probability is the
     * coarse one's). In float, in that order.
     */
    private float[] withAuxHead(VisionTransformer.Pass pass, TokenState normed, float[] clsLogits, float divisor) {
        int batch = normed.batch();
        int tokens = normed.count();
        int classes = model.config().numClasses();
        int rows = batch * tokens;
        Buffer aux = pass.scratch((long) rows * classes);
        backend.linear(normed.data(), 0, rows, auxHead, aux, 0, Epilogue.NONE);
        float[] all = new float[rows * classes];
        backend.download(aux, 0, all, 0, all.length);
        float[] out = new float[batch * classes];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < classes; j++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 1; t < tokens; t++) {
                    max = Math.max(max, all[(b * tokens + t) * classes + j]);
                }
                out[b * classes + j] = (clsLogits[b * classes + j] + AUX_WEIGHT * max) / divisor;
            }
        }
        return out;
    }

    /** The fine stage for the images in {@code goOn}. */
    private void fineStage(float[] fineInput, float[] coarseFeatures, float[] coarseEmbedded, float[] globalAttention,
                             List<Integer> goOn, float[] fineLogits, int[][] important) {
        VitConfig c = model.config();
        int s = fineSize();
        int d = c.embedDim();
        int classes = c.numClasses();
        int cg = settings.coarseGrid();
        int fg = settings.fineGrid();
        int nc = cg * cg;
        int nf = fg * fg;
        int k = settings.splitTokens();
        int n = goOn.size();
        int seqTokens = 1 + 4 * k + (nc - k);
        int plane = 3 * s * s;

        float[] input = new float[n * plane];
        float[] features = new float[n * nc * d];
        float[] embeddedCoarse = new float[n * (1 + nc) * d];
        for (int i = 0; i < n; i++) {
            int b = goOn.get(i);
            System.arraycopy(fineInput, b * plane, input, i * plane, plane);
            System.arraycopy(coarseFeatures, b * nc * d, features, i * nc * d, nc * d);
            System.arraycopy(coarseEmbedded, b * (1 + nc) * d, embeddedCoarse, i * (1 + nc) * d, (1 + nc) * d);
        }
        try (VisionTransformer.Pass pass = model.start(Tensor.ofFloats(input, n, 3, s, s))) {
            // Feature reuse: LN + MLP of the coarse stage's final features, copied to the 2x2 fine children.
            Buffer reuse = pass.scratch((long) n * nc * d);
            backend.write(features, 0, features.length, reuse, 0);
            Buffer normed = pass.scratch((long) n * nc * d);
            backend.layerNorm(reuse, normed, n * nc, d, reuseNormWeight, reuseNormBias, settings.reuseNormEps());
            Buffer hidden = pass.scratch((long) n * nc * settings.reuseHidden());
            backend.linear(normed, 0, n * nc, reuseFc1, hidden, 0, Epilogue.GELU);
            Buffer reused = pass.scratch((long) n * nc * d);
            backend.linear(hidden, 0, n * nc, reuseFc2, reused, 0, Epilogue.NONE);
            int[] children = new int[n * nf];
            for (int i = 0; i < n; i++) {
                for (int y = 0; y < fg; y++) {
                    for (int x = 0; x < fg; x++) {
                        children[i * nf + y * fg + x] = i * nc + (y / 2) * cg + x / 2;
                    }
                }
            }
            Buffer upsampled = pass.scratch((long) n * nf * d);
            backend.gatherRows(reused, d, children, upsampled);
            Buffer patches = pass.patchEmbeddings();
            backend.addScaled(patches, upsampled, (long) n * nf * d, 1f);
            TokenState fineEmbedded = pass.embed(patches, null);

            // The sequence: class token, the 4K re-split fine tokens, the N_c - K coarse input embeddings left.
            Buffer both = pass.scratch((long) n * (1 + nf + 1 + nc) * d);
            backend.copy(fineEmbedded.data(), 0, both, 0, (long) n * (1 + nf) * d);
            Buffer coarseRows = pass.scratch((long) n * (1 + nc) * d);
            backend.write(embeddedCoarse, 0, embeddedCoarse.length, coarseRows, 0);
            backend.copy(coarseRows, 0, both, (long) n * (1 + nf) * d, (long) n * (1 + nc) * d);
            int[] rows = new int[n * seqTokens];
            for (int i = 0; i < n; i++) {
                int b = goOn.get(i);
                int[] order = order(globalAttention, b * nc, nc);
                important[b] = Arrays.copyOf(order, k);
                int o = i * seqTokens;
                int fineBase = i * (1 + nf);
                rows[o++] = fineBase;
                for (int sub = 0; sub < 4; sub++) {
                    for (int j = 0; j < k; j++) {
                        int cIdx = order[j];
                        int f1 = 2 * (cIdx / cg) * fg + 2 * (cIdx % cg);
                        int f = switch (sub) {
                            case 0 -> f1;
                            case 1 -> f1 + 1;
                            case 2 -> f1 + fg;
                            default -> f1 + fg + 1;
                        };
                        rows[o++] = fineBase + 1 + f;
                    }
                }
                int coarseBase = n * (1 + nf) + i * (1 + nc);
                for (int j = k; j < nc; j++) {
                    rows[o++] = coarseBase + 1 + order[j];
                }
            }
            Buffer seq = pass.scratch((long) n * seqTokens * d);
            backend.gatherRows(both, d, rows, seq);
            TokenState state = fineEmbedded.reduced(TokenSequence.withoutGrid(seq, n, seqTokens, d, 1), null, null);
            TokenState out = pass.blocks(state, 0, c.depth(), TokenReducer.NONE);
            float[] logits = pass.classHead(out).toFloatArray();
            if (auxHead != null) {
                logits = withAuxHead(pass, pass.finalNorm(out), logits, 1f);
            }
            for (int i = 0; i < n; i++) {
                System.arraycopy(logits, i * classes, fineLogits, goOn.get(i) * classes, classes);
            }
        }
    }

    /** Coarse token indices by global attention, highest first; ties by index. */
    static int[] order(float[] attention, int offset, int count) {
        Integer[] idx = new Integer[count];
        for (int i = 0; i < count; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> {
            int cmp = Float.compare(attention[offset + b], attention[offset + a]);
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    private static int[] repeat(int value, int times) {
        int[] a = new int[times];
        Arrays.fill(a, value);
        return a;
    }

    static float maxSoftmax(float[] logits, int offset, int count) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < count; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < count; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return (float) (1 / sum);
    }

    /**
     * PyTorch's {@code interpolate(mode="bilinear", align_corners=True)} of {@code [batch, 3, in, in]} to {@code out x
     * out}, with its arithmetic: the scale {@code (in - 1) / (out - 1)} in float, each output's source position
     * {@code scale * i} in double, the weights in float.
     */
    static float[] downsample(float[] x, int batch, int in, int out) {
        float[] y = new float[batch * 3 * out * out];
        float scale = out > 1 ? (float) (in - 1) / (out - 1) : 0f;
        int[] i0 = new int[out];
        int[] i1 = new int[out];
        float[] w1 = new float[out];
        for (int o = 0; o < out; o++) {
            double real = (double) scale * o;
            i0[o] = Math.min((int) Math.floor(real), in - 1);
            i1[o] = Math.min(i0[o] + 1, in - 1);
            w1[o] = (float) Math.min(Math.max(real - i0[o], 0), 1);
        }
        for (int p = 0; p < batch * 3; p++) {
            int src = p * in * in;
            int dst = p * out * out;
            for (int oy = 0; oy < out; oy++) {
                float wy = w1[oy];
                int r0 = src + i0[oy] * in;
                int r1 = src + i1[oy] * in;
                for (int ox = 0; ox < out; ox++) {
                    float wx = w1[ox];
                    float top = x[r0 + i0[ox]] * (1 - wx) + x[r0 + i1[ox]] * wx;
                    float bottom = x[r1 + i0[ox]] * (1 - wx) + x[r1 + i1[ox]] * wx;
                    y[dst + oy * out + ox] = top * (1 - wy) + bottom * wy;
                }
            }
        }
        return y;
    }

    @Override
    public void close() {
        store.close();
        model.close();
    }
}
