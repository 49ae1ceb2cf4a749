#!/usr/bin/env python3
"""Golden fixtures for CF-ViT two-stage inference (coarse stage, early exit, informative-region
re-splitting, feature reuse, fine stage), DeiT style (cf_* cases) and LV-ViT style (lv_* cases:
conv stem, no qkv bias, skip_lam 2, LayerNorm eps 1e-5, token-labelling aux head), for the Java
engine's tests.

Run from anywhere with the system interpreter (a few seconds, deterministic):

    /usr/bin/python3 tools/make_cfvit_fixtures.py [--out engine/src/test/resources/golden/cfvit]
                                                  [--tasks-out tasks/src/test/resources/golden/cfvit]
                                                  [--cases NAME,...]

--cases regenerates only the named cases and keeps the other entries of the existing cases.json.

For every case writes <out>/<case>/:
    model.safetensors      F32, canonical names (timm ViT names, pos_embed = fine grid, cfvit.*)
    config.json            timm hub-style config of the FINE model + "cfvit": {...}
    input.npy              float32 [B,3,S,S], the already-normalised fine input
    coarse_input.npy       float32 [B,3,S/2,S/2] = F.interpolate(input, bilinear, align_corners=True)
    coarse_logits.npy      float32 [B,C]
    global_attention.npy   float32 [B,Nc]: EMA class attention (mean over heads, row 0, columns 1..)
    important.json         {"important": per image the K indices in argsort (descending) order,
                            "cut_margin": per image g[K-th] - g[(K+1)-th], ...}
    fine_logits.npy        float32 [B,C] (computed for every image)
    final_logits.npy       float32 [B,C]: coarse logits where max softmax >= threshold, else fine
and <out>/cases.json (threshold, per-image max coarse probability and stage, margins, seeds).
<tasks-out>/ gets cf_d6_7x7 and lv_d6_7x7 in CF-ViT's ORIGINAL checkpoint format (<case>.pth =
{'model': state dict with pos_embed_list.*/reuse_block.* names (LV-ViT: also patch_embed.conv*/bn*,
aux_head.*), 'flop': [...]}), the input (<case>.input.npy) and <case>.expected.json (threshold,
final logits, stages).

Each weight seed is the first candidate (from a base) for which every discrete decision is
clear of a tie: the important/unimportant cut (g's K-th vs (K+1)-th value) and the whole
argsort order by >= MIN_CUT_REL / MIN_ORDER_REL in units of the EMA's total weight, every exit
decision >= MIN_EXIT from the threshold, every top-1 (coarse, fine) >= MIN_TOP1 ahead. The
script asserts: threshold 0 -> all coarse, 1.01 -> all fine; the fine sequence length
1 + 4K + (Nc - K); with K = Nc and zero reuse weights the fine stage equals the plain ViT
forward on the fine image; block_with_attention == Block; (LV-ViT) the aux head changes both
coarse and fine logits; and agreement with an independent float64 numpy statement (loops for the
indices and the reuse copy; per-offset convolution loops for the LV-ViT stem). It stops on any
failure.
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
from hourglass_ref import cfvit as cf  # noqa: E402
from hourglass_ref.vit import config_for, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD  # noqa: E402

GENERATOR = "tools/make_cfvit_fixtures.py"
DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "cfvit")
DEFAULT_TASKS_OUT = os.path.join(REPO, "tasks", "src", "test", "resources", "golden", "cfvit")
PHOTO_DIR = "/usr/lib/python3/dist-packages/skimage/data"   # Debian python3-skimage

MIN_CUT_REL = 1e-4     # important-set cut, in units of the EMA weight sum (g / (1 - beta^n) = attention prob)
MIN_ORDER_REL = 2e-6   # every adjacent pair of the argsort order (float32 error of g: ~1e-7 measured)
NEAR_TIE_REL = 1e-5    # adjacent pairs closer than this are listed in important.json ("near_ties")
MIN_EXIT = 1e-3        # |max coarse probability - threshold|
MIN_TOP1 = 0.05        # top-1 logit lead, coarse and fine logits of every image
MAX_ATTEMPTS = 300
F64_TOL = 1e-4         # float32 torch vs float64 numpy (absolute, logits)

SHAPE = dict(patch_size=8, embed_dim=32, num_heads=4, mlp_ratio=2.0, num_classes=10)
ARCH = "deit_tiny_patch16_224"
PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png")
CROP_PCT = 0.875
# LV-ViT variant (CF-LV-ViT): conv stem (16 channels here, 64 in LV-ViT-S), no qkv bias, MLP ratio 3,
# skip_lam 2, LayerNorm eps 1e-5, token-labelling aux head; patch_size = the total stride.
LV_SHAPE = dict(patch_size=8, embed_dim=32, num_heads=4, mlp_ratio=3.0, num_classes=10, stem_channels=16)
LV_ARCH = "cf_lvvit"
LV_CROP_PCT = 0.9
VARIANTS = {"deit": dict(arch=ARCH, crop_pct=CROP_PCT), "lvvit": dict(arch=LV_ARCH, crop_pct=LV_CROP_PCT)}

# img_size is the FINE image; coarse = img_size / 2.
CASES = [
    dict(name="cf_d6_7x7", model=dict(SHAPE, img_size=112, depth=6), batch=3, input="randn", base_seed=100),
    dict(name="cf_d12_7x7", model=dict(SHAPE, img_size=112, depth=12), batch=2, input="randn", base_seed=200),
    dict(name="cf_d6_9x9", model=dict(SHAPE, img_size=144, depth=6, num_heads=2), batch=2, input="randn",
         base_seed=300),
    dict(name="cf_photos", model=dict(SHAPE, img_size=112, depth=6), batch=3, input="photos", base_seed=400),
    dict(name="lv_d6_7x7", variant="lvvit", model=dict(LV_SHAPE, img_size=112, depth=6), batch=3, input="randn",
         base_seed=500),
    dict(name="lv_photos_9x9", variant="lvvit", model=dict(LV_SHAPE, img_size=144, depth=4), batch=2,
         input="photos", base_seed=600),
]
ORIGINAL_FORMAT_CASES = ("cf_d6_7x7", "lv_d6_7x7")


def variant(case):
    return case.get("variant", "deit")


def is_lv(model):
    return isinstance(model, cf.CFLVViT)


def require(cond, msg):
    if not cond:
        raise SystemExit("FAILED: " + msg)


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype="<f4"))


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def f32list(t):
    """Exact float32 values as (shortest-repr) doubles: parse as double, cast to float."""
    return [[float(v) for v in row] for row in t.detach().float().numpy().astype(np.float32).tolist()]


def sci(v, digits=4):
    return float(f"{v:.{digits}e}")


# ---------------------------------------------------------------------------------------------
# Inputs

def photo_batch(size, crop_pct=CROP_PCT):
    """CF-ViT's eval transform (ALGORITHMS.md §3.2) with torchvision 0.14 on PIL images:
    Resize(int(size / crop_pct), BICUBIC) of the shorter side (crop_pct 0.875 DeiT, 0.9 LV-ViT),
    CenterCrop(size), ToTensor, Normalize(ImageNet mean, std)."""
    from PIL import Image
    from torchvision import transforms
    from torchvision.transforms import InterpolationMode
    tf = transforms.Compose([
        transforms.Resize(int(size / crop_pct), interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean=torch.tensor(IMAGENET_DEFAULT_MEAN), std=torch.tensor(IMAGENET_DEFAULT_STD)),
    ])
    images, info = [], []
    for name in PHOTOS:
        path = os.path.join(PHOTO_DIR, name)
        require(os.path.exists(path), f"{path} missing: apt-get install -y python3-skimage")
        raw = open(path, "rb").read()
        img = Image.open(path).convert("RGB")
        t = tf(img)
        images.append(t)
        info.append({"file": path, "file_sha256": sha256_bytes(raw), "image_size_wh": list(img.size),
                     "input_sha256": sha256_bytes(t.numpy().astype("<f4").tobytes())})
    return torch.stack(images), info


def build(case, seed, photos):
    if variant(case) == "lvvit":
        model = cf.init_random_cflvvit(cf.CFLVViT(**case["model"]), seed).eval()
    else:
        model = cf.init_random_cfvit(cf.CFViT(**case["model"]), seed).eval()
    B, S = case["batch"], case["model"]["img_size"]
    if case["input"] == "photos":
        x, info = photos(S, VARIANTS[variant(case)]["crop_pct"])
        return model, x[:B].clone(), {"photos": info[:B]}
    input_seed = 1000 + 10 * seed + B
    x = torch.randn(B, 3, S, S, generator=torch.Generator().manual_seed(input_seed))
    return model, x, {"input_seed": input_seed}


# ---------------------------------------------------------------------------------------------
# Decisions and their margins

def ema_weight(model):
    """Sum of the EMA's weights, 1 - beta^n (n = blocks in the EMA): each row of G sums to it."""
    n = len(model.blocks) - cf.EMA_FROM_BLOCK
    return 1.0 - cf.EMA_BETA ** n


def attention_margins(g, K):
    """Per image: raw cut gap g_(K) - g_(K+1) (descending) and the smallest adjacent gap."""
    desc = torch.sort(g.double(), dim=1, descending=True).values
    cut = (desc[:, K - 1] - desc[:, K]).tolist()
    order = (desc[:, :-1] - desc[:, 1:]).min(dim=1).values.tolist()
    return cut, order


def near_ties(g, scale):
    """Per image: positions i of the descending order whose gap to position i + 1 is below
    NEAR_TIE_REL (relative); a float32 port may list those two in either order."""
    desc = torch.sort(g.double(), dim=1, descending=True).values
    gaps = (desc[:, :-1] - desc[:, 1:]) / scale
    return [[[i, sci(float(v), 3)] for i, v in enumerate(row) if v < NEAR_TIE_REL] for row in gaps]


def top1_margins(logits):
    top2 = torch.topk(logits.double(), 2, dim=-1).values
    return (top2[:, 0] - top2[:, 1]).tolist()


def choose_threshold(max_prob):
    """A threshold that splits the batch (>= 1 coarse, >= 1 fine) at its widest gap, rounded to
    2 (else 3) decimals; None if no such threshold is MIN_EXIT clear of every probability."""
    p = sorted(float(v) for v in max_prob)
    if len(p) < 2:
        return None
    gaps = [(p[i + 1] - p[i], i) for i in range(len(p) - 1)]
    _, i = max(gaps)
    mid = (p[i] + p[i + 1]) / 2
    for digits in (2, 3):
        thr = round(mid, digits)
        if p[i] + MIN_EXIT <= thr <= p[i + 1] - MIN_EXIT:
            return thr
    return None


def evaluate(model, x):
    with torch.inference_mode():
        _, d = cf.forward_cfvit(model, x, threshold=1.01)
    K = d["important"].shape[1]
    scale = ema_weight(model)
    cut, order = attention_margins(d["global_attention"], K)
    thr = choose_threshold(d["max_prob"])
    margins = {
        "cut": cut, "cut_rel": [c / scale for c in cut], "order_rel": [o / scale for o in order],
        "top1_coarse": top1_margins(d["coarse_logits"]), "top1_fine": top1_margins(d["fine_logits"]),
    }
    ok = (thr is not None and min(margins["cut_rel"]) >= MIN_CUT_REL and min(margins["order_rel"]) >= MIN_ORDER_REL
          and min(margins["top1_coarse"]) >= MIN_TOP1 and min(margins["top1_fine"]) >= MIN_TOP1)
    return ok, thr, d, margins


def choose_seed(case, photos):
    rejected = []
    for attempt in range(MAX_ATTEMPTS):
        seed = case["base_seed"] + attempt
        model, x, inp = build(case, seed, photos)
        ok, thr, d, margins = evaluate(model, x)
        if ok:
            return seed, model, x, inp, thr, d, margins, rejected
        rejected.append(seed)
    raise SystemExit(f"{case['name']}: no seed in {MAX_ATTEMPTS} candidates with clear decisions")


# ---------------------------------------------------------------------------------------------
# Independent float64 statement (numpy, loops for the geometry)

_erf = np.vectorize(math.erf)


def _ln(v, w, b, eps):
    mu = v.mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _block(sd, pre, h, heads, eps, skip_lam=None):
    """One pre-LN block on one image's tokens [T, D]; returns (tokens, attention [heads,T,T]).
    skip_lam (LV-ViT): no qkv bias, scores (q / sqrt(hd)) k^T, both residual branches / skip_lam."""
    T, D = h.shape
    hd = D // heads
    y = _ln(h, sd[pre + "norm1.weight"], sd[pre + "norm1.bias"], eps)
    if skip_lam is None:
        qkv = y @ sd[pre + "attn.qkv.weight"].T + sd[pre + "attn.qkv.bias"]
    else:
        assert pre + "attn.qkv.bias" not in sd
        qkv = y @ sd[pre + "attn.qkv.weight"].T
    q, k, v = (qkv[:, j * D:(j + 1) * D].reshape(T, heads, hd).transpose(1, 0, 2) for j in range(3))
    if skip_lam is None:
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
    else:
        s = (q / math.sqrt(hd)) @ k.transpose(0, 2, 1)
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    o = (s @ v).transpose(1, 0, 2).reshape(T, D)
    a = o @ sd[pre + "attn.proj.weight"].T + sd[pre + "attn.proj.bias"]
    h = h + (a if skip_lam is None else a / skip_lam)
    y = _ln(h, sd[pre + "norm2.weight"], sd[pre + "norm2.bias"], eps)
    m = y @ sd[pre + "mlp.fc1.weight"].T + sd[pre + "mlp.fc1.bias"]
    m = 0.5 * m * (1 + _erf(m / math.sqrt(2)))
    m = m @ sd[pre + "mlp.fc2.weight"].T + sd[pre + "mlp.fc2.bias"]
    return h + (m if skip_lam is None else m / skip_lam), s


def _conv(img, w, stride, pad):
    """[Cin,H,W] * [Cout,Cin,k,k] -> [Cout,Ho,Wo], zero padding, one kernel offset at a time."""
    cin, H, W = img.shape
    k = w.shape[-1]
    xp = np.zeros((cin, H + 2 * pad, W + 2 * pad))
    xp[:, pad:pad + H, pad:pad + W] = img
    ho, wo = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    out = np.zeros((w.shape[0], ho, wo))
    for di in range(k):
        for dj in range(k):
            win = xp[:, di:di + stride * (ho - 1) + 1:stride, dj:dj + stride * (wo - 1) + 1:stride]
            out += np.einsum("oc,chw->ohw", w[:, :, di, dj], win)
    return out


def _stem(sd, img):
    """LV-ViT stem: 3 x (conv, eval BatchNorm eps 1e-5, ReLU); [3,H,W] -> [C,H/2,W/2]."""
    x = img
    for i, (stride, pad) in enumerate(((2, 3), (1, 1), (1, 1)), start=1):
        x = _conv(x, sd[f"lvvit.stem.conv{i}.weight"], stride, pad)
        bn = {leaf: sd[f"lvvit.stem.bn{i}.{leaf}"][:, None, None]
              for leaf in ("weight", "bias", "running_mean", "running_var")}
        x = (x - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-5) * bn["weight"] + bn["bias"]
        x = np.maximum(x, 0.0)
    return x


def _bilinear_align_corners(img, out, float32_scale=True):
    """[3,H,W] -> [3,out,out], bilinear with align_corners=True: src = i (in-1)/(out-1).

    PyTorch (1.13, CPU) rounds the scale (in-1)/(out-1) to float32 and then forms src = scale * i
    and lambda = src - floor(src) without further rounding (measured: its weights equal
    float32(1 - lambda), float32(lambda) bit for bit for 144->72, 112->56, 20->7, 5->9);
    float32_scale=False uses the exact scale (differs by up to ~4e-5 on N(0,1) inputs at 144->72)."""
    C, H, W = img.shape
    res = np.zeros((C, out, out))

    def coord(i, n):
        scale = float(np.float32((n - 1) / (out - 1))) if float32_scale else (n - 1) / (out - 1)
        src = scale * i
        i0 = min(int(math.floor(src)), n - 1)
        return i0, min(i0 + 1, n - 1), src - i0

    for i in range(out):
        y0, y1, wy = coord(i, H)
        for j in range(out):
            x0, x1, wx = coord(j, W)
            res[:, i, j] = ((1 - wy) * ((1 - wx) * img[:, y0, x0] + wx * img[:, y0, x1])
                            + wy * ((1 - wx) * img[:, y1, x0] + wx * img[:, y1, x1]))
    return res


def _patches(sd, img, p):
    C, H, W = img.shape
    gh, gw = H // p, W // p
    D = sd["patch_embed.proj.weight"].shape[0]
    w = sd["patch_embed.proj.weight"].reshape(D, -1)
    out = np.zeros((gh * gw, D))
    for r in range(gh):
        for c in range(gw):
            out[r * gw + c] = w @ img[:, r * p:(r + 1) * p, c * p:(c + 1) * p].reshape(-1) + sd["patch_embed.proj.bias"]
    return out


def numpy_cfvit(model, x, threshold):
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    eps, heads, p = model.norm_eps, model.num_heads, model.patch_size
    lv = is_lv(model)
    skip = model.skip_lam if lv else None

    def embed(img):
        # LV-ViT: the projection (kernel = stride = p/2) runs on the stem's output
        return _patches(sd, _stem(sd, img), p // 2) if lv else _patches(sd, img, p)

    def logits(f, coarse_path):
        out = f[0] @ sd["head.weight"].T + sd["head.bias"]
        if lv:
            aux = (f[1:] @ sd["lvvit.aux_head.weight"].T + sd["lvvit.aux_head.bias"]).max(axis=0)
            out = out + 0.25 * aux
            if coarse_path:
                out = out / 1.25
        return out

    hc, wc = model.coarse_grid
    hf, wf = model.grid_size
    nc = hc * wc
    K = int(math.ceil(cf.SPLIT_FRACTION * nc))
    depth = len(model.blocks)
    beta = cf.EMA_BETA
    res = {k: [] for k in ("coarse_input", "coarse_input_exact_scale", "coarse", "fine", "final", "g", "imp",
                           "exit", "n_fine")}
    for img in x.double().numpy():
        small = _bilinear_align_corners(img, model.coarse_img_size)
        res["coarse_input_exact_scale"].append(_bilinear_align_corners(img, model.coarse_img_size, False))
        e1 = np.concatenate([sd["cls_token"][0], embed(small)]) + sd["cfvit.pos_embed_coarse"][0]
        h, G = e1, 0.0
        for i in range(depth):
            h, a = _block(sd, f"blocks.{i}.", h, heads, eps, skip)
            if i >= cf.EMA_FROM_BLOCK:
                G = beta * G + (1 - beta) * a
        f = _ln(h, sd["norm.weight"], sd["norm.bias"], eps)
        coarse = logits(f, True)
        g = G.mean(0)[0, 1:]
        order = sorted(range(nc), key=lambda c: -g[c])
        imp, unimp = order[:K], order[K:]
        # reuse: LN + MLP of each coarse output token, copied to its 2x2 children
        rc = _ln(f[1:], sd["cfvit.reuse_norm.weight"], sd["cfvit.reuse_norm.bias"], eps)
        rc = rc @ sd["cfvit.reuse_mlp.fc1.weight"].T + sd["cfvit.reuse_mlp.fc1.bias"]
        rc = 0.5 * rc * (1 + _erf(rc / math.sqrt(2)))
        rc = rc @ sd["cfvit.reuse_mlp.fc2.weight"].T + sd["cfvit.reuse_mlp.fc2.bias"]
        fine_emb = embed(img)
        pos = sd["pos_embed"][0]
        seq = [sd["cls_token"][0, 0] + pos[0]]
        for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):   # sub-position groups
            for c in imp:
                r, col = divmod(c, wc)
                t = (2 * r + dr) * wf + 2 * col + dc
                seq.append(fine_emb[t] + rc[c] + pos[1 + t])
        for c in unimp:
            seq.append(e1[1 + c])
        h = np.stack(seq)
        for i in range(depth):
            h, _ = _block(sd, f"blocks.{i}.", h, heads, eps, skip)
        fine = logits(_ln(h, sd["norm.weight"], sd["norm.bias"], eps), False)
        prob = np.exp(coarse - coarse.max())
        prob /= prob.sum()
        ex = bool(prob.max() >= threshold)
        for k, v in (("coarse_input", small), ("coarse", coarse), ("fine", fine), ("final", coarse if ex else fine),
                     ("g", g), ("imp", imp), ("exit", ex), ("n_fine", h.shape[0])):
            res[k].append(v)
    return res


# ---------------------------------------------------------------------------------------------
# Self-checks

def self_checks(case, model, x, thr, d):
    name = case["name"]
    nc = model.coarse_grid[0] * model.coarse_grid[1]
    nf = model.grid_size[0] * model.grid_size[1]
    K = cf.num_important(nc)
    with torch.inference_mode():
        # thresholds 0 and 1.01
        final0, d0 = cf.forward_cfvit(model, x, 0.0)
        require(bool(d0["exit_coarse"].all()) and torch.equal(final0, d0["coarse_logits"]), f"{name}: threshold 0")
        final1, d1 = cf.forward_cfvit(model, x, 1.01)
        require(not bool(d1["exit_coarse"].any()) and torch.equal(final1, d1["fine_logits"]),
                f"{name}: threshold 1.01")
        final, dt = cf.forward_cfvit(model, x, thr)
        require(bool(dt["exit_coarse"].any()) and not bool(dt["exit_coarse"].all()), f"{name}: threshold splits")
        # sequence length
        require(dt["fine_tokens"] == 1 + 4 * K + (nc - K), f"{name}: fine sequence length {dt['fine_tokens']}")
        # index formulas: f1 = 4c - 2 (c mod Hc) on a square grid; all coarse tokens -> a permutation
        every = torch.arange(nc)[None]
        fi = cf.fine_indices(every, model.coarse_grid[1], model.grid_size[1])[0]
        require(torch.equal(fi[:nc], 4 * every[0] - 2 * (every[0] % model.coarse_grid[1])), f"{name}: f1 formula")
        require(torch.equal(torch.sort(fi).values, torch.arange(nf)), f"{name}: K = Nc is not a permutation")
        # block_with_attention == Block, and the coarse stage is the plain forward with the coarse embedding
        e1 = d["e1"]
        h1, h2 = e1, e1
        for blk in model.blocks:
            h1, _ = cf.block_with_attention(blk, h1)
            h2 = blk(h2)
        require(torch.equal(h1, h2), f"{name}: block_with_attention differs from Block")
        require(torch.equal(model.norm(h1)[:, 1:], d["coarse_features"]), f"{name}: coarse features")
        # K = Nc, zero reuse -> plain ViT on the fine image (any importance order)
        z = copy.deepcopy(model)
        z.cfvit.reuse_mlp.fc2.weight.zero_()
        z.cfvit.reuse_mlp.fc2.bias.zero_()
        plain = z(x)
        full_order = torch.argsort(d["global_attention"], dim=1, descending=True)
        empty = full_order[:, nc:]
        worst = 0.0
        for imp in (full_order, every.expand(x.shape[0], -1)):
            got, n = cf.forward_fine(z, x, d["coarse_features"], e1, imp, empty)
            require(n == 1 + 4 * nc, f"{name}: K = Nc sequence length")
            worst = max(worst, float((got - plain).abs().max()))
        require(worst <= 1e-5, f"{name}: K = Nc with zero reuse differs from the plain ViT by {worst}")
        # the reuse term matters, and so does re-splitting (the fixtures would not catch a port without them)
        no_reuse, _ = cf.forward_fine(z, x, d["coarse_features"], e1, d["important"], d["unimportant"])
        reuse_effect = float((no_reuse - d["fine_logits"]).abs().max())
        require(reuse_effect > 1e-2, f"{name}: reuse term has no effect ({reuse_effect})")
        lv_checks = {}
        if is_lv(model):
            # the token-labelling term matters on both paths (a port with head(cls) only cannot pass)
            h = copy.deepcopy(model)
            h.aux_weight = 0.0
            _, dh = cf.forward_cfvit(h, x, 1.01)
            lv_checks = {"aux_effect_on_coarse_logits": round(float((dh["coarse_logits"] - d["coarse_logits"]).abs().max()), 6),
                         "aux_effect_on_fine_logits": round(float((dh["fine_logits"] - d["fine_logits"]).abs().max()), 6)}
            require(min(lv_checks.values()) > 1e-2, f"{name}: aux head has no effect {lv_checks}")
        # float64 rerun of the same torch code: same decisions
        m64 = copy.deepcopy(model).double()
        f64, d64 = cf.forward_cfvit(m64, x.double(), thr)
        require(torch.equal(d64["important"], d["important"]), f"{name}: float64 importance order differs")
        require(torch.equal(d64["exit_coarse"], dt["exit_coarse"]), f"{name}: float64 exits differ")
    # independent numpy float64 statement
    ref = numpy_cfvit(model, x, thr)
    require([list(map(int, r)) for r in ref["imp"]] == d["important"].tolist(), f"{name}: numpy importance order")
    require(ref["exit"] == dt["exit_coarse"].tolist(), f"{name}: numpy exits")
    require(all(n == dt["fine_tokens"] for n in ref["n_fine"]), f"{name}: numpy sequence length")
    errs = {
        "coarse_input": float(np.abs(np.stack(ref["coarse_input"]) - d["coarse_input"].double().numpy()).max()),
        "coarse_logits": float(np.abs(np.stack(ref["coarse"]) - d["coarse_logits"].double().numpy()).max()),
        "fine_logits": float(np.abs(np.stack(ref["fine"]) - d["fine_logits"].double().numpy()).max()),
        "final_logits": float(np.abs(np.stack(ref["final"]) - final.double().numpy()).max()),
        "global_attention_rel": float(np.abs(np.stack(ref["g"]) - d["global_attention"].double().numpy()).max()
                                      / ema_weight(model)),
    }
    for k, v in errs.items():
        require(v <= {"coarse_input": 1e-6, "global_attention_rel": 1e-5}.get(k, F64_TOL),
                f"{name}: float32 vs numpy float64 {k} differ by {v}")
    diff64 = float((f64 - final.double()).abs().max())
    exact_scale = float(np.abs(np.stack(ref["coarse_input_exact_scale"]) - d["coarse_input"].double().numpy()).max())
    return final, dt, {"f32_vs_f64": {k: sci(v, 3) for k, v in errs.items()},
                       "coarse_input_vs_exact_scale_max_abs": sci(exact_scale, 3),
                       "f32_vs_torch_f64_final_logits": sci(diff64, 3),
                       "k_all_zero_reuse_vs_plain_max_abs": sci(worst, 3),
                       "reuse_effect_on_fine_logits": round(reuse_effect, 6), **lv_checks}


# ---------------------------------------------------------------------------------------------
# Output

def gflops(model, K):
    """Multiply-accumulates / 1e9 (fvcore-style "FLOPs") of [coarse stage, coarse + fine stage]."""
    D, p = model.embed_dim, model.patch_size
    H = model.blocks[0].mlp.fc1.out_features
    Hr = model.cfvit.reuse_mlp.fc1.out_features
    C = model.num_classes
    nc = model.coarse_grid[0] * model.coarse_grid[1]
    nf = model.grid_size[0] * model.grid_size[1]

    def blocks(n):
        return len(model.blocks) * (n * (4 * D * D + 2 * D * H) + 2 * n * n * D)

    if is_lv(model):
        # stem (3 convs at half resolution) + projection; the aux head on every non-class token
        c = model.stem_channels

        def embed(n):
            half = n * (p // 2) ** 2
            return half * c * 3 * 49 + 2 * half * c * c * 9 + n * D * c * (p // 2) ** 2

        nt = 4 * K + nc - K
        coarse = embed(nc) + blocks(nc + 1) + D * C * (1 + nc)
        fine = nc * 2 * D * Hr + embed(nf) + blocks(1 + nt) + D * C * (1 + nt)
        return [round(coarse / 1e9, 6), round((coarse + fine) / 1e9, 6)]
    coarse = nc * D * 3 * p * p + blocks(nc + 1) + D * C
    fine = nc * 2 * D * Hr + nf * D * 3 * p * p + blocks(1 + 4 * K + nc - K) + D * C
    return [round(coarse / 1e9, 6), round((coarse + fine) / 1e9, 6)]


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def make_case(case, out_root, photos):
    seed, model, x, inp, thr, d, margins, rejected = choose_seed(case, photos)
    final, dt, checks = self_checks(case, model, x, thr, d)
    name = case["name"]
    nc = model.coarse_grid[0] * model.coarse_grid[1]
    K = cf.num_important(nc)

    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    sd = model.state_dict()
    st.save_file(sd, os.path.join(out, "model.safetensors"), dtype="F32", metadata={"format": "pt"})
    back, _ = st.load_file(os.path.join(out, "model.safetensors"))
    require(list(back) == list(sd) and all(torch.equal(back[k], v) for k, v in sd.items()),
            f"{name}: safetensors round trip")
    var = VARIANTS[variant(case)]
    if is_lv(model):
        cfg = config_for(model, var["arch"], mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD,
                         crop_pct=var["crop_pct"],
                         extra_model_args={"norm_eps": model.norm_eps, "stem_channels": model.stem_channels})
    else:
        cfg = config_for(model, ARCH, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, crop_pct=CROP_PCT)
    cfg["cfvit"] = model.settings()
    write_json(os.path.join(out, "config.json"), cfg)
    save_npy(os.path.join(out, "input.npy"), x.numpy())
    save_npy(os.path.join(out, "coarse_input.npy"), dt["coarse_input"].numpy())
    save_npy(os.path.join(out, "coarse_logits.npy"), dt["coarse_logits"].numpy())
    save_npy(os.path.join(out, "global_attention.npy"), dt["global_attention"].numpy())
    save_npy(os.path.join(out, "fine_logits.npy"), dt["fine_logits"].numpy())
    save_npy(os.path.join(out, "final_logits.npy"), final.numpy())
    write_json(os.path.join(out, "important.json"), {
        "K": K,
        "important": dt["important"].tolist(),
        "cut_margin": [sci(v) for v in margins["cut"]],
        "cut_margin_relative": [sci(v) for v in margins["cut_rel"]],
        "ema_weight_sum": round(ema_weight(model), 12),
        "unimportant": dt["unimportant"].tolist(),
        "fine_indices": dt["fine_indices"].tolist(),
        "near_ties": near_ties(dt["global_attention"], ema_weight(model)),
        "notes": "important: the K = ceil(0.5 Nc) coarse indices (row-major, 0-based, class token excluded) "
                 "with the largest global class attention, in descending order (argsort); unimportant: the "
                 "rest, descending; fine_indices: the 4K fine-grid indices in fine-sequence order (f1 over "
                 "important, then f2, f3, f4). cut_margin: g[K-th] - g[(K+1)-th] (raw g); cut_margin_relative: "
                 "the same divided by ema_weight_sum = 1 - 0.99^(depth - 3), i.e. in attention-probability units. "
                 "near_ties: per image [i, relative gap] for every position i of the full descending order "
                 "(important + unimportant) whose gap to position i + 1 is < 1e-5 (all are >= 2e-6; PyTorch float32 vs float64: <= 1.3e-7; a port with "
                 "exact-scale bilinear coordinates: ~3.5e-6): a float32 port may order those two tokens either way, which changes the fine "
                 "sequence order only (logits to rounding), never the important set.",
    })
    files = {fn: os.path.getsize(os.path.join(out, fn)) for fn in sorted(os.listdir(out))}

    stages = ["coarse" if e else "fine" for e in dt["exit_coarse"].tolist()]
    max_prob = dt["max_prob"].tolist()
    top1_final = top1_margins(final)
    entry = {
        "name": name,
        "variant": variant(case),
        "seed": seed,
        **inp,
        "seeds_rejected": len(rejected),
        "architecture": var["arch"],
        **{k: v for k, v in case["model"].items()},
        "coarse_img_size": model.coarse_img_size,
        "coarse_grid": list(model.coarse_grid),
        "fine_grid": list(model.grid_size),
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
        "reuse_mlp_hidden": model.cfvit.reuse_mlp.fc1.out_features,
        "batch": case["batch"],
        "input_shape": list(x.shape),
        "K": K,
        "fine_tokens": dt["fine_tokens"],
        "plain_fine_tokens": 1 + model.grid_size[0] * model.grid_size[1],
        "threshold": thr,
        "max_coarse_prob": [float(np.float32(v)) for v in max_prob],
        "stages": stages,
        "coarse_top1": dt["coarse_logits"].argmax(-1).tolist(),
        "fine_top1": dt["fine_logits"].argmax(-1).tolist(),
        "final_top1": final.argmax(-1).tolist(),
        "min_cut_margin": sci(min(margins["cut"])),
        "min_cut_margin_relative": sci(min(margins["cut_rel"])),
        "min_order_gap_relative": sci(min(margins["order_rel"])),
        "ema_weight_sum": round(ema_weight(model), 12),
        "min_exit_margin": sci(min(abs(p - thr) for p in max_prob)),
        "min_top1_margin_coarse": sci(min(margins["top1_coarse"])),
        "min_top1_margin_fine": sci(min(margins["top1_fine"])),
        "min_top1_margin_final": sci(min(top1_final)),
        "max_abs_coarse_minus_fine": round(float((dt["coarse_logits"] - dt["fine_logits"]).abs().max()), 6),
        "logits_std": round(float(final.std()), 6),
        "flop": gflops(model, K),
        **({"norm_eps": model.norm_eps, "skip_lam": model.skip_lam, "crop_pct": var["crop_pct"],
            "output": "coarse = (head(cls) + 0.25 max_tokens aux_head(tokens)) / 1.25; "
                      "fine = head(cls) + 0.25 max_tokens aux_head(tokens) (tokens of the fine sequence)"}
           if is_lv(model) else {}),
        **checks,
        "files": files,
    }
    print(f"{name:13s} seed {seed} (rejected {len(rejected):2d}) thr {thr} stages {stages} "
          f"p {[round(v, 4) for v in max_prob]} cut_rel {entry['min_cut_margin_relative']:.2e} "
          f"order_rel {entry['min_order_gap_relative']:.1e} exit {entry['min_exit_margin']:.1e} "
          f"top1 {min(entry['min_top1_margin_coarse'], entry['min_top1_margin_fine']):.3f} "
          f"f64 {max(checks['f32_vs_f64'].values()):.1e}  {sum(files.values()) / 1e3:.0f} KB", flush=True)
    return entry, model, x, final, dt


LV_NUM_BATCHES_TRACKED = 1000


LV_ORIGINAL_NOTES = (
    "Same model, input and threshold as engine/src/test/resources/golden/cfvit/lv_d6_7x7 (weights bit-identical). "
    "The checkpoint uses CF-ViT's own cf_lvvit names: patch_embed.conv1/conv2/conv3.weight (stem, no bias), "
    "patch_embed.bn1/bn2/bn3.{weight,bias,running_mean,running_var,num_batches_tracked} (BatchNorm2d eps 1e-5, "
    "eval: running statistics; num_batches_tracked int64 0-d = 1000, unused), patch_embed.proj.* (kernel = stride "
    "= 4 on the 16-channel stem output; total stride 8), pos_embed_list.0 (coarse) / .1 (fine), blocks.* without "
    "attn.qkv.bias, norm.*, head.*, aux_head.*, reuse_block.0.* (LayerNorm eps 1e-5), reuse_block.1.fc1/fc2.* "
    "(MLP D -> 3D -> D); 'flop' = [coarse, coarse + fine] GMACs of this tiny model. Blocks: scores (q * scale) @ k^T, "
    "both residual branches divided by skip_lam = 2 (attn.proj and mlp.fc2 are stored as trained, not pre-divided). "
    "Output: coarse = (head(cls) + 0.25 * max over the patch tokens of aux_head(tokens)) / 1.25 (the exit decision "
    "uses its softmax); fine = head(cls) + 0.25 * max over the fine sequence's non-class tokens of aux_head (no "
    "/1.25). The input is already normalised (ImageNet mean/std); the coarse input is F.interpolate(input, 56x56, "
    "bilinear, align_corners=True). final_logits: coarse logits for images with max softmax >= threshold (stage "
    "'coarse'), else fine logits. Logits are float32 values written as the shortest decimal of their double widening.")


def write_original_format(tasks_out, entry, model, x, final, dt):
    """cf_d6_7x7 / lv_d6_7x7 in ChenMnZ/CF-ViT's checkpoint format, for the converter path."""
    name = entry["name"]
    lv = is_lv(model)
    os.makedirs(tasks_out, exist_ok=True)
    sd = model.state_dict()
    if lv:
        original = cf.to_original_lvvit(sd, num_batches_tracked=LV_NUM_BATCHES_TRACKED)
        canon_back = cf.from_original_lvvit(original)
    else:
        original = cf.to_original(sd)
        canon_back = cf.from_original(original)
    require(dict(canon_back).keys() == dict(sd).keys(), "original-name round trip")
    pth = os.path.join(tasks_out, name + ".pth")
    torch.save({"model": original, "flop": entry["flop"]}, pth)
    back = torch.load(pth, map_location="cpu")
    require(list(back) == ["model", "flop"] and list(back["model"]) == list(original), "pth keys")
    shape = {k: entry[k] for k in ("img_size", "patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio",
                                   "num_classes")}
    if lv:
        canon = cf.from_original_lvvit(back["model"])
        m2 = cf.CFLVViT(stem_channels=entry["stem_channels"], **shape).eval()
    else:
        canon = cf.from_original(back["model"])
        m2 = cf.CFViT(**shape).eval()
    m2.load_state_dict(canon)
    with torch.inference_mode():
        f2, d2 = cf.forward_cfvit(m2, x, entry["threshold"])
    require(torch.equal(f2, final), "reloaded .pth gives other logits")
    save_npy(os.path.join(tasks_out, name + ".input.npy"), x.numpy())
    doc = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "checkpoint": name + ".pth",
        "checkpoint_sha256": sha256_bytes(open(pth, "rb").read()),
        "input": name + ".input.npy",
        "input_shape": list(x.shape),
        "input_seed": entry["input_seed"],
        "weight_seed": entry["seed"],
        "not_in_checkpoint": dict({"num_heads": entry["num_heads"], "norm_eps": model.norm_eps,
                                   "reuse_norm_eps": model.cfvit.reuse_norm.eps},
                                  **({"skip_lam": model.skip_lam, "bn_eps": cf.LV_BN_EPS} if lv else {})),
        "cfvit": model.settings(),
        "coarse_img_size": model.coarse_img_size,
        "fine_img_size": model.img_size,
        "threshold": entry["threshold"],
        "max_coarse_prob": entry["max_coarse_prob"],
        "stages": entry["stages"],
        "final_top1": entry["final_top1"],
        "final_logits": f32list(final),
        "coarse_logits": f32list(dt["coarse_logits"]),
        "fine_logits": f32list(dt["fine_logits"]),
        "important": dt["important"].tolist(),
        "min_exit_margin": entry["min_exit_margin"],
        "min_top1_margin_final": entry["min_top1_margin_final"],
        "notes": LV_ORIGINAL_NOTES if lv else
                 "Same model, input and threshold as engine/src/test/resources/golden/cfvit/cf_d6_7x7 (weights "
                 "bit-identical). The checkpoint uses CF-ViT's own names: pos_embed_list.0 (coarse) / .1 (fine), "
                 "reuse_block.0.* (LayerNorm), reuse_block.1.fc1/fc2.* (MLP), timm names otherwise; 'flop' = "
                 "[coarse, coarse + fine] GMACs of this tiny model. The input is already normalised (ImageNet "
                 "mean/std); the coarse input is F.interpolate(input, 56x56, bilinear, align_corners=True). "
                 "final_logits: coarse logits for images with max softmax >= threshold (stage 'coarse'), "
                 "else fine logits. Logits are float32 values written as the shortest decimal of their "
                 "double widening.",
    }
    write_json(os.path.join(tasks_out, name + ".expected.json"), doc)
    return {fn: os.path.getsize(os.path.join(tasks_out, fn))
            for fn in (name + ".pth", name + ".input.npy", name + ".expected.json")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--tasks-out", default=DEFAULT_TASKS_OUT)
    ap.add_argument("--cases", default=None,
                    help="comma-separated case names to regenerate (default: all); the other cases' entries "
                         "in cases.json are kept from the existing file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    names = [c["name"] for c in CASES]
    wanted = names if args.cases is None else args.cases.split(",")
    require(all(n in names for n in wanted), f"unknown case in {wanted}; known: {names}")
    old = {}
    if args.cases is not None:
        with open(os.path.join(args.out, "cases.json")) as f:
            prev = json.load(f)
        old = {e["name"]: e for e in prev["cases"]}
        old_tasks = prev.get("original_format", {}).get("cases", {})
    cache = {}

    def photos(size, crop_pct):
        if (size, crop_pct) not in cache:
            cache[size, crop_pct] = photo_batch(size, crop_pct)
        return cache[size, crop_pct]

    entries, tasks_files = [], {}
    for case in CASES:
        if case["name"] not in wanted:
            require(case["name"] in old, f"{case['name']} not in the existing cases.json")
            entries.append(old[case["name"]])
            if case["name"] in ORIGINAL_FORMAT_CASES:
                tasks_files[case["name"]] = old_tasks[case["name"]]
            continue
        entry, model, x, final, dt = make_case(case, args.out, photos)
        entries.append(entry)
        if case["name"] in ORIGINAL_FORMAT_CASES:
            tasks_files[case["name"]] = write_original_format(args.tasks_out, entry, model, x, final, dt)
    manifest = {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "notes": "CF-ViT two-stage inference, ALGORITHMS.md §3.2-3.6, float32 PyTorch "
                 "(tools/hourglass_ref/cfvit.py). Coarse image = input resized to half size, bilinear, "
                 "align_corners=True; EMA beta 0.99 over blocks 3..depth-1 (G starts at 0); K = ceil(0.5 Nc); "
                 "fine sequence = [cls + pos[0]] + 4K fine tokens (patch + reuse + pos, grouped by sub-position "
                 "f1,f2,f3,f4, importance order within) + the Nc-K unimportant coarse INPUT embeddings "
                 "(patch + coarse pos) in descending importance; exit where max softmax(coarse) >= threshold. "
                 "Margins: cut/order gaps relative = raw g gap / ema_weight_sum; exit margin = "
                 "|max prob - threshold|; top-1 margins in logits. npy files are float32 little-endian C order. "
                 "variant 'deit': DeiT blocks, patch conv, head(cls). variant 'lvvit' (CF-LV-ViT, §3.6 'LV-ViT-S "
                 "differences'): conv stem (conv7x7 s2 + BN + ReLU, 2 x conv3x3 + BN + ReLU; lvvit.stem.*) then "
                 "patch_embed.proj (kernel = stride = patch_size/2), blocks without qkv bias with (q*scale)@k^T and "
                 "residual branches / skip_lam 2, every LayerNorm eps 1e-5; coarse logits = (head(cls) + 0.25 max "
                 "over tokens of lvvit.aux_head(tokens)) / 1.25 (exit on their softmax), fine logits = head(cls) + "
                 "0.25 max over the fine sequence's non-class tokens of aux_head (no /1.25).",
        "cases": entries,
        "original_format": {"cases": tasks_files},
    }
    write_json(os.path.join(args.out, "cases.json"), manifest)
    total = sum(sum(e["files"].values()) for e in entries) + os.path.getsize(os.path.join(args.out, "cases.json"))
    tasks_total = sum(sum(f.values()) for f in tasks_files.values())
    print(f"total {total / 1e6:.2f} MB in {args.out}; {tasks_total / 1e6:.2f} MB in {args.tasks_out}")


if __name__ == "__main__":
    main()
