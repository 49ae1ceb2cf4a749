package dev.hourglass.backend;

import java.util.Optional;

/**
 * Test provider whose constructor fails, as a provider in a broken jar does: {@link java.util.ServiceLoader} then
 * throws a {@link java.util.ServiceConfigurationError}, which {@link Backends} must report, not pass on.
 */
public final class ThrowingBackendProvider implements BackendProvider {
    static final String MESSAGE = "fake provider jar is broken";

    public ThrowingBackendProvider() {
        throw new IllegalStateException(MESSAGE);
    }

    @Override
    public String name() {
        return "throwing";
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
        throw new AssertionError("never constructed");
    }
}
