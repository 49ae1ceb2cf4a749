package dev.hourglass.kernels;

import java.util.Locale;

/**
 * The GEMM's register tile: rows of A times vectors of the packed B panel, every product accumulated in its own
 * vector register. It must fit the machine's vector registers with the B vectors and one broadcast, or C2 spills
 * accumulators to the stack on every step of k:
 * <ul>
 *   <li>{@link #R6X3}: 18 accumulators + 3 + 1 = 22 registers. For 32 vector registers: x86 with AVX-512 (zmm/ymm
 *       0-31, also when {@code -Dhourglass.vector.bits} narrows the vectors), AArch64 (NEON and SVE: 32).</li>
 *   <li>{@link #R6X2}: 12 + 2 + 1 = 15 registers. For 16: x86 with AVX2 or AVX (ymm 0-15), which is also what C2
 *       uses on an AVX-512 machine run with {@code -XX:UseAVX=2}.</li>
 * </ul>
 * Both shapes compute every output as the same FMA chain over k, so the choice never changes a result, only the speed.
 * {@code -Dhourglass.gemm.tile=6x3|6x2} overrides the choice.
 */
enum GemmTile {
    R6X3(6, 3),
    R6X2(6, 2);

    static final String PROPERTY = "hourglass.gemm.tile";

    private final int rows;
    private final int vectors;

    GemmTile(int rows, int vectors) {
        this.rows = rows;
        this.vectors = vectors;
    }

    int rows() {
        return rows;
    }

    int vectors() {
        return vectors;
    }

    @Override
    public String toString() {
        return rows + "x" + vectors;
    }

    /**
     * The tile for {@code -Dhourglass.gemm.tile}, or for the machine's vector registers ({@code
     * PanamaKernelSupport} passes the Vector API's preferred width, so that this class never touches the module).
     *
     * @param requested     {@code 6x3}, {@code 6x2}, or null/blank for the machine's
     * @param arch          {@code os.arch}
     * @param preferredBits the widest vectors C2 uses here (512 with AVX-512; 256 with AVX2 or under
     *                      {@code -XX:UseAVX=2})
     */
    static GemmTile choose(String requested, String arch, int preferredBits) {
        if (requested != null && !requested.isBlank()) {
            for (GemmTile t : values()) {
                if (t.toString().equals(requested.strip().toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + requested + " is not a tile; use 6x3 or 6x2");
        }
        return vectorRegisters(arch, preferredBits) >= 32 ? R6X3 : R6X2;
    }

    /** 32 on AArch64 and on x86 with AVX-512 in use; 16 on x86 without it. */
    static int vectorRegisters(String arch, int preferredBits) {
        String a = arch == null ? "" : arch.toLowerCase(Locale.ROOT);
        if (a.equals("aarch64") || a.equals("arm64")) {
            return 32;
        }
        return preferredBits >= 512 ? 32 : 16;
    }
}
