package dev.hourglass.backend;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Optional;

/**
 * Test provider "fake": available, priority 5, on a GPU, so {@code auto} prefers it to the CPU backend. Its backend answers only
 * {@code name}, {@code description} and {@code close}: enough to check which provider was chosen.
 */
public final class FakeBackendProvider implements BackendProvider {
    static final String DEVICE = "a fake device, 1 queue";

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    /** A GPU: {@code auto} takes it over the CPU backend. */
    @Override
    public List<DeviceInfo> devices() {
        return List.of(new DeviceInfo("a fake GPU", DeviceInfo.Kind.of("GPU"), 8L << 30, "no driver at all"));
    }

    @Override
    public Backend create(int threads) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> "fake";
                    case "description" -> DEVICE + ",\n" + threads + " host threads";
                    case "close" -> null;
                    case "toString" -> "fake backend";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
