package dev.hourglass.kernels;

import java.lang.foreign.MemorySegment;

/**
 * A linear layer's weight {@code W[N, K]} (PyTorch's {@code [out_features, in_features]}), converted to float32 and
 * laid out in the panels the GEMM kernel reads (see {@link KernelSupport}). Made once, when a model is loaded, by
 * {@link Kernels#pack}; it lives off-heap in the arena it was packed into. Immutable and thread-safe.
 */
public final class PackedMatrix {
    private final int outFeatures;
    private final int inFeatures;
    private final int panelWidth;
    private final MemorySegment panels;

    PackedMatrix(int outFeatures, int inFeatures, int panelWidth, MemorySegment panels) {
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

    MemorySegment panels() {
        return panels;
    }

    /** Bytes held off-heap. */
    public long byteSize() {
        return panels.byteSize();
    }

    @Override
    public String toString() {
        return "PackedMatrix[" + outFeatures + " x " + inFeatures + ", panels of " + panelWidth + "]";
    }
}
