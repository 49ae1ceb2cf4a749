package dev.hourglass.convert;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;

/**
 * How a checkpoint's tensors become canonical ones: each canonical tensor is one source tensor under another name, or
 * several stacked along their first dimension (Hugging Face's separate q, k, v into timm's fused qkv). Source tensors
 * that are deliberately left out are recorded with the reason, so that anything neither used nor dropped can be
 * reported as unmapped.
 */
final class TensorPlan {

    /** Where one canonical tensor comes from. */
    sealed interface Source permits Rename, Stack, Standardised {
        List<String> rawNames();
    }

    /** One source tensor, unchanged. */
    record Rename(String raw) implements Source {
        @Override
        public List<String> rawNames() {
            return List.of(raw);
        }
    }

    /** Several source tensors of the same type, concatenated along the first dimension in this order. */
    record Stack(List<String> raws) implements Source {
        @Override
        public List<String> rawNames() {
            return raws;
        }
    }

    /**
     * A convolution weight {@code [out, in, kh, kw]} standardised per output channel, mean and biased variance over
     * {@code (in, kh, kw)}, as the source's weight-standardised convolution computes it at every forward
     * ({@link StdRule}); served as F32 ({@link ConvertedModel}), so the engine runs a plain convolution.
     */
    record Standardised(String raw, StdRule rule, double eps) implements Source {
        Standardised {
            java.util.Objects.requireNonNull(rule, "rule");
        }

        @Override
        public List<String> rawNames() {
            return List.of(raw);
        }
    }

    /** Where a weight standardisation puts its epsilon. */
    enum StdRule {
        /** timm 0.4.5's {@code StdConv2d}/{@code StdConv2dSame} (isl-org/DPT): {@code (w - mean) / (std + eps)}. */
        STD_PLUS_EPS("(w - mean) / (std + eps)"),
        /**
         * Hugging Face's {@code WeightStandardizedConv2d} (BiT, DPT-Hybrid), and timm from 0.4.12 on:
         * {@code (w - mean) / sqrt(var + eps)}, through PyTorch's batch norm in training mode.
         */
        SQRT_VAR_PLUS_EPS("(w - mean) / sqrt(var + eps)");

        private final String formula;

        StdRule(String formula) {
            this.formula = formula;
        }

        /** The rule with its epsilon, e.g. {@code (w - mean) / sqrt(var + 1.0E-8)}. */
        String formula(double eps) {
            return formula.replace("eps", Double.toString(eps));
        }
    }

    private final Map<String, Source> canonical = new LinkedHashMap<>();
    private final Map<String, String> dropped = new LinkedHashMap<>();

    void rename(String canonicalName, String raw) {
        put(canonicalName, new Rename(raw));
    }

    void standardise(String canonicalName, String raw, StdRule rule, double eps) {
        put(canonicalName, new Standardised(raw, rule, eps));
    }

    void stack(String canonicalName, String... raws) {
        put(canonicalName, new Stack(List.of(raws)));
    }

    private void put(String name, Source source) {
        if (canonical.putIfAbsent(name, source) != null) {
            throw new IllegalStateException("canonical tensor " + name + " mapped twice");
        }
    }

    /** Leaves a source tensor out on purpose. */
    void drop(String raw, String reason) {
        dropped.put(raw, reason);
    }

    Map<String, Source> canonical() {
        return Collections.unmodifiableMap(canonical);
    }

    Map<String, String> dropped() {
        return Collections.unmodifiableMap(dropped);
    }

    Optional<Source> source(String canonicalName) {
        return Optional.ofNullable(canonical.get(canonicalName));
    }

    /** Source tensors this plan neither uses nor drops. */
    List<String> unmapped(TensorSource raw) {
        Set<String> used = new LinkedHashSet<>(dropped.keySet());
        for (Source s : canonical.values()) {
            used.addAll(s.rawNames());
        }
        List<String> out = new ArrayList<>();
        for (TensorInfo t : raw.tensors()) {
            if (!used.contains(t.name())) {
                out.add(t.name());
            }
        }
        return out;
    }

    /**
     * The shape of each canonical tensor whose sources exist and fit together; problems (a missing source, stacked
     * tensors that do not match) are added to {@code problems}.
     */
    Map<String, Shape> shapes(TensorSource raw, List<String> problems) {
        Map<String, Shape> out = new LinkedHashMap<>();
        for (Map.Entry<String, Source> e : canonical.entrySet()) {
            List<TensorInfo> parts = new ArrayList<>();
            for (String r : e.getValue().rawNames()) {
                Optional<TensorInfo> info = raw.info(r);
                if (info.isEmpty()) {
                    problems.add("missing: " + r + " (for " + e.getKey() + ")");
                } else {
                    parts.add(info.get());
                }
            }
            if (parts.size() != e.getValue().rawNames().size()) {
                continue;
            }
            Shape shape = stackedShape(e.getKey(), parts, problems);
            if (shape != null) {
                out.put(e.getKey(), shape);
            }
        }
        return out;
    }

    private static Shape stackedShape(String name, List<TensorInfo> parts, List<String> problems) {
        if (parts.size() == 1) {
            return parts.get(0).shape();
        }
        long[] dims = parts.get(0).shape().dims();
        String dtype = parts.get(0).dtype();
        long first = 0;
        for (TensorInfo p : parts) {
            long[] d = p.shape().dims();
            boolean same = d.length == dims.length && d.length > 0 && p.dtype().equals(dtype);
            for (int i = 1; same && i < d.length; i++) {
                same = d[i] == dims[i];
            }
            if (!same) {
                problems.add("mis-shaped: " + name + " stacks " + parts.get(0).name() + " " + parts.get(0).shape()
                        + " " + dtype + " with " + p.name() + " " + p.shape() + " " + p.dtype());
                return null;
            }
            first += d[0];
        }
        dims[0] = first;
        return Shape.of(dims);
    }
}
