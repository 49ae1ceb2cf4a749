#!/usr/bin/env python3
"""Golden fixtures for Expedit (token clustering / reconstruction) and Segmenter inference.

    /usr/bin/python3 tools/make_expedit_fixtures.py [--expedit-out engine/src/test/resources/golden/expedit]
                                                    [--segmenter-out tasks/src/test/resources/golden/segmenter]

Deterministic (seeded; one thread); about 10 s. Writes

<expedit-out>/cases.json and per case float32 .npy files (see tools/README.md):
    cluster cases      <name>.x.npy [B,N,C] -> <name>.init_centres.npy [B,M,C], <name>.init_labels.npy [N],
                       <name>.centres.npy [B,M,C], <name>.labels.npy [B,N] (cluster ids stored as float32)
    reconstruct cases  <name>.y.npy [B,M,Cy], <name>.f.npy [B,N,C], <name>.g.npy [B,M,C] -> <name>.out.npy [B,N,Cy]

<segmenter-out>/cases.json, inputs/<image>.input.npy [1,3,H,W] (already normalised) and
inputs/<image>.window0.npy (the first sliding window after scaling), and per tiny Segmenter
<model>/checkpoint.pth + variant.yml (rstrudel/segmenter's own format) with
<model>/<case>.logits.npy [n_cls,H,W] (merged sliding-window logits before the softmax) and
<model>/<case>.window0_masks.npy [n_cls,gh,gw] (first window, decoder output at token resolution,
after the TRL for the Expedit cases).

Everything is computed with hourglass_ref.expedit in float32 and checked here against
independent float64 numpy statements (loops) of the same algorithms; the script stops on any
disagreement, on near-ties that would make a discrete decision (hard label, top-k threshold)
fragile, and on degenerate clustering/reconstruction settings.
"""
import argparse
import collections
import copy
import hashlib
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from hourglass_ref import expedit as ex  # noqa: E402
from hourglass_ref.vit import VisionTransformer, init_random  # noqa: E402
from hourglass_ref.segmenter import (MaskTransformer, DecoderLinear, init_random_decoder,  # noqa: E402
                                     SEGMENTER_LN_EPS)
from check_reference import numpy_block, numpy_layer_norm, numpy_mask_transformer  # noqa: E402
from make_converter_fixtures import yaml_dump, detach, _compact  # noqa: E402

GENERATOR = "tools/make_expedit_fixtures.py"
EXPEDIT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "expedit")
SEGMENTER_OUT = os.path.join(REPO, "tasks", "src", "test", "resources", "golden", "segmenter")

LABEL_GAP = 1e-3      # hard labels: (2nd best - best distance) > LABEL_GAP * 2nd best
TOPK_GAP = 1e-3       # TRL: (k-th - (k+1)-th weight) > TOPK_GAP * k-th weight, unless exactly equal
REL_TOL = 1e-5        # float32 torch vs float64 numpy, relative to the largest magnitude


def f32(v):
    """What a Python float becomes when PyTorch multiplies a float32 tensor by it."""
    return float(np.float32(v))


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(np.asarray(arr), dtype="<f4"))


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(_compact(obj) + "\n")


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    scale = max(float(np.abs(want).max()), 1e-30)
    return float(np.abs(got - want).max()) / scale


def require(cond, msg):
    if not cond:
        raise SystemExit("FAILED: " + msg)


# ====================================================================== float64 references

def ref_nearest_index(dst, in_size, out_size):
    """PyTorch's nearest source index, its float32 arithmetic emulated with numpy scalars."""
    if out_size == in_size:
        return dst
    if out_size == 2 * in_size:
        return dst >> 1
    scale = np.float32(in_size) / np.float32(out_size)
    return min(int(np.floor(np.float32(dst) * scale)), in_size - 1)


def ref_tcl(x, token_grid, grid, iters, window, tau):
    """Token clustering in float64 by loops. x [B, N, C]. Returns (init_centres, init_labels,
    centres, hard_labels, distances to the final centres [B, N, M], last soft assignment)."""
    x = np.asarray(x, dtype=np.float64)
    B, N, C = x.shape
    H, W = token_grid
    h, w = grid
    M = h * w
    img = x.reshape(B, H, W, C)
    init = np.zeros((B, M, C))
    for i in range(h):
        r0, r1 = (i * H) // h, -((-(i + 1) * H) // h)         # floor / ceil of the bin edges
        for j in range(w):
            c0, c1 = (j * W) // w, -((-(j + 1) * W) // w)
            init[:, i * w + j] = img[:, r0:r1, c0:c1].mean(axis=(1, 2))
    labels = np.zeros(N, dtype=np.int64)
    for p in range(N):
        labels[p] = ref_nearest_index(p // W, h, H) * w + ref_nearest_index(p % W, w, W)
    r = window // 2
    own_row, own_col = (labels // w)[:, None], (labels % w)[:, None]              # [N, 1]
    cl_row, cl_col = (np.arange(M) // w)[None, :], (np.arange(M) % w)[None, :]  # [1, M]
    allowed = (np.abs(own_row - cl_row) <= r) & (np.abs(own_col - cl_col) <= r)  # [N, M]
    cen = init.copy()
    soft = np.zeros((B, N, M))
    t = f32(tau)
    for _ in range(iters):
        new = np.zeros_like(cen)
        for b in range(B):
            for p in range(N):
                d = ((x[b, p] - cen[b]) ** 2).sum(-1)
                logit = np.where(allowed[p], -t * d, -np.inf)
                e = np.exp(logit - logit[allowed[p]].max())
                soft[b, p] = e / e.sum()
            for s in range(M):
                new[b, s] = (soft[b, :, s, None] * x[b]).sum(0) / max(soft[b, :, s].sum(), 1e-16)
        cen = new
    dist = ((x[:, :, None, :] - cen[:, None, :, :]) ** 2).sum(-1)     # [B, N, M]
    return init, labels, cen, dist.argmin(-1), dist, soft


def ref_trl(y, f, g, k, tau):
    """Token reconstruction in float64; the exp is rounded to float32 so that float32
    underflow (weight exactly 0) is reproduced. Returns (out, kept-weight counts [B, N])."""
    y, f, g = (np.asarray(a, dtype=np.float64) for a in (y, f, g))
    d = ((f[:, :, None, :] - g[:, None, :, :]) ** 2).sum(-1)           # [B, N, M]
    wt = np.exp(-f32(tau) * d).astype(np.float32).astype(np.float64)
    thr = -np.sort(-wt, axis=-1)[..., k - 1:k]
    wt = np.where(wt >= thr, wt, 0.0)
    norm = np.sqrt((wt ** 2).sum(-1, keepdims=True))
    wt = wt / np.maximum(norm, 1e-12)
    return np.einsum("bnm,bmc->bnc", wt, y), (wt > 0).sum(-1)


def label_gap(dist):
    """Smallest relative gap between the best and second-best distance over all tokens."""
    s = np.sort(dist, axis=-1)
    return float(((s[..., 1] - s[..., 0]) / np.maximum(np.abs(s[..., 1]), 1e-30)).min())


def topk_gap(f, g, k, tau):
    """Smallest relative gap between the k-th and (k+1)-th TRL weight over rows where they
    are not exactly equal (an exact tie keeps both, whatever the rounding), float64."""
    if k >= g.shape[1]:
        return None
    f, g = np.asarray(f, np.float64), np.asarray(g, np.float64)
    d = ((f[:, :, None, :] - g[:, None, :, :]) ** 2).sum(-1)
    wt = np.exp(-f32(tau) * d).astype(np.float32).astype(np.float64)
    s = -np.sort(-wt, axis=-1)
    a, b = s[..., k - 1], s[..., k]
    live = (a != b) & (a > 0)
    if not live.any():
        return None
    return float(((a[live] - b[live]) / a[live]).min())


# ====================================================================== cluster cases

def smooth_tokens(seed, B, grid, C, amp, noise, offset_std=0.0, massive=()):
    """[B, N, C] tokens with spatial structure: a coarse random field upsampled over the grid,
    plus noise, plus a per-channel offset (optionally a few 'massive' channels with a large
    constant value, as real ViT features have)."""
    g = torch.Generator().manual_seed(seed)
    H, W = grid
    coarse = torch.randn(B, C, max(2, H // 3), max(2, W // 3), generator=g)
    field = F.interpolate(coarse, size=(H, W), mode="bilinear", align_corners=True)
    x = amp * field + noise * torch.randn(B, C, H, W, generator=g)
    offset = offset_std * torch.randn(C, generator=g)
    for ch, val in massive:
        offset[ch] = val
    x = x + offset[None, :, None, None]
    return x.flatten(2).transpose(1, 2).contiguous()                   # [B, N, C]


CLUSTER_CASES = [
    dict(name="c8x8_to_4x4", B=1, grid=(8, 8), clusters=(4, 4), C=8, iters=3, window=3, tau=1.0,
         amp=1.0, noise=0.5, seed=11,
         why="basic case: 2x2 pooling bins, nearest labels by the exact-2x shortcut, window 3"),
    dict(name="c7x9_to_3x4", B=1, grid=(7, 9), clusters=(3, 4), C=8, iters=3, window=5, tau=1.0,
         amp=1.0, noise=0.5, seed=12,
         why="adaptive-pool bins that overlap (7/3, 9/4), non-square cluster grid, float32 nearest scale"),
    dict(name="c40x40_to_28x28", B=1, grid=(40, 40), clusters=(28, 28), C=16, iters=5, window=5, tau=0.02,
         amp=6.0, noise=3.0, offset_std=4.0, massive=((3, 40.0), (11, -25.0)), seed=13,
         why="ADE20K geometry (40x40 -> 28x28, window 5, tau 0.02, 5 rounds) at ViT-like feature scale "
             "(two large offset channels); float32 nearest labels agree with exact arithmetic here"),
    dict(name="c16x16_to_12x12", B=1, grid=(16, 16), clusters=(12, 12), C=8, iters=3, window=5, tau=0.5,
         amp=2.0, noise=0.8, seed=14,
         why="overlapping bins (16/12) with scale 0.75 in the nearest labels"),
    dict(name="c8x46_to_4x14", B=1, grid=(8, 46), clusters=(4, 14), C=8, iters=2, window=3, tau=1.0,
         amp=1.0, noise=0.5, seed=15,
         why="float32 nearest corner: token column 23 gets cell column floor(23*f32(14/46)) = 6, exact arithmetic says 7"),
    dict(name="c7x7_window1", B=1, grid=(7, 7), clusters=(3, 3), C=8, iters=2, window=1, tau=1.0,
         amp=1.0, noise=0.5, seed=16,
         why="window 1: each token only joins its initial cell, so centres become plain means of the label "
             "regions, not of the (overlapping) pooling bins"),
    dict(name="c6x6_iters0", B=1, grid=(6, 6), clusters=(3, 3), C=8, iters=0, window=3, tau=1.0,
         amp=1.0, noise=0.5, seed=17,
         why="iters 0: centres are the adaptive-pool centres; hard labels from them"),
    dict(name="c10x10_batch2", B=2, grid=(10, 10), clusters=(4, 4), C=8, iters=3, window=3, tau=1.0,
         amp=1.0, noise=0.5, seed=18,
         why="batch 2 with different tokens per image (shared labels and window mask)"),
    dict(name="c6x10_to_3x5", B=1, grid=(6, 10), clusters=(3, 5), C=8, iters=3, window=3, tau=1.0,
         amp=1.0, noise=0.5, seed=19,
         why="non-square token grid 6x10 -> 3x5 (row-major token and cluster order)"),
]


def cluster_case(out, spec):
    H, W = spec["grid"]
    h, w = spec["clusters"]
    B, C = spec["B"], spec["C"]
    for attempt in range(200):
        seed = spec["seed"] + 1000 * attempt
        x = smooth_tokens(seed, B, (H, W), C, spec["amp"], spec["noise"], spec.get("offset_std", 0.0),
                          spec.get("massive", ()))
        r = ex.token_clustering(ex.reshape_as_aspect_ratio(x, ex.aspect_ratio(H, W)), (h, w),
                                spec["iters"], spec["window"], spec["tau"])
        init64, lab64, cen64, hard64, dist64, soft64 = ref_tcl(x.numpy(), (H, W), (h, w), spec["iters"],
                                                               spec["window"], spec["tau"])
        gap = label_gap(dist64)
        if gap > LABEL_GAP:
            break
    else:
        raise SystemExit(f"{spec['name']}: no seed without near-tied hard labels")
    name = spec["name"]
    init = r["init_centres"].numpy()
    labels = r["init_labels"].numpy()
    cen = r["centres"].numpy()
    hard = r["hard_labels"].numpy()
    # float32 torch vs float64 numpy
    e_init, e_cen = rel_err(init, init64), rel_err(cen, cen64)
    require(np.array_equal(labels.astype(np.int64), lab64), f"{name}: initial labels differ from the reference")
    require(e_init < REL_TOL and e_cen < REL_TOL, f"{name}: centres off ({e_init:.2e}, {e_cen:.2e})")
    require(np.array_equal(hard, hard64), f"{name}: hard labels differ from the reference")
    exact = np.array([((p // W) * h // H) * w + ((p % W) * w // W) for p in range(H * W)])
    n_exact_diff = int((exact != lab64).sum())
    if name == "c8x46_to_4x14":
        require(n_exact_diff > 0, f"{name}: expected float32 nearest labels to differ from exact arithmetic")
    soft_stats = None
    if spec["iters"] > 0:
        mx = r["assignments"].max(dim=1).values
        soft_stats = {"mean_max_assignment": round(float(mx.mean()), 4), "min_max_assignment": round(float(mx.min()), 4)}
        if spec["window"] > 1:
            require(0.3 < float(mx.mean()) < 0.97, f"{name}: degenerate soft assignment {float(mx.mean())}")
    files = {k: f"{name}.{k}.npy" for k in ("x", "init_centres", "init_labels", "centres", "labels")}
    save_npy(os.path.join(out, files["x"]), x.numpy())
    save_npy(os.path.join(out, files["init_centres"]), init)
    save_npy(os.path.join(out, files["init_labels"]), labels)
    save_npy(os.path.join(out, files["centres"]), cen)
    save_npy(os.path.join(out, files["labels"]), hard.astype(np.float32))
    doc = collections.OrderedDict(
        name=name, kind="cluster", why=spec["why"], batch=B, channels=C, grid_h=H, grid_w=W,
        clusters_h=h, clusters_w=w, iters=spec["iters"], window=spec["window"], tau=spec["tau"],
        files=files,
        shapes={"x": [B, H * W, C], "init_centres": [B, h * w, C], "init_labels": [H * W],
                "centres": [B, h * w, C], "labels": [B, H * W]},
        stats=collections.OrderedDict(
            seed=seed, f32_vs_f64_rel_centres=float(f"{e_cen:.2e}"), f32_vs_f64_rel_init_centres=float(f"{e_init:.2e}"),
            min_label_gap_rel=float(f"{gap:.3e}"), labels_differing_from_exact_arithmetic=n_exact_diff,
            distinct_hard_labels=int(len(np.unique(hard))), feature_sq_norm_mean=round(float((x * x).sum(-1).mean()), 3),
            assignments=soft_stats))
    return doc


# ====================================================================== reconstruct cases

def trl_inputs(seed, B, N, M, C, Cy, spread):
    g = torch.Generator().manual_seed(seed)
    gcen = spread * torch.randn(B, M, C, generator=g)
    owner = torch.randint(0, M, (B, N), generator=g)
    f = torch.gather(gcen, 1, owner[..., None].expand(B, N, C)) + 0.6 * spread * torch.randn(B, N, C, generator=g)
    y = torch.randn(B, M, Cy, generator=g)
    return y, f, gcen


def tie_inputs(seed):
    """Integer-valued F and G (every product and sum exact in float32, in any order), where
    G rows 3, 4, 5 are equal: rows of F nearest to them see 3 equal weights at the threshold."""
    g = torch.Generator().manual_seed(seed)
    M, N, C = 10, 24, 6
    gcen = torch.randint(-6, 7, (1, M, C), generator=g).float()
    gcen[0, 4] = gcen[0, 3]
    gcen[0, 5] = gcen[0, 3]
    f = torch.randint(-6, 7, (1, N, C), generator=g).float()
    f[0, :6] = gcen[0, 3] + torch.randint(-1, 2, (6, C), generator=g).float()
    y = torch.randn(1, M, 4, generator=g)
    return y, f, gcen


RECON_CASES = [
    dict(name="r_general", B=1, N=36, M=16, C=8, Cy=5, k=4, tau=0.5, spread=1.0, seed=31,
         why="general random case: 36 tokens, 16 centres, top-4"),
    dict(name="r_underflow", B=1, N=36, M=16, C=8, Cy=5, k=4, tau=0.5, spread=1.0, seed=32,
         far=(0, 7, 20), why="rows 0, 7, 20 of F are so far from every centre that exp(-tau*d) underflows "
                              "to 0 for all m: threshold 0, all kept, L2 norm clamped, output row exactly 0"),
    dict(name="r_ties", k=2, tau=0.05, seed=33,
         why="integer features with three equal G rows (3, 4, 5): rows of F nearest to them keep all three "
             "tied weights (>= threshold) though k = 2"),
    dict(name="r_k_equals_m", B=1, N=36, M=9, C=8, Cy=5, k=9, tau=0.5, spread=1.0, seed=34,
         why="k = M: the threshold is the row minimum, nothing is dropped"),
    dict(name="r_k1", B=1, N=36, M=16, C=8, Cy=5, k=1, tau=0.5, spread=1.0, seed=35,
         why="k = 1: one weight per row, so after L2 normalisation the output is the nearest centre's Y"),
    dict(name="r_nonsquare", B=1, N=60, M=15, C=8, Cy=5, k=4, tau=0.5, spread=1.0, seed=36,
         why="N = 6x10 token grid, M = 3x5 cluster grid (TRL itself ignores the grids)"),
    dict(name="r_batch2", B=2, N=36, M=16, C=8, Cy=5, k=4, tau=0.5, spread=1.0, seed=37,
         why="batch 2: per-image distances, weights and outputs"),
]


def recon_case(out, spec):
    name = spec["name"]
    k, tau = spec["k"], spec["tau"]
    for attempt in range(200):
        seed = spec["seed"] + 1000 * attempt
        if name == "r_ties":
            y, f, g = tie_inputs(seed)
        else:
            y, f, g = trl_inputs(seed, spec["B"], spec["N"], spec["M"], spec["C"], spec["Cy"], spec["spread"])
            for row in spec.get("far", ()):
                f[:, row] += 40.0
        gap = topk_gap(f.numpy(), g.numpy(), k, tau)
        if gap is None or gap > TOPK_GAP:
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties at the top-k threshold")
    o = ex.token_reconstruction(y, f, g, k, tau)
    w = ex.reconstruction_weights(f, g, k, tau)
    o64, kept64 = ref_trl(y.numpy(), f.numpy(), g.numpy(), k, tau)
    kept = (w > 0).sum(-1).numpy()
    err = rel_err(o.numpy(), o64)
    require(err < REL_TOL, f"{name}: output off the float64 reference by {err:.2e}")
    require(np.array_equal(kept, kept64), f"{name}: kept-weight counts differ from the reference")
    zero_rows = [int(n) for n in range(o.shape[1]) if bool((o[:, n] == 0).all())]
    B, N, M = w.shape
    if name == "r_underflow":
        require(zero_rows == sorted(spec["far"]), f"{name}: zero rows {zero_rows}")
        require(all(bool((w[:, n] == 0).all()) for n in spec["far"]), f"{name}: far rows must have all-zero weights")
    else:
        require(not zero_rows, f"{name}: unexpected zero rows {zero_rows}")
        require(int(kept.min()) >= 1, f"{name}: a row kept no weight")
    if name == "r_ties":
        require(int(kept.max()) > k, f"{name}: no row keeps more than k weights")
    elif name != "r_underflow":
        require(int(kept.max()) == min(k, M) and int(kept.min()) == min(k, M), f"{name}: kept {kept}")
    files = {kk: f"{name}.{kk}.npy" for kk in ("y", "f", "g", "out")}
    save_npy(os.path.join(out, files["y"]), y.numpy())
    save_npy(os.path.join(out, files["f"]), f.numpy())
    save_npy(os.path.join(out, files["g"]), g.numpy())
    save_npy(os.path.join(out, files["out"]), o.numpy())
    Cy, C = y.shape[2], f.shape[2]
    doc = collections.OrderedDict(name=name, kind="reconstruct", why=spec["why"], batch=B, tokens=N, clusters=M,
                                  channels=C, out_channels=Cy, k=k, tau=tau)
    if name == "r_nonsquare":
        doc.update(token_grid=[6, 10], cluster_grid=[3, 5])
    doc.update(files=files, shapes={"y": [B, M, Cy], "f": [B, N, C], "g": [B, M, C], "out": [B, N, Cy]},
               stats=collections.OrderedDict(
                   seed=seed, f32_vs_f64_rel=float(f"{err:.2e}"),
                   min_topk_gap_rel=None if gap is None else float(f"{gap:.3e}"),
                   kept_per_row_min=int(kept.min()), kept_per_row_max=int(kept.max()),
                   rows_keeping_more_than_k=int((kept > k).sum()), zero_output_rows=zero_rows))
    return doc


def make_expedit(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    docs = [cluster_case(out, s) for s in CLUSTER_CASES] + [recon_case(out, s) for s in RECON_CASES]
    write_json(os.path.join(out, "cases.json"), docs)
    for d in docs:
        print(f"ok   expedit {d['name']}: {dict((k, v) for k, v in d['stats'].items() if k != 'assignments')}")
    return docs


# ====================================================================== Segmenter

ENC = dict(img_size=48, patch_size=8, embed_dim=64, depth=4, num_heads=2, mlp_ratio=4.0, num_classes=10)
N_CLS = 5
WINDOW, STRIDE = 48, 32
EXPEDIT = ex.ExpeditSettings(alpha=2, grid=(4, 4), iters=3, window=3, tau=0.02, k=4, tau_r=0.02)
MODELS = [
    dict(name="seg_tiny_mask", decoder="mask_transformer", enc_seed=401, dec_seed=402),
    dict(name="seg_tiny_linear", decoder="linear", enc_seed=403, dec_seed=404),
]
IMAGES = [
    dict(name="h40w72", size=(40, 72), seed=501,
         why="shorter side below the window: scaled up to 48x86, then 1x3 overlapping windows"),
    dict(name="h48w48", size=(48, 48), seed=502, why="exactly one window, no scaling"),
    dict(name="h96w80", size=(96, 80), seed=503, why="no scaling, 3x2 overlapping windows (rows 0, 32, 48; columns 0, 32)"),
]


def build_model(m):
    enc = init_random(VisionTransformer(**ENC, norm_eps=SEGMENTER_LN_EPS), m["enc_seed"]).eval()
    D = ENC["embed_dim"]
    if m["decoder"] == "mask_transformer":
        # Segmenter's factory: d_model = encoder width, heads = d_model // 64, d_ff = 4 d_model.
        dec = MaskTransformer(N_CLS, D, D, n_layers=2, n_heads=D // 64, d_ff=4 * D)
    else:
        dec = DecoderLinear(N_CLS, D)
    return enc, init_random_decoder(dec, m["dec_seed"]).eval()


def variant(m):
    """variant.yml as rstrudel/segmenter's train.py dumps it (cf. make_converter_fixtures)."""
    decoder = ({"drop_path_rate": 0.0, "dropout": 0.1, "n_layers": 2, "name": "mask_transformer", "n_cls": N_CLS}
               if m["decoder"] == "mask_transformer" else {"name": "linear", "n_cls": N_CLS})
    return {
        "world_batch_size": 8, "version": "normal", "resume": True,
        "dataset_kwargs": {"dataset": "ade20k", "image_size": WINDOW, "crop_size": WINDOW, "batch_size": 8,
                           "normalization": "vit", "split": "train", "num_workers": 10},
        "algorithm_kwargs": {"batch_size": 8, "start_epoch": 0, "num_epochs": 3, "eval_freq": 2},
        "optimizer_kwargs": {"opt": "sgd", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9,
                             "clip_grad": None, "sched": "polynomial", "epochs": 3, "min_lr": 1e-5,
                             "poly_power": 0.9, "poly_step_size": 1},
        "net_kwargs": {"image_size": (WINDOW, WINDOW), "patch_size": ENC["patch_size"], "d_model": ENC["embed_dim"],
                       "n_heads": ENC["num_heads"], "n_layers": ENC["depth"], "normalization": "vit",
                       "distilled": False, "backbone": "vit_tiny_patch16_384", "dropout": 0.0,
                       "drop_path_rate": 0.1, "decoder": decoder, "n_cls": N_CLS},
        "amp": False, "log_dir": m["name"],
        "inference_kwargs": {"im_size": WINDOW, "window_size": WINDOW, "window_stride": STRIDE},
    }


def numpy_window(enc, dec, window, expedit):
    """Independent float64 statement of one window (48x48, no padding) at token resolution:
    numpy blocks, numpy TCL/TRL, numpy decoder. Returns masks [n_cls, gh, gw]."""
    sd = {k: v.detach().double().numpy() for k, v in enc.state_dict().items()}
    p, D = ENC["patch_size"], ENC["embed_dim"]
    xw = window.double().numpy()
    gh, gw = xw.shape[2] // p, xw.shape[3] // p
    patches = xw[:, :, :gh * p, :gw * p].reshape(1, 3, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5)
    tok = patches.reshape(1, gh * gw, 3 * p * p) @ sd["patch_embed.proj.weight"].reshape(D, -1).T
    tok = tok + sd["patch_embed.proj.bias"]
    h = np.concatenate([sd["cls_token"], tok], axis=1) + sd["pos_embed"]
    feat_before = centres = None
    for i in range(ENC["depth"]):
        h = numpy_block(sd, f"blocks.{i}.", h, ENC["num_heads"], SEGMENTER_LN_EPS)
        if expedit is not None and i == expedit.alpha - 1:
            feat_before = h[:, 1:]
            _, _, centres, _, _, _ = ref_tcl(feat_before, (gh, gw), expedit.grid, expedit.iters,
                                             expedit.window, expedit.tau)
            h = np.concatenate([h[:, :1], centres], axis=1)
    h = numpy_layer_norm(h, sd["norm.weight"], sd["norm.bias"], SEGMENTER_LN_EPS)
    grid = expedit.grid if expedit is not None else (gh, gw)
    if isinstance(dec, DecoderLinear):
        w_, b_ = dec.head.weight.detach().double().numpy(), dec.head.bias.detach().double().numpy()
        m = (h[:, 1:] @ w_.T + b_).transpose(0, 2, 1).reshape(1, N_CLS, *grid)
    else:
        m = numpy_mask_transformer(dec.state_dict(), h[:, 1:], N_CLS, ENC["embed_dim"] // 64, grid,
                                   eps=SEGMENTER_LN_EPS)
    if expedit is not None:
        low = m.reshape(1, N_CLS, -1).transpose(0, 2, 1)                # [1, M, n_cls]
        full, _ = ref_trl(low, feat_before, centres, expedit.k, expedit.tau_r)
        m = full.transpose(0, 2, 1).reshape(1, N_CLS, gh, gw)
    return m[0]


def expedit_gap(models, x):
    """Smallest relative top-k gap of the TRL weights over every Expedit window of every model."""
    gaps = []
    for enc, dec in models:
        det = {}
        ex.segmenter_inference(enc, dec, x, WINDOW, STRIDE, EXPEDIT, det)
        for wd in det["windows"]:
            g = topk_gap(wd["feat_before"].numpy(), wd["tcl"]["centres"].numpy(), EXPEDIT.k, EXPEDIT.tau_r)
            gaps.append(-1.0 if g is None else g)
    return min(gaps)


def make_inputs(out, models):
    """The input images. An image seed is skipped while some Expedit window of some model has a
    near-tie at the TRL's top-k threshold (a discrete decision float rounding could flip)."""
    d = os.path.join(out, "inputs")
    os.makedirs(d)
    imgs = {}
    for im in IMAGES:
        H, W = im["size"]
        for attempt in range(100):
            seed = im["seed"] + 1000 * attempt
            x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(seed))
            if expedit_gap(models, x) > TOPK_GAP:
                break
        else:
            raise SystemExit(f"{im['name']}: no image seed without a near-tie at the TRL threshold")
        im["used_seed"] = seed
        save_npy(os.path.join(d, f"{im['name']}.input.npy"), x.numpy())
        scaled = ex.scale_to_window(x, WINDOW)
        save_npy(os.path.join(d, f"{im['name']}.window0.npy"), scaled[:, :, :WINDOW, :WINDOW].numpy())
        imgs[im["name"]] = (x, scaled)
    return imgs


def check_expedit_window(name, d):
    """Non-degenerate clustering and reconstruction in one window; near-ties at the top-k
    threshold would make the TRL fragile."""
    tcl = d["tcl"]
    soft = tcl["assignments"][0]                                        # [M, N]
    allowed = (ex.window_penalty(tcl["init_labels"], EXPEDIT.grid, EXPEDIT.window)[0] == 0).sum(0).float()
    mx = soft.max(dim=0).values
    uniform = float((1 / allowed).mean())
    require(uniform + 0.05 < float(mx.mean()) < 0.95, f"{name}: degenerate soft assignment "
                                                      f"(mean max {float(mx.mean()):.3f}, uniform {uniform:.3f})")
    kept = (d["trl_weights"][0] > 0).sum(-1)
    M = EXPEDIT.num_clusters
    require(int(kept.min()) >= 1 and int(kept.max()) < M, f"{name}: TRL keeps {kept.tolist()}")
    gap = topk_gap(d["feat_before"].numpy(), tcl["centres"].numpy(), EXPEDIT.k, EXPEDIT.tau_r)
    require(gap is not None and gap > TOPK_GAP, f"{name}: near-tie at the TRL threshold ({gap})")
    nw = d["trl_weights"][0]
    srt = nw.sort(dim=-1, descending=True).values
    return {"mean_max_assignment": round(float(mx.mean()), 4), "uniform_assignment": round(uniform, 4),
            "trl_kept_min": int(kept.min()), "trl_kept_max": int(kept.max()),
            "trl_second_over_first_mean": round(float((srt[:, 1] / srt[:, 0]).mean()), 4),
            "min_topk_gap_rel": float(f"{gap:.3e}")}


def check_checkpoint(mdir, m, enc, dec):
    """The files load back the way Segmenter's load_model reads them: variant.yml with PyYAML's
    FullLoader (and is byte for byte what yaml.dump writes), checkpoint.pth with torch.load,
    and its state dict is exactly the models' tensors."""
    import yaml  # PyYAML (Debian python3-yaml)
    text = open(os.path.join(mdir, "variant.yml")).read()
    want = variant(m)
    require(yaml.load(text, Loader=yaml.FullLoader) == want, f"{m['name']}: variant.yml does not load back")
    require(text == yaml.dump(want), f"{m['name']}: variant.yml differs from PyYAML's own dump")
    ckpt = torch.load(os.path.join(mdir, "checkpoint.pth"))
    require(sorted(ckpt) == ["epoch", "lr_scheduler", "model", "n_cls", "optimizer"] and ckpt["n_cls"] == N_CLS,
            f"{m['name']}: checkpoint top level {sorted(ckpt)}")
    mine = [("encoder." + k, v) for k, v in enc.state_dict().items()]
    mine += [("decoder." + k, v) for k, v in dec.state_dict().items()]
    require([k for k, _ in mine] == list(ckpt["model"]), f"{m['name']}: state dict keys")
    require(all(torch.equal(v, ckpt["model"][k]) for k, v in mine), f"{m['name']}: state dict values")


def make_segmenter(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    built = [build_model(m) for m in MODELS]
    imgs = make_inputs(out, built)
    model_docs = []
    for m, (enc, dec) in zip(MODELS, built):
        mdir = os.path.join(out, m["name"])
        os.makedirs(mdir)
        sd = collections.OrderedDict(("encoder." + k, v) for k, v in enc.state_dict().items())
        sd.update(("decoder." + k, v) for k, v in dec.state_dict().items())
        ckpt = {"model": detach(sd), "optimizer": {}, "n_cls": N_CLS, "lr_scheduler": {}, "epoch": 2}
        torch.save(ckpt, os.path.join(mdir, "checkpoint.pth"))
        with open(os.path.join(mdir, "variant.yml"), "w") as f:
            f.write(yaml_dump(variant(m)) + "\n")
        check_checkpoint(mdir, m, enc, dec)
        enc64, dec64 = copy.deepcopy(enc).double(), copy.deepcopy(dec).double()
        cases = []
        for im in IMAGES:
            x, scaled = imgs[im["name"]]
            for mode in (None, EXPEDIT):
                case = im["name"] + ("_expedit" if mode is not None else "")
                det = {}
                logits = ex.segmenter_inference(enc, dec, x, WINDOW, STRIDE, mode, det)
                w0 = det["windows"][0]
                masks0 = w0["token_masks"][0]
                # float64 run of the same code, and an independent float64 numpy window 0
                logits64 = ex.segmenter_inference(enc64, dec64, x.double(), WINDOW, STRIDE, mode)
                e64 = float((logits.double() - logits64).abs().max())
                require(e64 < 1e-4, f"{m['name']}/{case}: float32 vs float64 logits {e64:.2e}")
                ref0 = numpy_window(enc, dec, scaled[:, :, :WINDOW, :WINDOW], mode)
                e0 = float(np.abs(masks0.double().numpy() - ref0).max())
                require(e0 < 1e-4, f"{m['name']}/{case}: window 0 masks vs numpy float64 {e0:.2e}")
                stats = collections.OrderedDict(
                    scaled_size=list(scaled.shape[2:]), windows=len(det["anchors"]),
                    anchors=[list(a) for a in det["anchors"]],
                    logits_std=round(float(logits.std()), 5), logits_absmax=round(float(logits.abs().max()), 5),
                    f32_vs_f64_max_abs_logits=float(f"{e64:.2e}"),
                    window0_masks_vs_numpy_f64_max_abs=float(f"{e0:.2e}"))
                if im["name"] == "h48w48" and mode is None:
                    with torch.no_grad():
                        feats, _ = enc.forward_features(x, return_blocks=False)
                        plain = F.interpolate(dec(feats[:, 1:], enc.grid_size), size=(WINDOW, WINDOW),
                                              mode="bilinear", align_corners=False)[0]
                    ep = float((plain - logits).abs().max())
                    require(ep < 1e-6, f"{m['name']}/{case}: inference vs plain forward {ep:.2e}")
                    stats["inference_vs_plain_forward_max_abs"] = ep
                if mode is not None:
                    per = [check_expedit_window(f"{m['name']}/{case}/window{i}", wd)
                           for i, wd in enumerate(det["windows"])]
                    stats["expedit_windows"] = {
                        "mean_max_assignment": [p["mean_max_assignment"] for p in per],
                        "uniform_assignment": per[0]["uniform_assignment"],
                        "trl_kept_per_row": [min(p["trl_kept_min"] for p in per), max(p["trl_kept_max"] for p in per)],
                        "trl_second_over_first_mean": [p["trl_second_over_first_mean"] for p in per],
                        "min_topk_gap_rel": min(p["min_topk_gap_rel"] for p in per)}
                files = {"input": f"inputs/{im['name']}.input.npy", "window0_input": f"inputs/{im['name']}.window0.npy",
                         "logits": f"{m['name']}/{case}.logits.npy",
                         "window0_masks": f"{m['name']}/{case}.window0_masks.npy"}
                save_npy(os.path.join(out, files["logits"]), logits.numpy())
                save_npy(os.path.join(out, files["window0_masks"]), masks0.numpy())
                H, W = im["size"]
                cases.append(collections.OrderedDict(
                    name=case, image=im["name"], why=im["why"] + (" (Expedit)" if mode is not None else ""),
                    expedit=mode is not None, input_size=[H, W], input_seed=im["used_seed"], files=files,
                    shapes={"input": [1, 3, H, W], "window0_input": [1, 3, WINDOW, WINDOW],
                            "logits": [N_CLS, H, W], "window0_masks": [N_CLS, 6, 6]},
                    stats=stats))
                print(f"ok   segmenter {m['name']}/{case}: {dict((k, v) for k, v in stats.items() if k != 'anchors')}")
        size = os.path.getsize(os.path.join(mdir, "checkpoint.pth"))
        model_docs.append(collections.OrderedDict(
            name=m["name"], decoder=m["decoder"], checkpoint=f"{m['name']}/checkpoint.pth",
            variant=f"{m['name']}/variant.yml", checkpoint_bytes=size,
            checkpoint_sha256=hashlib.sha256(open(os.path.join(mdir, "checkpoint.pth"), "rb").read()).hexdigest(),
            encoder=dict(patch_size=ENC["patch_size"], width=ENC["embed_dim"], depth=ENC["depth"],
                         heads=ENC["num_heads"], mlp_hidden=4 * ENC["embed_dim"], image_size=[WINDOW, WINDOW],
                         norm_eps=SEGMENTER_LN_EPS, encoder_head_rows=ENC["num_classes"]),
            decoder_settings=(dict(n_layers=2, d_model=ENC["embed_dim"], heads=ENC["embed_dim"] // 64,
                                   d_ff=4 * ENC["embed_dim"], norm_eps=SEGMENTER_LN_EPS)
                              if m["decoder"] == "mask_transformer" else {}),
            seeds=dict(encoder=m["enc_seed"], decoder=m["dec_seed"]), cases=cases))
    doc = collections.OrderedDict(
        generator=GENERATOR, torch_version=torch.__version__, n_cls=N_CLS, normalization="vit",
        window_size=WINDOW, window_stride=STRIDE, expedit=EXPEDIT.as_dict(),
        inference=("rstrudel/segmenter segm/model/utils.py inference() for one image, no flip, windows run one at a "
                   "time: if min(H, W) < window, bilinear (align_corners=False) resize to shorter side = window, "
                   "longer side int(ratio * window); window anchors range(0, L, stride) kept while < L - window, "
                   "plus L - window, per axis (rows outer); each window through Segmenter.forward (pad to the patch "
                   "size, encoder, decoder, bilinear upsampling to the padded window, crop); logits summed per "
                   "pixel and divided by the window count; bilinear (align_corners=False) resize back to (H, W). "
                   "logits.npy is that merged map BEFORE Segmenter's softmax over classes."),
        expedit_placement=("cluster the patch tokens after block alpha-1 (0-based index 1 here), continue with "
                           "[class token, 16 centres]; final LayerNorm; decoder on the 4x4 cluster grid; TRL "
                           "(weights from the tokens entering the TCL and the final centres) on the decoder's "
                           "class logits [1, 16, n_cls] -> [1, 36, n_cls] -> [1, n_cls, 6, 6]; then the usual "
                           "upsampling. Temperatures act as float32 multipliers."),
        notes=["Inputs are random normal, as if already normalised ('vit': (x/255 - 0.5) / 0.5); nothing in the "
               "fixtures normalises.",
               "encoder.head has 10 rows (Segmenter builds 1000; unused for segmentation).",
               "variant.yml inference_kwargs.im_size (48) is the dataset-side resize of the evaluation script, "
               "not part of inference(); the inputs are used at their own size.",
               "window0_masks: first window (anchor (0, 0)) of the scaled image, decoder output at token "
               "resolution [n_cls, 6, 6] (mask transformer: after mask_norm), after the TRL for Expedit cases, "
               "before upsampling.",
               "Checks done by the generator: float32 vs float64 run of the same code (logits), window 0 vs an "
               "independent float64 numpy forward (blocks, TCL, decoder, TRL), h48w48 inference vs the plain "
               "forward, Expedit soft assignments and TRL weights not degenerate, no near-tie at the TRL "
               "threshold in any window."],
        models=model_docs)
    write_json(os.path.join(out, "cases.json"), doc)
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--expedit-out", default=EXPEDIT_OUT)
    ap.add_argument("--segmenter-out", default=SEGMENTER_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    make_expedit(args.expedit_out)
    make_segmenter(args.segmenter_out)
    total = 0
    for d in (args.expedit_out, args.segmenter_out):
        for root, _, files in os.walk(d):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"done: {total / 1e6:.2f} MB in {args.expedit_out} and {args.segmenter_out}")


if __name__ == "__main__":
    main()
