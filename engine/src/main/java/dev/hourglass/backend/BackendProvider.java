package dev.hourglass.backend;

import java.util.List;
import java.util.Optional;

/**
 * A kind of backend, found with {@link java.util.ServiceLoader}. The CPU backend is always available; others (the
 * TornadoVM one) come from their own modules and say why they cannot run when their runtime is missing.
 */
public interface BackendProvider {

    /** Short name, as {@code --backend} takes it. */
    String name();

    /** Higher wins when the user asks for {@code auto}. The CPU backend has 0. */
    int priority();

    /** Empty when this backend can run here; otherwise what is missing, in words a user can act on. */
    Optional<String> unavailableReason();

    /**
     * The devices this backend would compute on, the one it uses first, without computing anything; empty when the
     * provider cannot tell. {@code auto} takes a backend other than the CPU one only when its first device is a GPU or
     * another accelerator ({@link DeviceInfo.Kind#isAccelerator()}): an OpenCL driver on the host's own cores is
     * slower than the CPU backend on the same cores.
     */
    default List<DeviceInfo> devices() {
        return List.of();
    }

    /** A backend computing with {@code threads} host threads where it uses any. */
    Backend create(int threads);
}
