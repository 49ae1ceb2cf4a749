package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The GEMM tile: the default and the override. */
class GemmTileTest {
    @Test
    void theDefaultIsSixByThreeAndThePropertyChooses() {
        assertEquals(GemmTile.R6X3, GemmTile.choose(null));
        assertEquals(GemmTile.R6X3, GemmTile.choose(" "));
        assertEquals(GemmTile.R6X2, GemmTile.choose("6x2"));
        assertEquals(GemmTile.R6X3, GemmTile.choose(" 6X3 "));
        assertEquals(22, GemmTile.R6X3.rows() * GemmTile.R6X3.vectors() + GemmTile.R6X3.vectors() + 1);
        assertEquals(15, GemmTile.R6X2.rows() * GemmTile.R6X2.vectors() + GemmTile.R6X2.vectors() + 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GemmTile.choose("8x3"));
        assertEquals("-Dhourglass.gemm.tile=8x3 is not a tile; use 6x3 or 6x2", e.getMessage());
    }
}
