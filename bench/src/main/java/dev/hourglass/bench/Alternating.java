package dev.hourglass.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /** Median of the ratios a[i] / b[i]: calls at the same place of the same block. */
    static double pairedRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return Stats.of(r).median();
    }
}
