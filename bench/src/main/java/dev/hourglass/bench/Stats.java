package dev.hourglass.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Summary of repeated timings in milliseconds: median and spread. */
record Stats(double median, double min, double max, double p10, double p90, int samples) {

    static Stats of(double[] millis) {
        double[] s = millis.clone();
        Arrays.sort(s);
        return new Stats(quantile(s, 0.5), s[0], s[s.length - 1], quantile(s, 0.1), quantile(s, 0.9), s.length);
    }

    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = (int) Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("median_ms", round(median));
        m.put("min_ms", round(min));
        m.put("max_ms", round(max));
        m.put("p10_ms", round(p10));
        m.put("p90_ms", round(p90));
        m.put("samples", samples);
        return m;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
