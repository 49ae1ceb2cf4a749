package dev.hourglass.cli;

import java.io.IOException;
import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hourglass} command line. */
@Command(name = "hourglass",
        mixinStandardHelpOptions = true,
        versionProvider = HourglassCommand.Version.class,
        description = "Vision Transformers on the JVM: ViT/DeiT classification and Segmenter segmentation on the Vector"
                + " API, no native runtime, sped up without fine-tuning by token reduction (--reduce: ToMe, Expedit,"
                + " Patch Slimming's masks; CF-ViT's own checkpoints run coarse to fine).",
        subcommands = {ClassifyCommand.class, SegmentCommand.class, ConvertCommand.class, InspectCommand.class, DemoCommand.class,
                BackendsCommand.class, SlimSearchCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "JVM options come from HOURGLASS_JAVA_OPTS (bin/hourglass); -Dhourglass.kernels=scalar|panama"
                + " forces the kernel implementation.", "--backend auto|cpu|tornado chooses where classify, segment and"
                + " demo compute; bin/hourglass --show-command prints the java command it would run."})
public final class HourglassCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see --help)");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, for {@link #main} and for tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new HourglassCommand());
        cl.setExecutionExceptionHandler(HourglassCommand::reportFailure);
        return cl;
    }

    /** Expected failures (bad files, bad arguments) are one line on stderr and exit code 1, not a stack trace. */
    private static int reportFailure(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof IOException || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
            err.println("hourglass " + cl.getCommandName() + ": error: " + e.getMessage());
            err.flush();
            return 1;
        }
        throw new IllegalStateException(e);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = HourglassCommand.class.getPackage().getImplementationVersion();
            return new String[] {"hourglass " + (v == null ? "(development build)" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")"};
        }
    }
}
