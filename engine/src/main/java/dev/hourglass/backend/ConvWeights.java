package dev.hourglass.backend;

/**
 * A convolution's weights as a backend prepared them ({@link WeightStore#conv2d}, {@link WeightStore#convTranspose2d}):
 * the linear layer its GEMM multiplies by, and the sizes. Immutable; shared by every call on the model.
 *
 * <p>For a convolution ({@code transposed() == false}) the GEMM weight is {@code [out, kernel * kernel * in]} over
 * window rows ordered {@code (ky, kx, c)}; for a transposed one it is {@code [kernel * kernel * out, in]} over input
 * pixels, its rows ordered {@code (ky, kx, o)}, with the bias repeated for each of the {@code kernel x kernel} cells.
 */
public interface ConvWeights {

    int inChannels();

    int outChannels();

    /** Side of the square kernel. */
    int kernel();

    /** Whether these are a transposed convolution's weights. */
    boolean transposed();

    /** The linear layer of the convolution's GEMM, prepared by the same store. */
    LinearWeights gemm();

    /** Weights over an already prepared GEMM layer, checking that its sizes are the convolution's. */
    static ConvWeights of(LinearWeights gemm, int inChannels, int outChannels, int kernel, boolean transposed) {
        long k2 = (long) kernel * kernel;
        long expectIn = transposed ? inChannels : k2 * inChannels;
        long expectOut = transposed ? k2 * outChannels : outChannels;
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || gemm.inFeatures() != expectIn
                || gemm.outFeatures() != expectOut) {
            throw new IllegalArgumentException("a " + (transposed ? "transposed " : "") + "convolution " + inChannels
                    + " -> " + outChannels + " with kernel " + kernel + " needs a GEMM of " + expectIn + " -> "
                    + expectOut + ", got " + gemm.inFeatures() + " -> " + gemm.outFeatures());
        }
        return new GemmConvWeights(gemm, inChannels, outChannels, kernel, transposed);
    }
}

/** The one implementation: every backend runs a convolution as its own GEMM. */
record GemmConvWeights(LinearWeights gemm, int inChannels, int outChannels, int kernel, boolean transposed)
        implements ConvWeights {
}
