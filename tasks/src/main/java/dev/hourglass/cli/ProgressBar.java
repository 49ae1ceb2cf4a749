package dev.hourglass.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar on stderr for long writes: redrawn in place on a terminal, a line per tenth otherwise, nothing for
 * files under 32 MB (they take no time worth watching).
 */
final class ProgressBar {
    private static final long QUIET_BELOW_BYTES = 32L << 20;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final String label;
    private final boolean terminal = System.console() != null;
    private int lastShown = -1;
    private boolean shown;

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    void update(long done, long total) {
        if (total < QUIET_BELOW_BYTES) {
            return;
        }
        int percent = (int) (100 * done / total);
        if (terminal ? percent == lastShown : percent / 10 == lastShown / 10 && lastShown >= 0) {
            return;
        }
        lastShown = percent;
        shown = true;
        int filled = WIDTH * percent / 100;
        String line = String.format(Locale.ROOT, "%s [%s%s] %3d%% %,d / %,d MB", label, "#".repeat(filled),
                " ".repeat(WIDTH - filled), percent, done >> 20, total >> 20);
        if (terminal) {
            err.print("\r" + line);
        } else {
            err.println(line);
        }
        err.flush();
    }

    void finish() {
        if (shown && terminal) {
            err.println();
            err.flush();
        }
    }
}
