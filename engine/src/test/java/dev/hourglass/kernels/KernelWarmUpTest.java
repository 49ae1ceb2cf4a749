package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link KernelWarmUp}: when it runs, and that its rounds are valid calls of every kernel on both implementations (it
 * is timing only; {@code KernelJitStateTest} shows that no JIT state changes a result).
 */
class KernelWarmUpTest {

    @Test
    void autoWarmsForModelsOfTwoGigaflopsAndMoreOnTheVectorKernelsOnly() {
        assertTrue(KernelWarmUp.wanted(null, "panama", 35.1e9), "ViT-B/16 at 224");
        assertTrue(KernelWarmUp.wanted("auto", "panama", 2e9));
        assertFalse(KernelWarmUp.wanted("auto", "panama", 1.9e9), "a demo-sized model");
        assertFalse(KernelWarmUp.wanted(null, "scalar", 35.1e9), "plain Java needs no warm-up");
        assertTrue(KernelWarmUp.wanted(" TRUE ", "panama", 1e6));
        assertFalse(KernelWarmUp.wanted("false", "panama", 1e12));
        assertFalse(KernelWarmUp.wanted("true", "scalar", 1e12));
    }

    @Test
    void anUnknownSettingIsAnErrorNamingTheProperty() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelWarmUp.wanted("yes", "panama", 35.1e9));
        assertEquals("-Dhourglass.kernels.warmup must be auto, true or false, got 'yes'", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"panama", "scalar"})
    void roundsRunEveryKernelIncludingTheLargeShapes(String implementation) {
        assumeTrue(implementation.equals("scalar") || KernelSupportLookup.vectorModuleReadable(),
                "jdk.incubator.vector is not readable in this run: the panama warm-up is not run here");
        CpuKernels kernels = new CpuKernels(KernelSupportLookup.lookup(implementation));
        // LARGE_EVERY rounds: the last one also runs K in blocks and two blocks of keys.
        assertEquals(KernelWarmUp.LARGE_EVERY, KernelWarmUp.run(kernels, KernelWarmUp.LARGE_EVERY, Long.MAX_VALUE / 4));
    }

    @Test
    void theTimeBudgetStopsIt() {
        CpuKernels kernels = new CpuKernels(KernelSupportLookup.lookup("scalar"));
        assertEquals(0, KernelWarmUp.run(kernels, 1000, 0), "a budget already spent runs nothing");
    }
}
