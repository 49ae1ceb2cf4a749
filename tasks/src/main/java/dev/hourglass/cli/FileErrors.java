package dev.hourglass.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine;

/**
 * File-system failures in words, for the command line's one-line errors. {@code java.nio.file} exceptions carry only
 * the path as their message ({@code NoSuchFileException: /x/y}); this is the one place that says what went wrong
 * ("no such file", "permission denied") and, given the option or destination, where: {@code --labels /x: no such
 * file}, {@code cannot write /x/y/p.png: permission denied (folder /x/y)}. The messages come back as
 * {@link FileException}s, which the error handler prints as they are (exit code 1).
 *
 * <p>One kind of problem is the argument's, not the file system's: an output path of the wrong kind, a file where the
 * option names a folder ({@code --out seg.png: is a file; it names a folder}) or a folder where it names a file
 * ({@code --save-logits masks: is a folder; give a file name}). The checks made before any work, given the command
 * line, report it as a bad argument ({@link CommandLine.ParameterException}, exit code 2), in the same words; the same
 * path found at run time, when the file system has changed under the command, stays a {@link FileException}.
 */
final class FileErrors {

    /** {@link dev.hourglass.io.AtomicFiles}'s temporary name: {@code .NAME.RANDOM.tmp} beside the destination. */
    private static final Pattern ATOMIC_TEMP = Pattern.compile("\\.(.+)\\.[0-9a-z]+\\.tmp");

    private FileErrors() {
    }

    /** A file-system problem already put in words; its message is the whole error line. */
    static final class FileException extends IOException {
        private static final long serialVersionUID = 1L;

        FileException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** An I/O step that may fail. */
    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    /**
     * What went wrong, in a few words, without the path: "no such file or folder", "permission denied", "already
     * exists", "not a folder", "folder not empty", or the operating system's reason ("no space left on device").
     */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException x -> "no such file or folder";
            case AccessDeniedException x -> "permission denied";
            case FileAlreadyExistsException x -> "already exists";
            case NotDirectoryException x -> "not a folder";
            case DirectoryNotEmptyException x -> "folder not empty";
            case NotLinkException x -> "not a symbolic link";
            case FileSystemLoopException x -> "symbolic link loop";
            case FileSystemException x when x.getReason() != null -> osReason(x.getReason());
            case FileSystemException x -> x.getClass().getSimpleName();
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
    }

    /**
     * The error line for any exception that reaches the command line's handler: a {@link FileSystemException} in words
     * with its file (a write's temporary file named by the destination it was for), any other as its message.
     */
    static String describe(IOException e) {
        if (!(e instanceof FileSystemException fs) || fs.getFile() == null) {
            return e.getMessage();
        }
        Path file = Path.of(fs.getFile());
        Path destination = atomicDestination(file);
        if (destination != null) {
            return writing(destination, e).getMessage();
        }
        String other = fs.getOtherFile() == null ? "" : " (and " + fs.getOtherFile() + ")";
        return file + other + ": " + reason(e);
    }

    /**
     * A file an option names could not be read: {@code --labels /x: no such file}. Exceptions already in words (such
     * as {@link FileException}s, or a format error naming the file) pass through unchanged.
     */
    static IOException reading(String option, Path file, IOException e) {
        String why;
        if (e instanceof FileException) {
            return e;
        } else if (Files.isDirectory(file)) {
            why = "is a folder, not a file"; // reading a folder is a bare IOException("Is a directory")
        } else if (e instanceof java.nio.charset.CharacterCodingException) {
            why = "not UTF-8 text";
        } else if (e instanceof NoSuchFileException) {
            Path parent = file.toAbsolutePath().getParent();
            why = parent != null && !Files.isDirectory(parent) ? "no such file (no folder " + parent + ")"
                    : "no such file";
        } else if (e instanceof FileSystemException) {
            why = reason(e);
        } else {
            return e;
        }
        return new FileException(option + " " + file + ": " + why, e);
    }

    /**
     * Runs {@code read}, turning a failure to read the file itself (missing, a folder, permission, not UTF-8) into
     * {@link #reading}'s line; other exceptions, such as a format error that names the file already, pass through.
     */
    static void reading(String option, Path file, IoAction read) throws IOException {
        try {
            read.run();
        } catch (IOException e) {
            throw reading(option, file, e);
        }
    }

    /**
     * Writing {@code destination} failed: {@code cannot write /x/y/p.png: permission denied (folder /x/y)}. Whatever
     * file the exception names (a temporary file beside the destination, usually), the line names the destination.
     */
    static IOException writing(Path destination, IOException e) {
        if (!(e instanceof FileSystemException)) {
            return e;
        }
        Path folder = destination.toAbsolutePath().getParent();
        String why;
        if (Files.isDirectory(destination)) {
            why = "a folder of that name exists";
        } else if (e instanceof NoSuchFileException && folder != null && !Files.isDirectory(folder)) {
            why = Files.exists(folder) ? folder + " is not a folder" : "no folder " + folder;
        } else if (e instanceof NotDirectoryException) {
            why = folder + " is not a folder";
        } else {
            why = reason(e) + (folder == null ? "" : " (folder " + folder + ")");
        }
        return new FileException("cannot write " + destination + ": " + why, e);
    }

    /** Runs {@code write}, turning a file-system failure into {@link #writing}'s line about {@code destination}. */
    static void writing(Path destination, IoAction write) throws IOException {
        try {
            write.run();
        } catch (FileSystemException e) {
            throw writing(destination, e);
        }
    }

    /**
     * What is wrong with an output path, in words without the option and path; {@code wrongKind}: the path is a file
     * where a folder is needed or the reverse (the argument's fault, exit code 2), not a state of the file system
     * (exit code 1).
     */
    private record PathProblem(String words, boolean wrongKind) {
    }

    /**
     * Checks, before any work is done, that {@code dir} can become the output folder an option names: it is a folder
     * or can be created as one (nothing in its path is a file) and is writable. Creates nothing.
     *
     * @param holds what the folder gets, said when a file is given instead (e.g. {@code one NAME.cfvit.png per
     *     image}), or null
     * @throws CommandLine.ParameterException {@code --out /x/y: is a file; it names a folder (...)}, or {@code --out
     *     /x/y/z: cannot create folder /x/y/z: /x/y is a file}: a bad argument, exit code 2
     * @throws FileException {@code --out /x/y: permission denied (folder /x/y is not writable)}: exit code 1
     */
    static void checkOutputFolder(CommandLine cl, String option, Path dir, String holds) throws FileException {
        throwProblem(cl, option, dir, folderProblem(dir.toAbsolutePath(), true, holds));
    }

    /** {@link #checkOutputFolder(CommandLine, String, Path, String)} without saying what the folder holds. */
    static void checkOutputFolder(CommandLine cl, String option, Path dir) throws FileException {
        checkOutputFolder(cl, option, dir, null);
    }

    /**
     * {@link #checkOutputFolder(CommandLine, String, Path, String)}'s checks and words, every problem a
     * {@link FileException} (exit code 1): for the folder made at run time ({@link #createOutputFolder}), when the
     * argument was checked before the work began and the file system has changed since.
     */
    static void checkOutputFolder(String option, Path dir) throws FileException {
        throwProblem(null, option, dir, folderProblem(dir.toAbsolutePath(), true, null));
    }

    /** Creates the output folder an option names, with {@link #checkOutputFolder(String, Path)}'s checks and words. */
    static Path createOutputFolder(String option, Path dir) throws IOException {
        checkOutputFolder(option, dir);
        try {
            return Files.createDirectories(dir);
        } catch (FileSystemException e) {
            throw new FileException(option + " " + dir + ": cannot create the folder: " + reason(e)
                    + (e.getFile() == null || Path.of(e.getFile()).equals(dir) ? "" : " (" + e.getFile() + ")"), e);
        }
    }

    /**
     * Checks, before any work is done, that the file an option names can be written: it is not a folder, and its
     * folder exists (or, when {@code createFolder}, can be created) and is writable. Creates nothing.
     *
     * @throws CommandLine.ParameterException {@code OUT /x/y: is a folder; give a file name}, or a file in the path
     *     where a folder must be ({@code /x is not a folder}): a bad argument, exit code 2
     * @throws FileException {@code OUT /x/y/m.safetensors: no folder /x/y}, permission denied: exit code 1
     */
    static void checkOutputFile(CommandLine cl, String option, Path file, boolean createFolder) throws FileException {
        throwProblem(cl, option, file, fileProblem(file, createFolder));
    }

    private static PathProblem fileProblem(Path file, boolean createFolder) {
        if (Files.isDirectory(file)) {
            return new PathProblem("is a folder; give a file name", true);
        }
        Path folder = file.toAbsolutePath().getParent();
        if (folder == null) {
            return null;
        }
        return !createFolder && !Files.exists(folder) ? new PathProblem("no folder " + folder, false)
                : folderProblem(folder, false, null);
    }

    /**
     * Throws {@code problem}, if any, as one line naming the option and path: a {@link CommandLine.ParameterException}
     * when it is the wrong kind of path and there is a command line ({@code cl}), a {@link FileException} otherwise.
     */
    private static void throwProblem(CommandLine cl, String option, Path path, PathProblem problem)
            throws FileException {
        if (problem == null) {
            return;
        }
        String line = option + " " + path + ": " + problem.words();
        if (problem.wrongKind() && cl != null) {
            throw new CommandLine.ParameterException(cl, line);
        }
        throw new FileException(line, null);
    }

    /**
     * Checks, before any work is done, that the file an option names can be read: it exists, is a regular file (or,
     * when {@code folderAllowed}, a folder) and is readable. Reads nothing.
     *
     * @throws FileException {@code --image /x/a.png: no such file}, {@code ...: permission denied},
     *     {@code ...: is a folder, not a file}, {@code ...: not a regular file}
     */
    static void checkInputFile(String option, Path file, boolean folderAllowed) throws FileException {
        String why;
        if (!Files.exists(file)) {
            Path parent = file.toAbsolutePath().getParent();
            why = parent != null && !Files.isDirectory(parent) ? "no such file (no folder " + parent + ")"
                    : "no such file";
        } else if (Files.isDirectory(file) && !folderAllowed) {
            why = "is a folder, not a file";
        } else if (!Files.isDirectory(file) && !Files.isRegularFile(file)) {
            why = "not a regular file";
        } else if (!Files.isReadable(file)) {
            why = "permission denied";
        } else {
            return;
        }
        throw new FileException(option + " " + file + ": " + why, null);
    }

    /**
     * Why {@code dir} (absolute) cannot be, or be created as, a writable folder; null when it can. {@code named}: the
     * folder is what the option names (so "is a file; it names a folder", followed by {@code (holds)} if given), not
     * the folder of a file it names.
     */
    private static PathProblem folderProblem(Path dir, boolean named, String holds) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            return new PathProblem(named ? "is a file; it names a folder" + (holds == null ? "" : " (" + holds + ")")
                    : dir + " is not a folder", true);
        }
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return null;
        }
        if (!Files.isDirectory(existing)) {
            return new PathProblem("cannot create folder " + dir + ": " + existing + " is a file", true);
        }
        if (!Files.isWritable(existing)) {
            return new PathProblem(existing.equals(dir) ? "permission denied (folder " + dir + " is not writable)"
                    : "cannot create folder " + dir + ": permission denied (folder " + existing + ")", false);
        }
        return null;
    }

    /** The destination a temporary file of {@link dev.hourglass.io.AtomicFiles} was written for, or null. */
    static Path atomicDestination(Path file) {
        Path name = file.getFileName();
        if (name == null) {
            return null;
        }
        Matcher m = ATOMIC_TEMP.matcher(name.toString());
        return m.matches() ? file.resolveSibling(m.group(1)) : null;
    }

    /** "Read-only file system" as "read-only file system": the OS's reason, lower case, in a sentence. */
    private static String osReason(String reason) {
        String r = reason.strip();
        return r.length() > 1 && Character.isUpperCase(r.charAt(0)) && !Character.isUpperCase(r.charAt(1))
                ? r.substring(0, 1).toLowerCase(Locale.ROOT) + r.substring(1) : r;
    }
}
