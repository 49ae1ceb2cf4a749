package dev.hourglass.backend;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.hourglass.kernels.AttentionExtras;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.ops.Convolution;

/**
 * Runs a step on the host for a backend that has no device kernel for it: download the inputs, compute with the CPU
 * kernels, upload the result. Correct on every backend from a method's first commit; slow on a device backend, which
 * is why it says so once per backend and step. The host side runs on one shared thread (it is the fallback, not the
 * fast path) and is thread-safe.
 */
public final class HostFallback {
    private static final Logger LOG = LoggerFactory.getLogger(HostFallback.class);
    private static final Set<String> ANNOUNCED = ConcurrentHashMap.newKeySet();

    private HostFallback() {
    }

    /** Logs once per backend and step that the step runs on the host. */
    public static void announce(Backend backend, String step) {
        if (ANNOUNCED.add(backend.name() + "/" + step)) {
            LOG.info("backend {} has no device kernel for {}: it runs on the host (download, compute, upload)",
                    backend.name(), step);
        }
    }

    /** {@link Backend#attention(Buffer, Buffer, int, int, int, int, AttentionOptions)} on the host. */
    static void attention(Backend backend, Buffer qkv, Buffer out, int batch, int tokens, int heads, int headDim,
                          AttentionOptions options) {
        announce(backend, "attention with token-reduction options");
        int d = heads * headDim;
        float[] q = new float[Math.multiplyExact(Math.multiplyExact(batch, tokens), 3 * d)];
        backend.download(qkv, 0, q, 0, q.length);
        float[] bias = null;
        if (options.keyBias() != null) {
            bias = new float[batch * tokens];
            backend.download(options.keyBias(), 0, bias, 0, bias.length);
        }
        float[] result = new float[Math.multiplyExact(batch * options.queries(tokens), d)];
        try (ComputePool pool = ComputePool.of(1)) {
            float[] workspace = new float[Math.toIntExact(Kernels.attentionWorkspaceSize(batch, tokens, heads,
                    headDim, 1))];
            Kernels.attention(pool, q, 0, batch, tokens, heads, headDim, result, 0, workspace,
                    new AttentionExtras(bias, 0, options.queryRows(), options.classAttention(), 0));
        }
        backend.write(result, 0, result.length, out, 0);
    }

    /** {@link Backend#im2col} on the host. */
    static void im2col(Backend backend, Buffer src, Buffer dst, Convolution conv) {
        announce(backend, "im2col (convolution windows)");
        float[] in = new float[Math.toIntExact(conv.inputSize())];
        backend.download(src, 0, in, 0, in.length);
        float[] rows = new float[Math.toIntExact(Math.multiplyExact(conv.rows(), conv.rowLength()))];
        conv.windows(in, rows, 0, conv.rows());
        backend.write(rows, 0, rows.length, dst, 0);
    }
}
