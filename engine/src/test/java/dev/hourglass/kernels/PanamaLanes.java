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

    /** {@code d[i] = 2^(d[i] c)} for the whole vectors of {@code d}; returns how many values were done. */
    static int exp2Product(float[] d, float c) {
        int bound = PanamaSpecies.FLOAT.loopBound(d.length);
        FloatVector cv = FloatVector.broadcast(PanamaSpecies.FLOAT, c);
        for (int i = 0; i < bound; i += PanamaSpecies.FLOAT.length()) {
            PanamaMath.exp2Product(FloatVector.fromArray(PanamaSpecies.FLOAT, d, i), cv).intoArray(d, i);
        }
        return bound;
    }
}
