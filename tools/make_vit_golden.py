#!/usr/bin/env python3
"""Golden ViT/DeiT fixtures for the Java engine's tests.

Run from anywhere with the system interpreter (seconds, deterministic):

    /usr/bin/python3 tools/make_vit_golden.py [--out engine/src/test/resources/golden/vit]

For every case writes <out>/<case>/:
    model.safetensors  weights with timm names (F32, or BF16/F16 for the *_bf16/*_f16 cases)
    config.json        timm hub-style config
    input.npy          float32 [B, 3, H, W] (NCHW, C order, '<f4')
    logits.npy         float32 [B, classes]: eval output (DeiT: mean of the two heads)
    features.npy       float32 [B, T, D]: final LayerNorm output for all T tokens
and <out>/cases.json, a manifest with each case's parameters and measured statistics.
Expected outputs are computed by PyTorch in float32 from exactly the weights stored in the
file (for BF16/F16: the rounded weights widened back to float32).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import (VisionTransformer, init_random, round_weights, config_for,  # noqa: E402
                               IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "vit")

TINY = dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4, mlp_ratio=4.0, num_classes=10)
VIT_MEAN_STD = dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
DEIT_MEAN_STD = dict(mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD)

# name: model kwargs, weight seed, input (B, H, W), stored dtype, timm architecture name.
# The architecture is a registered timm name; model_args in config.json override its shape.
CASES = [
    dict(name="vit_tiny_cls", model=TINY, seed=1, input=(1, 32, 32), dtype="F32",
         arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD),
    dict(name="deit_distilled", model=dict(TINY, distilled=True), seed=2, input=(2, 32, 32), dtype="F32",
         arch="deit_tiny_distilled_patch16_224", norm=DEIT_MEAN_STD),
    # Same weights as vit_tiny_cls (same seed), trained grid 4x4, run on a 6x5 grid: the
    # position embedding's grid part is resized bicubic + antialias.
    dict(name="vit_resized_input", model=TINY, seed=1, input=(1, 48, 40), dtype="F32",
         arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD, extra_model_args={"dynamic_img_size": True}),
    dict(name="vit_bf16", model=TINY, seed=4, input=(1, 32, 32), dtype="BF16",
         arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD),
    dict(name="vit_f16", model=TINY, seed=5, input=(1, 32, 32), dtype="F16",
         arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD),
    dict(name="vit_batch", model=dict(img_size=64, patch_size=16, embed_dim=96, depth=2, num_heads=3,
                                      mlp_ratio=4.0, num_classes=7),
         seed=6, input=(3, 64, 64), dtype="F32", arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD),
    dict(name="vit_ti_224", model=dict(img_size=224, patch_size=16, embed_dim=192, depth=2, num_heads=3,
                                       mlp_ratio=4.0, num_classes=1000),
         seed=7, input=(1, 224, 224), dtype="F32", arch="vit_tiny_patch16_224", norm=VIT_MEAN_STD),
]

TORCH_DTYPE = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


def make_case(case, out_root):
    d = os.path.join(out_root, case["name"])
    os.makedirs(d, exist_ok=True)
    model = init_random(VisionTransformer(**case["model"]), case["seed"]).eval()
    if case["dtype"] != "F32":
        round_weights(model, TORCH_DTYPE[case["dtype"]])

    B, H, W = case["input"]
    # Input seed is distinct from the weight seed so cases sharing weights get their own input.
    x = torch.randn(B, 3, H, W, generator=torch.Generator().manual_seed(1000 + case["seed"] * 10 + B))
    with torch.inference_mode():
        feats, _ = model.forward_features(x, return_blocks=False)
        logits = model.forward_head(feats)
        # float64 rerun of the same weights: how far float32 itself is from the exact answer.
        m64 = VisionTransformer(**case["model"]).double().eval()
        m64.load_state_dict(model.state_dict())
        f64, _ = m64.forward_features(x.double(), return_blocks=False)
        l64 = m64.forward_head(f64)

    st.save_file(model.state_dict(), os.path.join(d, "model.safetensors"), dtype=case["dtype"],
                 metadata={"format": "pt"})
    cfg = config_for(model, case["arch"], extra_model_args=case.get("extra_model_args"), **case["norm"])
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_npy(os.path.join(d, "input.npy"), x.numpy())
    save_npy(os.path.join(d, "logits.npy"), logits.numpy())
    save_npy(os.path.join(d, "features.npy"), feats.numpy())

    # Sanity: the stored file reproduces the weights the logits were computed from.
    back, _ = st.load_file(os.path.join(d, "model.safetensors"))
    for k, v in model.state_dict().items():
        assert torch.equal(back[k].float(), v), k

    p = case["model"]["patch_size"]
    grid = [H // p, W // p]
    files = {fn: os.path.getsize(os.path.join(d, fn))
             for fn in ("model.safetensors", "config.json", "input.npy", "logits.npy", "features.npy")}
    entry = {
        "name": case["name"],
        "architecture": case["arch"],
        "weight_seed": case["seed"],
        "weight_dtype": case["dtype"],
        **{k: v for k, v in case["model"].items()},
        "distilled": bool(case["model"].get("distilled", False)),
        "num_prefix_tokens": model.num_prefix_tokens,
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
        "head_dim": model.embed_dim // model.num_heads,
        "input_shape": list(x.shape),
        "grid": grid,
        "trained_grid": list(model.grid_size),
        "pos_embed_resized": grid != list(model.grid_size),
        "tokens": int(feats.shape[1]),
        "logits_shape": list(logits.shape),
        "features_shape": list(feats.shape),
        "logits_std": round(float(logits.std()), 6),
        "logits_absmax": round(float(logits.abs().max()), 6),
        "features_std": round(float(feats.std()), 6),
        "f32_vs_f64_max_abs_logits": float(f"{float((logits.double() - l64).abs().max()):.3e}"),
        "f32_vs_f64_max_abs_features": float(f"{float((feats.double() - f64).abs().max()):.3e}"),
        "files": files,
    }
    print(f"{case['name']:18s} {case['dtype']:4s} input {tuple(x.shape)} tokens {entry['tokens']:3d} "
          f"logits std {entry['logits_std']:.3f} absmax {entry['logits_absmax']:.3f} "
          f"f32-f64 {entry['f32_vs_f64_max_abs_logits']:.1e}  {sum(files.values()) / 1e6:.2f} MB")
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)  # determinism of reductions does not depend on it, but keep it light
    os.makedirs(args.out, exist_ok=True)
    entries = [make_case(c, args.out) for c in CASES]
    manifest = {
        "generator": "tools/make_vit_golden.py",
        "torch_version": torch.__version__,
        "notes": "npy files are float32 little-endian C-order; logits computed by PyTorch in float32 "
                 "from the stored (possibly BF16/F16-rounded) weights; LayerNorm eps 1e-6; exact erf GELU.",
        "cases": entries,
    }
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = sum(sum(e["files"].values()) for e in entries)
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
