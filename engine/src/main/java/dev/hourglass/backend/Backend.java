package dev.hourglass.backend;

import java.util.Optional;

import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.ConvTranspose2d;
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

    /**
     * Says that a model of about {@code flopsPerPass} (2 x multiply-adds of one forward pass) is about to run here, so
     * that the backend can ready its kernels before the first pass: the CPU backend has the JIT compile its Vector API
     * kernels ({@link dev.hourglass.kernels.Kernels#warmUp}). Changes no result. Default: nothing.
     */
    default void prepareFor(double flopsPerPass) {
    }

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
     * The window rows of a convolution over a channels-last input ({@code [batch, height, width, inChannels]}) into
     * {@code dst} ({@code [conv.rows(), conv.rowLength()]}, see {@link Conv2d#windows}); a {@link #linear} over them
     * with the reordered weights ({@link Convolution#weightRows}) is the convolution, channels-last.
     */
    default void im2col(Buffer src, Buffer dst, Conv2d conv) {
        im2col(src, conv, 0, conv.rows(), dst, 0);
    }

    /**
     * Window rows {@code [fromRow, toRow)} of a convolution over a channels-last input ({@link Conv2d#windows}),
     * written to {@code dst} from {@code dstOffset}: a band of {@link #im2col(Buffer, Buffer, Conv2d)}, so that a
     * large convolution never holds its whole window matrix. A backend without its own kernel runs this on the host
     * ({@link HostFallback}) and says so once.
     */
    default void im2col(Buffer src, Conv2d conv, long fromRow, long toRow, Buffer dst, long dstOffset) {
        HostFallback.im2col(this, src, conv, fromRow, toRow, dst, dstOffset);
    }

    /**
     * A convolution over channels-last activations: {@code src} is {@code [batch, height, width, inChannels]},
     * {@code dst} receives {@code [batch, outHeight, outWidth, outChannels]} (the layout of {@code conv}), as
     * {@code epilogue(conv2d(src, W) + b)}; with {@link Epilogue#RESIDUAL} {@code dst} holds the residual and is
     * updated in place. {@code dst} must not be {@code src}. The default ({@link GemmConvolutions}) is this backend's
     * {@link #linear} straight over the pixels for a 1x1 stride-1 unpadded convolution, and otherwise im2col and
     * {@link #linear} in bands of output rows whose window matrix holds at most
     * {@link GemmConvolutions#WINDOW_FLOATS} floats.
     *
     * @throws IllegalArgumentException if the weights are not a convolution's of {@code conv}'s sizes
     */
    default void conv2d(Buffer src, Conv2d conv, ConvWeights weights, Buffer dst, Epilogue epilogue) {
        GemmConvolutions.conv2d(this, src, conv, weights, dst, epilogue, GemmConvolutions.WINDOW_FLOATS);
    }

    /**
     * A transposed convolution with {@code kernel == stride} and no padding (DPT's {@code k4s4}, {@code k2s2}), with
     * its bias: {@code src} is {@code [batch, height, width, inChannels]}, {@code dst} receives
     * {@code [batch, height * kernel, width * kernel, outChannels]}. The default ({@link GemmConvolutions}) is one
     * {@link #linear} per band of input rows into {@code [pixels, kernel * kernel * out]} whose rows are scattered to
     * their output cells with {@link #copy2d}.
     *
     * @throws IllegalArgumentException if {@code kernel != stride}, or the weights are not a transposed convolution's
     *                                  of {@code shape}'s sizes
     */
    default void convTranspose2d(Buffer src, ConvTranspose2d shape, ConvWeights weights, Buffer dst) {
        GemmConvolutions.convTranspose2d(this, src, shape, weights, dst, GemmConvolutions.WINDOW_FLOATS);
    }

    /**
     * Bilinear resizing of channels-last maps {@code [batch, height, width, channels]} into {@code dst}
     * {@code [batch, outHeight, outWidth, channels]}, as PyTorch's {@code F.interpolate(mode="bilinear",
     * align_corners=alignCorners)} without antialias ({@link dev.hourglass.kernels.Kernels#resizeBilinear}).
     * {@code dst} must not be {@code src}. Host fallback by default.
     */
    default void resizeBilinear(Buffer src, Buffer dst, int batch, int height, int width, int channels, int outHeight,
                                int outWidth, boolean alignCorners) {
        HostFallback.resizeBilinear(this, src, dst, batch, height, width, channels, outHeight, outWidth, alignCorners);
    }

    /** {@code dst[i] = max(src[i], 0)} over the first {@code count} values; {@code dst} may be {@code src}. */
    default void relu(Buffer src, Buffer dst, long count) {
        HostFallback.relu(this, src, dst, count);
    }

    /**
     * Copies {@code rows} rows of {@code cols} floats: row {@code r} from {@code srcOffset + r * srcStride} of
     * {@code src} to {@code dstOffset + r * dstStride} of {@code dst}; the rest of {@code dst} is kept.
     * {@code srcStride == 0} repeats one source row (a broadcast: DPT's readout pairs every token with the class
     * token). Within one buffer, the source and destination ranges must not overlap. Host fallback by default.
     */
    default void copy2d(Buffer src, long srcOffset, int srcStride, Buffer dst, long dstOffset, int dstStride, int rows,
                        int cols) {
        HostFallback.copy2d(this, src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, cols);
    }

    /**
     * GroupNorm over channels-last activations {@code [batch, pixels, channels]} ({@code pixels = height * width}),
     * as PyTorch's {@code GroupNorm(groups, channels, eps)}: each image's group of {@code channels / groups} channels
     * is normalised by its mean and biased variance over all pixels, then scaled by {@code gamma} and shifted by
     * {@code beta} ({@code [channels]} each), then ReLU'd if {@code relu}. {@code dst} may be {@code src}. Host
     * fallback by default.
     */
    default void groupNorm(Buffer src, Buffer dst, int batch, int pixels, int channels, int groups, Buffer gamma,
                           Buffer beta, float eps, boolean relu) {
        HostFallback.groupNorm(this, src, dst, batch, pixels, channels, groups, gamma, beta, eps, relu);
    }

    /**
     * Max pooling of channels-last maps with {@code shape}'s kernel, stride and padding ({@code shape.outChannels()}
     * equal to {@code shape.inChannels()}; {@link Conv2d#same} for timm's {@code MaxPool2dSame}): padded cells are
     * -infinity, so they never win. {@code dst} receives {@code [batch, outHeight, outWidth, channels]} and must not
     * be {@code src}. Host fallback by default.
     */
    default void maxPool2d(Buffer src, Buffer dst, Conv2d shape) {
        HostFallback.maxPool2d(this, src, dst, shape);
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
