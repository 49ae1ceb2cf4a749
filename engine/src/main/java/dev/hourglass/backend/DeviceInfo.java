package dev.hourglass.backend;

import java.util.Locale;

/**
 * A device a backend computes on, as its provider describes it without computing anything.
 *
 * @param name        the device's own name (a CPU model, a GPU's name)
 * @param kind        what sort of device it is
 * @param memoryBytes memory the backend can use on it (the JVM heap for the CPU backend), or -1 when unknown
 * @param detail      one line more: driver, platform, instruction set
 */
public record DeviceInfo(String name, Kind kind, long memoryBytes, String detail) {

    /** The sort of device; {@code auto} prefers a device backend only on a GPU or another accelerator. */
    public enum Kind {
        CPU, GPU, ACCELERATOR, OTHER, UNKNOWN;

        /** A device other than the host's CPU cores: worth offloading to. */
        public boolean isAccelerator() {
            return this == GPU || this == ACCELERATOR;
        }

        /**
         * The kind for a device type's name as OpenCL, PTX or SPIR-V drivers (and TornadoVM) spell it: {@code CPU},
         * {@code GPU}, {@code ACCELERATOR} or {@code FPGA} (an accelerator), anything else {@link #OTHER}, null
         * {@link #UNKNOWN}.
         */
        public static Kind of(String deviceType) {
            if (deviceType == null) {
                return UNKNOWN;
            }
            return switch (deviceType.strip().toUpperCase(Locale.ROOT)) {
                case "CPU" -> CPU;
                case "GPU" -> GPU;
                case "ACCELERATOR", "FPGA" -> ACCELERATOR;
                case "", "UNKNOWN", "DEFAULT" -> UNKNOWN;
                default -> OTHER;
            };
        }
    }

    /** {@code "NAME (gpu, 24.0 GiB)"}. */
    public String label() {
        String memory = memoryBytes < 0 ? "memory unknown" : String.format(Locale.ROOT, "%.1f GiB",
                memoryBytes / (double) (1L << 30));
        return name + " (" + kind.name().toLowerCase(Locale.ROOT) + ", " + memory + ")";
    }
}
