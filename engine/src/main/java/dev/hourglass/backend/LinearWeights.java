package dev.hourglass.backend;

/**
 * A linear layer's weight and bias as one backend prepared them (packed for the CPU kernels, resident on a GPU).
 * Made once per model by {@link Backend#prepareLinear}; immutable; shared by every call on the model.
 */
public interface LinearWeights {

    int inFeatures();

    int outFeatures();
}
