package dev.hourglass.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A progress bar on stderr. For long writes ({@link #update}): redrawn in place on a terminal, a line per tenth
 * otherwise, nothing for files under 32 MB (they take no time worth watching). For a command that runs many images
 * ({@link #forImages}): drawn only on a terminal and only for more than one image, and cleared ({@link #clear})
 * while a result line is printed, so that standard output, on the same screen, never has a bar in its lines.
 */
final class ProgressBar {
    private static final long QUIET_BELOW_BYTES = 32L << 20;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final String label;
    private final boolean terminal;
    private int lastShown = -1;
    private boolean shown;
    /** The bar's length on the terminal's current line, 0 when none is drawn there. */
    private int drawn;

    ProgressBar(PrintWriter err, String label) {
        this(err, label, System.console() != null);
    }

    /** A bar that redraws in place when {@code terminal}; tests force it to see what a terminal would. */
    ProgressBar(PrintWriter err, String label, boolean terminal) {
        this.err = err;
        this.label = label;
        this.terminal = terminal;
    }

    /**
     * A bar counting {@code images}: it draws on a terminal when there is more than one image, and is silent otherwise
     * (standard error a file or a pipe: a log, a test's captured output).
     */
    static ProgressBar forImages(PrintWriter err, String label, int images) {
        return new ProgressBar(err, label, images > 1 && stderrIsTerminal());
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
        draw(percent, String.format(Locale.ROOT, "%3d%% %,d / %,d MB", percent, done >> 20, total >> 20));
    }

    /**
     * {@code done} of {@code total} images finished in {@code elapsedMs}: the bar, the count and, once one image is
     * done, the time per image and an estimate of the time left. Only on a terminal.
     */
    void images(int done, int total, double elapsedMs) {
        if (!terminal) {
            return;
        }
        String rate = done == 0 ? "" : String.format(Locale.ROOT, ", %.0f ms per image, %s left", elapsedMs / done,
                duration(elapsedMs / done * (total - done)));
        draw(100 * done / Math.max(total, 1), String.format(Locale.ROOT, "%d/%d images%s", done, total, rate));
    }

    /** Erases the bar from the terminal's line, so that a line of output can take it; the next update redraws it. */
    void clear() {
        if (drawn > 0) {
            err.print("\r" + " ".repeat(drawn) + "\r");
            err.flush();
            drawn = 0;
        }
    }

    void finish() {
        if (shown && terminal && drawn > 0) {
            err.println();
            err.flush();
            drawn = 0;
        }
    }

    private void draw(int percent, String detail) {
        int filled = WIDTH * percent / 100;
        String line = String.format(Locale.ROOT, "%s [%s%s] %s", label, "#".repeat(filled),
                " ".repeat(WIDTH - filled), detail);
        if (terminal) {
            // Padded over a longer line drawn before, which \r alone would leave a tail of.
            err.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())));
            drawn = Math.max(line.length(), drawn);
        } else {
            err.println(line);
        }
        err.flush();
    }

    private static String duration(double ms) {
        long s = Math.round(ms / 1000);
        return s < 60 ? s + " s"
                : s < 3600 ? s / 60 + " min " + s % 60 + " s"
                : s / 3600 + " h " + s % 3600 / 60 + " min";
    }

    /**
     * Whether standard error is a terminal. Java says so only for standard input and output together
     * ({@link System#console()}), which {@code --json > results.jsonl} turns off while the bar on stderr is still
     * wanted, so Linux's {@code /proc/self/fd/2} is asked first.
     */
    static boolean stderrIsTerminal() {
        Path fd = Path.of("/proc/self/fd/2");
        try {
            if (Files.isSymbolicLink(fd)) {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not Linux, or not allowed to look: ask the console below
        }
        Console console = System.console();
        return console != null && console.isTerminal();
    }
}
