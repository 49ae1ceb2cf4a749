package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;

import com.sun.management.HotSpotDiagnosticMXBean;

import org.junit.jupiter.api.Test;

/** The GEMM tile: the default for the machine's registers and the override. */
class GemmTileTest {
    @Test
    void theDefaultFitsTheRegistersAndThePropertyChooses() {
        assertEquals(GemmTile.R6X3, GemmTile.choose(null, 32));
        assertEquals(GemmTile.R6X2, GemmTile.choose(null, 16));
        assertEquals(GemmTile.R6X3, GemmTile.choose(" ", 32));
        assertEquals(GemmTile.R6X2, GemmTile.choose("6x2", 32));
        assertEquals(GemmTile.R6X3, GemmTile.choose(" 6X3 ", 16));
        assertEquals(22, GemmTile.R6X3.rows() * GemmTile.R6X3.vectors() + GemmTile.R6X3.vectors() + 1);
        assertEquals(15, GemmTile.R6X2.rows() * GemmTile.R6X2.vectors() + GemmTile.R6X2.vectors() + 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GemmTile.choose("8x3", 32));
        assertEquals("-Dhourglass.gemm.tile=8x3 is not a tile; use 6x3 or 6x2", e.getMessage());
    }

    /**
     * The register count the default tile is chosen by, against HotSpot's own flags: on x86, C2 has 32 vector
     * registers exactly when it uses AVX-512 ({@code UseAVX >= 3} with 64-byte vectors). Run under
     * {@code -XX:UseAVX=2} this expects 16, and the suite under that flag checks the 6x2 default.
     */
    @Test
    void theRegisterCountMatchesTheJvmFlags() throws ReflectiveOperationException {
        assumeTrue(KernelSupportLookup.vectorModuleReadable(),
                "jdk.incubator.vector is not readable in this run: the Panama register count is not tested here");
        String arch = System.getProperty("os.arch");
        assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "HotSpot's UseAVX flag exists on x86 only, not " + arch);
        HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        int useAvx = Integer.parseInt(vm.getVMOption("UseAVX").getValue());
        int maxVectorBytes = Integer.parseInt(vm.getVMOption("MaxVectorSize").getValue());
        int expected = useAvx >= 3 && maxVectorBytes >= 64 ? 32 : 16;
        int registers = (int) Class.forName("dev.hourglass.kernels.PanamaSpecies").getDeclaredMethod("vectorRegisters")
                .invoke(null);
        assertEquals(expected, registers, "UseAVX=" + useAvx + ", MaxVectorSize=" + maxVectorBytes);
        if (System.getProperty(GemmTile.PROPERTY) == null) {
            String description = KernelSupportLookup.lookup("panama").description();
            assertTrue(description.contains("GEMM tile " + GemmTile.forRegisters(expected) + " (" + expected
                    + " vector registers)"), description);
        }
    }
}
