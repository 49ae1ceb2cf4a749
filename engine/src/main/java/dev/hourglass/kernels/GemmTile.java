package dev.hourglass.kernels;

import java.util.Locale;

/**
 * The GEMM's register tile: rows of A times vectors of the packed B panel, every product accumulated in its own
 * vector register.
 * <ul>
 *   <li>{@link #R6X3}: 18 accumulators + 3 B vectors + 1 broadcast = 22 registers live: fits the 32 of AVX-512 and
 *       AArch64.</li>
 *   <li>{@link #R6X2}: 12 + 2 + 1 = 15: fits the 16 of AVX2 (C2 uses only those under {@code -XX:UseAVX=2}).</li>
 * </ul>
 * The default is the largest tile that fits the machine's vector registers ({@link #forRegisters}): measured on a
 * Zen 5 with the packed weights in a Java array (docs/PERFORMANCE.md, "Register tiles by register count"), 6x2 runs
 * the ViT-B layers 1.7-2x faster than 6x3 with 16 registers ({@code -XX:UseAVX=2}, 73-86 GFLOP/s of a 100 peak), and
 * 6x3 is 10-20% faster than 6x2 with 32, whatever the vector width. {@code -Dhourglass.gemm.tile=6x3|6x2} overrides
 * it. Both shapes compute every output as the same FMA chain over k, so the choice never changes a result, only the
 * speed.
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

    /** The largest tile whose accumulators, B vectors and broadcast fit {@code vectorRegisters} registers. */
    static GemmTile forRegisters(int vectorRegisters) {
        return vectorRegisters >= 32 ? R6X3 : R6X2;
    }

    /**
     * The tile {@code -Dhourglass.gemm.tile} names, or the one for the machine's register count.
     *
     * @param requested       {@code 6x3}, {@code 6x2}, or null/blank for the default
     * @param vectorRegisters the vector registers C2 can use on this machine (16 or 32)
     */
    static GemmTile choose(String requested, int vectorRegisters) {
        if (requested != null && !requested.isBlank()) {
            for (GemmTile t : values()) {
                if (t.toString().equals(requested.strip().toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + requested + " is not a tile; use 6x3 or 6x2");
        }
        return forRegisters(vectorRegisters);
    }
}
