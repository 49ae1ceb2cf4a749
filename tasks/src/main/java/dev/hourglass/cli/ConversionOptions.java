package dev.hourglass.cli;

import java.util.Iterator;
import java.util.List;

import dev.hourglass.convert.ConvertOptions;
import dev.hourglass.convert.DptOutput;
import picocli.CommandLine.Option;

/**
 * What a checkpoint may not say, for every command that reads one (picocli mixin): the {@code hourglass} commands and
 * the {@code hourglass-spark} job.
 */
public final class ConversionOptions {
    /**
     * The layouts {@code --family} names: the converter's, checked here before anything is read (the converter checks
     * only once the checkpoint has been read, as bad data).
     */
    static final List<String> FAMILIES = ConvertOptions.layouts();

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec command;

    @Option(names = "--family", paramLabel = "LAYOUT", completionCandidates = Families.class,
            description = "The checkpoint's layout, if detection from its tensor names is not enough:"
                    + " ${COMPLETION-CANDIDATES}.")
    String family;

    @Option(names = "--heads", paramLabel = "N",
            description = "Attention heads of the encoder. Required when the checkpoint does not say (a timm file"
                    + " without config.json, a DeiT or CF-ViT .pth): no weight shows it (ViT-Ti 3, ViT-S 6, ViT-B 12,"
                    + " ViT-L 16).")
    Integer heads;

    @Option(names = "--mean", paramLabel = "R,G,B",
            description = "The normalisation's mean per channel, given with --std; it replaces what the checkpoint"
                    + " gives. Required for a timm checkpoint without a pretrained_cfg giving it (a DeiT or CF-ViT"
                    + " .pth excepted): timm's ViTs use 0.5,0.5,0.5 (augreg and the original ViT weights, the default"
                    + " tags) or ImageNet's 0.485,0.456,0.406 (DeiT, DINO).")
    String mean;

    @Option(names = "--std", paramLabel = "R,G,B",
            description = "The normalisation's standard deviation per channel, given with --mean, each above 0:"
                    + " 0.5,0.5,0.5 or ImageNet's 0.229,0.224,0.225.")
    String std;

    @Option(names = "--decoder-heads", paramLabel = "N",
            description = "Attention heads of Segmenter's mask-transformer decoder (default: its width / 64).")
    Integer decoderHeads;

    @Option(names = "--labels", paramLabel = "FILE",
            description = "Class names, one per line, one per class (Segmenter checkpoints carry none).")
    java.nio.file.Path labels;

    @Option(names = "--dpt-output", paramLabel = "OUTPUT", completionCandidates = DptOutputs.class,
            description = "What a DPT depth model outputs, which isl-org's .pt files do not record: relative (the"
                    + " default: relative inverse depth, larger is nearer), kitti or nyu (metric depth in metres,"
                    + " larger is farther, as run_monodepth.py runs dpt_hybrid_kitti-cb926ef4.pt: 1 / (0.00006016 x"
                    + " + 0.00579) at net 1216x352, and dpt_hybrid_nyu-2ce69ec7.pt: 1 / (0.000305 x + 0.1378) at"
                    + " 640x480). Refused for other models, for a plain-ViT DPT (both settings are DPT-Hybrid's) and"
                    + " for Hugging Face folders.")
    String dptOutput;

    /**
     * One line on stderr listing the settings of {@code model} that were guessed rather than read (none: nothing
     * printed), so that a result from guessed settings is not taken silently for an exact one; the note that a DPT's
     * output was left relative although its file name looks like a metric checkpoint gets a line of its own.
     */
    void reportGuesses(java.nio.file.Path model, java.util.List<String> guesses) {
        if (guesses.isEmpty()) {
            return;
        }
        java.io.PrintWriter err = command.commandLine().getErr();
        // A config.json cannot say a DPT's output, only --dpt-output can: that note has its own line.
        java.util.List<String> settings = guesses.stream().filter(g -> !g.startsWith(DptOutput.GUESS)).toList();
        if (!settings.isEmpty()) {
            err.println(command.qualifiedName() + ": warning: " + model + ": guessed, not read from the checkpoint: "
                    + String.join("; ", settings) + " (a config.json beside the weights says them exactly)");
        }
        guesses.stream().filter(g -> g.startsWith(DptOutput.GUESS)).forEach(g ->
                err.println(command.qualifiedName() + ": warning: " + model + ": " + g));
        err.flush();
    }

    /**
     * One line on stderr when {@code --mean} and {@code --std} replace a normalisation that {@code model} gives
     * ({@code replaced}: its values); nothing when they were not given, or replaced only a guess or the same values.
     */
    void reportReplaced(java.nio.file.Path model, java.util.Optional<String> replaced) {
        if (mean == null || replaced.isEmpty()) {
            return;
        }
        java.io.PrintWriter err = command.commandLine().getErr();
        err.println(command.qualifiedName() + ": warning: " + model + ": --mean and --std replace the normalisation"
                + " the checkpoint gives: " + replaced.get());
        err.flush();
    }

    /**
     * {@link #reportGuesses(java.nio.file.Path, java.util.List)} and
     * {@link #reportReplaced(java.nio.file.Path, java.util.Optional)} for a model the converter opens again.
     */
    void reportGuesses(java.nio.file.Path model, ConvertOptions options) throws java.io.IOException {
        reportGuesses(model, dev.hourglass.convert.Converter.guesses(model, options));
        if (options.normalisationGiven()) {
            reportReplaced(model, dev.hourglass.convert.Converter.replacedNormalisation(model, options));
        }
    }

    /**
     * The options for the converter. An unknown {@code --family} or {@code --dpt-output}, a head count below 1, and a
     * {@code --mean} or {@code --std} that is not three finite numbers (std above 0), or is given without the other, are
     * usage errors (exit 2); a missing or unreadable {@code --labels} file is named with the option (exit 1).
     */
    public ConvertOptions toOptions() throws java.io.IOException {
        if (family != null && !FAMILIES.contains(family)) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "--family " + family + " is not a"
                    + " known layout; use one of " + String.join(", ", FAMILIES));
        }
        for (var option : new Object[][] {{"--heads", heads}, {"--decoder-heads", decoderHeads}}) {
            if (option[1] != null && (Integer) option[1] < 1) {
                throw new picocli.CommandLine.ParameterException(command.commandLine(), option[0] + " must be at"
                        + " least 1, got " + option[1]);
            }
        }
        if ((mean == null) != (std == null)) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "give --mean and --std"
                    + " together: the normalisation needs both (" + (mean == null ? "--std" : "--mean") + " given"
                    + " alone)");
        }
        java.util.List<Double> meanValues = channels("--mean", mean, false);
        java.util.List<Double> stdValues = channels("--std", std, true);
        java.util.List<String> names = null;
        if (labels != null) {
            java.util.List<String> lines = new java.util.ArrayList<>();
            FileErrors.reading("--labels", labels, () -> lines.addAll(java.nio.file.Files.readAllLines(labels,
                    java.nio.charset.StandardCharsets.UTF_8)));
            names = lines.stream().map(String::strip).toList();
            int end = names.size();
            while (end > 0 && names.get(end - 1).isEmpty()) {
                end--;
            }
            names = names.subList(0, end);
            if (names.contains("")) {
                throw new java.io.IOException(labels + ": line " + (names.indexOf("") + 1) + " is empty; one class"
                        + " name per line");
            }
        }
        DptOutput output = null;
        if (dptOutput != null) {
            output = DptOutput.parse(dptOutput);
            if (output == null) {
                throw new picocli.CommandLine.ParameterException(command.commandLine(), "--dpt-output must be one of "
                        + String.join(", ", DptOutput.names()) + ", got '" + dptOutput + "'");
            }
        }
        return new ConvertOptions(family, heads, decoderHeads, names, meanValues, stdValues, output);
    }

    /** {@code R,G,B} as three finite numbers ({@code positive}: above 0), or null if the option is not given. */
    private java.util.List<Double> channels(String option, String text, boolean positive) {
        if (text == null) {
            return null;
        }
        String[] parts = text.split(",", -1);
        if (parts.length != 3) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), option + " " + text + ": expected"
                    + " 3 numbers R,G,B separated by commas, got " + parts.length);
        }
        java.util.List<Double> values = new java.util.ArrayList<>();
        for (String part : parts) {
            double v;
            try {
                v = Double.parseDouble(part.strip());
            } catch (NumberFormatException e) {
                v = Double.NaN;
            }
            if (!Double.isFinite(v) || (positive && v <= 0)) {
                throw new picocli.CommandLine.ParameterException(command.commandLine(), option + " " + text + ": "
                        + (part.isBlank() ? "an empty value" : "'" + part.strip() + "'") + " is not a finite number"
                        + (positive ? " above 0" : ""));
            }
            values.add(v);
        }
        return values;
    }

    /** {@link DptOutput#names()} for picocli's shell completion. */
    static final class DptOutputs implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return DptOutput.names().iterator();
        }
    }

    /** {@link #FAMILIES} for picocli's help ({@code ${COMPLETION-CANDIDATES}}) and shell completion. */
    static final class Families implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return FAMILIES.iterator();
        }
    }
}
