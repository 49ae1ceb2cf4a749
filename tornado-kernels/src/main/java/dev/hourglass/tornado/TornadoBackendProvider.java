package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.BackendProvider;
import dev.hourglass.backend.DeviceInfo;

import java.util.List;
import java.util.Optional;

/**
 * Registers the TornadoVM backend with {@link java.util.ServiceLoader}. It is available when the JVM runs with
 * TornadoVM's argument file ({@code java @$TORNADOVM_HOME/tornado-argfile ...}, which {@code bin/hourglass} adds when
 * {@code TORNADOVM_HOME} is set) and TornadoVM finds a device. This class touches no TornadoVM class until that is
 * known, so it loads on any JVM.
 */
public final class TornadoBackendProvider implements BackendProvider {
    /** Set by TornadoVM's argument file; without it TornadoVM's runtime cannot start. */
    static final String RUNTIME_PROPERTY = "tornado.load.runtime.implementation";

    private volatile Optional<String> reason;

    @Override
    public String name() {
        return "tornado";
    }

    /** Above the CPU backend's 0: {@code auto} prefers a working TornadoVM device when it is a GPU or accelerator. */
    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Optional<String> unavailableReason() {
        Optional<String> r = reason;
        if (r == null) {
            r = probe();
            reason = r;
        }
        return r;
    }

    private static Optional<String> probe() {
        if (System.getProperty(RUNTIME_PROPERTY) == null) {
            return Optional.of("the JVM was not started with TornadoVM's argument file (set TORNADOVM_HOME to a "
                    + "TornadoVM SDK and run bin/hourglass, which adds @$TORNADOVM_HOME/tornado-argfile)");
        }
        try {
            Class.forName("uk.ac.manchester.tornado.api.TornadoExecutionPlan", false,
                    TornadoBackendProvider.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return Optional.of("TornadoVM's API is not on the module or class path (" + e + ")");
        }
        try {
            String device = DeviceProbe.defaultDeviceName();
            if (device == null || device.isBlank()) {
                return Optional.of("TornadoVM found no device");
            }
            return Optional.empty();
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("TornadoVM could not start: " + e);
        }
    }

    /**
     * TornadoVM's default device, the one this backend computes on, with its type as the driver reports it (an OpenCL
     * driver on the host's cores, such as PoCL, says CPU) and its global memory.
     */
    @Override
    public List<DeviceInfo> devices() {
        if (unavailableReason().isPresent()) {
            return List.of();
        }
        return List.of(DeviceProbe.defaultDevice());
    }

    @Override
    public Backend create(int threads) {
        Optional<String> r = unavailableReason();
        if (r.isPresent()) {
            throw new IllegalStateException("the TornadoVM backend is not available: " + r.get());
        }
        return new TornadoBackend();
    }

    /** Kept apart so that TornadoVM's classes load only after the checks above. */
    private static final class DeviceProbe {
        static String defaultDeviceName() {
            return uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice()
                    .getDeviceName();
        }

        static DeviceInfo defaultDevice() {
            uk.ac.manchester.tornado.api.common.TornadoDevice device =
                    uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice();
            String physical = device.getPhysicalDevice() == null ? device.getDeviceName()
                    : device.getPhysicalDevice().getDeviceName();
            String type = device.getDeviceType() == null ? null : device.getDeviceType().name();
            return new DeviceInfo(physical.strip(), DeviceInfo.Kind.of(type), device.getMaxGlobalMemory(),
                    "TornadoVM " + device.getTornadoVMBackend() + " " + device.getDeviceName().strip() + ", "
                    + device.getPlatformName().strip());
        }
    }
}
