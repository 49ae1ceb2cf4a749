package dev.hourglass.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.hourglass.backend.cpu.CpuBackend;

/**
 * Backend choice over the test providers registered beside the CPU one: "fake" (available, priority 5, a GPU),
 * "fakecl" (available, priority 8, a CPU-type device as PoCL's), "broken" (priority 10, cannot run) and one whose
 * constructor throws.
 *
 * <p>Their services file is not in {@code META-INF/services} of the test classes, since the tasks module puts this
 * module's test classes on its class path and would then compute on the fake backend. Each test sees it through the
 * thread's context class loader, which {@link Backends} asks, as an application server or plugin host would set it.
 */
class BackendsTest {
    private static final String SERVICES = "META-INF/services/" + BackendProvider.class.getName();

    private ClassLoader saved;
    private URLClassLoader withFakes;

    @BeforeEach
    void seeTheFakeProviders() {
        URL root = BackendsTest.class.getClassLoader().getResource("fake-backends/");
        assertNotNull(root, "test resource fake-backends/ is missing");
        withFakes = new URLClassLoader(new URL[] {root}, BackendsTest.class.getClassLoader());
        saved = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(withFakes);
    }

    @AfterEach
    void restoreTheClassLoader() throws IOException {
        Thread.currentThread().setContextClassLoader(saved);
        withFakes.close();
    }

    @Test
    void theCpuProviderIsFoundThroughItsServicesFileBesideTheTestOne() throws IOException {
        List<URL> files = Collections.list(withFakes.getResources(SERVICES));
        List<String> contents = new ArrayList<>();
        for (URL url : files) {
            try (InputStream in = url.openStream()) {
                contents.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        assertEquals(2, files.size(), "main and test services files: " + files);
        assertTrue(contents.stream().anyMatch(c -> c.contains("dev.hourglass.backend.cpu.CpuBackendProvider")),
                contents.toString());
        assertEquals(List.of("auto", "fakecl", "fake", "cpu", "broken"), Backends.names());
    }

    @Test
    void autoPicksTheAvailableProviderWithTheHighestPriority() {
        try (BackendChoice choice = Backends.open("auto", 3)) {
            assertEquals("fake", choice.backend().name());
            String expected = "backend: fake (" + FakeBackendProvider.DEVICE + ", 3 host threads)";
            assertTrue(choice.summary().startsWith(expected), choice.summary());
        }
    }

    @Test
    void nullAndBlankMeanAuto() {
        try (BackendChoice none = Backends.open(null, 1); BackendChoice blank = Backends.open("  ", 1)) {
            assertEquals("fake", none.backend().name());
            assertEquals("fake", blank.backend().name());
        }
    }

    @Test
    void autoSummaryIsOneLineNamingWhatWasPassedOverAndWhy() {
        try (BackendChoice choice = Backends.open("AUTO", 2)) {
            String s = choice.summary();
            assertFalse(s.contains("\n") || s.contains("\r"), s);
            assertTrue(s.contains("; broken not used: " + BrokenBackendProvider.REASON), s);
            assertTrue(s.contains("a backend provider not used: failed to load: ")
                    && s.contains(ThrowingBackendProvider.MESSAGE), s);
            assertTrue(s.contains("; fakecl not used: its device, " + FakeCpuDeviceProvider.DEVICE + ", is a CPU (the"
                    + " host's cores through a driver), where the cpu backend is faster; ask for it with --backend"
                    + " fakecl"), s);
        }
    }

    @Test
    void aDeviceBackendOnACpuDeviceLosesToTheCpuBackend() throws IOException {
        URL root = BackendsTest.class.getClassLoader().getResource("fake-backends-cpu-device/");
        assertNotNull(root, "test resource fake-backends-cpu-device/ is missing");
        try (URLClassLoader onlyCpuDevice = new URLClassLoader(new URL[] {root},
                BackendsTest.class.getClassLoader())) {
            Thread.currentThread().setContextClassLoader(onlyCpuDevice);
            try (BackendChoice choice = Backends.open("auto", 1)) {
                assertInstanceOf(CpuBackend.class, choice.backend());
                assertTrue(choice.summary().contains("; fakecl not used: its device"), choice.summary());
            }
            try (BackendChoice asked = Backends.open("fakecl", 1)) {
                assertEquals("fakecl", asked.backend().name(), "asked for by name, it opens");
            }
            List<BackendReport> report = Backends.report();
            BackendReport fakecl = report.stream().filter(r -> r.name().equals("fakecl")).findFirst().orElseThrow();
            assertTrue(fakecl.available() && !fakecl.autoChoice(), fakecl.toString());
            assertEquals(DeviceInfo.Kind.CPU, fakecl.devices().get(0).kind());
            assertTrue(report.stream().filter(BackendReport::autoChoice).map(BackendReport::name).toList()
                    .equals(List.of("cpu")), report.toString());
        }
    }

    @Test
    void theReportNamesWhatAutoTakesAndWhyNotTheOthers() {
        List<BackendReport> report = Backends.report();
        assertEquals(List.of("fakecl", "fake", "cpu", "broken", "a backend provider", "tornado"),
                report.stream().map(BackendReport::name).toList());
        assertTrue(report.get(5).reason().contains("TORNADOVM_HOME"), report.get(5).toString());
        BackendReport fake = report.get(1);
        assertTrue(fake.autoChoice(), fake.toString());
        assertEquals(DeviceInfo.Kind.GPU, fake.devices().get(0).kind());
        assertTrue(report.get(0).notAutoBecause().contains("is a CPU"), report.get(0).toString());
        assertEquals(BrokenBackendProvider.REASON, report.get(3).reason());
        BackendReport cpu = report.get(2);
        assertEquals(DeviceInfo.Kind.CPU, cpu.devices().get(0).kind());
        assertTrue(cpu.devices().get(0).memoryBytes() > 0);
    }

    @Test
    void deviceKindsFollowTheDriversNames() {
        assertEquals(DeviceInfo.Kind.GPU, DeviceInfo.Kind.of("gpu"));
        assertEquals(DeviceInfo.Kind.ACCELERATOR, DeviceInfo.Kind.of("FPGA"));
        assertEquals(DeviceInfo.Kind.UNKNOWN, DeviceInfo.Kind.of("DEFAULT"));
        assertEquals(DeviceInfo.Kind.UNKNOWN, DeviceInfo.Kind.of(null));
        assertEquals(DeviceInfo.Kind.OTHER, DeviceInfo.Kind.of("CUSTOM"));
        assertFalse(DeviceInfo.Kind.CPU.isAccelerator());
    }

    @Test
    void theProbeMeasuresTheCpuBackendAndFailsLoudlyOnABackendThatCannotCompute() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            double gflops = BackendProbe.gflops(cpu);
            assertTrue(gflops > 0.1 && gflops < 1e5, "fc1 GEMM GFLOP/s: " + gflops);
        }
        try (BackendChoice fake = Backends.open("fake", 1)) {
            assertThrows(UnsupportedOperationException.class, () -> BackendProbe.gflops(fake.backend()));
        }
    }

    @Test
    void cpuPicksTheCpuBackendWithItsDevice() {
        try (BackendChoice choice = Backends.open("CPU", 2)) {
            CpuBackend cpu = assertInstanceOf(CpuBackend.class, choice.backend());
            assertEquals(2, cpu.threads());
            assertEquals("backend: cpu (" + cpu.description() + ")", choice.summary());
            assertTrue(choice.summary().startsWith("backend: cpu (CPU, 2 threads, "), choice.summary());
        }
    }

    @Test
    void anUnavailableBackendThatIsAskedForIsAnErrorWithItsReason() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.open("broken", 2));
        assertEquals("backend 'broken' cannot run here: " + BrokenBackendProvider.REASON, e.getMessage());
    }

    @Test
    void anUnknownNameListsTheBackendsThereAre() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.open("nosuch", 2));
        assertTrue(e.getMessage().startsWith("no backend named 'nosuch' here (available: fakecl, fake, cpu; cannot run:"
                + " broken: " + BrokenBackendProvider.REASON), e.getMessage());
        assertTrue(e.getMessage().endsWith(". Choose auto, fakecl, fake, cpu, broken"), e.getMessage());
    }

    @Test
    void aMissingTornadoBackendSaysHowToGetIt() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> Backends.open("tornado", 2));
        assertTrue(e.getMessage().startsWith("no backend named 'tornado' here (available: fakecl, fake, cpu"), e.getMessage());
        assertTrue(e.getMessage().contains("tornado-kernels module, built when TORNADOVM_HOME names a TornadoVM SDK"),
                e.getMessage());
    }

    @Test
    void withOnlyTheCpuProviderAutoPicksItAndSaysNothingElse() {
        Thread.currentThread().setContextClassLoader(saved);
        assertEquals(List.of("auto", "cpu"), Backends.names());
        try (BackendChoice choice = Backends.open("auto", 1)) {
            assertInstanceOf(CpuBackend.class, choice.backend());
            assertEquals("backend: cpu (" + choice.backend().description() + ")", choice.summary());
        }
    }

    @Test
    void threadsAreCheckedBeforeAnyProviderIsAsked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.open("cpu", 0));
        assertEquals("threads must be at least 1, got 0", e.getMessage());
    }
}
