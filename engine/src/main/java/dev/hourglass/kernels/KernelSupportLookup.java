package dev.hourglass.kernels;

import java.lang.management.ManagementFactory;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the kernel implementation once per JVM and logs the choice once.
 *
 * <p>{@code -Dhourglass.kernels=panama|scalar} forces one; unset (or {@code auto}) picks Panama when the
 * {@code jdk.incubator.vector} module is readable and the C2 compiler is on, else scalar with one warning that names
 * the fix. Any other value is an error, and so is asking for Panama without the module. A Panama class that fails to
 * load once the module is there is a packaging bug and is reported as such, never hidden behind a slow path.
 */
final class KernelSupportLookup {
    static final String PROPERTY = "hourglass.kernels";
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final Logger LOG = LoggerFactory.getLogger(Kernels.class);

    private KernelSupportLookup() {
    }

    /** Holder idiom: the lookup runs on first use of the kernels, not when this class is merely loaded. */
    static final class Holder {
        static final KernelSupport SUPPORT = lookup(System.getProperty(PROPERTY));

        private Holder() {
        }
    }

    static KernelSupport lookup(String requested) {
        String choice = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        switch (choice) {
            case "scalar" -> {
                KernelSupport s = new ScalarKernelSupport();
                LOG.info("Hourglass kernels: {} (forced by -D{}=scalar)", s.description(), PROPERTY);
                return s;
            }
            case "panama" -> {
                if (!vectorModuleReadable()) {
                    throw new IllegalStateException("-D" + PROPERTY + "=panama needs the Vector API, but the module "
                            + VECTOR_MODULE + " is not readable: start java with --add-modules " + VECTOR_MODULE);
                }
                KernelSupport s = loadPanama();
                LOG.info("Hourglass kernels: {} (forced by -D{}=panama)", s.description(), PROPERTY);
                return s;
            }
            case "auto", "" -> {
                if (!vectorModuleReadable()) {
                    LOG.warn("Hourglass kernels: the Vector API module {} is not readable, so the scalar kernels are used"
                            + " (15 to 20 times slower). Fix: {}", VECTOR_MODULE,
                            vectorModuleFix(System.getProperty("sun.java.command"),
                                    System.getProperty("java.class.path")));
                    return new ScalarKernelSupport();
                }
                String noC2 = c2Missing();
                if (noC2 != null) {
                    LOG.warn("Hourglass kernels: {}; the Vector API is slow without the C2 compiler, so the scalar kernels"
                            + " are used. Fix: remove that JVM option.", noC2);
                    return new ScalarKernelSupport();
                }
                KernelSupport s = loadPanama();
                LOG.info("Hourglass kernels: {}", s.description());
                return s;
            }
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + requested
                    + " is not a kernel implementation; use panama, scalar or auto");
        }
    }

    /**
     * How to make the vector module readable, for the warning. Started with {@code java -jar} (the launcher then puts
     * the jar's path first in {@code sun.java.command}, and it is the whole class path), the option has to go before
     * {@code -jar}: a jar's manifest can open and export packages but not add a module.
     */
    static String vectorModuleFix(String javaCommand, String classPath) {
        String jar = classPath == null ? "" : classPath;
        boolean launchedJar = jar.endsWith(".jar") && !jar.contains(java.io.File.pathSeparator)
                && javaCommand != null && (javaCommand.equals(jar) || javaCommand.startsWith(jar + " "));
        if (launchedJar) {
            return "start it as java --add-modules " + VECTOR_MODULE + " -jar " + jar + " ... (a jar's manifest cannot"
                    + " add a module)" + (jar.endsWith("hourglass.jar") ? ", or with bin/hourglass, which does" : "")
                    + ".";
        }
        return "add --add-modules " + VECTOR_MODULE + " to the java command line.";
    }

    static boolean vectorModuleReadable() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE)
                .map(m -> KernelSupportLookup.class.getModule().canRead(m))
                .orElse(false);
    }

    private static KernelSupport loadPanama() {
        try {
            // Reflection keeps the verifier from loading Vector API classes while checking this class.
            return Class.forName("dev.hourglass.kernels.PanamaKernelSupport")
                    .asSubclass(KernelSupport.class)
                    .getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new LinkageError("Hourglass packaging bug: the Vector API is available but the Panama kernels failed"
                    + " to load", e);
        }
    }

    /** A reason the C2 compiler is off, or null. */
    private static String c2Missing() {
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.equals("-Xint")) {
                return "the JVM runs interpreted (-Xint)";
            }
            if (arg.startsWith("-XX:TieredStopAtLevel=") && !arg.endsWith("=4")) {
                return "the JIT stops before C2 (" + arg + ")";
            }
            if (arg.equals("-XX:-UseCompiler")) {
                return "the JIT is off (-XX:-UseCompiler)";
            }
        }
        return null;
    }
}
