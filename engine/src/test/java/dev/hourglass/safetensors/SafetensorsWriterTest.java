package dev.hourglass.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path folder;

    @Test
    void aFailedWriteLeavesTheDestinationAsItWasAndNoTemporaryFile() throws IOException {
        Path destination = folder.resolve("model.safetensors");
        Files.writeString(destination, "previous content");
        SafetensorsWriter writer = new SafetensorsWriter().add("ok", Tensor.ofFloats(new float[] {1f}, 1));
        try (Arena arena = Arena.ofConfined()) {
            writer.add("gone", "F32", Shape.of(4), arena.allocate(16));
        }

        // The second tensor's memory was freed: the copy fails half-way through the file.
        assertThrows(IllegalStateException.class, () -> writer.write(destination));

        assertEquals("previous content", Files.readString(destination));
        assertEquals(List.of(destination), listFolder());
    }

    @Test
    void replacesAnExistingFileWithTheCompleteNewOne() throws IOException {
        Path destination = folder.resolve("model.safetensors");
        Files.writeString(destination, "previous content");

        new SafetensorsWriter().add("w", Tensor.ofFloats(new float[] {3f, 4f}, 2)).write(destination);

        try (SafetensorsFile file = SafetensorsFile.open(destination)) {
            assertArrayEquals(new float[] {3f, 4f}, file.tensor("w").toFloatArray());
        }
        assertEquals(List.of(destination), listFolder());
    }

    @Test
    void streamsTensorsLargerThanItsCopyBuffer() throws IOException {
        float[] values = new float[(3 << 20) / 4 + 5]; // a little over three 1 MiB chunks
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        Path destination = folder.resolve("big.safetensors");

        new SafetensorsWriter().add("big", Tensor.ofFloats(values, values.length)).write(destination);

        try (SafetensorsFile file = SafetensorsFile.open(destination)) {
            assertArrayEquals(values, file.tensor("big").toFloatArray());
        }
    }

    @Test
    void rejectsTensorsItCouldNotWriteCorrectly() {
        SafetensorsWriter writer = new SafetensorsWriter().add("w", Tensor.ofFloats(new float[] {1f}, 1));
        MemorySegment four = MemorySegment.ofArray(new byte[4]);

        assertMessage("tensor name \"w\" is reserved or already used",
                () -> writer.add("w", "F32", Shape.of(1), four));
        assertMessage("tensor name \"__metadata__\" is reserved or already used",
                () -> writer.add("__metadata__", "F32", Shape.of(1), four));
        assertMessage("dtype F33 is not a safetensors dtype",
                () -> writer.add("x", "F33", Shape.of(1), four));
        assertMessage("tensor \"x\": shape [2] of F32 needs 8 bytes, the segment has 4",
                () -> writer.add("x", "F32", Shape.of(2), four));
    }

    private static void assertMessage(String expectedStart, Runnable add) {
        String message = assertThrows(IllegalArgumentException.class, add::run).getMessage();
        assertTrue(message.startsWith(expectedStart), message);
    }

    private List<Path> listFolder() throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.toList();
        }
    }
}
