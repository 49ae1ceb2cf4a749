package dev.hourglass.convert;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Tensor;

/**
 * Reads original checkpoints in Hourglass's canonical layout, reports on them, and writes Hourglass model files.
 *
 * <pre>{@code
 * try (ConvertedModel model = Converter.open(Path.of("segmenter/checkpoint.pth"), ConvertOptions.NONE)) {
 *     Converter.write(model, Path.of("seg-l.safetensors"), DType.F16, false, Converter.Progress.NONE);
 * }
 * }</pre>
 */
public final class Converter {

    /** Told how far a write is. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, total) -> { };

        void written(long bytes, long total);
    }

    private Converter() {
    }

    /**
     * Opens a checkpoint (a folder or a weight file; see {@link Checkpoint#open}) as a canonical model, detecting its
     * layout unless {@code options} names it.
     *
     * <p>Settings the checkpoint does not carry are inferred; those that are guessed are listed by
     * {@link ConvertedModel#guesses()}. Two guesses are refused, being wrong too often. The number of attention
     * heads: no shape shows it, and width / 64 is wrong for many models, so without a configuration that says it
     * {@link ConvertOptions#heads()} must give it. A timm checkpoint's normalisation: timm's ViTs use mean = std =
     * 0.5 or ImageNet's, so without a {@code pretrained_cfg} that gives them (or a family that settles them: DeiT,
     * CF-ViT) {@link ConvertOptions#mean()} and {@link ConvertOptions#std()} must. Given, they replace what any
     * checkpoint gives ({@link ConvertedModel#replacedNormalisation()} says what they replaced).
     *
     * @throws MissingSettingException if the number of heads, or a timm checkpoint's normalisation, is neither in the
     *                                 checkpoint nor in {@code options} (the heads are asked for first)
     * @throws IOException naming the file and every problem (missing, mis-shaped or unmapped tensors)
     */
    public static ConvertedModel open(Path input, ConvertOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        Checkpoint c = Checkpoint.open(input);
        try {
            Conversion conv = Layouts.convert(c, options);
            if (conv.config() == null || !conv.problems().isEmpty()) {
                throw new IOException(c.fileName() + " (" + conv.layout() + " layout): " + describe(conv.problems()));
            }
            String missing = missingHeads(c, conv);
            if (missing != null) {
                throw new MissingSettingException(missing, "--heads");
            }
            String noNormalisation = Normalisation.missing(c, conv);
            if (noNormalisation != null) {
                throw new MissingSettingException(noNormalisation, "--mean");
            }
            return new ConvertedModel(c, conv.layout(), withLabels(conv.config(), options, c.fileName()), conv.plan(),
                    conv.shapes());
        } catch (IOException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /**
     * The configuration with the user's class names, which must be one per class; without them, the checkpoint's own
     * names must be one per class too (the rule the engine reads a model file by), or none.
     */
    private static ModelConfig withLabels(ModelConfig config, ConvertOptions options, String file) throws IOException {
        int classes = config.classes();
        if (options.labels() == null) {
            if (!config.labels().isEmpty() && classes > 0 && config.labels().size() != classes) {
                throw new IOException(file + ": config.json has " + config.labels().size() + " class names for a model"
                        + " of " + classes + " classes; give the right ones with --labels");
            }
            return config;
        }
        if (options.labels().size() != classes) {
            throw new IOException(file + ": " + options.labels().size() + " class names given for a model of "
                    + classes + " classes");
        }
        return new ModelConfig(config.family(), config.encoder(), config.preprocessing(), options.labels(),
                config.decoder(), config.source(), config.inferred());
    }

    /**
     * The refusal of a guessed head count, or null: a converted Hourglass file keeps what it was converted with
     * (older files may carry a guess; they are reported, not refused).
     */
    static String missingHeads(Checkpoint c, Conversion conv) {
        if (conv.config() == null || conv.layout().equals("hourglass")) {
            return null;
        }
        int width = Guesses.headsGuessedFromWidth(conv.config().inferred());
        return width < 0 ? null : Guesses.headsMessage(c.fileName(), conv.layout(),
                c.config().isPresent() || c.variant().isPresent(), width);
    }

    /**
     * The settings of a checkpoint that would be guessed rather than read (see {@link ConvertedModel#guesses()}),
     * without loading it; none if its configuration cannot be determined.
     */
    public static List<String> guesses(Path input, ConvertOptions options) throws IOException {
        try (Checkpoint c = Checkpoint.open(input)) {
            Conversion conv = Layouts.convert(c, options);
            return conv.config() == null ? List.of() : Guesses.of(conv.config().inferred());
        }
    }

    /**
     * The checkpoint's normalisation that {@code options}' mean and std replace (see
     * {@link ConvertedModel#replacedNormalisation()}), without loading it; empty if none is replaced.
     */
    public static java.util.Optional<String> replacedNormalisation(Path input, ConvertOptions options)
            throws IOException {
        try (Checkpoint c = Checkpoint.open(input)) {
            Conversion conv = Layouts.convert(c, options);
            return conv.config() == null || !options.normalisationGiven() ? java.util.Optional.empty()
                    : Normalisation.replaced(conv.config().inferred());
        }
    }

    /**
     * Inspects a checkpoint without refusing it: the layout, the configuration, the tensors and every problem (a
     * setting that {@link #open} would refuse to guess among them).
     */
    public static Inspection inspect(Path input, ConvertOptions options) throws IOException {
        try (Checkpoint c = Checkpoint.open(input)) {
            Conversion conv = Layouts.convert(c, options);
            List<String> problems = new java.util.ArrayList<>(conv.problems());
            for (String missing : new String[] {missingHeads(c, conv), Normalisation.missing(c, conv)}) {
                if (missing != null) {
                    problems.add("missing: " + missing.substring(missing.indexOf(": ") + 2));
                }
            }
            if (problems.size() > conv.problems().size()) {
                conv = new Conversion(conv.layout(), conv.config(), conv.plan(), conv.shapes(),
                        List.copyOf(problems));
            }
            return Inspection.of(c, conv);
        }
    }

    /**
     * Writes a model as an Hourglass file: canonical names, the configuration in the metadata, every floating-point
     * tensor in {@code dtype} (null keeps each tensor's own type; F16 and BF16 round to nearest even, as PyTorch
     * does). The output goes to a temporary file beside {@code out} and replaces it only when complete; nothing is
     * left behind on failure; the input is never touched.
     *
     * @param force replace {@code out} if it exists
     * @throws IOException if {@code out} exists and {@code force} is false, or the output would be the input
     */
    public static void write(ConvertedModel model, Path out, DType dtype, boolean force, Progress progress)
            throws IOException {
        if (Files.exists(out) && !force) {
            throw new IOException(out + " exists; use --force to replace it");
        }
        Path source = model.path().toAbsolutePath().normalize();
        if (Files.exists(out) && Files.isSameFile(source, out)) {
            throw new IOException(out + " is the input file; write the converted model elsewhere");
        }
        SafetensorsWriter writer = new SafetensorsWriter();
        ModelFormat.metadata(model.config()).forEach(writer::metadata);
        for (TensorInfo info : model.tensors()) {
            DType from = info.floatType().orElseThrow(() -> new IOException(model.path().getFileName()
                    + ": tensor " + info.name() + " has dtype " + info.dtype() + ", not a float type"));
            DType to = dtype == null ? from : dtype;
            writer.add(info.name(), to.safetensorsName(), info.shape(), () -> bytes(model, info.name(), to));
        }
        writer.progress(progress::written);
        writer.write(out);
    }

    /** A canonical tensor's bytes in {@code to}: its own bytes when the type is the same, converted otherwise. */
    private static MemorySegment bytes(ConvertedModel model, String name, DType to) throws IOException {
        Tensor t = model.tensor(name);
        if (t.dtype() == to) {
            return t.data();
        }
        int n = Math.toIntExact(t.elementCount());
        float[] values = new float[n];
        t.copyToFloats(0, values, 0, n);
        MemorySegment out = MemorySegment.ofArray(new byte[Math.multiplyExact(n, to.byteSize())]);
        to.fromFloats(values, 0, out, 0, n);
        return out;
    }

    static String describe(List<String> problems) {
        if (problems.isEmpty()) {
            return "the encoder's configuration could not be determined";
        }
        int shown = Math.min(12, problems.size());
        return problems.size() + " problem(s): " + String.join("; ", problems.subList(0, shown))
                + (problems.size() > shown ? "; ..." : "");
    }
}
