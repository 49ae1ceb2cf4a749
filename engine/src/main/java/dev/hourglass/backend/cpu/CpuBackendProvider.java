package dev.hourglass.backend.cpu;

import java.util.Optional;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.BackendProvider;

/** Registers the CPU backend with {@link java.util.ServiceLoader}; it is always available. */
public final class CpuBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    @Override
    public Backend create(int threads) {
        return new CpuBackend(threads);
    }
}
