package dev.hourglass.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the harnesses record about the machine they ran on: CPU, cores, JVM, OS, and how busy it was. */
final class Machine {
    private Machine() {
    }

    /** CPU model, available processors, JVM and OS, for a report's {@code machine} field. */
    static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("available_processors", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        return m;
    }

    static String cpuModel() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                Files.newInputStream(Path.of("/proc/cpuinfo")), StandardCharsets.UTF_8))) {
            String model = null;
            String mhz = null;
            String line;
            while ((line = r.readLine()) != null) {
                if (model == null && line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                } else if (mhz == null && line.startsWith("cpu MHz")) {
                    mhz = line.substring(line.indexOf(':') + 1).trim();
                }
            }
            return model + (mhz == null ? "" : " (nominal " + mhz + " MHz)");
        } catch (IOException e) {
            return System.getProperty("os.arch");
        }
    }

    /** {@code "family 26, model 2"} from /proc/cpuinfo (the first processor), or "" where it says nothing. */
    static String cpuFamilyModel() {
        String family = cpuinfoField("cpu family");
        String model = cpuinfoField("model");
        return family == null || model == null ? "" : "family " + family + ", model " + model;
    }

    /**
     * The widest x86 vector extension /proc/cpuinfo lists ({@code AVX-512}, {@code AVX2}, {@code AVX}), or on other
     * machines the architecture's name ({@code aarch64: asimd} and the like).
     */
    static String vectorIsa() {
        String flags = cpuinfoField("flags");
        if (flags == null) {
            String features = cpuinfoField("Features");
            return System.getProperty("os.arch") + (features == null ? "" : ": " + features);
        }
        java.util.Set<String> f = new java.util.HashSet<>(java.util.Arrays.asList(flags.split("\\s+")));
        if (f.contains("avx512f")) {
            return "AVX-512" + (f.contains("avx512_bf16") ? " (with bf16)" : "");
        }
        return f.contains("avx2") ? "AVX2" : f.contains("avx") ? "AVX" : "SSE";
    }

    /** The value of the first line of /proc/cpuinfo whose key is exactly {@code key}, or null. */
    private static String cpuinfoField(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).strip().equals(key)) {
                    return line.substring(colon + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** The first three fields of /proc/loadavg (1, 5 and 15 minutes), or "n/a". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /**
     * Samples the 1-minute load average every 10 seconds on a daemon thread until closed: the highest value seen
     * while a measurement ran ({@link #max}), with the values at start and at close.
     */
    static final class LoadSampler implements AutoCloseable {
        private final String start = loadAverage();
        private final Thread thread;
        private volatile double max = firstField(start);
        private String end;

        LoadSampler() {
            thread = Thread.ofPlatform().daemon().name("load-sampler").start(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(10_000);
                        max = Math.max(max, firstField(loadAverage()));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        private static double firstField(String load) {
            try {
                return Double.parseDouble(load.split("\\s+")[0]);
            } catch (RuntimeException e) {
                return Double.NaN;
            }
        }

        /** The highest 1-minute load average sampled so far (the start's included). */
        double max() {
            return Math.max(max, firstField(loadAverage()));
        }

        /** {@code start}, {@code end} (1, 5, 15 minutes) and {@code max_1min}. */
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("start", start);
            m.put("end", end == null ? loadAverage() : end);
            m.put("max_1min", max());
            return m;
        }

        @Override
        public void close() {
            if (end == null) {
                max = max();
                end = loadAverage();
            }
            thread.interrupt();
        }
    }

    /**
     * CPU time of the whole machine and of this process, from /proc (in clock ticks): two of them bracket a
     * measurement and {@link #othersBusyCores} says how many cores other processes kept busy meanwhile.
     */
    record CpuTimes(long machineBusy, long self, long nanoTime) {
        static CpuTimes now() {
            long busy = -1;
            long self = -1;
            try {
                String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                // cpu user nice system idle iowait irq softirq steal ...
                busy = 0;
                for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                    busy += Long.parseLong(cpu[i]);
                }
                String stat = Files.readString(Path.of("/proc/self/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split("\\s+");
                // Fields from the state (3rd) on: utime is the 14th field, stime the 15th.
                self = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (IOException | RuntimeException e) {
                busy = -1;
            }
            return new CpuTimes(busy, self, System.nanoTime());
        }

        /**
         * Cores that processes other than this one kept busy on average since {@code start} (assuming 100 clock
         * ticks per second, Linux's USER_HZ); NaN if /proc could not be read.
         */
        double othersBusyCores(CpuTimes start) {
            if (machineBusy < 0 || start.machineBusy < 0) {
                return Double.NaN;
            }
            double seconds = (nanoTime - start.nanoTime) / 1e9;
            double others = ((machineBusy - start.machineBusy) - (self - start.self)) / 100.0;
            return Math.max(0, others / seconds);
        }
    }

    /**
     * What to run before each block of timed calls ({@link Alternating#time}): records how many cores other processes
     * kept busy during the previous block into {@code busyPerBlock}, then, with {@code waitIdle > 0}, waits (at most
     * that many seconds) for the machine to be idle. {@link BlockWatch#finish} records the last block.
     */
    static BlockWatch beforeEachBlock(double waitIdle, List<Double> busyPerBlock) {
        return new BlockWatch(waitIdle, busyPerBlock);
    }

    /** See {@link #beforeEachBlock}. Not thread-safe: one timing loop. */
    static final class BlockWatch implements Runnable {
        private final double waitIdle;
        private final List<Double> busyPerBlock;
        private CpuTimes blockStart;

        private BlockWatch(double waitIdle, List<Double> busyPerBlock) {
            this.waitIdle = waitIdle;
            this.busyPerBlock = busyPerBlock;
        }

        @Override
        public void run() {
            finish();
            if (waitIdle > 0) {
                waitForIdle(waitIdle, 0.15, 1);
            }
            blockStart = CpuTimes.now();
        }

        /** Records the block that ran since the last {@link #run}. */
        void finish() {
            if (blockStart != null) {
                busyPerBlock.add(Stats.round(CpuTimes.now().othersBusyCores(blockStart)));
                blockStart = null;
            }
        }
    }


    /**
     * Waits until processes other than this one keep fewer than {@code cores} cores busy over {@code window}
     * consecutive 5-second samples, at most {@code maxSeconds}; for harnesses on a shared machine. Returns the
     * seconds waited (the cap when the machine never calmed down).
     */
    static double waitForIdle(double maxSeconds, double cores, int window) {
        long start = System.nanoTime();
        int quiet = 0;
        boolean announced = false;
        while ((System.nanoTime() - start) / 1e9 < maxSeconds) {
            CpuTimes a = CpuTimes.now();
            if (a.machineBusy() < 0) {
                return 0;
            }
            try {
                Thread.sleep(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            double others = CpuTimes.now().othersBusyCores(a);
            if (others < cores) {
                if (++quiet >= window) {
                    break;
                }
            } else {
                quiet = 0;
                if (!announced) {
                    System.err.printf("waiting for the machine: other processes keep %.2f cores busy%n", others);
                    announced = true;
                }
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** Command lines of running processes that contain {@code fragment} (this JVM left out). */
    static java.util.List<String> processesMatching(String fragment) {
        long me = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses()
                .filter(p -> p.pid() != me)
                .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))
                .filter(c -> c.contains(fragment))
                .toList();
    }
}
