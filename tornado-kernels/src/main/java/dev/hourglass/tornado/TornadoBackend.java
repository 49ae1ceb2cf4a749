package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.GemmConvolutions;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Conv2d;
import dev.hourglass.ops.ConvTranspose2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.reduce.expedit.ExpeditKernels;
import dev.hourglass.tensor.Tensor;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The TornadoVM backend. Operations are not run one by one: each call records a kernel launch, and the recorded
 * launches run as one TornadoVM task graph when the host needs a result ({@link #download}, or a host write into an
 * array a recorded launch uses). A forward pass therefore becomes one execution plan: weights are sent to the device
 * on its first execution only, activations stay in device memory from block to block, and only what the host reads
 * comes back. Plans are cached by the sequence of launches (kernels, sizes and arrays), so the second forward pass of
 * the same model and batch size reuses the compiled plan; buffers come from a pool so that the same pass gets the same
 * arrays. The first execution of a plan compiles its kernels (JIT through Graal, then the OpenCL, PTX or SPIR-V
 * driver): warm up before timing.
 *
 * <p>Thread safety: every method is synchronized; concurrent forward passes are serialised.
 */
public final class TornadoBackend implements Backend, ExpeditKernels {
    /**
     * TornadoVM's own bytecode for a task graph lives in a buffer of this many bytes (its default, 4 KiB, holds about
     * a dozen launches; a ViT-B forward is over a hundred). Read once, when TornadoVM compiles its first graph, so it
     * is set before; a value the user passes with {@code -Dtornado.tvm.maxbytecodesize} wins.
     */
    private static final String BYTECODE_SIZE_PROPERTY = "tornado.tvm.maxbytecodesize";

    static {
        if (System.getProperty(BYTECODE_SIZE_PROPERTY) == null) {
            System.setProperty(BYTECODE_SIZE_PROPERTY, Integer.toString(1 << 20));
        }
    }

    /** Bytes of TornadoVM's graph description a plan may use: its fixed 8 KiB buffer, less a margin. */
    private static final int GRAPH_CODE_BUDGET = 8192 - 512;

    /**
     * Plans kept compiled; the least recently used are freed beyond this. Each plan holds its own device copy of the
     * weights it uses (TornadoVM keeps device buffers per plan), so this also bounds device memory: a model run two
     * ways (plain and with Expedit, two batch sizes) holds its weights twice.
     */
    private static final int MAX_PLANS = 16;

    /**
     * Floats of one band of a convolution's window matrix (or a transposed convolution's product) on the device:
     * 32 Mi (128 MiB), so that DPT's largest convolution (3x3 over 384 x 384 x 128 at batch 1, 680 MB of windows) is
     * six launches of im2col and GEMM, not the hundreds the CPU's cache-sized bands would make.
     */
    static final long DEVICE_WINDOW_FLOATS = 1L << 25;

    private final TornadoDevice device;
    private final List<Step> pending = new ArrayList<>();
    private final Set<DeviceArray> pendingArrays = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<Integer, TreeSet<DeviceArray>> pool = new HashMap<>();
    private long serials;
    private final Map<IntsKey, DeviceArray> indexTables = new HashMap<>();
    private final Map<CellGrid, DeviceArray[]> cellTables = new HashMap<>();
    private final Map<Integer, DeviceArray> labelArrays = new HashMap<>();
    private final LinkedHashMap<String, List<CachedPlan>> plans = new LinkedHashMap<>(16, 0.75f, true);
    private final DeviceArray noBias;
    private int planCount;
    private long executions;
    private boolean closed;

    /** A backend on TornadoVM's default device ({@code -Dtornado.device} style selection is TornadoVM's own). */
    public TornadoBackend() {
        this(TornadoExecutionPlan.DEFAULT_DEVICE);
    }

    public TornadoBackend(TornadoDevice device) {
        this.device = Objects.requireNonNull(device, "device");
        this.noBias = constantArray(new float[1]);
    }

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public String description() {
        String physical = device.getPhysicalDevice() == null ? "" : device.getPhysicalDevice().getDeviceName().trim();
        return "TornadoVM " + device.getTornadoVMBackend() + " " + device.getDeviceName().trim() + ", "
                + (physical.isEmpty() ? "" : physical + " ") + "(" + device.getPlatformName().trim() + ")";
    }

    /** Task graphs built and compiled so far (each is one plan). */
    public synchronized int plansBuilt() {
        return planCount;
    }

    /** Plan executions so far. */
    public synchronized long executions() {
        return executions;
    }

    // ------------------------------------------------------------------ memory

    @Override
    public synchronized Buffer allocate(long floats) {
        return new TornadoBuffer(this, take(length(floats)), floats);
    }

    @Override
    public synchronized Buffer upload(float[] values, int offset, int count) {
        Objects.checkFromIndexSize(offset, count, values.length);
        DeviceArray a = take(count);
        hostWrite(a, values, offset, count, 0);
        return new TornadoBuffer(this, a, count);
    }

    @Override
    public synchronized Buffer upload(Tensor tensor) {
        float[] values = new float[length(tensor.elementCount())];
        tensor.copyToFloats(0, values, 0, values.length);
        return upload(values, 0, values.length);
    }

    @Override
    public synchronized void write(float[] values, int offset, int count, Buffer dst, long dstOffset) {
        Objects.checkFromIndexSize(offset, count, values.length);
        TornadoBuffer b = buffer(dst);
        Objects.checkFromIndexSize(dstOffset, count, b.size());
        hostWrite(b.array(), values, offset, count, dstOffset);
    }

    @Override
    public synchronized void download(Buffer src, long srcOffset, float[] dst, int dstOffset, int count) {
        TornadoBuffer b = buffer(src);
        Objects.checkFromIndexSize(srcOffset, count, b.size());
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        DeviceArray a = b.array();
        if (pendingArrays.contains(a)) {
            flush();
        }
        a.syncToHost();
        MemorySegment.copy(((FloatArray) a.data).getSegment(), ValueLayout.JAVA_FLOAT, srcOffset * Float.BYTES, dst,
                dstOffset, count);
    }

    @Override
    public WeightStore newWeightStore() {
        return new TornadoWeightStore(this);
    }

    // ------------------------------------------------------------------ operations

    @Override
    public synchronized void linear(Buffer x, long xOffset, int rows, LinearWeights layer, Buffer out, long outOffset,
                                    Epilogue epilogue) {
        if (!(layer instanceof TornadoWeightStore.Linear l)) {
            throw new IllegalArgumentException("linear weights " + layer + " were not prepared by the TornadoVM backend");
        }
        DeviceArray bias = l.bias() == null ? noBias : l.bias();
        gemm(array(x, xOffset + (long) rows * l.inFeatures(), "linear input"), off(xOffset), l.weight(), 0, bias,
                l.bias() == null ? 0 : 1, array(out, outOffset + (long) rows * l.outFeatures(), "linear output"),
                off(outOffset), rows, l.outFeatures(), l.inFeatures(), epilogue.ordinal());
    }

    private void gemm(DeviceArray a, int aOffset, DeviceArray w, int wOffset, DeviceArray bias, int hasBias,
                      DeviceArray c, int cOffset, int rows, int n, int k, int epilogue) {
        FloatArray fa = (FloatArray) a.data;
        FloatArray fw = (FloatArray) w.data;
        FloatArray fb = (FloatArray) bias.data;
        FloatArray fc = (FloatArray) c.data;
        // The residual is read; so is an output written only in part (a band of a convolution): a plan that writes
        // part of an array without reading it would bring back garbage for the rest, written by an earlier plan.
        boolean partial = (long) rows * n < c.length();
        List<DeviceArray> reads = epilogue == TornadoKernels.EPILOGUE_RESIDUAL || partial ? List.of(a, w, bias, c)
                : List.of(a, w, bias);
        record(new Step("gemm", scalars(aOffset, wOffset, hasBias, cOffset, rows, n, k, epilogue), reads, List.of(c),
                gemmGrid(n, rows),
                (g, id, ctx) -> g.task(id, TornadoKernels::gemm, ctx, fa, aOffset, fw, wOffset, fb, hasBias, fc,
                        cOffset, rows, n, k, epilogue)));
    }

    @Override
    public synchronized void layerNorm(Buffer x, Buffer out, int rows, int dim, Buffer gamma, Buffer beta, float eps) {
        long n = (long) rows * dim;
        DeviceArray xa = array(x, n, "layer norm input");
        DeviceArray oa = array(out, n, "layer norm output");
        DeviceArray ga = array(gamma, dim, "layer norm weight");
        DeviceArray ba = array(beta, dim, "layer norm bias");
        FloatArray fx = (FloatArray) xa.data;
        FloatArray fo = (FloatArray) oa.data;
        FloatArray fg = (FloatArray) ga.data;
        FloatArray fb = (FloatArray) ba.data;
        record(new Step("layerNorm", scalars(rows, dim, Float.floatToIntBits(eps)), List.of(xa, ga, ba), List.of(oa),
                groups(rows, TornadoKernels.ROW_GROUP),
                (g, id, ctx) -> g.task(id, TornadoKernels::layerNorm, ctx, fx, fo, fg, fb, dim, eps)));
    }

    @Override
    public synchronized void attention(Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim) {
        long rows = (long) batch * tokens;
        DeviceArray q = array(qkv, rows * 3 * heads * headDim, "attention qkv");
        DeviceArray o = array(out, rows * heads * headDim, "attention output");
        int groups = Math.multiplyExact(Math.multiplyExact(batch, heads), tokens);
        DeviceArray scores = take(Math.multiplyExact(groups, tokens));
        float scale = (float) (1.0 / Math.sqrt(headDim));
        FloatArray fq = (FloatArray) q.data;
        FloatArray fo = (FloatArray) o.data;
        FloatArray fs = (FloatArray) scores.data;
        record(new Step("attention", scalars(batch, tokens, heads, headDim), List.of(q), List.of(scores, o),
                groups(groups, TornadoKernels.ROW_GROUP),
                (g, id, ctx) -> g.task(id, TornadoKernels::attention, ctx, fq, fo, fs, tokens, heads, headDim, scale)));
        release(scores);
    }

    @Override
    public synchronized void patchify(Buffer images, Buffer patches, int batch, int channels, int height, int width,
                                      int patch) {
        if (patch < 1 || height % patch != 0 || width % patch != 0) {
            throw new IllegalArgumentException("image " + height + "x" + width + " is not a multiple of the patch size "
                    + patch);
        }
        int total = Math.multiplyExact(Math.multiplyExact(batch, channels), height * width);
        DeviceArray src = array(images, total, "images");
        DeviceArray dst = array(patches, total, "patches");
        FloatArray fs = (FloatArray) src.data;
        FloatArray fd = (FloatArray) dst.data;
        record(new Step("patchify", scalars(channels, height, width, patch, total), List.of(src), List.of(dst),
                flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::patchify, ctx, fs, fd, channels, height, width, patch,
                        total)));
    }

    @Override
    public synchronized void embedTokens(Buffer patchEmbeddings, Buffer prefix, int prefixCount, Buffer positions,
                                         Buffer out, int batch, int patches, int dim) {
        int tokens = prefixCount + patches;
        int total = Math.multiplyExact(Math.multiplyExact(batch, tokens), dim);
        DeviceArray emb = array(patchEmbeddings, (long) batch * patches * dim, "patch embeddings");
        DeviceArray pre = prefixCount == 0 ? noBias : array(prefix, (long) prefixCount * dim, "prefix tokens");
        DeviceArray pos = array(positions, (long) tokens * dim, "position embedding");
        DeviceArray dst = array(out, total, "tokens");
        FloatArray fe = (FloatArray) emb.data;
        FloatArray fp = (FloatArray) pre.data;
        FloatArray fpos = (FloatArray) pos.data;
        FloatArray fd = (FloatArray) dst.data;
        record(new Step("embedTokens", scalars(prefixCount, patches, dim, total), List.of(emb, pre, pos), List.of(dst),
                flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::embedTokens, ctx, fe, fp, fpos, fd, prefixCount, patches,
                        dim, total)));
    }

    @Override
    public synchronized void gatherRows(Buffer src, int dim, int[] rows, Buffer dst) {
        TornadoBuffer s = buffer(src);
        for (int r : rows) {
            if (r < 0 || (long) (r + 1) * dim > s.size()) {
                throw new IndexOutOfBoundsException("row " + r + " of " + dim + " values outside a buffer of "
                        + s.size());
            }
        }
        int total = Math.multiplyExact(rows.length, dim);
        DeviceArray sa = s.array();
        DeviceArray da = array(dst, total, "gather destination");
        DeviceArray index = indexTable(rows);
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        IntArray fi = (IntArray) index.data;
        record(new Step("gatherRows", scalars(dim, total), List.of(sa, index), List.of(da), flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::gatherRows, ctx, fs, fi, fd, dim, total)));
    }

    @Override
    public synchronized void addScaled(Buffer x, Buffer y, long count, float scale) {
        int total = length(count);
        DeviceArray xa = array(x, total, "x");
        DeviceArray ya = array(y, total, "y");
        FloatArray fx = (FloatArray) xa.data;
        FloatArray fy = (FloatArray) ya.data;
        record(new Step("addScaled", scalars(total, Float.floatToIntBits(scale)), List.of(xa, ya), List.of(xa),
                flat(total), (g, id, ctx) -> g.task(id, TornadoKernels::addScaled, ctx, fx, fy, scale, total)));
    }

    @Override
    public synchronized void copy(Buffer src, long srcOffset, Buffer dst, long dstOffset, long count) {
        int total = length(count);
        DeviceArray sa = array(src, srcOffset + count, "copy source");
        DeviceArray da = array(dst, dstOffset + count, "copy destination");
        copyArray(sa, off(srcOffset), da, off(dstOffset), total);
    }

    private void copyArray(DeviceArray sa, int srcOffset, DeviceArray da, int dstOffset, int total) {
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        // A partial copy keeps the rest of the destination: it is read as well as written.
        List<DeviceArray> reads = total < da.length() ? List.of(sa, da) : List.of(sa);
        record(new Step("copy", scalars(srcOffset, dstOffset, total), reads, List.of(da), flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::copy, ctx, fs, srcOffset, fd, dstOffset, total)));
    }

    // ------------------------------------------------------------------ convolutions and feature maps

    /** Banded im2col ({@link #im2col(Buffer, Conv2d, long, long, Buffer, long)}) and the GEMM, in device-sized bands. */
    @Override
    public synchronized void conv2d(Buffer src, Conv2d conv, ConvWeights weights, Buffer dst, Epilogue epilogue) {
        GemmConvolutions.conv2d(this, src, conv, weights, dst, epilogue, DEVICE_WINDOW_FLOATS);
    }

    @Override
    public synchronized void im2col(Buffer src, Conv2d conv, long fromRow, long toRow, Buffer dst, long dstOffset) {
        if (fromRow < 0 || toRow < fromRow || toRow > conv.rows()) {
            throw new IllegalArgumentException("im2col: rows [" + fromRow + ", " + toRow + ") outside [0, "
                    + conv.rows() + ")");
        }
        int total = length((toRow - fromRow) * conv.rowLength());
        DeviceArray sa = array(src, conv.inputSize(), "convolution input");
        DeviceArray da = array(dst, dstOffset + total, "convolution windows");
        if (sa == da) {
            throw new IllegalArgumentException("im2col: input and windows are the same buffer");
        }
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        int o = off(dstOffset);
        int first = off(fromRow);
        int h = conv.height();
        int w = conv.width();
        int c = conv.inChannels();
        int k = conv.kernel();
        int stride = conv.stride();
        int top = conv.padTop();
        int left = conv.padLeft();
        int ow = conv.outWidth();
        int pixels = conv.outHeight() * ow;
        record(new Step("im2col", scalars(o, first, h, w, c, k, stride, top, left, ow, pixels, total),
                total < da.length() ? List.of(sa, da) : List.of(sa), List.of(da), flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::im2col, ctx, fs, fd, o, first, h, w, c, k, stride, top,
                        left, ow, pixels, total)));
    }

    /**
     * One GEMM per band of input rows into a product array, then one {@link TornadoKernels#scatterBlocks} launch that
     * puts each pixel's {@code kernel x kernel} cells in place.
     */
    @Override
    public synchronized void convTranspose2d(Buffer src, ConvTranspose2d shape, ConvWeights weights, Buffer dst) {
        GemmConvolutions.check(shape, weights);
        if (src == dst) {
            throw new IllegalArgumentException("convTranspose2d: src and dst must be different buffers");
        }
        int w = shape.width();
        int in = shape.inChannels();
        int k = shape.kernel();
        int out = shape.outChannels();
        int imageRows = shape.batch() * shape.height();
        long perRow = (long) w * shape.cellsPerPixel();
        int band = (int) Math.max(1, Math.min(imageRows, DEVICE_WINDOW_FLOATS / perRow));
        array(src, shape.inputSize(), "transposed convolution input");
        DeviceArray da = array(dst, shape.outputSize(), "transposed convolution output");
        FloatArray fd = (FloatArray) da.data;
        try (Buffer product = allocate(band * perRow)) {
            DeviceArray pa = buffer(product).array();
            FloatArray fp = (FloatArray) pa.data;
            for (int q0 = 0; q0 < imageRows; q0 += band) {
                int n = Math.min(band, imageRows - q0);
                linear(src, (long) q0 * w * in, n * w, weights.gemm(), product, 0, Epilogue.NONE);
                int first = q0 * w;
                int total = length(n * perRow);
                record(new Step("scatterBlocks", scalars(first, w, k, out, total), List.of(pa, da), List.of(da),
                        flat(total), (g, id, ctx) -> g.task(id, TornadoKernels::scatterBlocks, ctx, fp, fd, first, w,
                        k, out, total)));
            }
        }
    }

    @Override
    public synchronized void relu(Buffer src, Buffer dst, long count) {
        int total = length(count);
        DeviceArray sa = array(src, count, "relu input");
        DeviceArray da = array(dst, count, "relu output");
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        record(new Step("relu", scalars(total), sa != da && total < da.length() ? List.of(sa, da) : List.of(sa),
                List.of(da), flat(total), (g, id, ctx) -> g.task(id, TornadoKernels::relu, ctx, fs, fd, total)));
    }

    @Override
    public synchronized void copy2d(Buffer src, long srcOffset, int srcStride, Buffer dst, long dstOffset,
                                    int dstStride, int rows, int cols) {
        if (rows < 0 || cols < 0 || srcStride < 0 || (srcStride != 0 && srcStride < cols && rows > 1)
                || (dstStride < cols && rows > 1)) {
            throw new IllegalArgumentException("copy2d: " + rows + " rows of " + cols + " values with strides "
                    + srcStride + " (0 or at least the row length) and " + dstStride + " (at least the row length)");
        }
        if (rows == 0 || cols == 0) {
            return;
        }
        long srcExtent = (long) (rows - 1) * srcStride + cols;
        long dstExtent = (long) (rows - 1) * dstStride + cols;
        DeviceArray sa = array(src, srcOffset + srcExtent, "copy2d source");
        DeviceArray da = array(dst, dstOffset + dstExtent, "copy2d destination");
        if (sa == da && srcOffset < dstOffset + dstExtent && dstOffset < srcOffset + srcExtent) {
            throw new IllegalArgumentException("copy2d: source and destination overlap");
        }
        int total = length((long) rows * cols);
        int so = off(srcOffset);
        int doff = off(dstOffset);
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        // The rows between the copied ones are kept: the destination is read as well as written.
        record(new Step("copy2d", scalars(so, srcStride, doff, dstStride, cols, total), List.of(sa, da), List.of(da),
                flat(total), (g, id, ctx) -> g.task(id, TornadoKernels::copy2d, ctx, fs, so, srcStride, fd, doff,
                dstStride, cols, total)));
    }

    @Override
    public synchronized void resizeBilinear(Buffer src, Buffer dst, int batch, int height, int width, int channels,
                                            int outHeight, int outWidth, boolean alignCorners) {
        if (batch < 1 || height < 1 || width < 1 || channels < 1 || outHeight < 1 || outWidth < 1) {
            throw new IllegalArgumentException("resizeBilinear: sizes must be positive: batch=" + batch + " height="
                    + height + " width=" + width + " channels=" + channels + " outHeight=" + outHeight + " outWidth="
                    + outWidth);
        }
        long n = (long) batch * outHeight * outWidth * channels;
        int total = length(n);
        DeviceArray sa = array(src, (long) batch * height * width * channels, "resize input");
        DeviceArray da = array(dst, n, "resize output");
        if (sa == da) {
            throw new IllegalArgumentException("resizeBilinear: src and dst are the same buffer");
        }
        // The scales as the CPU kernel computes them, in float32.
        float scaleY = alignCorners ? (outHeight > 1 ? (float) (height - 1) / (outHeight - 1) : 0f)
                : (float) height / outHeight;
        float scaleX = alignCorners ? (outWidth > 1 ? (float) (width - 1) / (outWidth - 1) : 0f)
                : (float) width / outWidth;
        int align = alignCorners ? 1 : 0;
        FloatArray fs = (FloatArray) sa.data;
        FloatArray fd = (FloatArray) da.data;
        record(new Step("resizeBilinear", scalars(height, width, channels, outHeight, outWidth,
                Float.floatToIntBits(scaleY), Float.floatToIntBits(scaleX), align, total),
                total < da.length() ? List.of(sa, da) : List.of(sa), List.of(da), flat(total),
                (g, id, ctx) -> g.task(id, TornadoKernels::resizeBilinear, ctx, fs, fd, height, width, channels,
                        outHeight, outWidth, scaleY, scaleX, align, total)));
    }

    @Override
    public synchronized void normalizeRows(Buffer x, long offset, int rows, int dim) {
        DeviceArray xa = array(x, offset + (long) rows * dim, "rows");
        int o = off(offset);
        FloatArray fx = (FloatArray) xa.data;
        record(new Step("normalizeRows", scalars(o, rows, dim), List.of(xa), List.of(xa),
                groups(rows, TornadoKernels.ROW_GROUP),
                (g, id, ctx) -> g.task(id, TornadoKernels::normalizeRows, ctx, fx, o, dim)));
    }

    @Override
    public synchronized void matmulTransposed(Buffer a, long aOffset, int rows, Buffer b, long bOffset, int bRows,
                                              int inner, Buffer out, long outOffset) {
        gemm(array(a, aOffset + (long) rows * inner, "a"), off(aOffset), array(b, bOffset + (long) bRows * inner, "b"),
                off(bOffset), noBias, 0, array(out, outOffset + (long) rows * bRows, "product"), off(outOffset), rows,
                bRows, inner, TornadoKernels.EPILOGUE_NONE);
    }

    @Override
    public synchronized void clusterTokens(Buffer tokens, long offset, int gridHeight, int gridWidth, int dim,
                                           ClusteringParameters p, Buffer centres, long centresOffset,
                                           int[] hardLabels, int labelsOffset) {
        int n = Math.multiplyExact(gridHeight, gridWidth);
        int h = p.clustersHigh();
        int w = p.clustersWide();
        int m = p.clusters();
        int r = p.window() / 2;
        int slots = (2 * r + 1) * (2 * r + 1);
        float tau = p.temperature();
        int xOffset = off(offset);
        DeviceArray x = array(tokens, offset + (long) n * dim, "tokens to cluster");
        DeviceArray out = array(centres, centresOffset + (long) m * dim, "centres");
        if (hardLabels != null) {
            Objects.checkFromIndexSize(labelsOffset, n, hardLabels.length);
        }
        // The cells and their tokens depend on the sizes only: index tables shared by every call.
        DeviceArray[] cells = cellTables.computeIfAbsent(new CellGrid(gridHeight, gridWidth, h, w), k -> {
            int[][] t = cellTables(k.gh(), k.gw(), k.h(), k.w());
            return new DeviceArray[] {indexTable(t[0]), indexTable(t[1]), indexTable(t[2])};
        });
        DeviceArray cellOf = cells[0];
        DeviceArray cellStart = cells[1];
        DeviceArray cellTokens = cells[2];
        DeviceArray s = take(m * dim);
        DeviceArray next = take(m * dim);
        DeviceArray xx = take(n);
        DeviceArray ss = take(m);
        DeviceArray affinity = take(Math.multiplyExact(n, slots));
        FloatArray fx = (FloatArray) x.data;
        FloatArray fs = (FloatArray) s.data;
        FloatArray fnext = (FloatArray) next.data;
        FloatArray fxx = (FloatArray) xx.data;
        FloatArray fss = (FloatArray) ss.data;
        FloatArray faff = (FloatArray) affinity.data;
        IntArray fcellOf = (IntArray) cellOf.data;
        IntArray fcellStart = (IntArray) cellStart.data;
        IntArray fcellTokens = (IntArray) cellTokens.data;
        int md = m * dim;
        record(new Step("averagePool", scalars(xOffset, gridHeight, gridWidth, dim, h, w), List.of(x), List.of(s),
                flat(md), (g, id, ctx) -> g.task(id, TornadoKernels::averagePool, ctx, fx, xOffset, gridHeight,
                gridWidth, dim, h, w, fs, md)));
        rowSquares(x, xOffset, dim, n, xx);
        for (int iter = 0; iter < p.iterations(); iter++) {
            rowSquares(s, 0, dim, m, ss);
            record(new Step("clusterAffinity", scalars(xOffset, n, dim, h, w, r, Float.floatToIntBits(tau)),
                    List.of(x, xx, s, ss, cellOf), List.of(affinity), flat(n),
                    (g, id, ctx) -> g.task(id, TornadoKernels::clusterAffinity, ctx, fx, xOffset, fxx, fs, fss,
                            fcellOf, faff, n, dim, h, w, r, tau)));
            record(new Step("clusterUpdate", scalars(xOffset, dim, h, w, r, md),
                    List.of(x, affinity, cellStart, cellTokens), List.of(next), flat(md),
                    (g, id, ctx) -> g.task(id, TornadoKernels::clusterUpdate, ctx, fx, xOffset, faff, fcellStart,
                            fcellTokens, fnext, dim, h, w, r, md)));
            copyArray(next, 0, s, 0, md);
        }
        copyArray(s, 0, out, off(centresOffset), md);
        if (hardLabels != null) {
            DeviceArray labels = labelArrays.computeIfAbsent(n, k -> new DeviceArray(new IntArray(k), false, serials++));
            IntArray fl = (IntArray) labels.data;
            rowSquares(s, 0, dim, m, ss);
            record(new Step("hardLabels", scalars(xOffset, n, m, dim), List.of(x, xx, s, ss), List.of(labels),
                    flat(n), (g, id, ctx) -> g.task(id, TornadoKernels::hardLabels, ctx, fx, xOffset, fxx, fs, fss,
                    fl, n, m, dim)));
            flush();
            labels.syncToHost();
            MemorySegment.copy(fl.getSegment(), ValueLayout.JAVA_INT, 0, hardLabels, labelsOffset, n);
        }
        release(s);
        release(next);
        release(xx);
        release(ss);
        release(affinity);
    }

    /** {@code out[r] = |src[offset + r * dim ...]|²} for {@code rows} rows. */
    private void rowSquares(DeviceArray src, int offset, int dim, int rows, DeviceArray out) {
        FloatArray fs = (FloatArray) src.data;
        FloatArray fo = (FloatArray) out.data;
        record(new Step("rowSquares", scalars(offset, dim, rows), List.of(src), List.of(out), flat(rows),
                (g, id, ctx) -> g.task(id, TornadoKernels::rowSquares, ctx, fs, offset, dim, fo, rows)));
    }

    @Override
    public synchronized void reconstructTokens(Buffer values, long valuesOffset, int clusters, int channels,
                                               Buffer before, long beforeOffset, int tokens, Buffer after,
                                               long afterOffset, int dim, int topK, float temperature, Buffer out,
                                               long outOffset) {
        int m = clusters;
        int n = tokens;
        DeviceArray va = array(values, valuesOffset + (long) m * channels, "cluster values");
        DeviceArray ba = array(before, beforeOffset + (long) n * dim, "tokens before clustering");
        DeviceArray aa = array(after, afterOffset + (long) m * dim, "centres");
        DeviceArray oa = array(out, outOffset + (long) n * channels, "reconstructed tokens");
        DeviceArray ff = take(n);
        DeviceArray gg = take(m);
        DeviceArray weights = take(Math.multiplyExact(n, m));
        int bOff = off(beforeOffset);
        int aOff = off(afterOffset);
        int vOff = off(valuesOffset);
        int oOff = off(outOffset);
        float negTau = -temperature;
        FloatArray fv = (FloatArray) va.data;
        FloatArray fo = (FloatArray) oa.data;
        FloatArray fff = (FloatArray) ff.data;
        FloatArray fgg = (FloatArray) gg.data;
        FloatArray fw = (FloatArray) weights.data;
        rowSquares(ba, bOff, dim, n, ff);
        rowSquares(aa, aOff, dim, m, gg);
        gemm(ba, bOff, aa, aOff, noBias, 0, weights, 0, n, m, dim, TornadoKernels.EPILOGUE_NONE);
        record(new Step("reconstructionWeights", scalars(n, m, topK, Float.floatToIntBits(negTau)),
                List.of(weights, ff, gg), List.of(weights), flat(n),
                (g, id, ctx) -> g.task(id, TornadoKernels::reconstructionWeights, ctx, fw, fff, fgg, n, m, topK,
                        negTau)));
        record(new Step("weightedSum", scalars(vOff, oOff, n, m, channels), List.of(weights, va), List.of(oa),
                grid2d(channels, n),
                (g, id, ctx) -> g.task(id, TornadoKernels::weightedSum, ctx, fw, fv, vOff, fo, oOff, n, m,
                        channels)));
        release(ff);
        release(gg);
        release(weights);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        pending.clear();
        pendingArrays.clear();
        for (List<CachedPlan> list : plans.values()) {
            for (CachedPlan p : list) {
                p.free();
            }
        }
        plans.clear();
        pool.clear();
    }

    @Override
    public String toString() {
        return description();
    }

    // ------------------------------------------------------------------ recording and execution

    /** Adds one kernel launch to the graph being recorded. */
    private void record(Step step) {
        if (closed) {
            throw new IllegalStateException("the TornadoVM backend is closed");
        }
        pending.add(step);
        pendingArrays.addAll(step.reads());
        pendingArrays.addAll(step.writes());
    }

    /** Runs what was recorded: one plan, compiled on first use and reused for the same launches on the same arrays. */
    private void flush() {
        if (pending.isEmpty()) {
            return;
        }
        List<Step> steps = List.copyOf(pending);
        pending.clear();
        pendingArrays.clear();
        // TornadoVM 5.2 describes a task graph in a fixed 8 KiB buffer (TornadoTaskGraph.highLevelCode): 15 bytes per
        // task and 5 per argument. Longer recordings run as consecutive plans; an array one plan writes and the next
        // reads goes through host memory between them. (Counting arrays that are read and written twice makes the
        // estimate a little high, never low.)
        int start = 0;
        int bytes = 0;
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            int cost = 15 + 5 * (1 + s.scalars().length + s.reads().size() + s.writes().size());
            if (i > start && bytes + cost > GRAPH_CODE_BUDGET) {
                run(steps.subList(start, i));
                start = i;
                bytes = 0;
            }
            bytes += cost;
        }
        run(steps.subList(start, steps.size()));
    }

    /** Runs consecutive launches as one plan. */
    private void run(List<Step> steps) {
        IdentityHashMap<DeviceArray, Integer> ids = new IdentityHashMap<>();
        List<DeviceArray> order = new ArrayList<>();
        List<DeviceArray> constants = new ArrayList<>();
        List<DeviceArray> inputs = new ArrayList<>();
        List<DeviceArray> outputs = new ArrayList<>();
        Set<DeviceArray> written = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        StringBuilder key = new StringBuilder();
        for (Step s : steps) {
            key.append(s.kernel()).append(Arrays.toString(s.scalars()));
            for (DeviceArray a : s.reads()) {
                key.append('r').append(id(a, ids, order));
                if (!written.contains(a) && !constants.contains(a) && !inputs.contains(a)) {
                    (a.constant ? constants : inputs).add(a);
                }
            }
            for (DeviceArray a : s.writes()) {
                key.append('w').append(id(a, ids, order));
                if (written.add(a)) {
                    outputs.add(a);
                }
            }
            key.append(';');
        }
        for (DeviceArray a : inputs) {
            a.syncToHost();
        }
        String k = key.toString();
        CachedPlan plan = null;
        List<CachedPlan> candidates = plans.get(k);
        if (candidates != null) {
            for (CachedPlan c : candidates) {
                if (c.sameArrays(order)) {
                    plan = c;
                    break;
                }
            }
        }
        if (plan == null) {
            plan = build(steps, order, constants, inputs, outputs);
            plans.computeIfAbsent(k, x -> new ArrayList<>()).add(plan);
            evictBeyondLimit();
        }
        TornadoExecutionResult result = plan.plan.execute();
        executions++;
        for (DeviceArray a : outputs) {
            a.deviceOwner = result;
            a.ownerPlan = plan;
        }
    }

    private CachedPlan build(List<Step> steps, List<DeviceArray> order, List<DeviceArray> constants,
                             List<DeviceArray> inputs, List<DeviceArray> outputs) {
        String name = "hourglass" + (planCount++);
        TaskGraph graph = new TaskGraph(name);
        if (!constants.isEmpty()) {
            graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, natives(constants));
        }
        if (!inputs.isEmpty()) {
            graph.transferToDevice(DataTransferMode.EVERY_EXECUTION, natives(inputs));
        }
        KernelContext context = new KernelContext();
        GridScheduler scheduler = new GridScheduler();
        for (int i = 0; i < steps.size(); i++) {
            String id = "t" + i;
            steps.get(i).emitter().add(graph, id, context);
            scheduler.addWorkerGrid(name + "." + id, steps.get(i).grid());
        }
        graph.transferToHost(DataTransferMode.UNDER_DEMAND, natives(outputs));
        TornadoExecutionPlan plan = new TornadoExecutionPlan(graph.snapshot());
        plan.withGridScheduler(scheduler).withDevice(device);
        return new CachedPlan(plan, List.copyOf(order), List.copyOf(outputs));
    }

    private void evictBeyondLimit() {
        int total = 0;
        for (List<CachedPlan> list : plans.values()) {
            total += list.size();
        }
        Iterator<List<CachedPlan>> it = plans.values().iterator();
        while (total > MAX_PLANS && it.hasNext()) {
            List<CachedPlan> list = it.next();
            for (CachedPlan p : list) {
                p.free();
                total--;
            }
            it.remove();
        }
    }

    /** Forgets plans that use any of these (closed) weights, freeing their device memory. */
    synchronized void forget(Collection<DeviceArray> weights) {
        if (weights.isEmpty()) {
            return;
        }
        flush();
        Set<DeviceArray> gone = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        gone.addAll(weights);
        Iterator<List<CachedPlan>> it = plans.values().iterator();
        while (it.hasNext()) {
            List<CachedPlan> list = it.next();
            list.removeIf(p -> {
                for (DeviceArray a : p.arrays) {
                    if (gone.contains(a)) {
                        p.free();
                        return true;
                    }
                }
                return false;
            });
            if (list.isEmpty()) {
                it.remove();
            }
        }
    }

    private static int id(DeviceArray a, IdentityHashMap<DeviceArray, Integer> ids, List<DeviceArray> order) {
        Integer id = ids.get(a);
        if (id == null) {
            id = order.size();
            ids.put(a, id);
            order.add(a);
        }
        return id;
    }

    private static Object[] natives(List<DeviceArray> arrays) {
        Object[] out = new Object[arrays.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arrays.get(i).data;
        }
        return out;
    }

    // ------------------------------------------------------------------ arrays

    synchronized DeviceArray constantArray(float[] values) {
        FloatArray a = new FloatArray(Math.max(1, values.length));
        MemorySegment.copy(values, 0, a.getSegment(), ValueLayout.JAVA_FLOAT, 0, values.length);
        return new DeviceArray(a, true, serials++);
    }

    /**
     * A pooled array of exactly {@code length} floats: the free one made first, or a new one. Taking the oldest makes
     * a repeated sequence of allocations get the same arrays every time, from the first repeat on (by induction: a new
     * array is always younger than every free one), so the second forward pass finds the first one's plan.
     */
    private DeviceArray take(int length) {
        TreeSet<DeviceArray> free = pool.get(length);
        DeviceArray a = free == null ? null : free.pollFirst();
        return a != null ? a : new DeviceArray(new FloatArray(Math.max(1, length)), false, serials++);
    }

    synchronized void release(DeviceArray a) {
        if (!closed) {
            pool.computeIfAbsent(a.length(), k -> new TreeSet<>(DeviceArray.OLDEST_FIRST)).add(a);
        }
    }

    private DeviceArray indexTable(int[] values) {
        return indexTables.computeIfAbsent(new IntsKey(values.clone()), k -> {
            IntArray a = new IntArray(Math.max(1, values.length));
            MemorySegment.copy(values, 0, a.getSegment(), ValueLayout.JAVA_INT, 0, values.length);
            return new DeviceArray(a, true, serials++);
        });
    }

    /** Writes host values into an array, after the recorded launches that use it and keeping the rest current. */
    private void hostWrite(DeviceArray a, float[] values, int offset, int count, long dstOffset) {
        if (pendingArrays.contains(a)) {
            flush();
        }
        if (count < a.length()) {
            a.syncToHost();
        }
        MemorySegment.copy(values, offset, ((FloatArray) a.data).getSegment(), ValueLayout.JAVA_FLOAT,
                dstOffset * Float.BYTES, count);
        a.deviceOwner = null;
        a.ownerPlan = null;
    }

    private TornadoBuffer buffer(Buffer b) {
        if (b instanceof TornadoBuffer t && t.owner() == this) {
            return t;
        }
        throw new IllegalArgumentException("buffer " + b + " was not made by this TornadoVM backend");
    }

    private DeviceArray array(Buffer b, long needed, String what) {
        TornadoBuffer t = buffer(b);
        if (t.size() < needed) {
            throw new IndexOutOfBoundsException(what + ": buffer of " + t.size() + " floats, needs " + needed);
        }
        return t.array();
    }

    /**
     * For Expedit's clustering: each token's starting cell (nearest-neighbour map of the token grid onto the cell
     * grid, as {@code interpolate(mode="nearest")} in float32), and the tokens of each cell in token order
     * ({@code [cellOf, cellStart, cellTokens]}).
     */
    static int[][] cellTables(int gh, int gw, int h, int w) {
        int n = gh * gw;
        int m = h * w;
        int[] rowCell = Kernels.nearestIndices(gh, h);
        int[] colCell = Kernels.nearestIndices(gw, w);
        int[] cellOf = new int[n];
        int[] cellStart = new int[m + 1];
        for (int t = 0; t < n; t++) {
            cellOf[t] = rowCell[t / gw] * w + colCell[t % gw];
            cellStart[cellOf[t] + 1]++;
        }
        for (int c = 0; c < m; c++) {
            cellStart[c + 1] += cellStart[c];
        }
        int[] fill = cellStart.clone();
        int[] cellTokens = new int[n];
        for (int t = 0; t < n; t++) {
            cellTokens[fill[cellOf[t]]++] = t;
        }
        return new int[][] {cellOf, cellStart, cellTokens};
    }

    private static int length(long floats) {
        if (floats < 0 || floats > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("a TornadoVM array holds at most " + (Integer.MAX_VALUE - 64)
                    + " floats, asked for " + floats);
        }
        return (int) floats;
    }

    private static int off(long offset) {
        return Math.toIntExact(offset);
    }

    private static int[] scalars(int... values) {
        return values;
    }

    private static WorkerGrid flat(int total) {
        int local = TornadoKernels.FLAT_GROUP;
        WorkerGrid1D g = new WorkerGrid1D(roundUp(Math.max(total, 1), local));
        g.setLocalWork(local, 1, 1);
        return g;
    }

    private static WorkerGrid groups(int count, int local) {
        WorkerGrid1D g = new WorkerGrid1D(Math.multiplyExact(Math.max(count, 1), local));
        g.setLocalWork(local, 1, 1);
        return g;
    }

    private static WorkerGrid grid2d(int x, int y) {
        int t = TornadoKernels.TILE;
        WorkerGrid2D g = new WorkerGrid2D(roundUp(Math.max(x, 1), t), roundUp(Math.max(y, 1), t));
        g.setLocalWork(t, t, 1);
        return g;
    }

    /** {@link TornadoKernels#gemm}: one TILE x TILE work-group per GEMM_BLOCK-square block of the output. */
    private static WorkerGrid gemmGrid(int columns, int rows) {
        int t = TornadoKernels.TILE;
        int b = TornadoKernels.GEMM_BLOCK;
        WorkerGrid2D g = new WorkerGrid2D((Math.max(columns, 1) + b - 1) / b * t, (Math.max(rows, 1) + b - 1) / b * t);
        g.setLocalWork(t, t, 1);
        return g;
    }

    private static int roundUp(int v, int multiple) {
        return Math.multiplyExact((v + multiple - 1) / multiple, multiple);
    }

    /** One recorded kernel launch. */
    private record Step(String kernel, int[] scalars, List<DeviceArray> reads, List<DeviceArray> writes,
                        WorkerGrid grid, Emitter emitter) {
    }

    /** Adds a launch to a task graph under a task id. */
    @FunctionalInterface
    private interface Emitter {
        void add(TaskGraph graph, String id, KernelContext context);
    }

    /** A token grid and the cluster grid it is clustered to: what Expedit's cell tables depend on. */
    private record CellGrid(int gh, int gw, int h, int w) {
    }

    private record IntsKey(int[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IntsKey k && Arrays.equals(values, k.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }
    }

    /** A compiled plan and the arrays it was built on (its launches capture them). */
    private static final class CachedPlan {
        final TornadoExecutionPlan plan;
        final List<DeviceArray> arrays;
        final List<DeviceArray> outputs;

        CachedPlan(TornadoExecutionPlan plan, List<DeviceArray> arrays, List<DeviceArray> outputs) {
            this.plan = plan;
            this.arrays = arrays;
            this.outputs = outputs;
        }

        boolean sameArrays(List<DeviceArray> other) {
            if (other.size() != arrays.size()) {
                return false;
            }
            for (int i = 0; i < arrays.size(); i++) {
                if (arrays.get(i) != other.get(i)) {
                    return false;
                }
            }
            return true;
        }

        /** Brings back what the host may still need, then frees the device memory. */
        void free() {
            for (DeviceArray a : outputs) {
                if (a.ownerPlan == this) {
                    a.syncToHost();
                }
            }
            try {
                plan.freeDeviceMemory();
                plan.close();
            } catch (Exception e) {
                // Freeing is best effort: the device context goes with the JVM.
            }
        }
    }
}
