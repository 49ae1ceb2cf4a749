package dev.hourglass.reduce.expedit;

import java.util.Objects;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.reduce.TokenState;
import dev.hourglass.vit.TokenSequence;

/**
 * Expedit applied to one forward call. As a {@link TokenReducer} it clusters the tokens leaving block
 * {@link ExpeditSettings#alpha()} (the prefix tokens are kept in front, the patch tokens become the cluster grid) and
 * remembers what the reconstruction needs: the patch tokens entering the clustering and the final centres. After the
 * call, {@link #reconstruct(Buffer, long, int)} (also {@link #restore}) maps any per-cluster output (decoder logits,
 * features) back to the full token grid, and {@link #reconstruct(TokenSequence)} does it for a token sequence. For
 * classification nothing is reconstructed: the head reads the class token (Expedit's SWAG integration).
 *
 * <p>One instance per call and per thread: it holds that call's state. Close it to free the saved tokens.
 */
public final class ExpeditPass implements TokenReducer {
    private final Backend backend;
    private final ExpeditKernels kernels;
    private final ExpeditSettings settings;
    private final boolean keepLabels;
    private Buffer before;
    private Buffer after;
    private int[] hardLabels;
    private int batch;
    private int dim;
    private int gridHeight;
    private int gridWidth;

    /**
     * @param keepLabels also compute each token's nearest final centre ({@link #hardLabels()}), for pictures of the
     *                   clusters; it costs a dense tokens x clusters distance pass
     */
    public ExpeditPass(Backend backend, ExpeditSettings settings, boolean keepLabels) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.kernels = ExpeditKernels.on(backend);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.keepLabels = keepLabels;
    }

    public ExpeditSettings settings() {
        return settings;
    }

    @Override
    public TokenState afterBlock(int block, TokenState state) {
        if (block != settings.blockIndex()) {
            return state;
        }
        TokenSequence tokens = state.tokens();
        if (!tokens.hasGrid()) {
            throw new IllegalStateException("Expedit clusters a token grid, but the tokens leaving block " + (block + 1)
                    + " form none (another reduction ran before it)");
        }
        if (before != null) {
            throw new IllegalStateException("an ExpeditPass serves one forward call; this one has clustered already");
        }
        batch = tokens.batch();
        dim = tokens.dim();
        gridHeight = tokens.gridHeight();
        gridWidth = tokens.gridWidth();
        int prefix = tokens.prefixTokens();
        int n = tokens.patchTokens();
        int m = settings.clusters();
        int outTokens = prefix + m;
        before = backend.allocate((long) batch * n * dim);
        after = backend.allocate((long) batch * m * dim);
        hardLabels = keepLabels ? new int[batch * n] : null;
        Buffer out = backend.allocate((long) batch * outTokens * dim);
        for (int b = 0; b < batch; b++) {
            long in = (long) b * tokens.tokens() * dim;
            long o = (long) b * outTokens * dim;
            backend.copy(tokens.data(), in + (long) prefix * dim, before, (long) b * n * dim, (long) n * dim);
            backend.copy(tokens.data(), in, out, o, (long) prefix * dim);
            kernels.clusterTokens(before, (long) b * n * dim, gridHeight, gridWidth, dim, settings.clustering(), after,
                    (long) b * m * dim, hardLabels, b * n);
            backend.copy(after, (long) b * m * dim, out, o + (long) prefix * dim, (long) m * dim);
        }
        int[] sources = null;
        if (hardLabels != null && state.isOriginal()) {
            sources = new int[hardLabels.length];
            for (int i = 0; i < sources.length; i++) {
                sources[i] = prefix + hardLabels[i];
            }
        }
        return state.reduced(new TokenSequence(out, batch, outTokens, dim, prefix, settings.clustersHigh(),
                settings.clustersWide()), null, sources);
    }

    /** Expedit's token reconstruction of a per-cluster output ({@link #reconstruct(Buffer, long, int)}). */
    @Override
    public Buffer restore(TokenState state, Buffer values, long offset, int channels) {
        return reconstruct(values, offset, channels);
    }

    /** Whether the call has reached the clustering block. */
    public boolean clustered() {
        return before != null;
    }

    /** Rows of the token grid before clustering. */
    public int tokenGridHeight() {
        requireClustered();
        return gridHeight;
    }

    /** Columns of the token grid before clustering. */
    public int tokenGridWidth() {
        requireClustered();
        return gridWidth;
    }

    /**
     * Each patch token's nearest final centre, {@code [batch, tokens]} (row-major in cluster-grid order), if asked
     * for at construction.
     */
    public int[] hardLabels() {
        requireClustered();
        if (hardLabels == null) {
            throw new IllegalStateException("hard labels were not asked for (keepLabels=false)");
        }
        return hardLabels.clone();
    }

    /**
     * The token reconstruction layer: {@code values} holds {@code [batch, clusters, channels]} from
     * {@code offset} (an output computed on the clustered tokens); returns a new buffer
     * {@code [batch, tokens, channels]} on the full grid, which the caller closes.
     */
    public Buffer reconstruct(Buffer values, long offset, int channels) {
        requireClustered();
        int n = gridHeight * gridWidth;
        int m = settings.clusters();
        Buffer out = backend.allocate((long) batch * n * channels);
        try {
            for (int b = 0; b < batch; b++) {
                kernels.reconstructTokens(values, offset + (long) b * m * channels, m, channels, before,
                        (long) b * n * dim, n, after, (long) b * m * dim, dim, effectiveK(m), settings.tauReconstruct(),
                        out, (long) b * n * channels);
            }
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    /**
     * A clustered token sequence brought back to the full grid: its prefix tokens as they are, its cluster tokens
     * reconstructed. The new sequence's buffer is the caller's to close.
     */
    public TokenSequence reconstruct(TokenSequence clustered) {
        requireClustered();
        if (clustered.patchTokens() != settings.clusters() || clustered.batch() != batch) {
            throw new IllegalArgumentException("expected " + batch + " images of " + settings.clusters()
                    + " cluster tokens, got " + clustered);
        }
        int prefix = clustered.prefixTokens();
        int c = clustered.dim();
        int m = settings.clusters();
        int n = gridHeight * gridWidth;
        Buffer values = backend.allocate((long) batch * m * c);
        Buffer out = backend.allocate((long) batch * (prefix + n) * c);
        try (Buffer unused = values) {
            for (int b = 0; b < batch; b++) {
                long in = (long) b * clustered.tokens() * c;
                backend.copy(clustered.data(), in + (long) prefix * c, values, (long) b * m * c, (long) m * c);
            }
            try (Buffer full = reconstruct(values, 0, c)) {
                for (int b = 0; b < batch; b++) {
                    long in = (long) b * clustered.tokens() * c;
                    long o = (long) b * (prefix + n) * c;
                    backend.copy(clustered.data(), in, out, o, (long) prefix * c);
                    backend.copy(full, (long) b * n * c, out, o + (long) prefix * c, (long) n * c);
                }
            }
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return new TokenSequence(out, batch, prefix + n, c, prefix, gridHeight, gridWidth);
    }

    private int effectiveK(int m) {
        // k beyond the number of clusters keeps them all, as topk over fewer values would have to.
        return settings.k() < 0 ? -1 : Math.min(settings.k(), m);
    }

    private void requireClustered() {
        if (before == null) {
            throw new IllegalStateException("the forward call has not reached block " + settings.alpha()
                    + " (alpha), so nothing was clustered");
        }
    }

    @Override
    public void close() {
        if (before != null) {
            before.close();
            after.close();
        }
    }
}
