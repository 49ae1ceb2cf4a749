package dev.hourglass.backend;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Optional;

/**
 * Test provider "fakecl": available, priority 8 (above "fake"), on a CPU-type device, as an OpenCL driver on the host's
 * own cores (PoCL) looks to a device backend. {@code auto} must pass it over; asked for by name it opens.
 */
public final class FakeCpuDeviceProvider implements BackendProvider {
    static final String DEVICE = "pthread-fake-cpu (Portable Computing Language)";

    @Override
    public String name() {
        return "fakecl";
    }

    @Override
    public int priority() {
        return 8;
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.of(new DeviceInfo(DEVICE, DeviceInfo.Kind.of("CPU"), 1L << 30, "OpenCL on the host"));
    }

    @Override
    public Backend create(int threads) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> "fakecl";
                    case "description" -> DEVICE;
                    case "close" -> null;
                    case "toString" -> "fakecl backend";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
