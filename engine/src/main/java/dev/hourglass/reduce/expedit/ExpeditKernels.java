package dev.hourglass.reduce.expedit;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import dev.hourglass.backend.HostFallback;
import dev.hourglass.kernels.ComputePool;
import dev.hourglass.kernels.Kernels;
import dev.hourglass.ops.ClusteringParameters;

/**
 * Expedit's device operations: a {@link Backend} extension ({@link Backend#extension}). The CPU and TornadoVM
 * backends implement it; on any other backend {@link #on} gives a host implementation (download, compute with the
 * CPU kernels, upload) that says so once.
 */
public interface ExpeditKernels {

    /**
     * Expedit's token clustering layer for one image (see {@link Kernels#clusterTokens}): {@code gridHeight x
     * gridWidth} tokens of {@code dim} values at {@code offset} become {@code p.clusters()} centres at
     * {@code centresOffset}. {@code hardLabels} (host memory, may be null) receives each token's nearest final centre.
     */
    void clusterTokens(Buffer tokens, long offset, int gridHeight, int gridWidth, int dim, ClusteringParameters p,
                       Buffer centres, long centresOffset, int[] hardLabels, int labelsOffset);

    /**
     * Expedit's token reconstruction layer for one image (see {@link Kernels#reconstructTokens}):
     * {@code out[tokens, channels]} from {@code values[clusters, channels]}, weighted by the distances between
     * {@code before[tokens, dim]} and {@code after[clusters, dim]}.
     */
    void reconstructTokens(Buffer values, long valuesOffset, int clusters, int channels, Buffer before,
                           long beforeOffset, int tokens, Buffer after, long afterOffset, int dim, int topK,
                           float temperature, Buffer out, long outOffset);

    /** The backend's own implementation, or the host one. */
    static ExpeditKernels on(Backend backend) {
        return backend.extension(ExpeditKernels.class).orElseGet(() -> new OnHost(backend));
    }

    /** The fallback: every call downloads its inputs, runs the CPU kernels on one thread and uploads the result. */
    final class OnHost implements ExpeditKernels {
        private final Backend backend;

        OnHost(Backend backend) {
            this.backend = backend;
        }

        private float[] fetch(Buffer b, long offset, long count) {
            float[] values = new float[Math.toIntExact(count)];
            backend.download(b, offset, values, 0, values.length);
            return values;
        }

        @Override
        public void clusterTokens(Buffer tokens, long offset, int gridHeight, int gridWidth, int dim,
                                  ClusteringParameters p, Buffer centres, long centresOffset, int[] hardLabels,
                                  int labelsOffset) {
            HostFallback.announce(backend, "Expedit's token clustering");
            float[] x = fetch(tokens, offset, (long) gridHeight * gridWidth * dim);
            float[] c = new float[p.clusters() * dim];
            try (ComputePool pool = ComputePool.of(1)) {
                Kernels.clusterTokens(pool, x, 0, gridHeight, gridWidth, dim, p, c, 0, hardLabels, labelsOffset);
            }
            backend.write(c, 0, c.length, centres, centresOffset);
        }

        @Override
        public void reconstructTokens(Buffer values, long valuesOffset, int clusters, int channels, Buffer before,
                                      long beforeOffset, int tokens, Buffer after, long afterOffset, int dim,
                                      int topK, float temperature, Buffer out, long outOffset) {
            HostFallback.announce(backend, "Expedit's token reconstruction");
            float[] v = fetch(values, valuesOffset, (long) clusters * channels);
            float[] f = fetch(before, beforeOffset, (long) tokens * dim);
            float[] g = fetch(after, afterOffset, (long) clusters * dim);
            float[] o = new float[Math.multiplyExact(tokens, channels)];
            try (ComputePool pool = ComputePool.of(1)) {
                Kernels.reconstructTokens(pool, v, 0, clusters, channels, f, 0, tokens, g, 0, dim, topK,
                        temperature, o, 0);
            }
            backend.write(o, 0, o.length, out, outOffset);
        }
    }
}
