package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.DecoderConfig;
import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;
import dev.hourglass.vit.TimmVitLayout;
import dev.hourglass.vit.VitConfig;

/**
 * One original project's checkpoint layout: how to recognise it from its tensor names and how to map it onto the
 * canonical layout (timm's names for the ViT encoder, a family prefix for the rest).
 */
abstract class Layout {
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Name for {@code --family} and reports, e.g. {@code "hf-vit"}. */
    abstract String name();

    /** Whether a checkpoint with these tensor names is in this layout. */
    abstract boolean matches(Set<String> names);

    /** Maps the checkpoint; never throws for problems with single tensors (they go into the result). */
    abstract Conversion convert(Checkpoint checkpoint, ConvertOptions options) throws IOException;

    /** The timm encoder names (blocks and all) found under {@code prefix}, renamed to canonical names. */
    static void mapTimmEncoder(TensorPlan plan, Set<String> names, String prefix) {
        for (String n : names) {
            if (n.startsWith(prefix)) {
                String rest = n.substring(prefix.length());
                if (isTimmEncoderName(rest)) {
                    plan.rename(rest, n);
                }
            }
        }
    }

    static boolean isTimmEncoderName(String n) {
        return n.equals("cls_token") || n.equals("dist_token") || n.equals("pos_embed")
                || n.startsWith("patch_embed.proj.") || n.startsWith("blocks.") || n.startsWith("norm.")
                || n.startsWith("head.") || n.startsWith("head_dist.");
    }

    /**
     * Infers the encoder from the canonical shapes (the encoder's only) and checks them: missing, mis-shaped and
     * unexpected tensors (layer scale, register tokens: terms this ViT would leave out) are added to
     * {@code problems}. Returns null if the encoder cannot be inferred at all.
     */
    static TimmVitConfig.Inferred encoder(Map<String, Shape> shapes, TimmVitConfig.Hints hints, String file,
                                          List<String> problems) {
        TimmVitConfig.Inferred inferred;
        try {
            inferred = TimmVitConfig.infer(shapes, hints, file);
        } catch (IOException e) {
            problems.add(e.getMessage());
            return null;
        }
        Map<String, Shape> expected = TimmVitLayout.expectedShapes(inferred.config());
        checkShapes(expected, shapes, problems);
        checkNoExtra(expected.keySet(), shapes, problems);
        return inferred;
    }

    /** Adds a problem for every expected tensor that is missing or has another shape. */
    static void checkShapes(Map<String, Shape> expected, Map<String, Shape> actual, List<String> problems) {
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            Shape got = actual.get(e.getKey());
            if (got == null) {
                problems.add("missing: " + e.getKey() + " " + e.getValue());
            } else if (!got.equals(e.getValue())) {
                problems.add("mis-shaped: " + e.getKey() + " is " + got + ", expected " + e.getValue());
            }
        }
    }

    /** Canonical tensors that no expected shape accounts for. */
    static void checkNoExtra(Set<String> expected, Map<String, Shape> actual, List<String> problems) {
        for (String n : actual.keySet()) {
            if (!expected.contains(n)) {
                problems.add("unexpected: " + n + " " + actual.get(n) + " (not part of this architecture)");
            }
        }
    }

    /** Hints with the user's head count, if given, taking precedence. */
    static TimmVitConfig.Hints withOptions(TimmVitConfig.Hints h, ConvertOptions o) {
        return new TimmVitConfig.Hints(o.heads() != null ? o.heads() : h.numHeads(), h.normEps(), h.imageSize(),
                h.architecture());
    }

    /** timm's eval preprocessing for an input size: bicubic, a centre crop, the given mean and std. */
    static ObjectNode timmDefaultPreprocessing(VitConfig c, double cropPct, double[] mean, double[] std) {
        ObjectNode p = NODES.objectNode();
        p.putArray("input_size").add(c.inChannels()).add(c.imageHeight()).add(c.imageWidth());
        p.put("interpolation", "bicubic");
        p.put("crop_pct", cropPct);
        p.put("crop_mode", "center");
        var m = p.putArray("mean");
        for (double v : mean) {
            m.add(v);
        }
        var s = p.putArray("std");
        for (double v : std) {
            s.add(v);
        }
        return p;
    }

    /**
     * Notes that the resize and crop of {@link #timmDefaultPreprocessing} were a guess: no {@code pretrained_cfg}
     * said. (Its normalisation is noted by the layout, see {@link Normalisation}: a guess, or the family's.)
     */
    static void guessedTimmResize(List<String> notes, double cropPct) {
        notes.add(Guesses.PREFIX + "resize bicubic, centre crop " + cropPct + " (timm's default)");
    }

    static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};
    static final double[] HALF = {0.5, 0.5, 0.5};

    /** The source description every conversion records. */
    static ObjectNode source(Checkpoint c, String layout) {
        ObjectNode s = NODES.objectNode();
        s.put("layout", layout);
        s.put("file", c.fileName());
        return s;
    }

    /** Assembles the result; the configuration is left null when the encoder could not be inferred. */
    static Conversion conclude(Checkpoint c, String layout, ModelFamily family, TensorPlan plan,
                               Map<String, Shape> shapes, TimmVitConfig.Inferred encoder, ObjectNode preprocessing,
                               List<String> labels, DecoderConfig decoder, List<String> notes,
                               List<String> problems) {
        for (String n : plan.unmapped(c.tensors())) {
            problems.add("unmapped: " + n + " " + c.tensors().info(n).orElseThrow().shape()
                    + " (not part of the " + layout + " layout)");
        }
        ModelConfig config = null;
        if (encoder != null) {
            List<String> inferred = new ArrayList<>(encoder.notes());
            inferred.addAll(notes);
            config = new ModelConfig(family, encoder.config(), preprocessing, labels, decoder, source(c, layout),
                    inferred);
        }
        return new Conversion(layout, config, plan, shapes, List.copyOf(problems));
    }
}
