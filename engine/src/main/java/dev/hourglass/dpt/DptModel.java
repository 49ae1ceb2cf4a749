package dev.hourglass.dpt;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.HeapTooSmallException;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.model.DptConfig;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.reduce.expedit.ExpeditPass;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.StageOutput;
import dev.hourglass.vit.TensorLookup;
import dev.hourglass.vit.TransformerBlock;
import dev.hourglass.vit.VisionTransformer;
import dev.hourglass.vit.VitConfig;
import dev.hourglass.vit.VitVariant;

/**
 * DPT for monocular depth (Ranftl et al., "Vision Transformers for Dense Prediction"), as isl-org/DPT's
 * {@code DPTDepthModel} computes it at eval, on one backend:
 * <pre>
 *   images [B,3,H,W] -> ViT embed (position embedding resized bilinearly to the grid) -> blocks
 *        taps after blocks hooks[0..3] -> Reassemble 1..4: [B, 4h|2h|h|h/2, ., fusion]      (h = H/16)
 *   path4 = refinenet4(layer4)               each: rcu, bilinear x2 (align_corners), 1x1
 *   path3 = refinenet3(path4, layer3) ... path1 = refinenet1(path2, layer1)           [B, H/2, W/2, fusion]
 *   depth = head(path1)                                                               [B, H, W]  (>= 0)
 *   metric output (DptConfig.metric, the KITTI and NYU checkpoints): depth = 1 / max(scale depth + shift, 1e-8)
 * </pre>
 * The blocks after the last tap and the final LayerNorm, which the original computes and drops, are skipped.
 *
 * <p>DPT-Hybrid ({@link DptConfig.Backbone#HYBRID}): the encoder embeds patches with a ResNetV2 stem
 * ({@link VitVariant#HYBRID}); taps 1 and 2 are its stage 0 and stage 1 outputs (strides 4 and 8, the sizes the
 * reassembled maps of a plain ViT have), taken straight to {@code layer1_rn} and {@code layer2_rn} (isl-org/DPT's
 * {@code act_postprocess1/2} are identities); taps 3 and 4 are blocks {@code hooks[2]} and {@code hooks[3]} as
 * usual. {@code hooks[0]} and {@code hooks[1]} are not read then (the original's are 0 and 1, placeholders).
 *
 * <p>Token reduction: the blocks run through the one seam ({@link TokenReducer}); at each tap a reduced sequence is
 * brought back to the patch grid by its source map, each patch taking its token's features. For Expedit that is the
 * hard-label gather of the official Expedit-DPT ({@code NaiveUnpooling} at the reassemble taps; its kNN reconstruction
 * is not used there), for ToMe its unmerging. See {@link #reducer}.
 *
 * <p>Thread-safe: every call keeps its activations to itself. Closing frees the prepared weights.
 */
public final class DptModel implements AutoCloseable {
    /** DPT-Hybrid's taps that read ResNet stages rather than blocks: the first two. */
    private static final int STEM_TAPS = 2;

    private final VisionTransformer encoder;
    private final DptConfig config;
    private final WeightStore store;
    private final Reassemble[] taps;
    private final FusionBlock[] fusion;
    private final DepthHead head;

    private DptModel(VisionTransformer encoder, DptConfig config, WeightStore store, Reassemble[] taps,
                     FusionBlock[] fusion, DepthHead head) {
        this.encoder = encoder;
        this.config = config;
        this.store = store;
        this.taps = taps;
        this.fusion = fusion;
        this.head = head;
    }

    /**
     * Prepares a DPT from weights in Hourglass's canonical names (the encoder in timm's, the rest under {@code dpt.}).
     *
     * @throws IOException if a tensor is missing or has the wrong shape, or the model is one this class does not run
     *                     (a segmentation head), naming it
     */
    public static DptModel create(VitConfig encoderConfig, DptConfig config, TensorSource weights, Backend backend)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Object file = weights.path().getFileName();
        if (config.head() != DptConfig.Head.DEPTH) {
            throw new IOException(file + ": this DPT has a " + config.head().name().toLowerCase(java.util.Locale.ROOT)
                    + " head; Hourglass runs DPT's depth head only");
        }
        boolean hybrid = config.backbone() == DptConfig.Backbone.HYBRID;
        int[] hooks = config.hooks();
        for (int k = hybrid ? STEM_TAPS : 0; k < hooks.length; k++) {
            if (hooks[k] < 0 || hooks[k] >= encoderConfig.depth()
                    || (k > (hybrid ? STEM_TAPS : 0) && hooks[k] <= hooks[k - 1])) {
                throw new IOException(file + ": decoder.hooks " + Arrays.toString(hooks) + " must be increasing"
                        + " block indices below the encoder's depth " + encoderConfig.depth()
                        + (hybrid ? " (the first two, for the ResNet stages of DPT-Hybrid, are not read)" : ""));
            }
        }
        if (!encoderConfig.classToken() && config.readout() != DptConfig.Readout.IGNORE) {
            throw new IOException(file + ": readout " + config.readout() + " needs a class token, which the encoder"
                    + " has not");
        }
        VisionTransformer encoder = VisionTransformer.create(encoderConfig, hybrid ? VitVariant.HYBRID
                : VitVariant.TIMM, weights, backend);
        WeightStore store = backend.newWeightStore();
        try {
            TensorLookup names = TensorLookup.of(weights, "needed by DPT's neck and head");
            int d = encoderConfig.embedDim();
            Reassemble[] taps = new Reassemble[4];
            FusionBlock[] fusion = new FusionBlock[4];
            for (int k = 1; k <= 4; k++) {
                taps[k - 1] = hybrid && k <= STEM_TAPS ? Reassemble.stage(store, names, config, k)
                        : Reassemble.load(store, names, config, k, d);
                fusion[k - 1] = FusionBlock.load(store, names, k, config.fusionFeatures());
            }
            DepthHead head = DepthHead.load(store, names, config.fusionFeatures());
            return new DptModel(encoder, config, store, taps, fusion, head);
        } catch (HeapTooSmallException e) {
            store.close();
            encoder.close();
            throw HeapTooSmallException.forModel(weights, e);
        } catch (IOException | RuntimeException | Error e) {
            store.close();
            encoder.close();
            throw e;
        }
    }

    /**
     * The tensors of the neck and depth head this class reads, with their shapes, beside an encoder of width
     * {@code dim} (canonical names; a random-weight model for benchmarks is made from them).
     */
    public static java.util.Map<String, Shape> neckShapes(int dim, DptConfig config) {
        return DptNames.shapes(dim, config);
    }

    public VitConfig encoderConfig() {
        return encoder.config();
    }

    public DptConfig config() {
        return config;
    }

    /** Bytes of prepared weights the backend holds for this model. */
    public long weightBytes() {
        return encoder.weightBytes() + store.byteSize();
    }

    /**
     * Relative inverse depth (larger is nearer), or metric depth in metres (larger is farther) when the configuration
     * has a {@link DptConfig#metric() metric output}, {@code [batch, H, W]}, of images {@code [batch, 3, H, W]} already
     * normalised as the model expects; {@code H} and {@code W} must be multiples of twice the patch size (the fusion
     * stage doubles the deepest tap, which halved the token grid).
     */
    public Tensor depth(Tensor images) {
        return depth(images, TokenReducer.NONE);
    }

    /** {@link #depth(Tensor)} with a token reduction in the encoder ({@link #reducer} makes the right one). */
    public Tensor depth(Tensor images, TokenReducer reducer) {
        Shape s = images.shape();
        int step = 2 * encoder.config().patchSize();
        if (s.rank() == 4 && (s.dim(2) % step != 0 || s.dim(3) % step != 0)) {
            throw new IllegalArgumentException("DPT needs an image size that is a multiple of " + step + " (twice the"
                    + " patch size), got " + s.dim(2) + "x" + s.dim(3));
        }
        int[] hooks = config.hooks();
        try (VisionTransformer.Pass vit = encoder.start(images)) {
            DptPass pass = new DptPass(vit, encoder.backend());
            int[] grid = vit.grid();
            TokenState state = vit.embed();
            int batch = state.batch();
            FeatureMap[] layers = new FeatureMap[4];
            List<StageOutput> stages = vit.stemStages();
            int from = 0;
            for (int k = 0; k < 4; k++) {
                if (taps[k].readsStage()) {
                    StageOutput st = stages.get(k);
                    layers[k] = taps[k].run(pass, new FeatureMap(st.data(), st.batch(), st.height(), st.width(),
                            st.channels()));
                    continue;
                }
                TapView view = new TapView(reducer, hooks[k]);
                state = vit.blocks(state, from, hooks[k] + 1, view);
                from = hooks[k] + 1;
                Buffer tokens = patchGrid(pass, view.seen, hooks[k]);
                layers[k] = taps[k].run(pass, tokens, batch, state.prefixTokens(), grid[0], grid[1]);
            }
            FeatureMap path = fusion[3].run(pass, null, layers[3]);
            for (int k = 2; k >= 0; k--) {
                path = fusion[k].run(pass, path, layers[k]);
            }
            FeatureMap depth = head.run(pass, path);
            float[] values = new float[Math.toIntExact(depth.size())];
            encoder.backend().download(depth.data(), 0, values, 0, values.length);
            if (config.metric() != null) {
                MetricDepth.apply(config.metric(), values);
            }
            return Tensor.ofFloats(values, batch, depth.height(), depth.width());
        }
    }

    /**
     * Makes the depth head's output ({@code values}, relative inverse depth) metric depth in place, as {@link #depth}
     * does for a configuration with {@code metric}: {@code 1 / max(scale x + shift, 1e-8)} in PyTorch's float32 bits.
     */
    public static void metricDepth(DptConfig.Metric metric, float[] values) {
        MetricDepth.apply(java.util.Objects.requireNonNull(metric, "metric"), values);
    }

    /**
     * The reducer as the blocks see it, keeping the state that leaves the hooked block before the reducer's
     * {@code afterBlock}: the original taps with a forward hook inside the block, so a reduction after that same
     * block (Expedit with {@code alpha - 1} a hook) is not yet in the tap. Only the calls {@code Pass.blocks} makes
     * are forwarded.
     */
    private static final class TapView implements TokenReducer {
        private final TokenReducer reducer;
        private final int tap;
        private TokenState seen;

        TapView(TokenReducer reducer, int tap) {
            this.reducer = reducer;
            this.tap = tap;
        }

        @Override
        public AttentionOptions attention(int block, TokenState state) {
            return reducer.attention(block, state);
        }

        @Override
        public TokenState afterAttention(int block, TokenState state, TransformerBlock.Scratch scratch) {
            return reducer.afterAttention(block, state, scratch);
        }

        @Override
        public TokenState afterBlock(int block, TokenState state) {
            if (block == tap) {
                seen = state;
            }
            return reducer.afterBlock(block, state);
        }
    }

    /**
     * The full token sequence ({@code [batch, prefix + patches, dim]}) at a tap: the state's own buffer if nothing was
     * reduced, else each patch's token gathered by the state's source map.
     */
    private Buffer patchGrid(DptPass pass, TokenState state, int block) {
        if (state.isOriginal()) {
            return state.data();
        }
        int[] sources = state.sources();
        if (sources == null) {
            throw new IllegalStateException("the token reduction leaves tokens at block " + (block + 1) + " that DPT"
                    + " cannot map back to the patch grid (no source map)");
        }
        int batch = state.batch();
        int prefix = state.prefixTokens();
        int patches = state.originalPatches();
        int count = state.count();
        int full = prefix + patches;
        int[] rows = new int[batch * full];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < prefix; p++) {
                rows[b * full + p] = b * count + p;
            }
            for (int n = 0; n < patches; n++) {
                rows[b * full + prefix + n] = b * count + sources[b * patches + n];
            }
        }
        Buffer out = pass.buffer((long) rows.length * state.dim());
        pass.backend().gatherRows(state.data(), state.dim(), rows, out);
        return out;
    }

    /**
     * A reducer for one call of {@link #depth(Tensor, TokenReducer)}: Expedit keeps its hard labels (each patch's
     * nearest final centre), which the taps gather by; other methods as they come, if they keep a source map.
     *
     * @throws IllegalArgumentException if the method cannot give every patch back (Patch Slimming drops tokens)
     */
    public TokenReducer reducer(ReductionMethod method, int height, int width) {
        int p = encoder.config().patchSize();
        method.checkDense(encoder.config(), height / p, width / p);
        if (method instanceof ExpeditSettings expedit) {
            return new ExpeditPass(encoder.backend(), expedit, true);
        }
        return method.newReducer(encoder.backend(), encoder.config());
    }

    /**
     * Multiply-adds x 2 of the neck and head (everything after the encoder's blocks) for one {@code height x width}
     * image; the encoder's share depends on the tokens a reduction leaves and is counted by the caller.
     */
    public double neckFlops(int height, int width) {
        int p = encoder.config().patchSize();
        int h = height / p;
        int w = width / p;
        double f = 0;
        for (Reassemble tap : taps) {
            f += tap.flops(h, w);
        }
        int[] sizes = {4 * h, 2 * h, h, h / 2};
        int[] widths = {4 * w, 2 * w, w, w / 2};
        for (int k = 0; k < 4; k++) {
            f += fusion[k].flops(sizes[k], widths[k]);
        }
        return f + head.flops(8 * h, 8 * w);
    }

    /**
     * Multiply-adds x 2 of the patch embedding of one {@code height x width} image: one convolution for a plain ViT,
     * the whole ResNet stem and its projection for a hybrid.
     */
    public double embeddingFlops(int height, int width) {
        return encoder.patchEmbeddingFlops(height, width);
    }

    /** The last block the depth needs (the blocks after it are not run). */
    public int lastBlock() {
        return config.hooks()[3];
    }

    @Override
    public void close() {
        try {
            store.close();
        } finally {
            encoder.close();
        }
    }

    @Override
    public String toString() {
        return "DPT(" + encoder + (config.backbone() == DptConfig.Backbone.HYBRID ? ", ResNet stem" : "") + ", hooks " + Arrays.toString(config.hooks()) + ", readout "
                + config.readout().name().toLowerCase(java.util.Locale.ROOT) + ", fusion " + config.fusionFeatures()
                + ")";
    }
}
