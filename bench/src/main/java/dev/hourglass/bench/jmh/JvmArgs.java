package dev.hourglass.bench.jmh;

/**
 * The fork JVM arguments of every benchmark here, as constants for the {@code @Fork} annotations (an annotation can
 * take constant strings, not a constant array).
 *
 * <p>Every {@code @Fork} sets {@code jvmArgs} explicitly, so a fork never inherits the options of the JVM that runs
 * JMH (which would otherwise leak {@code --add-modules jdk.incubator.vector} into the scalar forks), and puts the
 * kernel choice in {@code jvmArgsAppend}. A scalar/Panama pair therefore differs in {@code jvmArgsAppend} only.
 */
final class JvmArgs {
    /** Fixed heap, so that heap sizing does not differ between forks or runs. */
    static final String XMS = "-Xms1g";
    static final String XMX = "-Xmx1g";
    /** The tests run with it too; it keeps the JDK from warning about the engine's use of the FFM API. */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    /** JMH's own harness uses sun.misc.Unsafe; this keeps JDK 25 from printing a warning in every fork. */
    static final String UNSAFE_ACCESS = "--sun-misc-unsafe-memory-access=allow";

    /** Panama: the Vector API module readable, so that the engine picks the Vector API kernels. */
    static final String ADD_MODULES = "--add-modules";
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /** Scalar: no vector module, and the scalar kernels forced as well. */
    static final String FORCE_SCALAR = "-Dhourglass.kernels=scalar";

    private JvmArgs() {
    }
}
