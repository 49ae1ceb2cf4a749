package dev.hourglass.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species the Panama kernels use, kept apart from the kernels so that reading the width setting can fail
 * with a clear message instead of an {@code ExceptionInInitializerError} deep in a kernel.
 *
 * <p>{@code -Dhourglass.vector.bits=128|256|512} forces a narrower width than the machine's preferred one (for testing
 * every path on one machine); unset means the preferred width.
 */
final class PanamaSpecies {
    static final String BITS_PROPERTY = "hourglass.vector.bits";
    static final VectorSpecies<Float> FLOAT = select(System.getProperty(BITS_PROPERTY));

    private PanamaSpecies() {
    }

    /**
     * The vector registers C2 allocates on this machine, whatever width {@link #FLOAT} has: 32 on AArch64 (NEON and
     * SVE) and on x86 with AVX-512 (zmm0-31; C2 also uses the upper 16 for 256- and 128-bit vectors there), 16 on x86
     * without it (AVX2, SSE, or AVX-512 hardware run with {@code -XX:UseAVX=2}). Known by the widest species, which
     * is 512 bits exactly when C2 uses AVX-512. (Under {@code -XX:MaxVectorSize=32} an AVX-512 machine reads as 16: it
     * still runs correctly, with the smaller tile.)
     */
    static int vectorRegisters() {
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("aarch64") || arch.equals("arm64")) {
            return 32;
        }
        return FloatVector.SPECIES_MAX.vectorBitSize() >= 512 ? 32 : 16;
    }

    static VectorSpecies<Float> select(String bits) {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        if (bits == null || bits.isBlank()) {
            return preferred;
        }
        int requested;
        try {
            requested = Integer.parseInt(bits.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + BITS_PROPERTY + "=" + bits + " is not a number; use 128, 256 or 512");
        }
        if (requested != 128 && requested != 256 && requested != 512) {
            throw new IllegalArgumentException("-D" + BITS_PROPERTY + "=" + bits + " is not supported; use 128, 256 or 512");
        }
        if (requested > preferred.vectorBitSize()) {
            throw new IllegalArgumentException("-D" + BITS_PROPERTY + "=" + bits + " is wider than this machine's "
                    + preferred.vectorBitSize() + "-bit vectors");
        }
        return FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(requested));
    }
}
