package dev.hourglass.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Times several contenders (engines, settings of one engine) on the same work in alternating blocks, so that drift of
 * the machine affects them alike: what {@link EndToEnd} and {@link TokenReductionBench} compare with.
 */
final class Alternating {
    private Alternating() {
    }

    /** One timed call. */
    @FunctionalInterface
    interface Call {
        void run() throws Exception;
    }

    /** A named contender. */
    record Contender(String name, Call call) {
    }

    /**
     * Warms every contender up ({@code warmup} calls each, in turn), then times them in {@code blocks} blocks: each
     * contender in turn runs one untimed call and then a block of timed calls back to back, the contenders' order
     * reversed from one block to the next. Back to back is the steady state a busy service sees (a pause between calls
     * lets an idle core fall asleep, which here cost 10-20% at two threads); the untimed call absorbs the previous
     * contender's threads still spinning (ONNX Runtime's spin for a while after a run); the blocks spread drift of the
     * machine over all contenders alike.
     *
     * @return each contender's call times in milliseconds, by name, in the order they were taken
     */
    static Map<String, double[]> time(List<Contender> contenders, int warmup, int iterations, int blocks)
            throws Exception {
        return time(contenders, warmup, iterations, blocks, () -> { });
    }

    /** {@link #time(List, int, int, int)}, running {@code beforeBlock} before every block (e.g. to wait for quiet). */
    static Map<String, double[]> time(List<Contender> contenders, int warmup, int iterations, int blocks,
                                      Runnable beforeBlock) throws Exception {
        for (Contender c : contenders) {
            for (int i = 0; i < warmup; i++) {
                c.call().run();
            }
        }
        Map<String, double[]> times = new LinkedHashMap<>();
        for (Contender c : contenders) {
            times.put(c.name(), new double[iterations]);
        }
        int n = Math.max(1, Math.min(blocks, iterations));
        int done = 0;
        for (int blk = 0; blk < n; blk++) {
            beforeBlock.run();
            int count = (iterations - done) / (n - blk);
            for (int j = 0; j < contenders.size(); j++) {
                Contender c = contenders.get((blk % 2 == 0) ? j : contenders.size() - 1 - j);
                c.call().run();
                for (int i = 0; i < count; i++) {
                    long s = System.nanoTime();
                    c.call().run();
                    times.get(c.name())[done + i] = (System.nanoTime() - s) / 1e6;
                }
            }
            done += count;
        }
        return times;
    }

    /** Called after each timed call of {@link #watched} with the setting's index, the call's index and its result. */
    @FunctionalInterface
    interface OnCall<R> {
        void accept(int setting, int call, R result);
    }

    /** One setting's timed calls from {@link #watched}: times (ms) and other processes' busy cores, in call order. */
    record Watched<R>(String name, double[] ms, double[] othersBusyCores, R last) {
    }

    /**
     * Times the settings of one model (plain, with a token reduction) for a long-running benchmark that reports how
     * busy the machine was: {@code warmup} rounds (each setting once, printed), then {@code blocks} blocks, each
     * running every setting's share of the {@code iterations} timed calls back to back, the settings' order reversed
     * from one block to the next. With {@code waitIdle > 0}, waits before each block until other processes leave the
     * machine alone for 20 s (at most {@code waitIdle} seconds each time). For each call it records how many cores
     * other processes kept busy ({@link Machine.CpuTimes}), prints a line on standard error and calls {@code onCall}.
     *
     * @return each setting's calls, in the order of {@code names}; {@code waited} receives the seconds spent waiting
     */
    static <R> List<Watched<R>> watched(List<String> names, List<Supplier<R>> settings, int warmup, int iterations,
                                        int blocks, double waitIdle, OnCall<R> onCall, double[] waited) {
        int width = names.stream().mapToInt(String::length).max().orElse(1);
        for (int i = 0; i < warmup; i++) {
            StringBuilder line = new StringBuilder("warm-up " + (i + 1) + ":");
            for (int s = 0; s < settings.size(); s++) {
                long start = System.nanoTime();
                settings.get(s).get();
                line.append(String.format(" %s %.1f ms%s", names.get(s), (System.nanoTime() - start) / 1e6,
                        s + 1 < settings.size() ? "," : ""));
            }
            System.err.println(line);
        }
        int n = settings.size();
        double[][] ms = new double[n][iterations];
        double[][] others = new double[n][iterations];
        List<R> last = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            last.add(null);
        }
        int done = 0;
        for (int blk = 0; blk < blocks; blk++) {
            if (waitIdle > 0) {
                waited[0] += Machine.waitForIdle(waitIdle, 0.15, 4);
            }
            int count = (iterations - done) / (blocks - blk);
            for (int turn = 0; turn < n; turn++) {
                int s = blk % 2 == 0 ? turn : n - 1 - turn;
                for (int i = done; i < done + count; i++) {
                    Machine.CpuTimes c0 = Machine.CpuTimes.now();
                    long start = System.nanoTime();
                    R r = settings.get(s).get();
                    ms[s][i] = (System.nanoTime() - start) / 1e6;
                    others[s][i] = Machine.CpuTimes.now().othersBusyCores(c0);
                    last.set(s, r);
                    onCall.accept(s, i, r);
                    System.err.printf("block %d: %-" + width + "s %.1f ms (others busy %.2f cores)%n", blk + 1,
                            names.get(s), ms[s][i], others[s][i]);
                }
            }
            done += count;
        }
        List<Watched<R>> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            out.add(new Watched<>(names.get(s), ms[s], others[s], last.get(s)));
        }
        return out;
    }

    /** Median of the ratios a[i] / b[i]: calls at the same place of the same block. */
    static double pairedRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return Stats.of(r).median();
    }
}
