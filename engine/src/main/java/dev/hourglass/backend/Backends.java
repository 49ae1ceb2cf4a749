package dev.hourglass.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import dev.hourglass.backend.cpu.CpuBackendProvider;

/**
 * Chooses a backend by name ({@code --backend auto|cpu|tornado}) among the {@link BackendProvider}s that
 * {@link ServiceLoader} finds: the CPU one in this module, others (the TornadoVM one) in their own jars.
 *
 * <ul>
 *   <li>{@code auto} (also null or blank): the available provider with the highest priority whose device is worth
 *       offloading to: the CPU backend, or a backend whose first device is a GPU or another accelerator ({@link
 *       BackendProvider#devices}). A device backend on a CPU device (an OpenCL driver such as PoCL on the host's own
 *       cores) is passed over: it computes on the same cores as the CPU backend, 10 to 80 times slower (measured in
 *       docs/PERFORMANCE.md), and so is one that cannot say what its device is. The CPU backend (priority 0) is always
 *       available, so {@code auto} always opens something. A provider that cannot run, or whose jar is broken
 *       ({@link ServiceConfigurationError}), is passed over too; the summary names every provider passed over and why.
 *   <li>Any other name (case-insensitive): that provider, or a {@link BackendUnavailableException} naming the backend
 *       and what is missing; never a quiet fallback to another backend.
 * </ul>
 *
 * Providers are looked up on each call (the thread's context class loader, else this class's), so a caller decides
 * once per model which backend it gets, and says so once with {@link BackendChoice#summary()}.
 */
public final class Backends {
    /** The name that picks the best available backend. */
    public static final String AUTO = "auto";

    private static final String CPU = "cpu";
    private static final String TORNADO = "tornado";
    private static final String TORNADO_ABSENT = "not on the class path: the TornadoVM backend is the tornado-kernels"
            + " module, which bin/hourglass builds and adds when TORNADOVM_HOME names a TornadoVM SDK";
    /** Bounds the walk over a provider iterator that keeps failing (each failure may not advance it). */
    private static final int MAX_LOOKUPS = 64;

    private Backends() {
    }

    /**
     * Opens the backend {@code choice} names, computing with {@code threads} host threads.
     *
     * @param choice {@code auto}, null or blank for the best available; otherwise a provider's name, any case
     * @throws BackendUnavailableException if no provider has that name or it cannot run here
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static BackendChoice open(String choice, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        return open(choice, threads, discover());
    }

    /**
     * Every backend name a provider here has, best first (those that cannot run here included), after {@code auto}:
     * for help texts.
     */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        names.add(AUTO);
        for (Found f : discover()) {
            if (f.name() != null) {
                names.add(f.name());
            }
        }
        return List.copyOf(names);
    }

    static BackendChoice open(String choice, int threads, List<Found> found) {
        String wanted = choice == null || choice.isBlank() ? AUTO : choice.strip().toLowerCase(Locale.ROOT);
        if (wanted.equals(AUTO)) {
            Found best = autoChoice(found);
            Backend backend = best.provider().create(threads);
            StringBuilder summary = new StringBuilder(describe(backend));
            for (Found f : found) {
                if (f != best && f.priority() > best.priority()) {
                    summary.append("; ").append(f.label()).append(" not used: ").append(oneLine(f.whyNotAuto()));
                }
            }
            return new BackendChoice(backend, summary.toString());
        }
        for (Found f : found) {
            if (wanted.equals(f.name())) {
                if (!f.available()) {
                    throw new BackendUnavailableException("backend '" + wanted + "' cannot run here: "
                            + oneLine(f.reason()));
                }
                Backend backend = f.provider().create(threads);
                return new BackendChoice(backend, describe(backend));
            }
        }
        throw new BackendUnavailableException(unknown(wanted, found));
    }

    /** What {@code auto} takes: the first provider (best first) that can run and is worth offloading to. */
    private static Found autoChoice(List<Found> found) {
        return found.stream().filter(f -> f.whyNotAuto() == null).findFirst()
                .orElseThrow(() -> new IllegalStateException("packaging bug: no backend can run here, not even the CPU"
                        + " one"));
    }

    /**
     * Every backend found here, best first, with its devices, whether it can run and why not, and whether {@code auto}
     * would take it (and why not): what {@code hourglass backends} prints. Opens nothing.
     */
    public static List<BackendReport> report() {
        List<Found> found = discover();
        Found chosen = autoChoice(found);
        List<BackendReport> out = new ArrayList<>();
        for (Found f : found) {
            out.add(new BackendReport(f.label(), f.priority() == Integer.MAX_VALUE ? -1 : f.priority(),
                    f.available(), f.reason() == null ? null : oneLine(f.reason()), f.devices(), f == chosen,
                    f == chosen || f.whyNotAuto() == null ? null : oneLine(f.whyNotAuto())));
        }
        if (found.stream().noneMatch(f -> TORNADO.equals(f.name()))) {
            out.add(new BackendReport(TORNADO, -1, false, TORNADO_ABSENT, List.of(), false, TORNADO_ABSENT));
        }
        return List.copyOf(out);
    }

    private static String describe(Backend backend) {
        return "backend: " + backend.name() + " (" + oneLine(backend.description()) + ")";
    }

    private static String unknown(String wanted, List<Found> found) {
        String available = found.stream().filter(Found::available).map(Found::name)
                .collect(Collectors.joining(", "));
        List<String> other = found.stream().filter(f -> !f.available())
                .map(f -> f.label() + ": " + oneLine(f.reason())).toList();
        StringBuilder m = new StringBuilder("no backend named '").append(wanted).append("' here (available: ")
                .append(available);
        if (!other.isEmpty()) {
            m.append("; cannot run: ").append(String.join("; ", other));
        }
        m.append(")");
        if (wanted.equals(TORNADO)) {
            m.append(". The TornadoVM backend is in the tornado-kernels module, built when TORNADOVM_HOME names a"
                    + " TornadoVM SDK; bin/hourglass then puts it on the class path");
        } else {
            m.append(". Choose ").append(AUTO);
            found.stream().map(Found::name).filter(n -> n != null).forEach(n -> m.append(", ").append(n));
        }
        return m.toString();
    }

    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * What the providers on the class path say, best first: available ones by priority (highest first), then the
     * others. Providers whose name repeats one already found are dropped (the first on the class path wins). The CPU
     * provider is added if no services file named it, since it lives in this very module.
     */
    static List<Found> discover() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = Backends.class.getClassLoader();
        }
        Map<String, Found> byName = new LinkedHashMap<>();
        List<Found> broken = new ArrayList<>();
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, loader).iterator();
        for (int lookups = 0; lookups < MAX_LOOKUPS; lookups++) {
            BackendProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                broken.add(Found.broken(e));
                continue;
            }
            Found f = Found.of(p);
            if (f.name() == null) {
                broken.add(f);
            } else {
                byName.putIfAbsent(f.name(), f);
            }
        }
        byName.computeIfAbsent(CPU, n -> Found.of(new CpuBackendProvider()));
        List<Found> all = new ArrayList<>(byName.values());
        all.sort(Comparator.comparing((Found f) -> !f.available())
                .thenComparing(Comparator.comparingInt(Found::priority).reversed()));
        all.addAll(broken);
        return List.copyOf(all);
    }

    /**
     * One provider as found: its name (null when it could not be read), priority, and why it cannot run (null when it
     * can).
     */
    record Found(String name, int priority, String reason, BackendProvider provider, List<DeviceInfo> devices) {

        boolean available() {
            return reason == null;
        }

        /** How messages call it. */
        String label() {
            return name != null ? name : "a backend provider";
        }

        /** Why {@code auto} passes this provider over, or null when it would take it. */
        String whyNotAuto() {
            if (!available()) {
                return reason;
            }
            if (CPU.equals(name)) {
                return null;
            }
            if (devices.isEmpty()) {
                return "it does not say what its device is, so it could be slower than the cpu backend; ask for it"
                        + " with --backend " + name;
            }
            DeviceInfo first = devices.get(0);
            if (first.kind().isAccelerator()) {
                return null;
            }
            return "its device, " + first.name() + ", is "
                    + (first.kind() == DeviceInfo.Kind.CPU ? "a CPU (the host's cores through a driver), where the cpu"
                    + " backend is faster" : "not a GPU or accelerator (" + first.kind() + ")")
                    + "; ask for it with --backend " + name;
        }

        static Found broken(Throwable e) {
            return new Found(null, Integer.MAX_VALUE, "failed to load: " + message(e), null, List.of());
        }

        /**
         * Asks a provider about itself. A provider that throws, or whose classes are missing ({@link LinkageError}),
         * is reported as unable to run with the error, rather than taking the whole choice down.
         */
        static Found of(BackendProvider p) {
            String name;
            try {
                name = p.name().strip().toLowerCase(Locale.ROOT);
            } catch (RuntimeException | LinkageError e) {
                return new Found(null, Integer.MAX_VALUE, p.getClass().getName() + " failed: " + message(e), null,
                        List.of());
            }
            int priority;
            Optional<String> reason;
            try {
                priority = p.priority();
                reason = p.unavailableReason();
            } catch (RuntimeException | LinkageError e) {
                return new Found(name, Integer.MAX_VALUE, "failed to load: " + message(e), null, List.of());
            }
            List<DeviceInfo> devices = List.of();
            if (reason.isEmpty()) {
                try {
                    devices = List.copyOf(p.devices());
                } catch (RuntimeException | LinkageError e) {
                    reason = Optional.of("could not list its devices: " + message(e));
                }
            }
            return new Found(name, priority, reason.orElse(null), p, devices);
        }

        private static String message(Throwable e) {
            StringBuilder m = new StringBuilder(String.valueOf(e.getMessage()));
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                m.append(": ").append(c);
            }
            return m.toString();
        }
    }
}
