package dev.hourglass.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import dev.hourglass.tasks.image.ImageReadException;
import dev.hourglass.tasks.image.RgbImage;
import picocli.CommandLine;

/**
 * What {@code classify} and {@code segment} run over, found and checked before the model loads: every {@code --image}
 * value (a folder stands for the images in it), or one {@code --input-tensor}.
 *
 * <p>A value that does not exist or cannot be read is the user's mistake and stops the command at once (exit code 1,
 * one line naming it), as every other file an option names. An image whose header says it cannot be used (no reader
 * for its format, zero size, more than {@code --max-pixels} pixels) is only marked as failed: among many, the others
 * still run, and when none is left the model is never loaded.
 */
final class ImageInputs {

    /** The suffixes taken from a folder (ImageIO reads them all), lower case. */
    static final List<String> FOLDER_SUFFIXES = List.of("png", "jpg", "jpeg", "bmp", "gif");

    /** For --help: how a folder given to --image is read. */
    static final String FOLDER_HELP = "a folder stands for the images in it, sorted by name (not its sub-folders;"
            + " files ending .png, .jpg, .jpeg, .bmp or .gif; hidden files skipped).";

    /**
     * One input: its file, whether it is a tensor ({@code --input-tensor}) rather than an image, and the problem its
     * header showed (the exception reading it would throw), or null.
     */
    record Input(Path file, boolean tensor, IOException problem) {

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
                    inputs.add(new Input(file, false, headerProblem(file, maxPixels)));
                }
            } else {
                inputs.add(new Input(value, false, headerProblem(value, maxPixels)));
            }
        }
        return new ImageInputs(inputs, values.size() > 1 || folder);
    }

    /** One {@code --input-tensor} file, checked to exist and be readable. */
    static ImageInputs tensor(Path file) throws FileErrors.FileException {
        FileErrors.checkInputFile("--input-tensor", file, false);
        return new ImageInputs(List.of(new Input(file, true, null)), false);
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

    /**
     * Refuses, with many inputs, two whose outputs would have the same name in {@code option}'s folder (the same file
     * name without its suffix, compared without case, as a case-insensitive file system would): the second would
     * overwrite the first. A usage error (exit code 2).
     */
    void checkDistinctOutputNames(CommandLine cl, String option, Path folder) {
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

    /**
     * With many inputs, an output option names a folder (created if missing) that gets one file per input: an
     * existing file, or a name ending {@code fileSuffix} (such as {@code .npy}), is a usage error (exit code 2) saying
     * so; other problems with the folder are file-system errors ({@link FileErrors#checkOutputFolder}, exit code 1).
     */
    void checkOutputFolder(CommandLine cl, String option, Path folder, String perInput, String fileSuffix)
            throws FileErrors.FileException {
        String name = folder.getFileName() == null ? "" : folder.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean file = Files.exists(folder) && !Files.isDirectory(folder);
        if (file || fileSuffix != null && name.endsWith(fileSuffix) && !Files.isDirectory(folder)) {
            String many = inputs.size() > 1 ? inputs.size() + " images" : "a folder of images";
            throw new CommandLine.ParameterException(cl, option + " " + folder + ": " + (file ? "is a file" : "names a"
                    + " file") + "; with " + many + " it names a folder (" + perInput + ")");
        }
        FileErrors.checkOutputFolder(option, folder);
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
     * Why the image cannot be read, from its header alone (width and height, no pixel decoded), or null. The words are
     * {@link RgbImage#read}'s own: when the header shows a problem, that reader, which checks the same things before
     * it decodes, is asked for its refusal.
     */
    static IOException headerProblem(Path file, long maxPixels) {
        if (headerFits(file, maxPixels)) {
            return null;
        }
        try {
            RgbImage.read(file, maxPixels);
            return null; // readable after all: the image is read again when its turn comes
        } catch (ImageReadException e) {
            return e;
        }
    }

    /** Whether ImageIO has a reader for the file and its header gives a size of 1 to {@code maxPixels} pixels. */
    private static boolean headerFits(Path file, long maxPixels) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                return false;
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return false;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long width = reader.getWidth(0);
                long height = reader.getHeight(0);
                return width > 0 && height > 0 && width * height <= maxPixels;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
