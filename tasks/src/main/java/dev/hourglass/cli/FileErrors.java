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

/**
 * File-system failures in words, for the command line's one-line errors. {@code java.nio.file} exceptions carry only
 * the path as their message ({@code NoSuchFileException: /x/y}); this is the one place that says what went wrong
 * ("no such file", "permission denied") and, given the option or destination, where: {@code --labels /x: no such
 * file}, {@code cannot write /x/y/p.png: permission denied (folder /x/y)}. The messages come back as
 * {@link FileException}s, which the error handler prints as they are (exit code 1).
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
     * Checks, before any work is done, that {@code dir} can become the output folder an option names: it is a folder
     * or can be created as one (nothing in its path is a file) and is writable. Creates nothing.
     *
     * @throws FileException {@code --out /x/y: exists and is not a folder}, ...
     */
    static void checkOutputFolder(String option, Path dir) throws FileException {
        String problem = folderProblem(dir.toAbsolutePath(), true);
        if (problem != null) {
            throw new FileException(option + " " + dir + ": " + problem, null);
        }
    }

    /** Creates the output folder an option names, with {@link #checkOutputFolder}'s checks and words. */
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
     */
    static void checkOutputFile(String option, Path file, boolean createFolder) throws FileException {
        if (Files.isDirectory(file)) {
            throw new FileException(option + " " + file + ": is a folder; give a file name", null);
        }
        Path folder = file.toAbsolutePath().getParent();
        if (folder == null) {
            return;
        }
        String problem = !createFolder && !Files.exists(folder) ? "no folder " + folder : folderProblem(folder, false);
        if (problem != null) {
            throw new FileException(option + " " + file + ": " + problem, null);
        }
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
     * folder is what the option names (so "exists and is not a folder"), not the folder of a file it names.
     */
    private static String folderProblem(Path dir, boolean named) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            return named ? "exists and is not a folder" : dir + " is not a folder";
        }
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return null;
        }
        if (!Files.isDirectory(existing)) {
            return "cannot create folder " + dir + ": " + existing + " is a file";
        }
        if (!Files.isWritable(existing)) {
            return existing.equals(dir) ? "permission denied (folder " + dir + " is not writable)"
                    : "cannot create folder " + dir + ": permission denied (folder " + existing + ")";
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
