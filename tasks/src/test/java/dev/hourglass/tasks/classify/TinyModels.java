package dev.hourglass.tasks.classify;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.tensor.Tensor;

/**
 * Writes a tiny random ViT in timm's hub layout (model.safetensors + config.json) for tests that need a model folder
 * but not meaningful predictions: width 32, 1 block, 2 heads, patch 8, 16x16 input, 4 classes.
 */
public final class TinyModels {
    public static final int CLASSES = 4;

    private TinyModels() {
    }

    public static Path write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(seed);
        int d = 32;
        int hidden = 64;
        int p = 8;
        int tokens = 1 + (16 / p) * (16 / p);
        SafetensorsWriter w = new SafetensorsWriter();
        w.add("cls_token", random(r, 0.5, 1, 1, d));
        w.add("pos_embed", random(r, 0.5, 1, tokens, d));
        w.add("patch_embed.proj.weight", random(r, 0.1, d, 3, p, p));
        w.add("patch_embed.proj.bias", random(r, 0.1, d));
        w.add("blocks.0.norm1.weight", around(r, 1.0, 0.2, d));
        w.add("blocks.0.norm1.bias", random(r, 0.1, d));
        w.add("blocks.0.attn.qkv.weight", random(r, 0.2, 3 * d, d));
        w.add("blocks.0.attn.qkv.bias", random(r, 0.1, 3 * d));
        w.add("blocks.0.attn.proj.weight", random(r, 0.2, d, d));
        w.add("blocks.0.attn.proj.bias", random(r, 0.1, d));
        w.add("blocks.0.norm2.weight", around(r, 1.0, 0.2, d));
        w.add("blocks.0.norm2.bias", random(r, 0.1, d));
        w.add("blocks.0.mlp.fc1.weight", random(r, 0.2, hidden, d));
        w.add("blocks.0.mlp.fc1.bias", random(r, 0.1, hidden));
        w.add("blocks.0.mlp.fc2.weight", random(r, 0.2, d, hidden));
        w.add("blocks.0.mlp.fc2.bias", random(r, 0.1, d));
        w.add("norm.weight", around(r, 1.0, 0.2, d));
        w.add("norm.bias", random(r, 0.1, d));
        w.add("head.weight", random(r, 0.3, CLASSES, d));
        w.add("head.bias", random(r, 0.1, CLASSES));
        w.write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {
                  "architecture": "vit_tiny_test",
                  "num_classes": 4,
                  "global_pool": "token",
                  "model_args": {"num_heads": 2},
                  "label_names": ["apple", "banana", "cherry", "damson"],
                  "pretrained_cfg": {
                    "input_size": [3, 16, 16],
                    "interpolation": "bicubic",
                    "crop_pct": 0.875,
                    "crop_mode": "center",
                    "mean": [0.5, 0.5, 0.5],
                    "std": [0.5, 0.5, 0.5]
                  }
                }
                """);
        return dir;
    }

    private static Tensor random(SplittableRandom r, double scale, long... dims) {
        return around(r, 0.0, scale, dims);
    }

    /** Gaussian values: {@code mean + scale * N(0, 1)} (LayerNorm weights sit around 1). */
    private static Tensor around(SplittableRandom r, double mean, double scale, long... dims) {
        long n = 1;
        for (long x : dims) {
            n *= x;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + scale * r.nextGaussian());
        }
        return Tensor.ofFloats(v, dims);
    }
}
