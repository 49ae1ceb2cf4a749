package dev.hourglass.kernels;

import jdk.incubator.vector.FloatVector;

/** Applies {@link PanamaMath}'s functions to whole arrays, for tests; loaded only in runs with the vector module. */
final class PanamaLanes {
    private PanamaLanes() {
    }

    /** {@code x[i] = exp(x[i])} for the whole vectors of {@code x}; returns how many values were done. */
    static int exp(float[] x) {
        int bound = PanamaSpecies.FLOAT.loopBound(x.length);
        for (int i = 0; i < bound; i += PanamaSpecies.FLOAT.length()) {
            PanamaMath.exp(FloatVector.fromArray(PanamaSpecies.FLOAT, x, i)).intoArray(x, i);
        }
        return bound;
    }
}
