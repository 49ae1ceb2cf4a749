package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.hourglass.io.AtomicFiles;

/** The words {@link FileErrors} puts on java.nio.file's exceptions, whose messages are only a path. */
class FileErrorsTest {

    @Test
    void everyFileSystemExceptionSaysWhatWentWrong() {
        assertEquals("no such file or folder", FileErrors.reason(new NoSuchFileException("/x")));
        assertEquals("permission denied", FileErrors.reason(new AccessDeniedException("/x")));
        assertEquals("already exists", FileErrors.reason(new FileAlreadyExistsException("/x")));
        assertEquals("not a folder", FileErrors.reason(new NotDirectoryException("/x")));
        assertEquals("folder not empty", FileErrors.reason(new DirectoryNotEmptyException("/x")));
        assertEquals("read-only file system",
                FileErrors.reason(new FileSystemException("/x", null, "Read-only file system")));
        assertEquals("no space left on device",
                FileErrors.reason(new FileSystemException("/x", null, "No space left on device")));
        assertEquals("FileSystemException", FileErrors.reason(new FileSystemException("/x")));
        assertEquals("/x/y: permission denied", FileErrors.describe(new AccessDeniedException("/x/y")));
        assertEquals("/a (and /b): already exists",
                FileErrors.describe(new FileAlreadyExistsException("/a", "/b", null)));
        assertEquals("/x: bad header", FileErrors.describe(new IOException("/x: bad header")),
                "other I/O errors keep their message, which names their file already");
    }

    @Test
    void aFailedWriteNamesTheDestinationNotItsTemporaryFile(@TempDir Path tmp) {
        Path dest = tmp.resolve("pred.png");
        Path temp = tmp.resolve(".pred.png.2yxv8qpdm9cwa.tmp");
        assertEquals(dest, FileErrors.atomicDestination(temp));
        assertNull(FileErrors.atomicDestination(tmp.resolve("pred.png")));
        assertEquals("cannot write " + dest + ": permission denied (folder " + tmp + ")",
                FileErrors.describe(new AccessDeniedException(temp.toString())));
        assertEquals("cannot write " + dest + ": read-only file system (folder " + tmp + ")",
                FileErrors.writing(dest, new FileSystemException(temp.toString(), null, "Read-only file system"))
                        .getMessage());
        Path nowhere = tmp.resolve("missing/pred.png");
        assertEquals("cannot write " + nowhere + ": no folder " + nowhere.getParent(),
                FileErrors.writing(nowhere, new NoSuchFileException(".pred.png.x1.tmp")).getMessage());
        IOException format = new IOException("not a format error about files");
        assertSame(format, FileErrors.writing(dest, format));
    }

    @Test
    void anUnwritableFolderIsNamedWhenTheWriteFails(@TempDir Path tmp) throws IOException {
        Path folder = Files.createDirectory(tmp.resolve("locked"));
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(folder), "permissions are not enforced here (root)");
            Path dest = folder.resolve("pred.json");
            IOException e = assertThrows(IOException.class,
                    () -> FileErrors.writing(dest, () -> AtomicFiles.writeString(dest, "{}")));
            assertEquals("cannot write " + dest + ": permission denied (folder " + folder + ")", e.getMessage());
            FileErrors.FileException early = assertThrows(FileErrors.FileException.class,
                    () -> FileErrors.checkOutputFolder("--out", folder));
            assertEquals("--out " + folder + ": permission denied (folder " + folder + " is not writable)",
                    early.getMessage());
        } finally {
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void outputFoldersAndFilesAreCheckedBeforeAnyWork(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("afile"), "x");
        assertEquals("--out " + file + ": is a file; it names a folder", assertThrows(FileErrors.FileException.class,
                () -> FileErrors.checkOutputFolder("--out", file)).getMessage());
        Path under = file.resolve("sub");
        assertEquals("--out " + under + ": cannot create folder " + under + ": " + file + " is a file",
                assertThrows(FileErrors.FileException.class, () -> FileErrors.createOutputFolder("--out", under))
                        .getMessage());
        assertEquals("--save-logits " + tmp + ": is a folder; give a file name",
                assertThrows(FileErrors.FileException.class,
                        () -> FileErrors.checkOutputFile(null, "--save-logits", tmp, false)).getMessage());
        Path deep = tmp.resolve("a/b/out.json");
        assertEquals("--save-logits " + deep + ": no folder " + deep.getParent(),
                assertThrows(FileErrors.FileException.class,
                        () -> FileErrors.checkOutputFile(null, "--save-logits", deep, false)).getMessage());
        FileErrors.checkOutputFile(null, "--out", deep, true);
        assertEquals(tmp.resolve("new/er"), FileErrors.createOutputFolder("--out", tmp.resolve("new/er")));
        FileErrors.checkOutputFolder("--out", tmp.resolve("new/er"));
    }

    @Test
    void aFileAnOptionReadsIsNamedWithTheOption(@TempDir Path tmp) throws IOException {
        Path missing = tmp.resolve("labels.txt");
        assertEquals("--labels " + missing + ": no such file", assertThrows(IOException.class,
                () -> FileErrors.reading("--labels", missing, () -> Files.readAllLines(missing))).getMessage());
        Path inMissingFolder = tmp.resolve("nope/labels.txt");
        assertEquals("--labels " + inMissingFolder + ": no such file (no folder " + inMissingFolder.getParent() + ")",
                assertThrows(IOException.class, () -> FileErrors.reading("--labels", inMissingFolder,
                        () -> Files.readAllLines(inMissingFolder))).getMessage());
        assertEquals("--palette " + tmp + ": is a folder, not a file", assertThrows(IOException.class,
                () -> FileErrors.reading("--palette", tmp, () -> Files.readAllLines(tmp))).getMessage());
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertEquals("--labels " + latin1 + ": not UTF-8 text", assertThrows(IOException.class,
                () -> FileErrors.reading("--labels", latin1, () -> Files.readAllLines(latin1))).getMessage());
        IOException named = new IOException(latin1 + ": line 3: bad");
        assertSame(named, assertThrows(IOException.class, () -> FileErrors.reading("--labels", latin1, () -> {
            throw named;
        })), "errors that already name the file pass through");
    }
}
