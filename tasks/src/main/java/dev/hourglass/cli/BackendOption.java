package dev.hourglass.cli;

import java.io.PrintWriter;

import dev.hourglass.backend.Backends;
import picocli.CommandLine.Option;

/**
 * {@code --backend}, for every command that computes (picocli mixin). The name is checked by {@link Backends#open}
 * when the model loads: an unknown or unavailable backend is a one-line error (exit 1), never a quiet fallback.
 */
final class BackendOption {

    @Option(names = "--backend", defaultValue = Backends.AUTO, paramLabel = "NAME",
            description = "Where to compute: auto (the best backend that can run here), cpu, or tornado (the TornadoVM"
                    + " GPU backend, which bin/hourglass puts on the class path when TORNADOVM_HOME names an SDK)."
                    + " Default: ${DEFAULT-VALUE}. The choice is printed once on standard error.")
    String name;

    /** Prints the backend chosen, once per command, on standard error (standard output stays the result). */
    static void report(PrintWriter err, String summary) {
        err.println(summary);
        err.flush();
    }
}
