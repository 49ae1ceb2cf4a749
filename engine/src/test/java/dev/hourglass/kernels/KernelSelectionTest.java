package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The build runs the suite twice, once with {@code --add-modules jdk.incubator.vector} and once without, and tells
 * each run which implementation it expects in {@code -Dhourglass.test.expectKernels}. This test fails if the kernels
 * in use are not the ones that run asked for, so a silent fallback to scalar cannot pass unnoticed.
 */
class KernelSelectionTest {

    @Test
    void activeImplementationIsTheOneThisRunAskedFor() {
        String expected = System.getProperty("hourglass.test.expectKernels");
        assumeTrue(expected != null, "not run by the build (no -Dhourglass.test.expectKernels): nothing to compare");
        assertEquals(expected, Kernels.implementation(), "kernels in use: " + Kernels.description());
        assertEquals(expected.equals("panama"), KernelSupportLookup.vectorModuleReadable(),
                "the vector module's presence does not match this run's configuration");
    }

    @Test
    void unknownImplementationIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelSupportLookup.lookup("avx9000"));
        assertTrue(e.getMessage().contains("avx9000") && e.getMessage().contains("panama, scalar"), e.getMessage());
    }

    @Test
    void scalarCanAlwaysBeForced() {
        assertEquals("scalar", KernelSupportLookup.lookup("scalar").name());
        assertEquals("scalar", KernelSupportLookup.lookup(" Scalar ").name());
    }

    @Test
    void panamaWithoutTheModuleNamesTheFix() {
        assumeTrue(!KernelSupportLookup.vectorModuleReadable(), "the vector module is readable in this run");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelSupportLookup.lookup("panama"));
        assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
    }

    @Test
    void autoPicksPanamaExactlyWhenTheModuleIsReadable() {
        String expected = KernelSupportLookup.vectorModuleReadable() ? "panama" : "scalar";
        assertEquals(expected, KernelSupportLookup.lookup(null).name());
        assertEquals(expected, KernelSupportLookup.lookup("auto").name());
    }
}
