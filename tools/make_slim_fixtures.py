#!/usr/bin/env python3
"""Golden fixtures for Patch Slimming (PS-ViT static token masks) on DeiT, for the Java engine's tests.

Run from anywhere with the system interpreter (a few seconds, deterministic):

    /usr/bin/python3 tools/make_slim_fixtures.py [--out engine/src/test/resources/golden/slim]

For every case writes <out>/<case>/:
    model.safetensors            F32 weights with timm names (init_random: every parameter random)
    config.json                  timm hub-style config (as tools/make_vit_golden.py writes it)
    input.npy                    float32 [B, 3, 64, 64] (also the calibration batch of the score)
    masks-<set>.json             token masks, "hourglass-token-masks" v1 (hourglass_ref/slim.py)
    logits-<set>.npy             float32 [B, classes]: the pruned forward with those masks
    significance-block<t>.npy    float32 [N]: the significance score at block t (mean over the
                                 batch), blocks > t pruned by masks-pyramid.json, blocks <= t not
    significance-per-image-block<t>.npy  float32 [B, N]: the same before the batch mean
and <out>/invalid/*.json (mask files that break one rule each) and <out>/cases.json (manifest).

Mask sets: "full" (every token everywhere: logits = the plain forward), "pyramid" (patches kept per
block PYRAMID, chosen by the significance score: the top-down search of slim.pyramid_masks with
the case's input as calibration batch) and "early" (EARLY patches kept from block 0 on, one seeded
random choice, torch.randperm with seed 5000 + weight seed).

Each case's weight seed is the first candidate (from a base) for which every pyramid cut is at
least MIN_CUT_REL (relative to the largest candidate score) away from a tie and every top-1 logit,
under every mask set, leads by at least MIN_TOP1. The script checks: the full masks give the plain
forward bit for bit; token counts; a float64 torch rerun of the search picks the same masks; an
independent float64 numpy statement (slim.numpy_forward_pruned / numpy_significance) agrees on the
logits (<= F64_TOL) and scores; the G recursion equals §2.3's explicit sum over head paths;
masks survive a JSON round trip; every invalid file is rejected.
It stops on any failure.
"""
import argparse
import copy
import hashlib
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
from hourglass_ref import slim  # noqa: E402
from hourglass_ref.vit import (VisionTransformer, init_random, config_for,  # noqa: E402
                               IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)

GENERATOR = "tools/make_slim_fixtures.py"
DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "slim")
PHOTO_DIR = "/usr/lib/python3/dist-packages/skimage/data"   # Debian python3-skimage
PHOTOS = ("astronaut.png", "coffee.png")
CROP_PCT = 0.875

MIN_CUT_REL = 1e-3    # pyramid cut: r-th minus (r+1)-th candidate score, / largest candidate score
NEAR_TIE_REL = 1e-5   # adjacent candidates closer than this (relative) are listed as near ties
MIN_TOP1 = 0.05       # top-1 logit lead, every image, every mask set
MIN_EFFECT = 0.05     # pruned logits must differ from the plain ones by at least this (max abs)
MAX_ATTEMPTS = 200
F64_TOL = 1e-4        # float32 torch vs float64 numpy logits (absolute)

SHAPE = dict(img_size=64, patch_size=8, embed_dim=32, depth=6, num_heads=4, mlp_ratio=2.0, num_classes=10,
             qkv_bias=True)
PYRAMID = [64, 64, 48, 32, 16, 0]   # patches kept by blocks 0..5 (100, 100, 75, 50, 25, 0 %)
EARLY = [19] * 6                     # 30 % of 64 patches from block 0 on
SCORE_BLOCKS = (2, 3, 4)             # the blocks where the pyramid search cuts

CASES = [
    dict(name="deit_tiny", model=dict(SHAPE), arch="deit_tiny_patch16_224", batch=2, input="randn",
         base_seed=100),
    dict(name="deit_tiny_distilled", model=dict(SHAPE, distilled=True), arch="deit_tiny_distilled_patch16_224",
         batch=2, input="photos", base_seed=200),
]


def require(cond, msg):
    if not cond:
        raise SystemExit("FAILED: " + msg)


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sci(v, digits=3):
    return float(f"{v:.{digits}e}") if math.isfinite(v) else None


def photo_batch(size):
    """DeiT eval transform with torchvision 0.14 on PIL images: Resize(int(size / 0.875), BICUBIC) of
    the shorter side, CenterCrop(size), ToTensor, Normalize(ImageNet mean, std)."""
    from PIL import Image
    from torchvision import transforms
    from torchvision.transforms import InterpolationMode
    tf = transforms.Compose([
        transforms.Resize(int(size / CROP_PCT), interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean=torch.tensor(IMAGENET_DEFAULT_MEAN), std=torch.tensor(IMAGENET_DEFAULT_STD)),
    ])
    images, info = [], []
    for name in PHOTOS:
        path = os.path.join(PHOTO_DIR, name)
        require(os.path.exists(path), f"{path} missing: apt-get install -y python3-skimage")
        img = Image.open(path).convert("RGB")
        t = tf(img)
        images.append(t)
        info.append({"file": name, "file_sha256": sha256_bytes(open(path, "rb").read()),
                     "image_size_wh": list(img.size),
                     "input_sha256": sha256_bytes(t.numpy().astype("<f4").tobytes())})
    return torch.stack(images), info


def build(case, seed):
    model = init_random(VisionTransformer(**case["model"]), seed).eval()
    B, S = case["batch"], case["model"]["img_size"]
    if case["input"] == "photos":
        x, info = photo_batch(S)
        return model, x[:B].clone(), {"input": "photos", "photos": info[:B]}
    input_seed = 1000 + 10 * seed + B
    x = torch.randn(B, 3, S, S, generator=torch.Generator().manual_seed(input_seed))
    return model, x, {"input": "randn", "input_seed": input_seed}


def top1_margins(logits):
    top2 = torch.topk(logits.double(), 2, dim=-1).values
    return (top2[:, 0] - top2[:, 1]).tolist()


def evaluate(model, x, seed):
    with torch.inference_mode():
        plain = model(x)
    pyramid, info = slim.pyramid_masks(model, PYRAMID, calibration=x)
    early, einfo = slim.pyramid_masks(model, EARLY, seed=5000 + seed)
    sets = {"full": slim.full_masks(model), "pyramid": pyramid, "early": early}
    out = {}
    with torch.inference_mode():
        for k, keep in sets.items():
            out[k] = slim.forward_pruned(model, x, keep)
    margins = {k: top1_margins(v[0]) for k, v in out.items()}
    cuts = [info["blocks"][t]["cut_rel"] for t in SCORE_BLOCKS]
    ok = (min(cuts) >= MIN_CUT_REL and min(min(m) for m in margins.values()) >= MIN_TOP1
          and all(float((out[k][0] - plain).abs().max()) >= MIN_EFFECT for k in ("pyramid", "early")))
    return ok, dict(plain=plain, sets=sets, out=out, margins=margins, info=info, einfo=einfo)


def choose_seed(case):
    rejected = []
    for attempt in range(MAX_ATTEMPTS):
        seed = case["base_seed"] + attempt
        model, x, inp = build(case, seed)
        ok, r = evaluate(model, x, seed)
        if ok:
            return seed, model, x, inp, r, rejected
        rejected.append(seed)
    raise SystemExit(f"{case['name']}: no seed in {MAX_ATTEMPTS} candidates with clear decisions")


def path_sum_score(model, x, t, keep):
    """§2.3 literally, in float64: s_i = mean over images of sum over head paths (h_t, ..., h_{L-1}) of
    H^-(L-t) sum_r w_r A[r, i]^2 ||(P_{h_t,t} |Z|)[i, :]||^2, A = P_{h_{L-1},L-1} ... P_{h_{t+1},t+1}
    (enumerating all H^(L-1-t) paths); checks the G recursion of slim.significance."""
    import itertools
    m = copy.deepcopy(model).double()
    N, L, H = slim.num_tokens(m), len(m.blocks), m.num_heads
    masks = [list(range(N))] * (t + 1) + [list(k) for k in keep[t + 1:]]
    w = slim.start_weights(m)
    with torch.no_grad():
        _, _, d = slim.forward_pruned(m, x.double(), masks, return_details=True)
    total = 0.0
    for b in range(x.shape[0]):
        Z = d["inputs"][t][b].abs().numpy()
        energy = sum(((d["attn"][t][b, h].numpy() @ Z) ** 2).sum(-1) for h in range(H))
        rollout = np.zeros(N)
        for path in itertools.product(range(H), repeat=L - 1 - t):   # heads of blocks L-1 .. t+1
            A = np.eye(len(masks[L - 1]))
            for l, h in zip(range(L - 1, t, -1), path):
                A = A @ d["attn"][l][b, h].numpy()
            rollout += sum(wr * A[r] ** 2 for r, wr in enumerate(w))
        total = total + rollout * energy / H ** (L - t)
    return total / x.shape[0]


def near_ties(vals, scale):
    return [[i, sci((a - b) / scale)] for i, (a, b) in enumerate(zip(vals, vals[1:])) if (a - b) / scale < NEAR_TIE_REL]


def make_case(case, out_root):
    seed, model, x, inp, r, rejected = choose_seed(case)
    name = case["name"]
    N, P, L = slim.num_tokens(model), model.num_prefix_tokens, len(model.blocks)
    plain, sets, out, info = r["plain"], r["sets"], r["out"], r["info"]

    # Checks. (1) full masks = plain forward, bit for bit.
    require(torch.equal(out["full"][0], plain), f"{name}: full masks differ from the plain forward")
    for k, keep in sets.items():
        counts = {"full": [N - P] * L, "pyramid": PYRAMID, "early": EARLY}[k]
        require(out[k][1] == [P + c for c in counts], f"{name}/{k}: tokens per block {out[k][1]}")
        slim.validate_for(model, keep)
    # (2) float64 torch rerun of the search: same masks.
    m64 = copy.deepcopy(model).double()
    p64, info64 = slim.pyramid_masks(m64, PYRAMID, calibration=x.double())
    require(p64 == sets["pyramid"], f"{name}: float64 search picks other pyramid masks")
    # (3) independent float64 numpy statement; (4) the G recursion equals the explicit sum over head
    # paths of §2.3 (float64).
    err64 = {}
    for k, keep in sets.items():
        l64 = slim.numpy_forward_pruned(model, x, keep)
        err64[k] = float(np.abs(out[k][0].double().numpy() - l64).max())
        require(err64[k] <= F64_TOL, f"{name}/{k}: float32 vs float64 logits differ by {err64[k]}")
    score_rows = []
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    for t in SCORE_BLOCKS:
        b = info["blocks"][t]
        s32 = b["scores"].double().numpy()
        s64, per64 = slim.numpy_significance(model, x, t, sets["pyramid"])
        rel = float(np.abs(s32 - s64).max() / b["scale"])
        require(rel <= 1e-4, f"{name}: block {t} score float32 vs float64 {rel}")
        order64 = sorted(b["order"], key=lambda i: -s64[i])
        r_ = PYRAMID[t] - PYRAMID[t + 1]
        require(sorted(order64[:r_]) == sorted(b["chosen"]), f"{name}: block {t} numpy picks other tokens")
        torch64 = info64["blocks"][t]["scores"].numpy()
        paths = path_sum_score(model, x, t, sets["pyramid"])
        rel_paths = float(np.abs(paths - torch64).max() / b["scale"])
        require(rel_paths <= 1e-12, f"{name}: block {t}: G recursion vs explicit path sum {rel_paths}")
        vals = [float(s32[i]) for i in b["order"]]
        save_npy(os.path.join(d, f"significance-block{t}.npy"), b["scores"].numpy())
        save_npy(os.path.join(d, f"significance-per-image-block{t}.npy"), b["per_image"].numpy())
        score_rows.append({
            "block": t,
            "file": f"significance-block{t}.npy",
            "per_image_file": f"significance-per-image-block{t}.npy",
            "masks_for_later_blocks": "masks-pyramid.json",
            "kept_before_search": sorted(set(sets["pyramid"][t + 1]) - set(range(P))),
            "candidates": len(b["order"]),
            "chosen_count": r_,
            "chosen": sorted(b["chosen"]),
            "order": b["order"],
            "scale": sci(b["scale"], 6),
            "cut_margin": sci(b["cut"]),
            "cut_margin_rel": sci(b["cut_rel"]),
            "min_order_gap_rel": sci(b["min_order_gap_rel"]),
            "near_ties": near_ties(vals, b["scale"]),
            "prefix_scores": [float(v) for v in b["scores"][:P].tolist()],
            "f32_vs_f64_numpy_max_rel": sci(rel),
            "f32_vs_f64_torch_max_rel": sci(float(np.abs(s32 - torch64).max() / b["scale"])),
            "f64_recursion_vs_path_sum_max_rel": sci(rel_paths),
        })

    # Files.
    st.save_file(model.state_dict(), os.path.join(d, "model.safetensors"), dtype="F32", metadata={"format": "pt"})
    back, _ = st.load_file(os.path.join(d, "model.safetensors"))
    for k, v in model.state_dict().items():
        require(torch.equal(back[k], v), f"safetensors round trip of {k}")
    cfg = config_for(model, case["arch"], mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, crop_pct=CROP_PCT)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_npy(os.path.join(d, "input.npy"), x.numpy())
    mask_rows = []
    for k, keep in sets.items():
        optional = {"model": name, "training_free": True}
        if k == "pyramid":
            optional["calibration_images"] = x.shape[0]
        doc = slim.to_json(keep, N, P, **optional)
        path = os.path.join(d, f"masks-{k}.json")
        slim.dump_json(doc, path)
        back_keep, _ = slim.load_json(path, depth=L)
        require(back_keep == keep, f"{name}/{k}: mask JSON round trip")
        save_npy(os.path.join(d, f"logits-{k}.npy"), out[k][0].numpy())
        selection = {"full": "all tokens",
                     "pyramid": "significance score, top-down search (slim.pyramid_masks, calibration = input.npy)",
                     "early": f"seeded random: torch.randperm({N - P}, Generator.manual_seed({5000 + seed})) + {P}, "
                              f"first {EARLY[0]}"}[k]
        mask_rows.append({
            "name": k,
            "masks": f"masks-{k}.json",
            "logits": f"logits-{k}.npy",
            "selection": selection,
            "patches_per_block": [len(ids) - P for ids in keep],
            "tokens_per_block": out[k][1],
            "top1": out[k][0].argmax(-1).tolist(),
            "top1_margin": sci(min(r["margins"][k])),
            "max_abs_diff_vs_plain": round(float((out[k][0] - plain).abs().max()), 6),
            "f32_vs_f64_max_abs_logits": sci(err64[k]),
        })
    files = {fn: os.path.getsize(os.path.join(d, fn)) for fn in sorted(os.listdir(d))}
    entry = {
        "name": name,
        "dir": name,
        "architecture": case["arch"],
        "distilled": bool(model.distilled),
        "seed": seed,
        "seeds_rejected": rejected,
        **inp,
        "batch": x.shape[0],
        "input_shape": list(x.shape),
        **{k: v for k, v in case["model"].items() if k != "distilled"},
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
        "tokens": N,
        "prefix_tokens": P,
        "plain_top1": plain.argmax(-1).tolist(),
        "mask_sets": mask_rows,
        "significance": score_rows,
        "files": files,
    }
    print(f"{name:20s} seed {seed} (rejected {len(rejected)}) "
          + " ".join(f"{m['name']}: top1 {m['top1_margin']:.3f} f64 {m['f32_vs_f64_max_abs_logits']:.1e} "
                     f"|d| {m['max_abs_diff_vs_plain']:.3f};" for m in mask_rows)
          + " cuts " + ", ".join(f"b{s['block']} {s['cut_margin_rel']:.1e}" for s in score_rows)
          + " score f64 rel " + ", ".join(f"{s['f32_vs_f64_numpy_max_rel']:.1e}" for s in score_rows)
          + f"  {sum(files.values()) / 1e3:.0f} KB")
    return entry, model, sets


# ---------------------------------------------------------------------------------------------
# Invalid mask files (each breaks exactly one rule), from the plain case's pyramid masks.

def invalid_files(model, keep, out_root):
    N, P, L = slim.num_tokens(model), model.num_prefix_tokens, len(model.blocks)
    base = slim.to_json(keep, N, P)
    d = os.path.join(out_root, "invalid")
    os.makedirs(d, exist_ok=True)

    def variant(fn, why, edit):
        doc = json.loads(json.dumps(base))
        edit(doc)
        return fn, why, doc

    def drop(l, i):
        def f(doc):
            doc["keep"][l].remove(i)
        return f

    k3 = keep[3][P]   # a patch kept by block 3
    # not-nested: block 4 keeps a patch that block 3 dropped (but block 2 kept).
    extra = next(i for i in keep[2] if i not in keep[3])
    cases = [
        variant("not-nested.json", f"keep[4] has patch {extra}, which keep[3] dropped",
                lambda doc: doc["keep"][4].__setitem__(slice(None), sorted(doc["keep"][4] + [extra]))),
        variant("missing-class-token.json", "keep[2] lacks id 0", drop(2, 0)),
        variant("out-of-range.json", f"keep[5] has id {N} (= tokens)", lambda doc: doc["keep"][5].append(N)),
        variant("negative-id.json", "keep[1] has id -1", lambda doc: doc["keep"][1].insert(0, -1)),
        variant("not-ascending.json", "keep[3] lists its first two patches in descending order",
                lambda doc: doc["keep"][3].__setitem__(slice(P, P + 2), doc["keep"][3][P:P + 2][::-1])),
        variant("duplicate-id.json", f"keep[3] has {k3} twice", lambda doc: doc["keep"][3].insert(P, k3)),
        variant("wrong-depth.json", "5 lists for 6 blocks", lambda doc: doc["keep"].pop()),
        variant("non-integer-id.json", "keep[4] has 7.5", lambda doc: doc["keep"][4].append(7.5)),
        variant("wrong-format.json", "format is not hourglass-token-masks",
                lambda doc: doc.__setitem__("format", "token-masks")),
        variant("wrong-version.json", "version 2", lambda doc: doc.__setitem__("version", 2)),
        variant("tokens-mismatch.json", f"tokens {N + 1} (valid on its own): the model has {N}",
                lambda doc: doc.__setitem__("tokens", N + 1)),
    ]
    rows = []
    for fn, why, doc in cases:
        text = json.dumps(doc)
        with open(os.path.join(d, fn), "w") as f:
            f.write(text + "\n")
        # must be rejected: by the rules (load_json with the model's depth) or the model check.
        try:
            got, meta = slim.load_json(json.loads(text), depth=L)
            if meta["tokens"] != N or meta["prefix_tokens"] != P:
                raise ValueError("tokens/prefix_tokens do not match the model")
            raise SystemExit(f"FAILED: invalid/{fn} was accepted")
        except ValueError as e:
            msg = str(e)
        rows.append({"file": f"invalid/{fn}", "model": "deit_tiny", "violation": why, "python_message": msg})
    print(f"invalid: {len(rows)} files rejected")
    return rows


NOTES = (
    "Patch Slimming (PS-ViT) static token masks, ALGORITHMS.md \u00a72.2/\u00a72.7, float32 PyTorch "
    "(tools/hourglass_ref/slim.py), blocks 0-based. Pruned forward: x = [prefix, patches] + pos_embed; block l "
    "with kept ids K_l (K_-1 = all): n = LN1(x) over the current tokens (ascending ids); q from the rows in K_l, "
    "k and v from all rows; softmax((q @ k^T) * head_dim^-0.5) v; x = x[rows of K_l] + proj(.); x = x + "
    "MLP(LN2(x)); logits = head(LN(x)[cls]) (distilled: (head(cls) + head_dist(dist)) / 2). Mask files: "
    "{format, version 1, tokens N, prefix_tokens P, keep: one ascending id list per block} + optional model, "
    "calibration_images, training_free. npy files are float32 little-endian C order.")

SCORE_DEFINITION = (
    "significance at block t, per image: forward with blocks 0..t unpruned and blocks t+1..L-1 pruned by "
    "masks-pyramid.json; Z = input of block t (residual stream before norm1, [N, D]); P_{h,l} = post-softmax "
    "attention of head h in block l ([|K_l|, |K_{l-1}|], softmax over the kept columns); u_i = (1/H) sum_h "
    "sum_d ((P_{h,t} |Z|)[i, d])^2; G = diag(w) over the ids kept by the last block, w = 1 on the class token "
    "(plain) or 1/2 on the class and 1/2 on the distillation token (distilled), 0 elsewhere; for l = L-1 down to "
    "t+1: G = (1/H) sum_h P_{h,l}^T G P_{h,l}; s_i = G_ii u_i. The file holds the mean of s over the batch "
    "(input.npy), for all N tokens (prefix included; the prefix and the tokens already kept by block t+1 are "
    "not ranked). Pyramid search: for t = L-2..0 with a cut, keep[t] = keep[t+1] + the (count_t - "
    "|patches of keep[t+1]|) best remaining patches by that score; cut_margin_rel = (r-th - (r+1)-th best "
    "candidate score) / best candidate score.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    entries, built = [], {}
    for c in CASES:
        e, model, sets = make_case(c, args.out)
        entries.append(e)
        built[c["name"]] = (model, sets)
    model, sets = built["deit_tiny"]
    invalid = invalid_files(model, sets["pyramid"], args.out)
    manifest = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "notes": NOTES,
        "score_definition": SCORE_DEFINITION,
        "pyramid_patches_per_block": PYRAMID,
        "early_patches_per_block": EARLY,
        "min_cut_margin_rel": MIN_CUT_REL,
        "min_top1_margin": MIN_TOP1,
        "cases": entries,
        "invalid_masks": invalid,
    }
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = 0
    for root, _, fns in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, fn)) for fn in fns)
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
