#!/usr/bin/env python3
"""Golden fixtures for Token Merging (ToMe) on ViT/DeiT, for the Java engine's tests.

Run from anywhere with the system interpreter (a few seconds, deterministic):

    /usr/bin/python3 tools/make_tome_fixtures.py [--out engine/src/test/resources/golden/tome]

For every case writes <out>/<case>/:
    model.safetensors  F32 weights with timm names (init_random: every parameter random)
    config.json        timm hub-style config, as tools/make_vit_golden.py writes it
    input.npy          float32 [B, 3, H, W]
    logits.npy         float32 [B, classes]: the ToMe forward (hourglass_ref.tome.forward_tome)
and <out>/cases.json, a JSON list with one entry per case: name, r, inflect, prop_attn,
batch, tokens_after_block, min_margin, plain_tokens, plus the seeds, the requested and capped r
per block, the separate margins, the top-1 logit margin and the file sizes.

ToMe's decisions are discrete (each A token's best B partner, the top-r cut), so each case's
seed is the first candidate for which every decision is at least MIN_MARGIN away from a tie
(cosine-similarity units) and the top-1 class at least MIN_TOP1 logits ahead of the second.
The script checks: the schedule formula against the documented examples; with r = 0 the ToMe
forward equals the plain forward; token counts equal T minus the capped r per block; and every
case against an independent float64 numpy statement of ToMe (same merge decisions, same token
sizes, logits within 1e-4). It stops on any failure.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.tome import schedule, forward_tome, decision_margins  # noqa: E402
from hourglass_ref.vit import (VisionTransformer, init_random, config_for,  # noqa: E402
                               IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)

DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "tome")

MIN_MARGIN = 1e-3     # every merge decision this far (cosine similarity) from a tie
MIN_TOP1 = 0.05       # top-1 logit at least this far ahead of the second
MAX_ATTEMPTS = 200    # candidate seeds per case: base, base + 1, ...
F64_TOL = 1e-4        # float32 torch vs float64 numpy logits (absolute)

SHAPE = dict(img_size=64, patch_size=8, embed_dim=32, depth=4, num_heads=4, mlp_ratio=2.0, num_classes=10)
VIT = dict(arch="vit_tiny_patch16_224", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
DEIT = dict(arch="deit_tiny_distilled_patch16_224", mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD)

# base_seed: the first candidate seed (weights: init_random(seed); input: 1000 + 10 seed + B).
CASES = [
    dict(name="vit_const", model=SHAPE, cfg=VIT, r=8, inflect=0.0, prop_attn=True, batch=1, base_seed=100),
    dict(name="vit_decreasing", model=SHAPE, cfg=VIT, r=6, inflect=-1.0, prop_attn=True, batch=2, base_seed=200),
    dict(name="vit_increasing", model=SHAPE, cfg=VIT, r=5, inflect=1.0, prop_attn=True, batch=1, base_seed=300),
    dict(name="vit_no_prop", model=SHAPE, cfg=VIT, r=8, inflect=0.0, prop_attn=False, batch=1, base_seed=400),
    dict(name="vit_cap", model=dict(SHAPE, depth=3), cfg=VIT, r=40, inflect=0.0, prop_attn=True, batch=1,
         base_seed=500),
    dict(name="deit_distilled", model=dict(SHAPE, distilled=True), cfg=DEIT, r=7, inflect=-1.0, prop_attn=True,
         batch=2, base_seed=600),
]


def require(cond, msg):
    if not cond:
        raise SystemExit("FAILED: " + msg)


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


# ---------------------------------------------------------------------------------------------
# Independent float64 statement: one image at a time, explicit loops for the matching and merge.

def _ln(v, w, b, eps):
    mu = v.mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


_erf = np.vectorize(math.erf)


def numpy_tome(model, images, requested, prop_attn):
    """Returns (logits [B,classes], per image a list over blocks of (merges {a: b} in A/B set
    indices, sizes after the block)) in float64."""
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    eps, D, heads, p = model.norm_eps, model.embed_dim, model.num_heads, model.patch_size
    hd = D // heads
    distilled = bool(model.distilled)
    x = images.double().numpy()
    B, _, H, W = x.shape
    gh, gw = H // p, W // p
    patches = x[:, :, :gh * p, :gw * p].reshape(B, 3, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(B, gh * gw, 3 * p * p)
    emb = patches @ sd["patch_embed.proj.weight"].reshape(D, -1).T + sd["patch_embed.proj.bias"]
    logits, plans = [], []
    for b in range(B):
        prefix = [sd["cls_token"][0]] + ([sd["dist_token"][0]] if distilled else [])
        h = np.concatenate(prefix + [emb[b]], axis=0) + sd["pos_embed"][0]
        size = np.ones(h.shape[0])
        merged_once = False
        plan = []
        for i in range(len(model.blocks)):
            pre = f"blocks.{i}."
            T = h.shape[0]
            y = _ln(h, sd[pre + "norm1.weight"], sd[pre + "norm1.bias"], eps)
            qkv = y @ sd[pre + "attn.qkv.weight"].T + sd[pre + "attn.qkv.bias"]
            q, k, v = (qkv[:, j * D:(j + 1) * D].reshape(T, heads, hd).transpose(1, 0, 2) for j in range(3))
            att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            if prop_attn and merged_once:
                att = att + np.log(size)[None, None, :]
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            o = (att @ v).transpose(1, 0, 2).reshape(T, D)
            h = h + o @ sd[pre + "attn.proj.weight"].T + sd[pre + "attn.proj.bias"]
            metric = k.mean(0)

            protected = 1 + int(distilled)
            r = min(requested[i], (T - protected) // 2)
            merges = {}
            if r > 0:
                a_pos = list(range(0, T, 2))
                b_pos = list(range(1, T, 2))
                dests = b_pos[1:] if distilled else b_pos
                norm = np.sqrt((metric ** 2).sum(-1))
                best = {}
                for a in a_pos[1:]:                     # the class token (A[0]) is never a source
                    sims = [float(metric[a] @ metric[j]) / (norm[a] * norm[j]) for j in dests]
                    jbest = int(np.argmax(sims))
                    best[a] = (sims[jbest], dests[jbest])
                ranked = sorted(best, key=lambda a: -best[a][0])
                src = ranked[:r]
                kept_a = sorted(set(a_pos) - set(src))
                new_h, new_s = {}, {}
                for j in b_pos:
                    acc, tot = h[j] * size[j], size[j]
                    for a in src:
                        if best[a][1] == j:
                            acc, tot = acc + h[a] * size[a], tot + size[a]
                    new_h[j], new_s[j] = acc / tot, tot
                rows = [(h[a], size[a]) for a in kept_a] + [(new_h[j], new_s[j]) for j in b_pos]
                if distilled:   # class, distillation, other kept A, other B
                    n_a = len(kept_a)
                    rows = rows[:1] + rows[n_a:n_a + 1] + rows[1:n_a] + rows[n_a + 1:]
                h = np.stack([t for t, _ in rows])
                size = np.array([s for _, s in rows])
                merges = {a // 2: best[a][1] // 2 for a in src}
                merged_once = True
            y = _ln(h, sd[pre + "norm2.weight"], sd[pre + "norm2.bias"], eps)
            m = y @ sd[pre + "mlp.fc1.weight"].T + sd[pre + "mlp.fc1.bias"]
            m = 0.5 * m * (1 + _erf(m / math.sqrt(2)))
            h = h + m @ sd[pre + "mlp.fc2.weight"].T + sd[pre + "mlp.fc2.bias"]
            plan.append((merges, size.copy()))
        f = _ln(h, sd["norm.weight"], sd["norm.bias"], eps)
        out = f[0] @ sd["head.weight"].T + sd["head.bias"]
        if distilled:
            out = (out + f[1] @ sd["head_dist.weight"].T + sd["head_dist.bias"]) / 2
        logits.append(out)
        plans.append(plan)
    return np.stack(logits), plans


# ---------------------------------------------------------------------------------------------

def check_schedule():
    require(schedule(12, 8, -1.0) == [16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1, 0], "decreasing schedule example")
    require(schedule(12, 8, 0.0) == [8] * 12, "constant schedule")
    require(schedule(12, 8, 1.0) == [0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16], "increasing schedule")


def expected_tokens(T, requested, protected):
    out = []
    for r in requested:
        T -= max(0, min(r, (T - protected) // 2))
        out.append(T)
    return out


def top1_margin(logits):
    top2 = torch.topk(logits.double(), 2, dim=-1).values
    return float((top2[:, 0] - top2[:, 1]).min())


def build(case, seed):
    model = init_random(VisionTransformer(**case["model"]), seed).eval()
    B, size = case["batch"], case["model"]["img_size"]
    input_seed = 1000 + 10 * seed + B
    x = torch.randn(B, 3, size, size, generator=torch.Generator().manual_seed(input_seed))
    return model, x, input_seed


def choose_seed(case):
    rejected = []
    for attempt in range(MAX_ATTEMPTS):
        seed = case["base_seed"] + attempt
        model, x, input_seed = build(case, seed)
        with torch.inference_mode():
            logits, tokens, details = forward_tome(model, x, case["r"], case["inflect"], case["prop_attn"])
        rows, margin = decision_margins(details)
        t1 = top1_margin(logits)
        if margin >= MIN_MARGIN and t1 >= MIN_TOP1:
            return seed, input_seed, model, x, logits, tokens, details, rows, margin, t1, rejected
        rejected.append(seed)
    raise SystemExit(f"{case['name']}: no seed in {MAX_ATTEMPTS} candidates with margins >= {MIN_MARGIN}")


def make_case(case, out_root):
    (seed, input_seed, model, x, logits, tokens, details, rows, margin, t1,
     rejected) = choose_seed(case)
    protected = 1 + int(model.distilled)
    T = model.num_prefix_tokens + model.grid_size[0] * model.grid_size[1]
    requested = schedule(len(model.blocks), case["r"], case["inflect"])

    # Self-checks. (1) token counts: T minus the capped r of each block.
    require(tokens == expected_tokens(T, requested, protected), f"{case['name']}: token counts {tokens}")
    require(sum(details["r"]) == T - tokens[-1], f"{case['name']}: capped r")
    with torch.inference_mode():
        # (2) r = 0 is the plain forward.
        plain = model(x)
        zero, zero_tokens, _ = forward_tome(model, x, 0, 0.0, case["prop_attn"])
        require(zero_tokens == [T] * len(model.blocks), "r=0 token counts")
        diff0 = float((zero - plain).abs().max())
        require(diff0 <= 1e-6, f"{case['name']}: r=0 differs from the plain forward by {diff0}")
        r0_bits = bool(torch.equal(zero, plain))
        # ... and r = 0 without prop_attn too, and prop_attn without any merge is a no-op.
        zero_np, _, _ = forward_tome(model, x, 0, 0.0, not case["prop_attn"])
        require(torch.equal(zero, zero_np), "prop_attn changes a forward without merges")
    # (3) independent float64 statement: same decisions and sizes, close logits.
    l64, plans = numpy_tome(model, x, requested, case["prop_attn"])
    for b, plan in enumerate(plans):
        for i, (merges, sizes64) in enumerate(plan):
            info = details["blocks"][i]
            if info["r"] > 0:
                got = dict(zip(info["src_idx"][b].tolist(), info["dst_idx"][b].tolist()))
                require(got == merges, f"{case['name']}: block {i} image {b}: merges differ from float64")
                sizes = info["sizes"][b, :, 0].double().numpy()
            else:
                require(not merges, f"{case['name']}: block {i}: float64 merged, float32 did not")
                sizes = (np.ones(tokens[i]) if info["sizes"] is None
                         else info["sizes"][b, :, 0].double().numpy())
            require(np.array_equal(sizes, sizes64), f"{case['name']}: block {i} image {b}: sizes differ")
    err64 = float(np.abs(logits.double().numpy() - l64).max())
    require(err64 <= F64_TOL, f"{case['name']}: float32 vs float64 logits differ by {err64}")
    require(sum(details["r"]) > 0, f"{case['name']}: nothing merged")
    plain_top1 = plain.argmax(-1).tolist()

    d = os.path.join(out_root, case["name"])
    os.makedirs(d, exist_ok=True)
    st.save_file(model.state_dict(), os.path.join(d, "model.safetensors"), dtype="F32",
                 metadata={"format": "pt"})
    cfg = config_for(model, case["cfg"]["arch"], mean=case["cfg"]["mean"], std=case["cfg"]["std"])
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_npy(os.path.join(d, "input.npy"), x.numpy())
    save_npy(os.path.join(d, "logits.npy"), logits.numpy())
    back, _ = st.load_file(os.path.join(d, "model.safetensors"))
    for k, v in model.state_dict().items():
        require(torch.equal(back[k], v), f"safetensors round trip of {k}")

    files = {fn: os.path.getsize(os.path.join(d, fn))
             for fn in ("model.safetensors", "config.json", "input.npy", "logits.npy")}
    cut = min(rw["cut"] for rw in rows)
    dest = min(rw["dest_min"] for rw in rows)
    entry = {
        "name": case["name"],
        "r": case["r"],
        "inflect": case["inflect"],
        "prop_attn": case["prop_attn"],
        "batch": case["batch"],
        "tokens_after_block": tokens,
        "min_margin": float(f"{margin:.4e}"),
        "plain_tokens": T,
        "seed": seed,
        "input_seed": input_seed,
        "seeds_rejected": rejected,
        "architecture": case["cfg"]["arch"],
        **{k: v for k, v in case["model"].items()},
        "distilled": bool(model.distilled),
        "input_shape": list(x.shape),
        "r_requested": requested,
        "r_per_block": details["r"],
        "min_cut_margin": float(f"{cut:.4e}") if math.isfinite(cut) else None,
        "min_dest_margin": float(f"{dest:.4e}"),
        "top1": logits.argmax(-1).tolist(),
        "top1_margin": float(f"{t1:.4e}"),
        "plain_top1": plain_top1,
        "logits_std": round(float(logits.std()), 6),
        "max_abs_diff_vs_plain": round(float((logits - plain).abs().max()), 6),
        "r0_equals_plain_bitwise": r0_bits,
        "f32_vs_f64_max_abs_logits": float(f"{err64:.3e}"),
        "files": files,
    }
    print(f"{case['name']:15s} seed {seed:3d} (rejected {len(rejected):2d}) tokens {T} -> {tokens} "
          f"min_margin {margin:.2e} (cut {cut:.2e}, dest {dest:.2e}) top1 margin {t1:.3f} "
          f"f32-f64 {err64:.1e} |tome-plain| {entry['max_abs_diff_vs_plain']:.3f}  "
          f"{sum(files.values()) / 1e3:.0f} KB")
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    check_schedule()
    os.makedirs(args.out, exist_ok=True)
    entries = [make_case(c, args.out) for c in CASES]
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(entries, f, indent=2)
        f.write("\n")
    total = sum(sum(e["files"].values()) for e in entries) + os.path.getsize(os.path.join(args.out, "cases.json"))
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
