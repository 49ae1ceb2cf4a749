package dev.hourglass.convert;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;

/**
 * A checkpoint seen in Hourglass's canonical layout, without writing anything: canonical names, the model's
 * configuration in the metadata (as a converted file would have it), tensors read from the original files on demand.
 * A renamed tensor is the original's bytes (zero copy); a stacked one (Hugging Face's q, k, v) is concatenated once,
 * on first use; a standardised convolution weight (a ViT-Hybrid's ResNet stem, {@link TensorPlan.Standardised}) is
 * computed once, on first use, in F32. The engine loads it like a converted file; {@link Converter#write} writes it to one.
 *
 * <p>Owns the checkpoint: closing this closes the original files. Safe to read from several threads.
 */
public final class ConvertedModel implements TensorSource {
    private final Checkpoint checkpoint;
    private final String layout;
    private final ModelConfig config;
    private final TensorPlan plan;
    private final List<TensorInfo> infos;
    private final Map<String, TensorInfo> byName = new LinkedHashMap<>();
    private final Map<String, Tensor> stacked = new java.util.concurrent.ConcurrentHashMap<>();

    ConvertedModel(Checkpoint checkpoint, String layout, ModelConfig config, TensorPlan plan, Map<String, Shape> shapes)
            throws SafetensorsException {
        this.checkpoint = checkpoint;
        this.layout = layout;
        this.config = config;
        this.plan = plan;
        // timm's order for the encoder (cls_token, pos_embed, patch_embed, blocks, norm, heads), then the rest in
        // the order the source listed them, so a written file reads like a timm checkpoint.
        List<String> order = new ArrayList<>();
        for (String n : dev.hourglass.vit.TimmVitLayout.expectedShapes(config.encoder()).keySet()) {
            if (plan.canonical().containsKey(n)) {
                order.add(n);
            }
        }
        for (String n : plan.canonical().keySet()) {
            if (!order.contains(n)) {
                order.add(n);
            }
        }
        List<TensorInfo> list = new ArrayList<>();
        long offset = 0;
        for (String name : order) {
            TensorPlan.Source source = plan.canonical().get(name);
            TensorInfo raw = checkpoint.tensors().info(source.rawNames().get(0)).orElseThrow();
            Shape shape = shapes.get(name);
            boolean computed = source instanceof TensorPlan.Standardised;
            long bytes = Math.multiplyExact(shape.elementCount(), computed ? (long) DType.F32.byteSize()
                    : (long) rawBytesPerElement(raw));
            TensorInfo info = new TensorInfo(name, computed ? "F32" : raw.dtype(), shape, offset, offset + bytes);
            offset += bytes;
            list.add(info);
            byName.put(info.name(), info);
        }
        this.infos = List.copyOf(list);
    }

    private static int rawBytesPerElement(TensorInfo raw) {
        long n = raw.shape().elementCount();
        return n == 0 ? raw.floatType().map(DType::byteSize).orElse(4) : (int) (raw.byteSize() / n);
    }

    /**
     * The settings that were guessed rather than read from the checkpoint (its configuration's inferred notes that
     * are guesses), in words: e.g. {@code "normalisation ImageNet mean/std (timm's default)"}. Empty when everything
     * was read or given. A model file converted from a guess keeps saying so.
     */
    public List<String> guesses() {
        return Guesses.of(config.inferred());
    }

    /**
     * The normalisation the checkpoint gave that {@link ConvertOptions#mean()} and {@link ConvertOptions#std()}
     * replaced, e.g. {@code "mean 0.485,0.456,0.406 std 0.229,0.224,0.225"}: empty if none was given, or the same
     * values, or what they replaced was a guess. A model file converted with them keeps saying so.
     */
    public java.util.Optional<String> replacedNormalisation() {
        return Normalisation.replaced(config.inferred());
    }

    /** The original checkpoint's layout, e.g. {@code "hf-vit"}. */
    public String layout() {
        return layout;
    }

    public ModelConfig config() {
        return config;
    }

    /** The checkpoint this view reads. */
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** For each canonical tensor, the original tensor(s) it comes from. */
    public Map<String, List<String>> sources() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        plan.canonical().forEach((k, v) -> m.put(k, v.rawNames()));
        return Collections.unmodifiableMap(m);
    }

    /** Original tensors left out on purpose, with the reason. */
    public Map<String, String> dropped() {
        return plan.dropped();
    }

    @Override
    public Path path() {
        return checkpoint.tensors().path();
    }

    @Override
    public List<TensorInfo> tensors() {
        return infos;
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        TensorPlan.Source source = plan.source(name).orElseThrow(() -> new SafetensorsException(path(),
                "no canonical tensor \"" + name + "\""));
        if (source instanceof TensorPlan.Rename r) {
            return checkpoint.tensors().tensor(r.raw());
        }
        Tensor cached = stacked.get(name);
        if (cached != null) {
            return cached;
        }
        Tensor made = switch (source) {
            case TensorPlan.Stack st -> stack(name, st);
            case TensorPlan.Standardised st -> standardised(name, st);
            case TensorPlan.Rename r -> throw new IllegalStateException("unreachable");
        };
        Tensor raced = stacked.putIfAbsent(name, made);
        return raced == null ? made : raced;
    }

    private Tensor stack(String name, TensorPlan.Stack s) throws SafetensorsException {
        List<Tensor> parts = new ArrayList<>();
        long bytes = 0;
        for (String r : s.raws()) {
            Tensor t = checkpoint.tensors().tensor(r);
            parts.add(t);
            bytes += t.data().byteSize();
        }
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
        long at = 0;
        for (Tensor t : parts) {
            MemorySegment.copy(t.data(), 0, out, at, t.data().byteSize());
            at += t.data().byteSize();
        }
        return Tensor.of(byName.get(name).shape(), parts.get(0).dtype(), out);
    }

    /**
     * A weight standardisation per output channel, in the order and precision the original computes it (PyTorch on
     * the CPU), so the canonical weight is the one the original convolves with:
     * <ul>
     *   <li>{@link TensorPlan.StdRule#STD_PLUS_EPS} (timm 0.4.5's {@code torch.std_mean}): the mean and the biased
     *       variance summed in double, rounded to float, and {@code (w - mean) / (std + eps)} in float;</li>
     *   <li>{@link TensorPlan.StdRule#SQRT_VAR_PLUS_EPS} (Hugging Face's {@code F.batch_norm} in training mode):
     *       {@code mean} = the double sum over n, rounded to float; {@code var} = the double sum of the float
     *       {@code (w - mean)^2}, rounded to float, divided by n in float; {@code invstd = 1 / sqrt(var + eps)} in
     *       double, rounded to float; {@code w' = fma(w, invstd, -(mean * invstd))}, as PyTorch's vectorised kernel
     *       does on a CPU with FMA (bit-identical there, tools/README.md).</li>
     * </ul>
     */
    private Tensor standardised(String name, TensorPlan.Standardised s) throws SafetensorsException {
        Tensor t = checkpoint.tensors().tensor(s.raw());
        Shape shape = t.shape();
        if (shape.rank() < 2 || shape.elementCount() == 0) {
            throw new SafetensorsException(path(), "tensor \"" + s.raw() + "\" " + shape + " is not a convolution"
                    + " weight [out, in, kh, kw] (needed to standardise " + name + ")");
        }
        float[] w = t.toFloatArray();
        int out = shape.intDim(0);
        int per = w.length / out;
        for (int o = 0; o < out; o++) {
            int from = o * per;
            double sum = 0;
            for (int i = from; i < from + per; i++) {
                sum += w[i];
            }
            if (s.rule() == TensorPlan.StdRule.STD_PLUS_EPS) {
                double mean = sum / per;
                double squares = 0;
                for (int i = from; i < from + per; i++) {
                    double d = w[i] - mean;
                    squares += d * d;
                }
                float m = (float) mean;
                float denominator = (float) Math.sqrt(squares / per) + (float) s.eps();
                for (int i = from; i < from + per; i++) {
                    w[i] = (w[i] - m) / denominator;
                }
            } else {
                float mean = (float) (sum / per);
                double squares = 0;
                for (int i = from; i < from + per; i++) {
                    float d = w[i] - mean;
                    squares += d * d;
                }
                float variance = (float) squares / per;
                float invstd = (float) (1.0 / Math.sqrt(variance + s.eps()));
                float shift = -(mean * invstd);
                for (int i = from; i < from + per; i++) {
                    w[i] = Math.fma(w[i], invstd, shift);
                }
            }
        }
        return Tensor.ofFloats(w, shape);
    }

    @Override
    public Map<String, String> metadata() {
        return ModelFormat.metadata(config);
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    @Override
    public String toString() {
        return "ConvertedModel[" + layout + " " + path() + ", " + infos.size() + " tensors]";
    }
}
