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
 * Register counts do not decide the speed on every core, though: on a Zen 5 (docs/PERFORMANCE.md, "GEMM register
 * tiles") 6x3 is 15-25% faster than 6x2 under {@code -XX:UseAVX=2} despite spilling, and 6x2 10-15% faster with
 * AVX-512. So the default stays 6x3, the tile measured at 82% of the FMA peak on Zen 4, on every machine, and
 * {@code -Dhourglass.gemm.tile=6x3|6x2} chooses. Both shapes compute every output as the same FMA chain over k, so the
 * choice never changes a result, only the speed.
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
     * The tile {@code -Dhourglass.gemm.tile} names, or {@link #R6X3}.
     *
     * @param requested {@code 6x3}, {@code 6x2}, or null/blank for the default
     */
    static GemmTile choose(String requested) {
        if (requested != null && !requested.isBlank()) {
            for (GemmTile t : values()) {
                if (t.toString().equals(requested.strip().toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + requested + " is not a tile; use 6x3 or 6x2");
        }
        return R6X3;
    }
}
