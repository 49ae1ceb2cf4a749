package dev.hourglass.cli;

import java.io.PrintWriter;

import picocli.CommandLine;

/**
 * {@code --threads N}, checked the same way by every command: at least 1; more than the available processors is
 * allowed with one warning on standard error (they only take turns on the same cores, which is slower, but a
 * container may report fewer processors than it may use); more than {@link #limit} is refused as a usage error.
 */
final class Threads {
    /** Threads per available processor above which {@code --threads} is refused. */
    static final int MAX_PER_PROCESSOR = 4;

    /** The help text every command's {@code --threads} shows. */
    static final String HELP = "Compute threads (default: all available processors; more than those is slower and"
            + " warned about, more than " + MAX_PER_PROCESSOR + " per processor is refused).";

    private Threads() {
    }

    /** The most threads accepted on a machine with {@code processors} processors. */
    static int limit(int processors) {
        return Math.max(8, MAX_PER_PROCESSOR * processors);
    }

    /**
     * The thread count to use: {@code requested}, or all available processors when null.
     *
     * @throws CommandLine.ParameterException below 1 or above {@link #limit}: exit code 2
     */
    static int resolve(CommandLine cl, Integer requested) {
        return resolve(cl, requested, Runtime.getRuntime().availableProcessors());
    }

    static int resolve(CommandLine cl, Integer requested, int processors) {
        if (requested == null) {
            return processors;
        }
        int n = requested;
        if (n < 1) {
            throw new CommandLine.ParameterException(cl, "--threads must be at least 1, got " + n);
        }
        if (n > limit(processors)) {
            throw new CommandLine.ParameterException(cl, "--threads " + n + " is more than " + limit(processors)
                    + " (" + MAX_PER_PROCESSOR + " per processor; this machine has " + processors + ")");
        }
        if (n > processors) {
            PrintWriter err = cl.getErr();
            err.println("warning: --threads " + n + " is more than the " + processors + " processor"
                    + (processors == 1 ? "" : "s") + " available; the extra threads take turns on them (slower)");
            err.flush();
        }
        return n;
    }
}
