package dev.hourglass.tornado;

import dev.hourglass.backend.BackendChoice;
import dev.hourglass.backend.BackendProvider;
import dev.hourglass.backend.Backends;
import dev.hourglass.backend.DeviceInfo;
import dev.hourglass.backend.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TornadoVM backend as users reach it: found by ServiceLoader, chosen by name or by {@code auto}. */
class TornadoBackendProviderTest {

    @BeforeAll
    static void tornado() {
        TornadoTestSupport.requireTornado();
    }

    @Test
    void serviceLoaderFindsIt() {
        boolean found = false;
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p instanceof TornadoBackendProvider) {
                found = true;
                assertEquals("tornado", p.name());
                assertTrue(p.priority() > 0, "auto must prefer it over the CPU");
            }
        }
        assertTrue(found, "META-INF/services names the TornadoVM provider");
    }

    @Test
    void tornadoPicksItAndNamesTheDevice() {
        for (String name : new String[] {"tornado", "TORNADO"}) {
            try (BackendChoice c = Backends.open(name, 1)) {
                assertInstanceOf(TornadoBackend.class, c.backend(), name);
                assertTrue(c.summary().startsWith("backend: tornado (TornadoVM "), c.summary());
                assertTrue(!c.summary().contains("\n"), "one line");
            }
        }
    }

    @Test
    void autoTakesTornadoOnlyOnAGpuOrAccelerator() {
        List<DeviceInfo> devices = new TornadoBackendProvider().devices();
        assertEquals(1, devices.size(), devices.toString());
        DeviceInfo device = devices.get(0);
        try (BackendChoice c = Backends.open("auto", 1)) {
            if (device.kind().isAccelerator()) {
                assertInstanceOf(TornadoBackend.class, c.backend(), c.summary());
            } else {
                // PoCL, the OpenCL driver this project is tested with, runs on the host's cores: the CPU wins.
                assertInstanceOf(CpuBackend.class, c.backend(), c.summary());
                assertTrue(c.summary().contains("; tornado not used: its device, "), c.summary());
            }
        }
    }

    @Test
    void withoutTornadoVMsArgumentFileItSaysWhatIsMissing() {
        String saved = System.getProperty(TornadoBackendProvider.RUNTIME_PROPERTY);
        System.clearProperty(TornadoBackendProvider.RUNTIME_PROPERTY);
        try {
            Optional<String> reason = new TornadoBackendProvider().unavailableReason();
            assertTrue(reason.isPresent());
            assertTrue(reason.get().contains("tornado-argfile") && reason.get().contains("TORNADOVM_HOME"),
                    reason.get());
        } finally {
            System.setProperty(TornadoBackendProvider.RUNTIME_PROPERTY, saved);
        }
    }
}
