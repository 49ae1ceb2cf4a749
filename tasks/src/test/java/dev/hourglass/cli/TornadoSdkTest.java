package dev.hourglass.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TornadoVM backend's tests live in tornado-kernels, which is built only when {@code TORNADOVM_HOME} names a
 * TornadoVM SDK. Without one this test shows as skipped, so a run that did not test the TornadoVM backend says so;
 * with one it checks that the SDK is one bin/hourglass and the module's tests can use.
 */
class TornadoSdkTest {

    @Test
    void tornadoSdkIsUsableWhenNamed() {
        String home = System.getenv("TORNADOVM_HOME");
        Assumptions.assumeTrue(home != null && !home.isBlank(),
                "TornadoVM backend not tested: TORNADOVM_HOME is not set, so tornado-kernels is not built"
                        + " (see tornado-kernels/README.md)");
        Path argfile = Path.of(home, "tornado-argfile");
        assertTrue(Files.isRegularFile(argfile), "TORNADOVM_HOME=" + home + " has no tornado-argfile: "
                + "bin/hourglass and the tornado-kernels tests start the JVM with it");
        assertTrue(Files.isDirectory(Path.of(home, "share", "java", "tornado")), "TORNADOVM_HOME=" + home
                + " has no share/java/tornado: the tornado-kernels module compiles against its tornado-api jar");
    }
}
