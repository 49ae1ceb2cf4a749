package dev.hourglass.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hourglass} command line. */
@Command(name = "hourglass",
        mixinStandardHelpOptions = true,
        versionProvider = HourglassCommand.Version.class,
        description = "Vision Transformers on the JVM: ViT/DeiT classification, Segmenter segmentation and DPT depth on"
                + " the Vector API, no native runtime, sped up without fine-tuning by token reduction (--reduce: ToMe, Expedit,"
                + " Patch Slimming's masks; CF-ViT's own checkpoints run coarse to fine).",
        subcommands = {ClassifyCommand.class, SegmentCommand.class, DepthCommand.class, ConvertCommand.class,
                InspectCommand.class, DemoCommand.class, BackendsCommand.class, SlimSearchCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "JVM options come from HOURGLASS_JAVA_OPTS (bin/hourglass); -Dhourglass.kernels=scalar|panama"
                + " forces the kernel implementation.", "--backend auto|cpu|tornado chooses where classify, segment, depth and"
                + " demo compute; bin/hourglass --show-command prints the java command it would run."})
public final class HourglassCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, for {@link #main} and for tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new HourglassCommand());
        cl.setParameterExceptionHandler(HourglassCommand::reportUsageError);
        cl.setExecutionExceptionHandler(HourglassCommand::reportFailure);
        return cl;
    }

    /**
     * A bad argument, found by picocli or by a command ({@link CommandLine.ParameterException}): one line saying what
     * is wrong, one pointing to the command's help, exit code 2. The usage text itself is left to {@code --help}: 40
     * lines of it would bury the one that matters.
     */
    private static int reportUsageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        String command = cl.getCommandSpec().qualifiedName();
        StringBuilder line = new StringBuilder(oneLine(e.getMessage()));
        if (e instanceof CommandLine.UnmatchedArgumentException u && cl.getParent() == null
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            line = new StringBuilder("unknown command '" + u.getUnmatched().get(0) + "'; the commands are "
                    + String.join(", ", cl.getSubcommands().keySet()));
        } else if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            line.append(" (did you mean ").append(String.join(" or ", u.getSuggestions())).append("?)");
        }
        PrintWriter err = cl.getErr();
        err.println(command + ": error: " + line);
        err.println("Try '" + command + " --help'.");
        err.flush();
        return cl.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * Expected failures (bad files, bad data) are one line on stderr and exit code 1, not a stack trace; file-system
     * exceptions are put in words by {@link FileErrors}. A setting the checkpoint lacks and the user must give
     * ({@code --heads}) is one line too, with exit code 2, as for a missing argument.
     */
    private static int reportFailure(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof dev.hourglass.convert.MissingSettingException missing) {
            // Information the checkpoint lacks and the user must give: like a missing argument, exit code 2.
            err.println(cl.getCommandSpec().qualifiedName() + ": error: " + oneLine(missing.getMessage()));
            err.flush();
            return 2;
        }
        if (e instanceof IOException || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
            String message = e instanceof IOException io ? FileErrors.describe(io) : e.getMessage();
            err.println(cl.getCommandSpec().qualifiedName() + ": error: " + oneLine(message));
            err.flush();
            return 1;
        }
        throw new IllegalStateException(e);
    }

    private static String oneLine(String message) {
        return message == null ? "(no message)" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * The version Maven built ({@code version.properties}, filtered with the project's version), else the jar
     * manifest's {@code Implementation-Version}, else a line saying the classes were not built by Maven.
     */
    static final class Version implements CommandLine.IVersionProvider {
        static final String RESOURCE = "dev/hourglass/cli/version.properties";

        @Override
        public String[] getVersion() {
            return new String[] {"hourglass " + version(),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")"};
        }

        static String version() {
            try (InputStream in = HourglassCommand.class.getClassLoader().getResourceAsStream(RESOURCE)) {
                if (in != null) {
                    Properties p = new Properties();
                    p.load(in);
                    String v = p.getProperty("version", "").strip();
                    if (!v.isEmpty() && !v.startsWith("${")) {
                        return v;
                    }
                }
            } catch (IOException e) {
                // fall through to the manifest
            }
            String v = HourglassCommand.class.getPackage().getImplementationVersion();
            return v != null ? v : "(version unknown: classes not built by Maven)";
        }
    }
}
