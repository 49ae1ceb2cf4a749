package dev.hourglass.backend.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.BackendProvider;
import dev.hourglass.backend.DeviceInfo;
import dev.hourglass.kernels.Kernels;

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

    /** The host's CPU: its model name (from /proc/cpuinfo where there is one), the JVM's heap, the kernels in use. */
    @Override
    public List<DeviceInfo> devices() {
        String model = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).strip();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc/cpuinfo (not Linux, or not readable): the architecture name stays.
        }
        int cores = Runtime.getRuntime().availableProcessors();
        return List.of(new DeviceInfo(model, DeviceInfo.Kind.CPU, Runtime.getRuntime().maxMemory(),
                cores + (cores == 1 ? " core, " : " cores, ") + Kernels.description()));
    }

    @Override
    public Backend create(int threads) {
        return new CpuBackend(threads);
    }
}
