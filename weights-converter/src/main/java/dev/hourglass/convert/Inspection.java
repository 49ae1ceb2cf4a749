package dev.hourglass.convert;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tensor.Shape;

/**
 * What {@code hourglass inspect} reports about a checkpoint: its layout, the model's configuration (and what of it
 * was inferred), every canonical tensor with its source, the parameter count and dtypes, and the problems that would
 * stop a conversion (missing, mis-shaped, unmapped tensors).
 *
 * @param file       the weights file
 * @param layout     the detected (or named) layout
 * @param config     the configuration, or null if it could not be determined
 * @param tensors    canonical tensors in order
 * @param dropped    source tensors left out on purpose, with the reason
 * @param problems   what stands in the way of a conversion
 */
public record Inspection(String file, String layout, ModelConfig config, List<Entry> tensors,
                         Map<String, String> dropped, List<String> problems) {

    /** One canonical tensor. */
    public record Entry(String name, List<String> sources, String dtype, Shape shape) {
    }

    static Inspection of(Checkpoint c, Conversion conv) {
        List<Entry> entries = new ArrayList<>();
        conv.plan().canonical().forEach((name, src) -> {
            Shape shape = conv.shapes().get(name);
            String dtype = src instanceof TensorPlan.Standardised ? "F32"
                    : c.tensors().info(src.rawNames().get(0)).map(TensorInfo::dtype).orElse("?");
            entries.add(new Entry(name, src.rawNames(), dtype, shape));
        });
        return new Inspection(c.fileName(), conv.layout(), conv.config(), List.copyOf(entries),
                conv.plan().dropped(), conv.problems());
    }

    /** The settings guessed rather than read (see {@link ConvertedModel#guesses()}); empty without a config. */
    public List<String> guesses() {
        return config == null ? List.of() : Guesses.of(config.inferred());
    }

    /** What the given normalisation replaced (see {@link ConvertedModel#replacedNormalisation()}). */
    public java.util.Optional<String> replacedNormalisation() {
        return config == null ? java.util.Optional.empty() : Normalisation.replaced(config.inferred());
    }

    /** Number of parameters (elements of all canonical tensors). */
    public long parameters() {
        long n = 0;
        for (Entry e : tensors) {
            if (e.shape() != null) {
                n += e.shape().elementCount();
            }
        }
        return n;
    }

    /** Tensors per dtype. */
    public Map<String, Integer> dtypes() {
        Map<String, Integer> m = new TreeMap<>();
        tensors.forEach(e -> m.merge(e.dtype(), 1, Integer::sum));
        return m;
    }

    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("file", file);
        root.put("layout", layout);
        root.put("parameters", parameters());
        ObjectNode dt = root.putObject("dtypes");
        dtypes().forEach(dt::put);
        if (config != null) {
            root.set("config", config.toJson());
        } else {
            root.putNull("config");
        }
        ArrayNode g = root.putArray("guesses");
        guesses().forEach(g::add);
        ArrayNode t = root.putArray("tensors");
        for (Entry e : tensors) {
            ObjectNode o = t.addObject();
            o.put("name", e.name());
            o.put("dtype", e.dtype());
            ArrayNode shape = o.putArray("shape");
            if (e.shape() != null) {
                for (long d : e.shape().dims()) {
                    shape.add(d);
                }
            }
            ArrayNode src = o.putArray("sources");
            e.sources().forEach(src::add);
        }
        ObjectNode d = root.putObject("dropped");
        dropped.forEach(d::put);
        ArrayNode p = root.putArray("problems");
        problems.forEach(p::add);
        return root;
    }

    /** A human-readable report. */
    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append("file        ").append(file).append('\n');
        b.append("layout      ").append(layout).append('\n');
        if (config != null) {
            var e = config.encoder();
            b.append("family      ").append(config.family()).append('\n');
            b.append(String.format("encoder     %d blocks, width %d, %d heads, MLP %d, patch %d, %dx%d input,"
                            + " %d classes, qkv bias %s, %s%s, LayerNorm eps %s%n", e.depth(), e.embedDim(),
                    e.numHeads(), e.mlpHidden(), e.patchSize(), e.imageHeight(), e.imageWidth(), e.numClasses(),
                    e.qkvBias(), e.classToken() ? "class token" : "no class token",
                    e.distilled() ? " + distillation token" : "", Float.toString(e.normEps())));
            if (config.decoder() != null) {
                b.append("decoder     ").append(config.decoder().toJson()).append('\n');
            }
            b.append("preprocess  ").append(config.preprocessing()).append('\n');
            if (!config.labels().isEmpty()) {
                b.append("labels      ").append(config.labels().size()).append(" names: ")
                        .append(String.join(", ", config.labels().subList(0, Math.min(5, config.labels().size()))))
                        .append(config.labels().size() > 5 ? ", ..." : "").append('\n');
            }
            for (String note : config.inferred()) {
                if (note.startsWith(Guesses.PREFIX)) {
                    continue;
                }
                b.append("inferred    ").append(note).append('\n');
            }
            for (String guess : guesses()) {
                b.append("guessed     ").append(guess).append('\n');
            }
        } else {
            b.append("config      could not be determined\n");
        }
        b.append(String.format("tensors     %d canonical, %,d parameters, dtypes %s%n", tensors.size(), parameters(),
                dtypes()));
        for (Entry e : tensors) {
            String src = e.sources().size() == 1 && e.sources().get(0).equals(e.name()) ? ""
                    : "  <- " + String.join(" + ", e.sources());
            b.append(String.format("  %-44s %-5s %s%s%n", e.name(), e.dtype(), e.shape(), src));
        }
        dropped.forEach((k, v) -> b.append("dropped     ").append(k).append(": ").append(v).append('\n'));
        if (problems.isEmpty()) {
            b.append("problems    none\n");
        } else {
            for (String p : problems) {
                b.append("problem     ").append(p).append('\n');
            }
        }
        return b.toString();
    }

    /** Settings of the model's family as a map, for tests and tools. */
    public Map<String, Object> decoderSettings() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (config != null && config.decoder() != null) {
            config.decoder().toJson().fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue()));
        }
        return m;
    }
}
