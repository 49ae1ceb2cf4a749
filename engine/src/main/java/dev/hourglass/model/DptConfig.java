package dev.hourglass.model;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * DPT's settings (Ranftl et al., 2021, isl-org/DPT): which encoder blocks it taps, how the class token is read out,
 * the reassemble and fusion widths, and the head. The model file's {@code decoder} object for family {@code dpt}:
 *
 * <pre>{@code
 * { "hooks": [2, 5, 8, 11], "readout": "ignore" | "add" | "project", "features": [96, 192, 384, 768],
 *   "fusion_features": 256, "reassemble_factors": [4, 2, 1, 0.5], "head": "depth" | "segmentation",
 *   "use_bn": false, "backbone": "vit" | "hybrid",   (absent in files written before it: vit)
 *   "classes": 150,                                   (segmentation only)
 *   "metric": { "scale": 6.016e-05, "shift": 0.00579 } }   (absent: relative inverse depth; depth only)
 * }</pre>
 *
 * <p>{@link #toJson()} and {@link #fromJson} are the only code that writes and reads this object. The arrays are
 * copied in and out, so an instance is immutable and safe to share between threads.
 *
 * @param hooks             the four encoder blocks (0-based) whose outputs are reassembled, shallowest first
 * @param readout           what becomes of the class token in each reassembled map
 * @param features          the four reassembled maps' widths ({@code act_postprocessK.3}'s output channels)
 * @param fusionFeatures    the fusion blocks' width ({@code scratch.refinenetK}); the head's input
 * @param reassembleFactors the four maps' scale relative to the token grid: DPT's are 4, 2, 1, 0.5 (a transposed
 *                          convolution up, identity, a strided convolution down)
 * @param head              depth (one channel) or semantic segmentation ({@code classes} channels)
 * @param useBatchNorm      whether the fusion's residual units have BatchNorm ({@code use_bn}, {@code bn1}/{@code bn2})
 * @param backbone          a plain ViT, or ViT-Hybrid (a ResNet-50 stem: the first two maps come from it)
 * @param classes           a segmentation head's classes; 0 for depth
 * @param metric            null: the depth head's output as it is, relative inverse depth (larger is nearer);
 *                          otherwise the head's output {@code x} becomes metric depth {@code 1 / (scale x + shift)}
 *                          in metres (larger is farther), as isl-org/DPT's {@code DPTDepthModel(invert=True)} does
 *                          for the KITTI and NYU checkpoints
 */
public record DptConfig(int[] hooks, Readout readout, int[] features, int fusionFeatures, double[] reassembleFactors,
                        Head head, boolean useBatchNorm, Backbone backbone, int classes, Metric metric)
        implements DecoderConfig {

    /**
     * Metric depth from the head's output {@code x >= 0}, as {@code DPTDepthModel.forward} computes it with
     * {@code invert=True}: {@code depth = scale * x + shift}, values below {@code 1e-8} set to {@code 1e-8}, then
     * {@code 1 / depth}. isl-org's {@code run_monodepth.py} uses scale 0.00006016, shift 0.00579 for
     * {@code dpt_hybrid_kitti} and 0.000305, 0.1378 for {@code dpt_hybrid_nyu}; the checkpoints record neither.
     *
     * @param scale multiplies the head's output; finite, above 0 (so metric depth falls as the output rises)
     * @param shift added after the scale; finite
     */
    public record Metric(double scale, double shift) {
        /** @throws IllegalArgumentException if scale is not finite and above 0, or shift is not finite */
        public Metric {
            if (!(scale > 0) || Double.isInfinite(scale)) {
                throw new IllegalArgumentException("dpt: metric.scale must be a finite number above 0, got " + scale);
            }
            if (!Double.isFinite(shift)) {
                throw new IllegalArgumentException("dpt: metric.shift must be a finite number, got " + shift);
            }
        }
    }

    /** How the class token enters each reassembled map (DPT's {@code readout}). */
    public enum Readout {
        /** Dropped. */
        IGNORE,
        /** Added to every patch token. */
        ADD,
        /** Concatenated to every patch token and projected back to the width ({@code act_postprocessK.0.project}). */
        PROJECT
    }

    /** DPT's head ({@code scratch.output_conv}). */
    public enum Head {
        DEPTH,
        SEGMENTATION
    }

    /** The encoder DPT is built on. */
    public enum Backbone {
        /** A plain ViT: all four maps are reassembled from encoder blocks. */
        VIT,
        /** ViT-Hybrid: a ResNet-50 embeds the patches; the first two maps are its stages. */
        HYBRID
    }

    /** The number of maps DPT reassembles and fuses. */
    public static final int STAGES = 4;

    /** DPT's reassemble factors for every ViT it was published with. */
    private static final double[] DPT_FACTORS = {4, 2, 1, 0.5};

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /**
     * @throws IllegalArgumentException naming the setting when one is out of range: not four hooks, features and
     *     factors, a negative hook, a width or factor not positive, classes not positive for segmentation or not 0
     *     for depth, a metric output for a segmentation head
     */
    public DptConfig {
        Objects.requireNonNull(readout, "readout");
        Objects.requireNonNull(head, "head");
        Objects.requireNonNull(backbone, "backbone");
        hooks = check(hooks, "hooks", 0);
        features = check(features, "features", 1);
        Objects.requireNonNull(reassembleFactors, "reassemble_factors");
        reassembleFactors = reassembleFactors.clone();
        if (reassembleFactors.length != STAGES) {
            throw new IllegalArgumentException("dpt: reassemble_factors must be " + STAGES + " numbers, got "
                    + Arrays.toString(reassembleFactors));
        }
        for (double f : reassembleFactors) {
            if (!(f > 0) || Double.isInfinite(f)) {
                throw new IllegalArgumentException("dpt: reassemble_factors must be positive, got "
                        + Arrays.toString(reassembleFactors));
            }
        }
        if (fusionFeatures < 1) {
            throw new IllegalArgumentException("dpt: fusion_features must be positive, got " + fusionFeatures);
        }
        if (head == Head.SEGMENTATION ? classes < 1 : classes != 0) {
            throw new IllegalArgumentException("dpt: classes must be " + (head == Head.SEGMENTATION
                    ? "positive for a segmentation head" : "0 for a depth head") + ", got " + classes);
        }
        if (metric != null && head != Head.DEPTH) {
            throw new IllegalArgumentException("dpt: a metric output needs a depth head, got a "
                    + ConfigFields.jsonName(head) + " head");
        }
    }

    /** Relative inverse depth (no metric output), as every DPT file written before the metric output. */
    public DptConfig(int[] hooks, Readout readout, int[] features, int fusionFeatures, double[] reassembleFactors,
                     Head head, boolean useBatchNorm, Backbone backbone, int classes) {
        this(hooks, readout, features, fusionFeatures, reassembleFactors, head, useBatchNorm, backbone, classes, null);
    }

    /** This configuration with {@code metric} as its output (null: relative inverse depth). */
    public DptConfig withMetric(Metric metric) {
        return new DptConfig(hooks, readout, features, fusionFeatures, reassembleFactors, head, useBatchNorm, backbone,
                classes, metric);
    }

    /** A depth model on a plain ViT. */
    public static DptConfig depth(int[] hooks, Readout readout, int[] features, int fusionFeatures,
                                  boolean useBatchNorm) {
        return new DptConfig(hooks, readout, features, fusionFeatures, DPT_FACTORS, Head.DEPTH, useBatchNorm,
                Backbone.VIT, 0);
    }

    private static int[] check(int[] values, String field, int least) {
        Objects.requireNonNull(values, field);
        if (values.length != STAGES) {
            throw new IllegalArgumentException("dpt: " + field + " must be " + STAGES + " integers, got "
                    + Arrays.toString(values));
        }
        for (int v : values) {
            if (v < least) {
                throw new IllegalArgumentException("dpt: " + field + " must be at least " + least + ", got "
                        + Arrays.toString(values));
            }
        }
        return values.clone();
    }

    /** A copy of the tapped blocks. */
    @Override
    public int[] hooks() {
        return hooks.clone();
    }

    /** A copy of the reassembled widths. */
    @Override
    public int[] features() {
        return features.clone();
    }

    /** A copy of the reassemble factors. */
    @Override
    public double[] reassembleFactors() {
        return reassembleFactors.clone();
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode d = NODES.objectNode();
        ArrayNode h = d.putArray("hooks");
        Arrays.stream(hooks).forEach(h::add);
        d.put("readout", ConfigFields.jsonName(readout));
        ArrayNode f = d.putArray("features");
        Arrays.stream(features).forEach(f::add);
        d.put("fusion_features", fusionFeatures);
        ArrayNode r = d.putArray("reassemble_factors");
        for (double v : reassembleFactors) {
            // Whole factors as integers, as the converter has always written them: [4, 2, 1, 0.5].
            if (v == Math.rint(v) && Math.abs(v) < 1 << 30) {
                r.add((int) v);
            } else {
                r.add(v);
            }
        }
        d.put("head", ConfigFields.jsonName(head));
        d.put("use_bn", useBatchNorm);
        d.put("backbone", ConfigFields.jsonName(backbone));
        if (head == Head.SEGMENTATION) {
            d.put("classes", classes);
        }
        if (metric != null) {
            ObjectNode m = d.putObject("metric");
            m.put("scale", metric.scale());
            m.put("shift", metric.shift());
        }
        return d;
    }

    /**
     * Reads {@link #toJson()}'s object; a missing or malformed field is an error naming it.
     *
     * @param where the file and object, e.g. {@code "dpt.safetensors: hourglass.config: decoder"}
     * @throws IOException {@code where.field must be ..., got value}
     */
    public static DptConfig fromJson(JsonNode node, String where) throws IOException {
        if (node == null || !node.isObject()) {
            throw new IOException(where + " must be DPT's settings (hooks, readout, features, ...), got " + node);
        }
        int[] hooks = ConfigFields.counts(node, "hooks", STAGES, 0, where);
        Readout readout = ConfigFields.choice(node, "readout", Readout.class, null, where);
        int[] features = ConfigFields.counts(node, "features", STAGES, 1, where);
        int fusion = ConfigFields.positive(node, "fusion_features", where);
        double[] factors = ConfigFields.positiveNumbers(node, "reassemble_factors", STAGES, where);
        Head head = ConfigFields.choice(node, "head", Head.class, null, where);
        boolean bn = ConfigFields.bool(node, "use_bn", where);
        Backbone backbone = ConfigFields.choice(node, "backbone", Backbone.class, Backbone.VIT, where);
        int classes = 0;
        if (head == Head.SEGMENTATION) {
            classes = ConfigFields.positive(node, "classes", where);
        } else if (node.has("classes")) {
            throw new IOException(where + ".classes must be absent for a depth head, got " + node.get("classes"));
        }
        Metric metric = null;
        JsonNode m = node.get("metric");
        if (m != null) {
            String at = where + ".metric";
            if (head != Head.DEPTH) {
                throw new IOException(at + " must be absent for a " + ConfigFields.jsonName(head) + " head (a metric"
                        + " output is depth's), got " + m);
            }
            if (!m.isObject()) {
                throw new IOException(at + " must be {\"scale\": number, \"shift\": number}, got " + m);
            }
            double scale = ConfigFields.positiveNumber(m, "scale", at);
            double shift = ConfigFields.finiteNumber(m, "shift", at);
            metric = new Metric(scale, shift);
        }
        return new DptConfig(hooks, readout, features, fusion, factors, head, bn, backbone, classes, metric);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DptConfig d && Arrays.equals(hooks, d.hooks) && readout == d.readout
                && Arrays.equals(features, d.features) && fusionFeatures == d.fusionFeatures
                && Arrays.equals(reassembleFactors, d.reassembleFactors) && head == d.head
                && useBatchNorm == d.useBatchNorm && backbone == d.backbone && classes == d.classes
                && Objects.equals(metric, d.metric);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(hooks), readout, Arrays.hashCode(features), fusionFeatures,
                Arrays.hashCode(reassembleFactors), head, useBatchNorm, backbone, classes, metric);
    }

    @Override
    public String toString() {
        return "DptConfig[hooks=" + Arrays.toString(hooks) + ", readout=" + readout + ", features="
                + Arrays.toString(features) + ", fusionFeatures=" + fusionFeatures + ", reassembleFactors="
                + Arrays.toString(reassembleFactors) + ", head=" + head + ", useBatchNorm=" + useBatchNorm
                + ", backbone=" + backbone + ", classes=" + classes + ", metric=" + metric + "]";
    }
}
