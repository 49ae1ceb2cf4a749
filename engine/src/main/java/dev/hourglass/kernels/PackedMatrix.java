package dev.hourglass.kernels;

/**
 * A linear layer's weight {@code W[N, K]} (PyTorch's {@code [out_features, in_features]}), converted to float32 and
 * laid out in the panels the GEMM kernel reads (see {@link KernelSupport}). Made once, when a model is loaded, by
 * {@link Kernels#pack}. The panels live in one Java {@code float[]} on the heap: the GEMM's register tile reads them
 * with plain array loads, which C2 schedules far better than loads from a {@code MemorySegment} when vector registers
 * are scarce (AVX2: 83-95% against 39-56% of the FMA peak in L1, docs/PERFORMANCE.md). Immutable and thread-safe.
 */
public final class PackedMatrix {
    private final int outFeatures;
    private final int inFeatures;
    private final int panelWidth;
    private final float[] panels;

    PackedMatrix(int outFeatures, int inFeatures, int panelWidth, float[] panels) {
        this.outFeatures = outFeatures;
        this.inFeatures = inFeatures;
        this.panelWidth = panelWidth;
        this.panels = panels;
    }

    /** N: output features (rows of the original weight). */
    public int outFeatures() {
        return outFeatures;
    }

    /** K: input features (columns of the original weight). */
    public int inFeatures() {
        return inFeatures;
    }

    int panelWidth() {
        return panelWidth;
    }

    int panelCount() {
        return (outFeatures + panelWidth - 1) / panelWidth;
    }

    float[] panels() {
        return panels;
    }

    /** Bytes of the packed panels (on the heap). */
    public long byteSize() {
        return (long) panels.length * Float.BYTES;
    }

    @Override
    public String toString() {
        return "PackedMatrix[" + outFeatures + " x " + inFeatures + ", panels of " + panelWidth + "]";
    }
}
