package dev.hourglass.vit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import dev.hourglass.backend.AttentionOptions;
import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.HeapTooSmallException;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.ops.Convolution;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;

/**
 * A ViT or DeiT ready to run on one backend: its weights prepared once (packed or uploaded), its forward pass as timm
 * computes it at eval time. Inputs may be any size that is a multiple of the patch size; the position embedding is
 * resized for each new grid (once, then cached).
 *
 * <p>Thread-safe: every call keeps its activations to itself, so one model serves many threads. Closing frees the
 * prepared weights; calls after that fail.
 */
public final class VisionTransformer implements AutoCloseable {
    private final VitConfig config;
    private final VitVariant variant;
    private final Backend backend;
    private final WeightStore store;
    private final LinearWeights patchEmbed;
    private final ConvStem stem;
    private final ResNetStem resnet;
    private final Buffer prefix;
    private final float[] trainedPositions;
    private final Map<Long, Buffer> positionsByGrid = new ConcurrentHashMap<>();
    private final List<TransformerBlock> blocks;
    private final Buffer normWeight;
    private final Buffer normBias;
    private final LinearWeights head;
    private final LinearWeights headDist;

    private VisionTransformer(VitConfig config, VitVariant variant, TensorSource weights, Backend backend,
                              WeightStore store) throws IOException {
        this.config = config;
        this.variant = variant;
        this.backend = backend;
        this.store = store;
        TimmVitNames names = new TimmVitNames(weights, config);
        int d = config.embedDim();

        if (variant.stem() == VitVariant.Stem.LVVIT) {
            stem = ConvStem.lvvit(store, weights, names, config.inChannels(), d, config.patchSize());
            resnet = null;
            patchEmbed = null;
        } else if (variant.stem() == VitVariant.Stem.RESNET_V2) {
            resnet = ResNetStem.load(store, weights, names, config.inChannels(), d, config.patchSize());
            stem = null;
            patchEmbed = null;
        } else {
            Tensor conv = names.tensor("patch_embed.proj.weight",
                    d, config.inChannels(), config.patchSize(), config.patchSize());
            patchEmbed = store.linear(conv.reshape(d,
                    (long) config.inChannels() * config.patchSize() * config.patchSize()),
                    names.tensor("patch_embed.proj.bias", d));
            stem = null;
            resnet = null;
        }

        float[] prefixValues = new float[config.prefixTokens() * d];
        if (config.classToken()) {
            names.tensor("cls_token", 1, 1, d).copyToFloats(0, prefixValues, 0, d);
        }
        if (config.distilled()) {
            names.tensor("dist_token", 1, 1, d).copyToFloats(0, prefixValues, d, d);
        }
        prefix = store.constant(prefixValues);
        int gridTokens = config.gridHeight() * config.gridWidth();
        trainedPositions = names.tensor("pos_embed", 1, config.prefixTokens() + gridTokens, d).toFloatArray();
        positionsByGrid.put(gridKey(config.gridHeight(), config.gridWidth()), store.constant(trainedPositions));

        List<TransformerBlock> list = new ArrayList<>(config.depth());
        for (int i = 0; i < config.depth(); i++) {
            list.add(TransformerBlock.load(store, names, "blocks." + i + ".", d, config.mlpHidden(),
                    config.numHeads(), config.qkvBias(), config.normEps(), 1f / variant.skipLam()));
        }
        blocks = List.copyOf(list);
        normWeight = store.constant(names.tensor("norm.weight", d));
        normBias = store.constant(names.tensor("norm.bias", d));
        if (config.numClasses() > 0) {
            head = store.linear(names.tensor("head.weight", config.numClasses(), d),
                    names.tensor("head.bias", config.numClasses()));
            headDist = config.distilled()
                    ? store.linear(names.tensor("head_dist.weight", config.numClasses(), d),
                    names.tensor("head_dist.bias", config.numClasses()))
                    : null;
        } else {
            head = null;
            headDist = null;
        }
    }

    /**
     * Prepares a model from weights in timm's layout. The weights may be released once this returns (the backend
     * keeps its own copy).
     *
     * @throws IOException if a tensor is missing or has the wrong shape (the message names it)
     */
    public static VisionTransformer create(VitConfig config, TensorSource weights, Backend backend) throws IOException {
        return create(config, VitVariant.TIMM, weights, backend);
    }

    /**
     * {@link #create(VitConfig, TensorSource, Backend)} for a family that changes the stem or the residual scale (LV-ViT).
     *
     * @throws IOException if a tensor is missing or has the wrong shape (the message names it)
     */
    public static VisionTransformer create(VitConfig config, VitVariant variant, TensorSource weights, Backend backend)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(variant, "variant");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(backend, "backend");
        WeightStore store = backend.newWeightStore();
        try {
            backend.prepareFor(config.flops(config.imageHeight(), config.imageWidth()));
            return new VisionTransformer(config, variant, weights, backend, store);
        } catch (HeapTooSmallException e) {
            store.close();
            throw HeapTooSmallException.forModel(weights, e);
        } catch (IOException | RuntimeException | Error e) {
            store.close();
            throw e;
        }
    }

    public VitConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public VitVariant variant() {
        return variant;
    }

    /** Multiply-adds x 2 of the patch embedding (the stem and projection) of one {@code height x width} image. */
    public double patchEmbeddingFlops(int height, int width) {
        if (stem != null) {
            return stem.flops(height, width);
        }
        if (resnet != null) {
            return resnet.flops(height, width);
        }
        int p = config.patchSize();
        return 2.0 * (height / p) * (width / p) * config.inChannels() * p * p * config.embedDim();
    }

    /** Bytes of prepared weights the backend holds for this model. */
    public long weightBytes() {
        return store.byteSize();
    }

    /**
     * Class scores for a batch of images.
     *
     * @param images {@code [batch, channels, height, width]} float32, already normalised
     * @return logits {@code [batch, numClasses]}; for a distilled DeiT the mean of both heads, as timm evaluates it
     */
    public Tensor classify(Tensor images) {
        return classify(images, TokenReducer.NONE);
    }

    /** {@link #classify(Tensor)} with a token reduction: the heads read the class (and distillation) token at the end. */
    public Tensor classify(Tensor images, TokenReducer reducer) {
        try (Pass pass = start(images)) {
            TokenState tokens = pass.blocks(pass.embed(), 0, blocks.size(), reducer);
            return pass.classHead(tokens);
        }
    }

    /**
     * All tokens after the final LayerNorm, {@code [batch, tokens, dim]} on the host (timm's
     * {@code forward_features}), after the reducer's {@link TokenReducer#finish}.
     */
    public Tensor features(Tensor images, TokenReducer reducer) {
        try (Encoded e = encode(images, reducer)) {
            TokenSequence t = e.tokens();
            float[] out = new float[Math.toIntExact(t.size())];
            backend.download(t.data(), 0, out, 0, out.length);
            return Tensor.ofFloats(out, t.batch(), t.tokens(), t.dim());
        }
    }

    /**
     * The encoder's output kept on the backend for a head to read (a dense decoder): every block with the reducer,
     * its {@link TokenReducer#finish}, then the final LayerNorm over every token. Close it to free the call's
     * activations.
     */
    public Encoded encode(Tensor images, TokenReducer reducer) {
        Pass pass = start(images);
        try {
            TokenState tokens = reducer.finish(pass.blocks(pass.embed(), 0, blocks.size(), reducer));
            pass.adopt(tokens);
            return new Encoded(pass.finalNorm(tokens), pass);
        } catch (RuntimeException | Error e) {
            pass.close();
            throw e;
        }
    }

    /**
     * One forward call's steps, for heads and two-stage methods built outside the model (timm's
     * {@code patch_embed}, {@code blocks}, {@code norm}, {@code forward_head}): {@link Pass#embed}, {@link
     * Pass#blocks} over any range with any reducer, {@link Pass#finalNorm}, {@link Pass#classHead}. The pass owns the
     * buffers its steps make; close it to free them.
     */
    public Pass start(Tensor images) {
        return new Pass(images);
    }

    /** The result of {@link #encode}: tokens on the backend, valid until closed. Not thread-safe. */
    public static final class Encoded implements AutoCloseable {
        private final TokenState state;
        private final AutoCloseable owner;

        private Encoded(TokenState state, AutoCloseable owner) {
            this.state = state;
            this.owner = owner;
        }

        public TokenSequence tokens() {
            return state.tokens();
        }

        /** The tokens with their reduction bookkeeping (sizes, sources, the original grid). */
        public TokenState state() {
            return state;
        }

        @Override
        public void close() {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private int batchOf(Tensor images) {
        Shape s = images.shape();
        if (s.rank() != 4 || s.dim(1) != config.inChannels()) {
            throw new IllegalArgumentException("images must be [batch, " + config.inChannels()
                    + ", height, width], got " + s);
        }
        long h = s.dim(2);
        long w = s.dim(3);
        int p = config.patchSize();
        if (h < p || w < p || h % p != 0 || w % p != 0) {
            throw new IllegalArgumentException("image size " + h + "x" + w + " is not a positive multiple of the patch"
                    + " size " + p);
        }
        if (s.dim(0) < 1) {
            throw new IllegalArgumentException("empty batch: " + s);
        }
        return s.intDim(0);
    }

    private static long gridKey(int gh, int gw) {
        return ((long) gh << 32) | gw;
    }

    /** The position embedding for a token grid, resized from the trained one on first use. */
    private Buffer positions(int gh, int gw) {
        return positionsByGrid.computeIfAbsent(gridKey(gh, gw), k -> store.constant(PositionEmbeddings.resize(
                trainedPositions, config.prefixTokens(), config.embedDim(), config.gridHeight(), config.gridWidth(),
                gh, gw, config.posEmbedResize(), config.posEmbedAntialias())));
    }

    /** One call's steps and activations. Not thread-safe: one per call. */
    public final class Pass implements AutoCloseable {
        private final Tensor images;
        private final int batch;
        private final List<Buffer> owned = new ArrayList<>();
        private final TransformerBlock.Scratch blockScratch = new TransformerBlock.Scratch(backend);
        private List<StageOutput> stemStages = List.of();

        private Pass(Tensor images) {
            this.batch = batchOf(images);
            this.images = images;
        }

        /** The model this pass runs. */
        public VisionTransformer model() {
            return VisionTransformer.this;
        }

        /** A buffer owned by this pass (closed with it). */
        public Buffer scratch(long floats) {
            Buffer b = backend.allocate(floats);
            owned.add(b);
            return b;
        }

        /** Makes this pass close {@code state}'s buffer at the end, if it does not already. */
        public void adopt(TokenState state) {
            Buffer data = state.data();
            for (Buffer b : owned) {
                if (b == data) {
                    return;
                }
            }
            owned.add(data);
        }

        /** Patch embedding, prefix tokens and position embeddings (resized to the input's grid): the first state. */
        public TokenState embed() {
            return embed(patchEmbeddings(), null);
        }

        /** The input's grid of patches: {@code [rows, columns]}. */
        public int[] grid() {
            int p = config.patchSize();
            return new int[] {images.shape().intDim(2) / p, images.shape().intDim(3) / p};
        }

        /**
         * The patch embedding alone: {@code [batch * patches, dim]} in row-major grid order, no prefix tokens, no
         * position embedding (a two-stage method adds its own terms before {@link #embed(Buffer, Buffer)}).
         */
        public Buffer patchEmbeddings() {
            int c = config.inChannels();
            int h = images.shape().intDim(2);
            int w = images.shape().intDim(3);
            int p = config.patchSize();
            int patches = (h / p) * (w / p);
            int d = config.embedDim();
            if (stem != null || resnet != null) {
                float[] nhwc = Convolution.toChannelsLast(images.toFloatArray(), batch, c, h, w);
                Buffer pixels = backend.upload(nhwc, 0, nhwc.length);
                owned.add(pixels);
                Buffer embedded = scratch((long) batch * patches * d);
                if (stem != null) {
                    stem.run(backend, pixels, batch, h, w, embedded);
                } else {
                    stemStages = resnet.run(backend, pixels, batch, h, w, this::scratch, embedded);
                }
                return embedded;
            }
            Buffer pixels = backend.upload(images);
            owned.add(pixels);
            Buffer patchRows = scratch((long) batch * patches * c * p * p);
            backend.patchify(pixels, patchRows, batch, c, h, w, p);
            Buffer embedded = scratch((long) batch * patches * d);
            backend.linear(patchRows, 0, batch * patches, patchEmbed, embedded, 0, Epilogue.NONE);
            return embedded;
        }

        /**
         * The outputs of a ResNet stem's stages ({@link VitVariant.Stem#RESNET_V2}), stage 0 first, from this pass's
         * last {@link #patchEmbeddings()} (or {@link #embed()}): channels-last maps at strides 4, 8, 16, owned by this
         * pass. Empty for the other stems or before the patches are embedded.
         */
        public List<StageOutput> stemStages() {
            return stemStages;
        }

        /**
         * The first state from given patch embeddings ({@code [batch * patches, dim]} on this pass's grid): the prefix
         * tokens in front and {@code positions} ({@code [prefix + patches, dim]}, e.g. CF-ViT's coarse embedding)
         * added to every image; null {@code positions} takes the model's own, resized to the grid.
         */
        public TokenState embed(Buffer patchEmbeddings, Buffer positions) {
            int[] g = grid();
            int patches = g[0] * g[1];
            int d = config.embedDim();
            int prefixCount = config.prefixTokens();
            int tokens = prefixCount + patches;
            Buffer x = scratch((long) batch * tokens * d);
            backend.embedTokens(patchEmbeddings, prefix, prefixCount, positions == null ? positions(g[0], g[1])
                    : positions, x, batch, patches, d);
            return TokenState.initial(new TokenSequence(x, batch, tokens, d, prefixCount, g[0], g[1]));
        }

        /**
         * Runs blocks {@code from} (inclusive) to {@code to} (exclusive) on {@code state}, calling the reducer at each
         * of its points. States the reducer returns with new buffers become this pass's.
         */
        public TokenState blocks(TokenState state, int from, int to, TokenReducer reducer) {
            Objects.checkFromToIndex(from, to, blocks.size());
            TokenState s = state;
            for (int i = from; i < to; i++) {
                TransformerBlock block = blocks.get(i);
                AttentionOptions options = reducer.attention(i, s);
                if (options.queryRows() != null) {
                    s = checked(i, "attention", s.reduced(keptQueries(block, s, options), null, null));
                } else {
                    block.attend(backend, s.data(), batch, s.count(), blockScratch, options);
                }
                s = checked(i, "afterAttention", reducer.afterAttention(i, s, blockScratch));
                block.mlp(backend, s.data(), batch, s.count(), blockScratch);
                s = checked(i, "afterBlock", reducer.afterBlock(i, s));
            }
            return s;
        }

        /**
         * A block whose attention computes only some queries (Patch Slimming): the kept tokens leave it, in a new
         * buffer of this pass, with no grid (the prefix tokens must be among them, first).
         */
        private TokenSequence keptQueries(TransformerBlock block, TokenState s, AttentionOptions options) {
            int[] kept = options.queryRows();
            int prefixCount = s.prefixTokens();
            for (int p = 0; p < prefixCount; p++) {
                if (kept.length <= p || kept[p] != p) {
                    throw new IllegalStateException("a query subset must keep the " + prefixCount
                            + " prefix tokens first, got " + java.util.Arrays.toString(kept));
                }
            }
            Buffer out = scratch((long) batch * kept.length * config.embedDim());
            block.attendKept(backend, s.data(), batch, s.count(), blockScratch, options, out);
            return TokenSequence.withoutGrid(out, batch, kept.length, config.embedDim(), prefixCount);
        }

        private TokenState checked(int block, String point, TokenState next) {
            if (next.dim() != config.embedDim() || next.batch() != batch) {
                throw new IllegalStateException("token reduction at block " + block + " (" + point
                        + ") changed the batch or width: " + next);
            }
            adopt(next);
            return next;
        }

        /** The final LayerNorm over every token, into a new buffer of this pass. */
        public TokenState finalNorm(TokenState state) {
            long rows = (long) batch * state.count();
            Buffer normed = scratch(rows * config.embedDim());
            backend.layerNorm(state.data(), normed, Math.toIntExact(rows), config.embedDim(), normWeight, normBias,
                    config.normEps());
            TokenSequence t = state.tokens();
            return state.withTokens(new TokenSequence(normed, batch, t.tokens(), t.dim(), t.prefixTokens(),
                    t.gridHeight(), t.gridWidth()));
        }

        /**
         * Logits from the class token (and, for a distilled DeiT, the mean with the distillation head's), which
         * every reduction keeps at positions 0 (and 1): {@code [batch, numClasses]} on the host.
         */
        public Tensor classHead(TokenState state) {
            if (head == null) {
                throw new IllegalStateException("this model has no classifier head (0 classes)");
            }
            if (!config.classToken()) {
                throw new IllegalStateException("classification reads the class token, which this model does not"
                        + " have");
            }
            int classes = config.numClasses();
            int d = config.embedDim();
            int[] clsRows = new int[batch];
            int[] distRows = new int[batch];
            for (int b = 0; b < batch; b++) {
                clsRows[b] = b * state.count();
                distRows[b] = b * state.count() + 1;
            }
            // LayerNorm is per token, so normalising only the tokens the heads read gives the same logits.
            Buffer cls = scratch((long) batch * d);
            backend.gatherRows(state.data(), d, clsRows, cls);
            backend.layerNorm(cls, cls, batch, d, normWeight, normBias, config.normEps());
            Buffer logits = scratch((long) batch * classes);
            backend.linear(cls, 0, batch, head, logits, 0, Epilogue.NONE);
            if (headDist != null) {
                Buffer dist = scratch((long) batch * d);
                backend.gatherRows(state.data(), d, distRows, dist);
                backend.layerNorm(dist, dist, batch, d, normWeight, normBias, config.normEps());
                Buffer distLogits = scratch((long) batch * classes);
                backend.linear(dist, 0, batch, headDist, distLogits, 0, Epilogue.NONE);
                backend.addScaled(logits, distLogits, (long) batch * classes, 0.5f);
            }
            float[] out = new float[batch * classes];
            backend.download(logits, 0, out, 0, out.length);
            return Tensor.ofFloats(out, batch, classes);
        }

        @Override
        public void close() {
            blockScratch.close();
            for (Buffer b : owned) {
                b.close();
            }
            owned.clear();
        }
    }

    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return "VisionTransformer[" + config + " on " + backend.description() + "]";
    }
}
