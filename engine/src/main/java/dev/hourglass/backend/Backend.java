package dev.hourglass.backend;

import java.util.Optional;

import dev.hourglass.ops.Convolution;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Where a model computes. Model code (ViT blocks, token reduction, decoders) is written against this interface only:
 * it never asks which device it runs on. Weights are prepared once ({@link #prepareLinear}, {@link #constant}) and
 * activations live in {@link Buffer}s owned by the backend, so a GPU implementation keeps both on the device for a
 * whole forward pass; data crosses to the host only through {@link #upload} and {@link #download}. An implementation
 * may queue operations; {@link #download} returns only after every operation before it has finished.
 *
 * <p>Buffer arguments name an offset in floats where an operation reads or writes more than one logical tensor in one
 * buffer. Implementations check sizes and throw {@link IllegalArgumentException} or
 * {@link IndexOutOfBoundsException} on a mismatch.
 *
 * <p>Thread safety: backends are thread-safe. Buffers are not: one forward pass uses its own buffers.
 */
public interface Backend extends AutoCloseable {

    /** Short name, as {@code --backend} takes it: {@code "cpu"}, {@code "tornado"}. */
    String name();

    /** One line: the device and how it computes, e.g. {@code "CPU, 2 threads, Vector API 512-bit"}. */
    String description();

    // ------------------------------------------------------------------ memory

    /**
     * A buffer of {@code floats} values whose contents are unspecified (as with device memory): write before reading.
     * Close it when done; a backend may recycle its memory.
     */
    Buffer allocate(long floats);

    /** A new buffer holding {@code values[offset, offset + count)}. */
    Buffer upload(float[] values, int offset, int count);

    /** A new buffer holding a tensor's values converted to float32 (any stored float type). */
    Buffer upload(Tensor tensor);

    /** Writes {@code count} values of {@code values} into {@code dst} at {@code dstOffset}. */
    void write(float[] values, int offset, int count, Buffer dst, long dstOffset);

    /** Copies {@code count} values from {@code src} at {@code srcOffset} to the host. */
    void download(Buffer src, long srcOffset, float[] dst, int dstOffset, int count);

    // ------------------------------------------------------------------ weights, prepared once per model

    /**
     * A new store for one model's weights. Everything prepared in it lives until it is closed, which frees it (device
     * memory, packed copies); the model that owns it closes it.
     */
    WeightStore newWeightStore();

    // ------------------------------------------------------------------ operations

    /** {@code out[rows, out] = epilogue(x[rows, in] W^T + b)}; with {@link Epilogue#RESIDUAL} out holds the residual. */
    void linear(Buffer x, long xOffset, int rows, LinearWeights layer, Buffer out, long outOffset, Epilogue epilogue);

    /** LayerNorm over the last dimension; {@code out} may be {@code x}. */
    void layerNorm(Buffer x, Buffer out, int rows, int dim, Buffer gamma, Buffer beta, float eps);

    /**
     * Multi-head self-attention over a fused qkv projection ({@code [batch * tokens, 3 * heads * headDim]}, timm's
     * q/k/v then head-major layout) into {@code out} ({@code [batch * tokens, heads * headDim]}).
     */
    void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim);

    /**
     * Cuts images ({@code [batch, channels, height, width]}) into non-overlapping {@code patch x patch} squares, one
     * row per patch in row-major grid order, each row ordered (channel, y, x) like a flattened convolution weight:
     * {@code [batch * (height/patch) * (width/patch), channels * patch * patch]}.
     */
    void patchify(Buffer images, Buffer patches, int batch, int channels, int height, int width, int patch);

    /**
     * Builds the token sequence of a ViT: for each image, the {@code prefixCount} prefix rows (class token, then
     * distillation token) followed by its {@code patches} patch embeddings, plus the position embedding
     * ({@code [prefixCount + patches, dim]}) added to every image.
     */
    void embedTokens(Buffer patchEmbeddings, Buffer prefix, int prefixCount, Buffer positions, Buffer out, int batch,
                     int patches, int dim);

    /**
     * The window rows of a convolution over a channels-last input ({@code [batch, height, width, channels]}) into
     * {@code dst} ({@code [conv.rows(), conv.rowLength()]}, see {@link Convolution#windows}); a {@link #linear} over
     * them with the reordered weights ({@link Convolution#weightRows}) is the convolution, channels-last. A backend
     * without its own kernel runs this on the host ({@link HostFallback}) and says so once.
     */
    default void im2col(Buffer src, Buffer dst, Convolution conv) {
        HostFallback.im2col(this, src, dst, conv);
    }

    /** {@code dst[i] = src[rows[i]]} for rows of {@code dim} values. */
    void gatherRows(Buffer src, int dim, int[] rows, Buffer dst);

    /** {@code x[i] = (x[i] + y[i]) * scale} over {@code count} values. */
    void addScaled(Buffer x, Buffer y, long count, float scale);

    /** Copies {@code count} values from {@code src} at {@code srcOffset} to {@code dst} at {@code dstOffset}. */
    void copy(Buffer src, long srcOffset, Buffer dst, long dstOffset, long count);

    /** Divides each of {@code rows} rows of {@code dim} values by its L2 norm (no epsilon, as Segmenter does). */
    void normalizeRows(Buffer x, long offset, int rows, int dim);

    /**
     * {@code out[rows, bRows] = a[rows, inner] b[bRows, inner]^T}, for products of two activations (a decoder's
     * patch-class scores); {@code b} is read as if it were a weight, so this costs one packing of {@code b}.
     */
    void matmulTransposed(Buffer a, long aOffset, int rows, Buffer b, long bOffset, int bRows, int inner, Buffer out,
                          long outOffset);

    /**
     * {@link #attention(Buffer, Buffer, int, int, int, int)} with what a token reduction adds: a per-key bias, a subset
     * of query rows, the class token's head-averaged attention row (see {@link AttentionOptions}). A backend without
     * its own kernel for these runs them on the host ({@link HostFallback}) and says so once.
     */
    default void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim,
                           AttentionOptions options) {
        if (options.isPlain()) {
            attention(qkv, out, batch, tokens, heads, headDim);
        } else {
            HostFallback.attention(this, qkv, out, batch, tokens, heads, headDim, options);
        }
    }

    /**
     * A method-specific set of device operations (such as Expedit's clustering kernels), if this backend has it.
     * Methods ask for their extension and run the step on the host without one, so a new method works on every
     * backend first and gets faster where someone writes the kernel. The default finds extensions the backend class
     * implements itself.
     */
    default <T> Optional<T> extension(Class<T> type) {
        return type.isInstance(this) ? Optional.of(type.cast(this)) : Optional.empty();
    }

    /** Releases what the backend holds (threads, device memory). Buffers it made are unusable afterwards. */
    @Override
    void close();
}
