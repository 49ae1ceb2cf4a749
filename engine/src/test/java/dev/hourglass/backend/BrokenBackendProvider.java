package dev.hourglass.backend;

import java.util.Optional;

/** Test provider "broken": present, with the highest priority, but unable to run, as TornadoVM without its runtime. */
public final class BrokenBackendProvider implements BackendProvider {
    static final String REASON = "the fake runtime is not on this JVM (start it with @fake-argfile)";

    @Override
    public String name() {
        return "Broken";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.of(REASON);
    }

    @Override
    public Backend create(int threads) {
        throw new AssertionError("an unavailable backend must never be created");
    }
}
