package dev.hourglass.kernels;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import dev.hourglass.ops.ClusteringParameters;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.tensor.Tensor;

/**
 * Every vector kernel of one implementation run once on fixed seeded inputs, its outputs kept by name: the same
 * computation in whatever state the JIT is in. {@link KernelJitStateTest} runs it warm in its own JVM and cold in fresh
 * JVMs (interpreter only, C1 only, C2 only) through {@link #main}, and asserts that every bit agrees.
 *
 * <p>Sizes are small (the interpreter runs the Vector API's Java fallback, about 1000 times slower than C2) but cover
 * a whole vector body, a masked or scalar tail and every epilogue.
 */
final class KernelFingerprint {
    private KernelFingerprint() {
    }

    /**
     * Runs {@link #compute} {@code warmRounds + 1} times and writes the last result to a file.
     * Arguments: implementation ({@code panama} or {@code scalar}), warm-up rounds, output file.
     */
    public static void main(String[] args) throws IOException {
        String implementation = args[0];
        int warmRounds = Integer.parseInt(args[1]);
        Map<String, float[]> result = null;
        for (int round = 0; round <= warmRounds; round++) {
            result = compute(implementation);
        }
        try (OutputStream out = Files.newOutputStream(Path.of(args[2]))) {
            write(result, out);
        }
    }

    /** The outputs of every kernel, by name, in a fixed order. */
    static Map<String, float[]> compute(String implementation) {
        CpuKernels kernels = new CpuKernels(KernelSupportLookup.lookup(implementation));
        KernelSupport s = kernels.support();
        Map<String, float[]> out = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(20261203L);
        for (int n : new int[] {1, 7, 19, 64, 77}) {
            // exp over its whole range: softmax sees x - max down to -40 after the scale, GELU sees -z^2 down to -inf.
            float[] x = random(r, n, -20, 20);
            s.softmax(x, 0, n, 2f);
            out.put("softmax " + n, x);
            float[] g = random(r, n, -12, 12);
            if (n > 1) {
                g[0] = -0.75179f; // near GELU's minimum, where the flaky case was seen
                g[1] = -1e30f; // -z^2 overflows to -inf
            }
            s.gelu(g, 0, n);
            out.put("gelu " + n, g);
            float[] a = random(r, n, -1, 1);
            float[] b = random(r, n, -1, 1);
            out.put("dot " + n, new float[] {s.dot(a, 0, b, 0, n)});
            s.axpy(0.37f, a, 0, b, 0, n);
            out.put("axpy " + n, b);
            float[] ln = new float[n];
            s.layerNorm(a, 0, ln, 0, n, random(r, n, 0.5, 1.5), random(r, n, -1, 1), 1e-6f);
            out.put("layerNorm " + n, ln);
            float[] mm = new float[3 * n];
            s.matmul(3, n, 5, random(r, 15, -1, 1), 0, 5, random(r, 5 * n, -1, 1), 0, n, mm, 0, n, false);
            out.put("matmul " + n, mm);
            float[] mt = new float[5 * n];
            s.matmulTransposedA(5, n, 3, random(r, 15, -1, 1), 0, 5, random(r, 3 * n, -1, 1), 0, n, mt, 0, n, false);
            out.put("matmulTransposedA " + n, mt);
            // Attention's online softmax: a first block, then one raising some maxima, with and without a key bias.
            float[] stats = new float[4 * n];
            float[] block = random(r, 3 * n, -20, 20);
            s.softmaxBlock(block, 0, 3, n, 0.5f, null, 0, stats, 0, true);
            out.put("softmaxBlock first " + n, block);
            block = random(r, 3 * n, -20, 40);
            s.softmaxBlock(block, 0, 3, n, 0.5f, random(r, 3, -1, 1), 0, stats, 0, false);
            out.put("softmaxBlock next " + n, block);
            out.put("softmaxBlock stats " + n, stats);
        }
        try (ComputePool pool = ComputePool.of(1)) {
            int m = 7;
            int k = 37;
            int n = 2 * kernels.support().panelWidth() + 3;
            float[] a = random(r, m * k, -1, 1);
            PackedMatrix w = kernels.pack(Tensor.ofFloats(random(r, n * k, -1, 1), n, k));
            float[] bias = random(r, n, -1, 1);
            float[] workspace = new float[(int) kernels.linearWorkspace(k, 1)];
            for (Epilogue e : Epilogue.values()) {
                float[] c = random(new SplittableRandom(5), m * n, -1, 1);
                kernels.linear(pool, a, 0, m, w, bias, c, 0, e, workspace);
                out.put("linear " + e, c);
            }
            int batch = 2;
            int tokens = 11;
            int heads = 2;
            int headDim = 24;
            float[] qkv = random(r, batch * tokens * 3 * heads * headDim, -2, 2);
            float[] att = new float[batch * tokens * heads * headDim];
            kernels.attention(pool, qkv, 0, batch, tokens, heads, headDim, att, 0,
                    new float[(int) CpuKernels.attentionWorkspace(batch, tokens, heads, headDim, 1)]);
            out.put("attention", att);

            int gh = 6;
            int gw = 5;
            int dim = 20;
            float[] grid = random(r, gh * gw * dim, -1, 1);
            ClusteringParameters p = new ClusteringParameters(3, 2, 3, 3, 1f);
            float[] centres = new float[p.clusters() * dim];
            new TokenClusteringKernel(kernels).cluster(pool, grid, 0, gh, gw, dim, p, centres, 0, null, 0);
            out.put("clusterTokens", centres);
            float[] values = random(r, p.clusters() * 9, -1, 1);
            float[] dense = new float[gh * gw * 9];
            new TokenReconstructionKernel(kernels).reconstruct(pool, values, 0, p.clusters(), 9, grid, 0, gh * gw,
                    centres, 0, dim, 3, 2f, dense, 0);
            out.put("reconstructTokens", dense);
        }
        return out;
    }

    static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(lo, hi);
        }
        return x;
    }

    static void write(Map<String, float[]> result, OutputStream stream) throws IOException {
        DataOutputStream out = new DataOutputStream(stream);
        out.writeInt(result.size());
        for (Map.Entry<String, float[]> e : result.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeInt(e.getValue().length);
            for (float v : e.getValue()) {
                out.writeInt(Float.floatToRawIntBits(v));
            }
        }
        out.flush();
    }

    static Map<String, float[]> read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        int entries = in.readInt();
        Map<String, float[]> result = new LinkedHashMap<>();
        for (int i = 0; i < entries; i++) {
            String name = in.readUTF();
            float[] values = new float[in.readInt()];
            for (int j = 0; j < values.length; j++) {
                values[j] = Float.intBitsToFloat(in.readInt());
            }
            result.put(name, values);
        }
        return result;
    }
}
