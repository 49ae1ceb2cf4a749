package dev.hourglass.bench.jmh;

import dev.hourglass.kernels.Kernels;

/** The two kernel implementations a benchmark class can be for, and the check that the fork really uses it. */
enum KernelImpl {
    PANAMA("panama"),
    SCALAR("scalar");

    private final String engineName;

    KernelImpl(String engineName) {
        this.engineName = engineName;
    }

    /**
     * Fails unless the engine in this JVM runs this implementation: a Panama benchmark whose fork lost the vector
     * module, or a scalar one that got it, must not produce numbers under the wrong name.
     */
    void requireInUse() {
        String actual = Kernels.implementation();
        if (!actual.equals(engineName)) {
            throw new IllegalStateException("this benchmark is for the " + engineName + " kernels, but the fork runs "
                    + Kernels.description() + " (" + actual + "); check the fork's JVM arguments (-jvmArgs,"
                    + " -jvmArgsAppend override the ones in @Fork)");
        }
    }
}
