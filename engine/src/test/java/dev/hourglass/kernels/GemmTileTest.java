package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Which GEMM tile each machine gets, and the override. */
class GemmTileTest {
    @Test
    void theTileFitsTheVectorRegisters() {
        assertEquals(GemmTile.R6X3, GemmTile.choose(null, "amd64", 512), "AVX-512: 32 registers");
        assertEquals(GemmTile.R6X2, GemmTile.choose(null, "amd64", 256), "AVX2, or -XX:UseAVX=2: 16 registers");
        assertEquals(GemmTile.R6X2, GemmTile.choose("", "x86_64", 128), "SSE: 16 registers");
        assertEquals(GemmTile.R6X3, GemmTile.choose(null, "aarch64", 128), "NEON: 32 registers");
        assertEquals(22, GemmTile.R6X3.rows() * GemmTile.R6X3.vectors() + GemmTile.R6X3.vectors() + 1);
        assertEquals(15, GemmTile.R6X2.rows() * GemmTile.R6X2.vectors() + GemmTile.R6X2.vectors() + 1);
    }

    @Test
    void thePropertyOverridesTheMachine() {
        assertEquals(GemmTile.R6X2, GemmTile.choose("6x2", "amd64", 512));
        assertEquals(GemmTile.R6X3, GemmTile.choose(" 6X3 ", "amd64", 256));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmTile.choose("8x3", "amd64", 512));
        assertEquals("-Dhourglass.gemm.tile=8x3 is not a tile; use 6x3 or 6x2", e.getMessage());
    }
}
