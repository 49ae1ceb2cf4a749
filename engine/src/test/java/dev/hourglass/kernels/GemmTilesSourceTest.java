package dev.hourglass.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The committed {@code GemmTiles.java} is what {@link GemmTilesSource} generates. */
class GemmTilesSourceTest {
    private static final Path FILE = Path.of("src/main/java/dev/hourglass/kernels/GemmTiles.java");

    @Test
    void theCommittedTilesAreTheGeneratorsOutput() throws IOException {
        String generated = GemmTilesSource.generate();
        if (Boolean.getBoolean("hourglass.regenerate")) {
            Files.writeString(FILE, generated);
        }
        assertEquals(generated, Files.readString(FILE), "GemmTiles.java is out of date: run GemmTilesSourceTest with"
                + " -Dhourglass.regenerate=true");
    }
}
