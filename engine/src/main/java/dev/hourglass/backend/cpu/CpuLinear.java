package dev.hourglass.backend.cpu;

import dev.hourglass.backend.LinearWeights;
import dev.hourglass.kernels.PackedMatrix;

/** A linear layer for the CPU kernels: the weight packed into GEMM panels, the bias as floats (or null). */
record CpuLinear(PackedMatrix weight, float[] bias) implements LinearWeights {

    @Override
    public int inFeatures() {
        return weight.inFeatures();
    }

    @Override
    public int outFeatures() {
        return weight.outFeatures();
    }
}
