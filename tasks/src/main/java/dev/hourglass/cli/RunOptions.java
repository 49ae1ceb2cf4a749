package dev.hourglass.cli;

import dev.hourglass.tasks.image.RgbImage;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --threads}, {@code --max-pixels} and {@code --repeat}, for the commands that run a model on images
 * ({@code classify}, {@code segment}, {@code depth}; picocli mixin), checked the same way by each.
 */
final class RunOptions {

    @Option(names = "--threads", paramLabel = "N", description = Threads.HELP)
    Integer threads;

    @Option(names = "--max-pixels", defaultValue = "" + RgbImage.DEFAULT_MAX_PIXELS, paramLabel = "N",
            description = "Refuse images of more pixels than this, checked before decoding (default:"
                    + " ${DEFAULT-VALUE}, Pillow's decompression-bomb limit).")
    long maxPixels;

    @Option(names = "--repeat", defaultValue = "1", paramLabel = "N",
            description = "Run the network N times on each input and report the median time (default:"
                    + " ${DEFAULT-VALUE}).")
    int repeat;

    /**
     * Checks {@code --repeat} and {@code --max-pixels} and returns the thread count ({@link Threads#resolve}).
     *
     * @throws CommandLine.ParameterException for a value out of range: exit code 2
     */
    int check(CommandLine cl) {
        if (repeat < 1) {
            throw new CommandLine.ParameterException(cl, "--repeat must be at least 1, got " + repeat);
        }
        if (maxPixels < 1) {
            throw new CommandLine.ParameterException(cl, "--max-pixels must be at least 1, got " + maxPixels);
        }
        return Threads.resolve(cl, threads);
    }
}
