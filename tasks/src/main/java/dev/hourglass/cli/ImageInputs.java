package dev.hourglass.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import dev.hourglass.tasks.image.ImageReadException;
import dev.hourglass.tasks.image.RgbImage;
import picocli.CommandLine;

/**
 * What {@code classify} and {@code segment} run over, found and checked before the model loads: every {@code --image}
 * value (a folder stands for the images in it), or one {@code --input-tensor}.
 *
 * <p>A value that does not exist or cannot be read is the user's mistake and stops the command at once (exit code 1,
 * one line naming it), as every other file an option names. An image whose header says it cannot be used (no reader
 * for its format, zero size, more than {@code --max-pixels} pixels: {@link RgbImage#readHeader}) is only marked as
 * failed: among many, the others still run, and when none is left the model is never loaded. Once the model has
 * loaded, it may refuse more from their headers' sizes ({@link #refusingSizes}), still before the first image runs.
 *
 * <p>The output options are checked here too, before the model loads ({@link #checkOutputFolder},
 * {@link #checkOutputFileOrFolder}): with many inputs each names a folder of one file per input, named after it.
 */
final class ImageInputs {

    /** The suffixes taken from a folder (ImageIO reads them all), lower case. */
    static final List<String> FOLDER_SUFFIXES = List.of("png", "jpg", "jpeg", "bmp", "gif");

    /** For --help: how a folder given to --image is read. */
    static final String FOLDER_HELP = "a folder stands for the images in it, sorted by name (not its sub-folders;"
            + " files ending .png, .jpg, .jpeg, .bmp or .gif; hidden files skipped).";

    /**
     * One input: its file, whether it is a tensor ({@code --input-tensor}) rather than an image, an image's header
     * (null for a tensor or an image whose header could not be used), and why it cannot run, or null: the
     * {@link IOException} reading it would throw, or the {@link IllegalArgumentException} the model would.
     */
    record Input(Path file, boolean tensor, RgbImage.Header header, Exception problem) {

        /** The file name without its last suffix: the base of the names the outputs for it get. */
        String stem() {
            String name = file.getFileName().toString();
            int dot = name.lastIndexOf('.');
            return dot > 0 ? name.substring(0, dot) : name;
        }

        /** The report key for the input: "image" or "tensor". */
        String kind() {
            return tensor ? "tensor" : "image";
        }
    }

    private final List<Input> inputs;
    private final boolean many;

    private ImageInputs(List<Input> inputs, boolean many) {
        this.inputs = List.copyOf(inputs);
        this.many = many;
    }

    /**
     * The images {@code values} name, in order, a folder's replaced by the images in it; each header read for its size.
     *
     * @throws FileErrors.FileException naming the first value that does not exist or cannot be read (and how many
     *     more), or a folder with no image in it
     */
    static ImageInputs images(List<Path> values, long maxPixels) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path value : values) {
            try {
                FileErrors.checkInputFile("--image", value, true);
            } catch (FileErrors.FileException e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new FileErrors.FileException(problems.get(0) + (problems.size() == 1 ? ""
                    : " (and " + (problems.size() - 1) + " more --image value" + (problems.size() == 2 ? "" : "s")
                    + " that cannot be read)"), null);
        }
        List<Input> inputs = new ArrayList<>();
        boolean folder = false;
        for (Path value : values) {
            if (Files.isDirectory(value)) {
                folder = true;
                List<Path> files = imagesIn(value);
                if (files.isEmpty()) {
                    throw new FileErrors.FileException("--image " + value + ": no images in the folder (files ending ."
                            + String.join(", .", FOLDER_SUFFIXES) + ")", null);
                }
                for (Path file : files) {
                    inputs.add(image(file, maxPixels));
                }
            } else {
                inputs.add(image(value, maxPixels));
            }
        }
        return new ImageInputs(inputs, values.size() > 1 || folder);
    }

    /** One {@code --input-tensor} file, checked to exist and be readable. */
    static ImageInputs tensor(Path file) throws FileErrors.FileException {
        FileErrors.checkInputFile("--input-tensor", file, false);
        return new ImageInputs(List.of(new Input(file, true, null, null)), false);
    }

    List<Input> inputs() {
        return inputs;
    }

    /**
     * Whether the command runs over many inputs: more than one {@code --image} value, or a folder (even of one image).
     * Then output options name folders, each output named after its input, and a failed input does not stop the others.
     */
    boolean many() {
        return many;
    }

    /** Whether any input is left to run once the headers are read: if not, the model need not load. */
    boolean anyUsable() {
        return inputs.stream().anyMatch(i -> i.problem() == null);
    }

    /** A model's limit on image size: why it cannot run an image of {@code width x height} pixels, or null. */
    @FunctionalInterface
    interface SizeCheck {
        String problem(int width, int height);
    }

    /**
     * These inputs, with each image whose header's size the model refuses marked as failed: its problem the
     * {@link IllegalArgumentException} the model would throw once the image was decoded, naming the file. Made once the
     * model has loaded and before the first image runs, so that a refused image is never decoded and, among many, is
     * reported in its turn while the others run.
     */
    ImageInputs refusingSizes(SizeCheck check) {
        List<Input> checked = new ArrayList<>(inputs.size());
        for (Input input : inputs) {
            String problem = input.problem() == null && input.header() != null
                    ? check.problem(input.header().width(), input.header().height()) : null;
            checked.add(problem == null ? input : new Input(input.file(), input.tensor(), input.header(),
                    new IllegalArgumentException(input.file() + ": " + problem)));
        }
        return new ImageInputs(checked, many);
    }

    /**
     * Checks an option that names a folder whatever the number of inputs (segment's {@code --out}), where each input
     * gets files named after it: a file given there is a bad argument (exit code 2, {@code --out x.png: is a file; it
     * names a folder (perInput)}), and so, with many inputs, are two of the same name; a folder that cannot be written
     * is a file-system error (exit code 1). Creates nothing.
     */
    void checkOutputFolder(CommandLine cl, String option, Path folder, String perInput)
            throws FileErrors.FileException {
        FileErrors.checkOutputFolder(cl, option, folder, perInput);
        if (many) {
            checkDistinctOutputNames(cl, option, folder);
        }
    }

    /**
     * Checks an option that names a file with one input and, with many, a folder (created if missing) of one file per
     * input named after it ({@code --save-logits}). The wrong kind of path is a bad argument (exit code 2): a folder
     * for one input; for many, an existing file or a name ending {@code fileSuffix} (such as {@code .npy}), or two
     * inputs of the same name. Other problems are the file system's ({@link FileErrors}, exit code 1).
     */
    void checkOutputFileOrFolder(CommandLine cl, String option, Path path, String perInput, String fileSuffix)
            throws FileErrors.FileException {
        if (!many) {
            FileErrors.checkOutputFile(cl, option, path, false);
            return;
        }
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean file = Files.exists(path) && !Files.isDirectory(path);
        if (file || name.endsWith(fileSuffix) && !Files.isDirectory(path)) {
            String images = inputs.size() > 1 ? inputs.size() + " images" : "a folder of images";
            throw new CommandLine.ParameterException(cl, option + " " + path + ": " + (file ? "is a file" : "names a"
                    + " file") + "; with " + images + " it names a folder (" + perInput + ")");
        }
        FileErrors.checkOutputFolder(cl, option, path, perInput);
        checkDistinctOutputNames(cl, option, path);
    }

    /**
     * Refuses, with many inputs, two whose outputs would have the same name in {@code option}'s folder (the same file
     * name without its suffix, compared without case, as a case-insensitive file system would): the second would
     * overwrite the first. A usage error (exit code 2).
     */
    private void checkDistinctOutputNames(CommandLine cl, String option, Path folder) {
        Map<String, Path> seen = new HashMap<>();
        for (Input input : inputs) {
            Path before = seen.putIfAbsent(input.stem().toLowerCase(Locale.ROOT), input.file());
            if (before != null) {
                throw new CommandLine.ParameterException(cl, "--image " + before + " and " + input.file()
                        + " would both write " + input.stem() + ".* to " + option + " " + folder
                        + "; rename one or run them separately");
            }
        }
    }

    /** The images in a folder, not in its sub-folders: the suffixes ImageIO reads, no hidden files, by name. */
    private static List<Path> imagesIn(Path folder) throws FileErrors.FileException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(ImageInputs::isImageName).filter(Files::isRegularFile)
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new FileErrors.FileException("--image " + folder + ": cannot list the folder: "
                    + FileErrors.reason(e), e);
        }
    }

    private static boolean isImageName(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return !name.startsWith(".") && dot > 0 && FOLDER_SUFFIXES.contains(name.substring(dot + 1));
    }

    /**
     * An image, its header read for its size (no pixel decoded); refused there ({@link RgbImage#readHeader}: the same
     * exception {@link RgbImage#read} would throw), it is marked as failed.
     */
    private static Input image(Path file, long maxPixels) {
        try {
            return new Input(file, false, RgbImage.readHeader(file, maxPixels), null);
        } catch (ImageReadException e) {
            return new Input(file, false, null, e);
        }
    }
}
