package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.DptConfig;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tensor.Shape;

/** The checkpoint layouts Hourglass recognises, in the order detection tries them. */
final class Layouts {
    /** Every layout, most specific first (a DPT or Segmenter checkpoint also contains a timm encoder). */
    static final List<Layout> ALL = List.of(new DptLayout(true), new DptLayout(false), new SegmenterLayout(true),
            new SegmenterLayout(false), new CfVitLayout(), new HfVitLayout(), new TimmLayout());
    /** Names {@code --family} accepts. */
    static final List<String> NAMES = List.of("hourglass", "timm", "hf-vit", "hf-dpt", "dpt", "segmenter",
            "segmenter-mmseg", "cfvit");

    private Layouts() {
    }

    /**
     * The conversion of a checkpoint, by the layout the user named or the one its tensor names match, with the
     * normalisation the options give in place of the layout's.
     */
    static Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Conversion conv = layoutConversion(c, o);
        checkDptOutput(c, conv, o.dptOutput());
        return Normalisation.given(conv, o);
    }

    /**
     * Refuses {@code --dpt-output} for a model that is not a DPT, and for an Hourglass file whose output it would
     * change (the file keeps what it was converted with). DPT layouts apply it themselves ({@link DptLayout}).
     */
    private static void checkDptOutput(Checkpoint c, Conversion conv, DptOutput given) throws IOException {
        if (given == null || conv.config() == null) {
            return;
        }
        ModelConfig config = conv.config();
        if (config.family() != ModelFamily.DPT) {
            throw new IOException(c.fileName() + ": --dpt-output applies to DPT depth models; this is a "
                    + config.family().jsonName() + " model (" + conv.layout() + " layout)");
        }
        if (conv.layout().equals("hourglass")) {
            DptConfig.Metric has = config.decoder(DptConfig.class).metric();
            if (!java.util.Objects.equals(has, given.metric())) {
                throw new IOException(c.fileName() + ": --dpt-output " + given.optionName() + ": this Hourglass file"
                        + " was converted with " + (has == null ? "relative inverse depth" : "a metric output " + has)
                        + " and keeps it; convert the original .pt again with the option");
            }
        }
    }

    private static Conversion layoutConversion(Checkpoint c, ConvertOptions o) throws IOException {
        boolean hourglass = ModelFormat.isHourglass(c.tensors());
        if (o.layout() != null) {
            if (!NAMES.contains(o.layout())) {
                throw new IOException("--family " + o.layout() + " is not a known layout; use one of "
                        + String.join(", ", NAMES));
            }
            if (o.layout().equals("hourglass")) {
                return identity(c);
            }
            for (Layout l : ALL) {
                if (l.name().equals(o.layout())) {
                    return l.convert(c, o);
                }
            }
        }
        if (hourglass) {
            return identity(c);
        }
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        for (Layout l : ALL) {
            if (l.matches(names)) {
                return l.convert(c, o);
            }
        }
        List<String> sample = c.tensors().names().subList(0, Math.min(6, c.tensors().names().size()));
        throw new IOException(c.fileName() + ": not a checkpoint layout Hourglass knows (timm or Hugging Face"
                + " ViT/DeiT, DPT, Segmenter, CF-ViT); its first tensors are " + sample
                + "; if it is one of them, say which with --family (" + String.join(", ", NAMES) + ")");
    }

    /** An Hourglass file is already canonical: every tensor under its own name. */
    private static Conversion identity(Checkpoint c) throws IOException {
        ModelConfig config = ModelFormat.config(c.tensors());
        TensorPlan plan = new TensorPlan();
        List<String> problems = new ArrayList<>();
        for (TensorInfo t : c.tensors().tensors()) {
            plan.rename(t.name(), t.name());
        }
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        Map<String, Shape> expected = new java.util.LinkedHashMap<>(
                dev.hourglass.vit.TimmVitLayout.expectedShapes(config.encoder()));
        if (config.family() == ModelFamily.LVVIT || config.decoder() instanceof DptConfig d
                && d.backbone() == DptConfig.Backbone.HYBRID) {
            // LV-ViT's projection follows its convolutional stem, DPT-Hybrid's its ResNet: not the encoder's patch
            // size.
            expected.remove("patch_embed.proj.weight");
            expected.remove("patch_embed.proj.bias");
        }
        Layout.checkShapes(expected, shapes, problems);
        return new Conversion("hourglass", config, plan, shapes, problems);
    }
}
