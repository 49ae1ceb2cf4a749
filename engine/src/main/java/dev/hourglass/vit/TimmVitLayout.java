package dev.hourglass.vit;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.hourglass.tensor.Shape;

/** The tensors a ViT/DeiT of a given configuration has in timm's layout, by name, with their shapes. */
public final class TimmVitLayout {
    private TimmVitLayout() {
    }

    /** Every tensor of the encoder (and its classifier heads, if it has classes), in timm's order. */
    public static Map<String, Shape> expectedShapes(VitConfig c) {
        Map<String, Shape> m = new LinkedHashMap<>();
        long d = c.embedDim();
        if (c.classToken()) {
            m.put("cls_token", Shape.of(1L, 1L, d));
        }
        if (c.distilled()) {
            m.put("dist_token", Shape.of(1L, 1L, d));
        }
        m.put("pos_embed", Shape.of(1L, (long) c.prefixTokens() + (long) c.gridHeight() * c.gridWidth(), d));
        m.put("patch_embed.proj.weight", Shape.of(d, (long) c.inChannels(), (long) c.patchSize(),
                (long) c.patchSize()));
        m.put("patch_embed.proj.bias", Shape.of(d));
        for (int i = 0; i < c.depth(); i++) {
            String p = "blocks." + i + ".";
            m.put(p + "norm1.weight", Shape.of(d));
            m.put(p + "norm1.bias", Shape.of(d));
            m.put(p + "attn.qkv.weight", Shape.of(3 * d, d));
            if (c.qkvBias()) {
                m.put(p + "attn.qkv.bias", Shape.of(3 * d));
            }
            m.put(p + "attn.proj.weight", Shape.of(d, d));
            m.put(p + "attn.proj.bias", Shape.of(d));
            m.put(p + "norm2.weight", Shape.of(d));
            m.put(p + "norm2.bias", Shape.of(d));
            m.put(p + "mlp.fc1.weight", Shape.of((long) c.mlpHidden(), d));
            m.put(p + "mlp.fc1.bias", Shape.of((long) c.mlpHidden()));
            m.put(p + "mlp.fc2.weight", Shape.of(d, (long) c.mlpHidden()));
            m.put(p + "mlp.fc2.bias", Shape.of(d));
        }
        m.put("norm.weight", Shape.of(d));
        m.put("norm.bias", Shape.of(d));
        if (c.numClasses() > 0) {
            m.put("head.weight", Shape.of((long) c.numClasses(), d));
            m.put("head.bias", Shape.of((long) c.numClasses()));
            if (c.distilled()) {
                m.put("head_dist.weight", Shape.of((long) c.numClasses(), d));
                m.put("head_dist.bias", Shape.of((long) c.numClasses()));
            }
        }
        return m;
    }
}
