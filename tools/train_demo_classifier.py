#!/usr/bin/env python3
"""Train the small ViT shape/texture classifier that `hourglass demo` runs offline, and write
its golden end-to-end fixtures.

    /usr/bin/python3 tools/train_demo_classifier.py [--steps 2400] [--seed 20240611] [--out DIR]
    /usr/bin/python3 tools/train_demo_classifier.py --preview /tmp/grid.png   # look at the data
    /usr/bin/python3 tools/train_demo_classifier.py --fixtures-only           # redo images + expected.json
    /usr/bin/python3 tools/train_demo_classifier.py --export-val bench-out/shapes-vit-val  # held-out PNGs

Data: a procedural generator of 64x64 RGB images (`render`), one of ten classes (CLASSES):
six shapes (circle, square, triangle, star, cross, ring) drawn anti-aliased at a random
position, size, rotation and colour on a noisy two-colour gradient background, and four
full-frame textures (horizontal stripes, vertical stripes, checkerboard, dots) with random
period, phase, small tilt and colours. Foreground and background always differ by >= 0.25 in
luminance. Everything is a function of the seed: batch i of the training stream is drawn from
torch.Generator(seed * 1_000_003 + i), the held-out set from its own seed, so a rerun sees the
same images. Shapes are described in resolution-independent units, so the same parameters can
be rendered at 64 (training) or 128 (the demo images, which the eval transform then resizes
to 64). Every other training batch is rendered at 96 or 128 and downscaled with antialiased
bicubic so that resized inputs are in distribution; training draws the (harder) shape classes
twice as often as the textures, the held-out sets are class-balanced.

Model: hourglass_ref.vit.VisionTransformer (timm names) img 64, patch 8, D 96, depth 4,
3 heads, MLP 384, class token, 10 classes, timm-style init; AdamW (lr 1.5e-3, wd 0.05) with
5 % linear warm-up and cosine decay, label smoothing 0.1, batch 64 of fresh images every step,
2 threads (OMP_WAIT_POLICY=PASSIVE unless set).

Writes (default under tasks/src/main/resources/dev/hourglass/demo/):
    shapes-vit/model.safetensors   F32, timm parameter names
    shapes-vit/config.json         timm hub layout + label_names
    shapes-vit/TRAINING.md         how it was made, measured accuracy and time
    images/NN-<class>.png          8 demo images, 128x128 RGB, 8-bit
    expected.json                  PyTorch float32 logits / top-5 through timm's eval transform
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

# Set before torch loads libgomp: with the default wait policy, idle OpenMP workers spin and
# starve the pthread OpenBLAS threads (and anything else on a shared 2-core box); measured
# 0.35 s vs 0.6-2 s per training step here. Results do not depend on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import VisionTransformer, config_for  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tasks", "src", "main", "resources", "dev", "hourglass", "demo")

CLASSES = ["circle", "square", "triangle", "star", "cross", "ring",
           "horizontal stripes", "vertical stripes", "checkerboard", "dots"]
SHAPES = 6  # classes [0, SHAPES) are shapes on a background, the rest full-frame textures

ARCH = "vit_tiny_patch8_64"
MODEL_ARGS = dict(img_size=64, patch_size=8, embed_dim=96, depth=4, num_heads=3, mlp_ratio=4.0,
                  qkv_bias=True, num_classes=len(CLASSES))
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
CROP_PCT = 1.0
DEFAULT_SEED = 20240611
HELDOUT_SEED_OFFSET = 7_777_777  # held-out images come from seed + this, never from the training stream

# Demo images: (file name, class index, generator seed). Rendered at DEMO_SIZE.
DEMO_SIZE = 128
DEMO_IMAGES = [("01-circle", 0, 101), ("02-square", 1, 102), ("03-triangle", 2, 103), ("04-star", 3, 104),
               ("05-cross", 4, 105), ("06-ring", 5, 106), ("07-horizontal-stripes", 6, 107),
               ("08-checkerboard", 8, 108)]


# --------------------------------------------------------------------------------------------
# Procedural data
# --------------------------------------------------------------------------------------------

def _u(g, n, lo, hi, *extra):
    return lo + (hi - lo) * torch.rand((n,) + extra, generator=g)


def _luma(c):
    return 0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2]


def sample_params(g, labels):
    """Resolution-independent parameters for each label (a LongTensor [B]). Every draw is made
    for every sample whatever its class, so the stream of random numbers does not depend on
    the labels' order."""
    n = labels.shape[0]
    p = {"label": labels}
    # Background: two colours blended along a random direction.
    bg_a = torch.rand(n, 3, generator=g)
    bg_b = (bg_a + _u(g, n, -0.35, 0.35, 3)).clamp(0, 1)
    p["bg_a"], p["bg_b"] = bg_a, bg_b
    p["grad_angle"] = _u(g, n, 0, 2 * math.pi)
    # Foreground: first of 16 candidates with >= 0.25 luminance contrast to both background
    # colours; otherwise black or white, whichever is further away.
    cand = torch.rand(n, 16, 3, generator=g)
    la, lb, lc = _luma(bg_a)[:, None], _luma(bg_b)[:, None], _luma(cand)
    ok = ((lc - la).abs() >= 0.25) & ((lc - lb).abs() >= 0.25)
    first = torch.where(ok.any(1), ok.float().argmax(1), torch.zeros(n, dtype=torch.long))
    fg = cand[torch.arange(n), first]
    fallback = torch.where(((la + lb) / 2 > 0.5), torch.zeros(n, 1), torch.ones(n, 1)).expand(n, 3)
    p["fg"] = torch.where(ok.any(1)[:, None], fg, fallback)
    # Noise: per-pixel Gaussian and a smooth low-frequency field.
    p["pixel_noise"] = _u(g, n, 0.0, 0.07)
    p["smooth_noise"] = _u(g, n, 0.0, 0.08)[:, None, None, None] * torch.randn(n, 3, 4, 4, generator=g)
    # Shapes: size, position (inside the frame), rotation, one shape-specific ratio.
    r = _u(g, n, 0.16, 0.34)
    p["r"] = r
    p["cx"] = 0.5 + _u(g, n, -1, 1) * (0.47 - r)
    p["cy"] = 0.5 + _u(g, n, -1, 1) * (0.47 - r)
    p["rot"] = _u(g, n, 0, 2 * math.pi)
    p["aux"] = _u(g, n, 0, 1)
    # Textures: period, phases, duty cycle, tilt.
    p["period"] = _u(g, n, 0, 1)
    p["phase_u"] = _u(g, n, 0, 1)
    p["phase_v"] = _u(g, n, 0, 1)
    p["duty"] = _u(g, n, 0.4, 0.6)
    p["tilt"] = _u(g, n, -1, 1) * math.radians(12)
    return p


def _coverage(sdf, size):
    """Anti-aliased coverage of the region sdf < 0 (sdf in image-width units)."""
    return (0.5 - sdf * size).clamp(0, 1)


def _box(u, v, hu, hv):
    du, dv = u.abs() - hu, v.abs() - hv
    outside = torch.sqrt(du.clamp(min=0) ** 2 + dv.clamp(min=0) ** 2)
    return outside + torch.maximum(du, dv).clamp(max=0)


def _convex(u, v, verts):
    """Signed distance (exact inside, a close under-estimate just outside corners) to the
    convex polygon verts [B, K, 2] (any winding): max over edges of the outward offset."""
    a = verts
    b = torch.roll(verts, -1, dims=1)
    e = b - a
    nrm = torch.stack([e[..., 1], -e[..., 0]], -1)
    nrm = nrm / nrm.norm(dim=-1, keepdim=True)
    centre = verts.mean(1, keepdim=True)
    flip = ((centre - a) * nrm).sum(-1, keepdim=True) > 0
    nrm = torch.where(flip, -nrm, nrm)
    off = (a * nrm).sum(-1)                                       # [B, K]
    d = u[:, None] * nrm[..., 0, None, None] + v[:, None] * nrm[..., 1, None, None] - off[..., None, None]
    return d.max(1).values


def _ring_of(radius, angle0, k):
    """[B, k, 2] points at `radius` around the origin, starting at angle0, step 2*pi/k."""
    ang = angle0[:, None] + torch.arange(k) * (2 * math.pi / k)
    return torch.stack([radius[:, None] * torch.cos(ang), radius[:, None] * torch.sin(ang)], -1)


def _stripes(t, period, phase, duty):
    """sdf of stripes across coordinate t (stripe centres at (k + 0.5 - phase) * period)."""
    f = torch.frac(t / period + phase + 100.0)
    return ((f - 0.5).abs() - duty / 2) * period


def render(p, size, g):
    """Images [B, 3, size, size] in [0, 1] (float, not yet quantized) for params p."""
    n = p["label"].shape[0]
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(c, c, indexing="ij")
    x, y = x.expand(n, size, size), y.expand(n, size, size)

    def col(v):
        return v[:, None, None]

    # Background gradient.
    ga = p["grad_angle"]
    t = ((x - 0.5) * col(torch.cos(ga)) + (y - 0.5) * col(torch.sin(ga)) + 0.5).clamp(0, 1)
    bg = p["bg_a"][:, :, None, None] + (p["bg_b"] - p["bg_a"])[:, :, None, None] * t[:, None]

    # Local frame of the shape.
    rot = p["rot"]
    dx, dy = x - col(p["cx"]), y - col(p["cy"])
    cr, sr = col(torch.cos(rot)), col(torch.sin(rot))
    u, v = dx * cr + dy * sr, -dx * sr + dy * cr
    r, aux = p["r"], p["aux"]
    rr = col(r)
    dist = torch.sqrt(u * u + v * v)
    up = torch.full_like(r, -math.pi / 2)   # first vertex points "up" in the local frame

    sdf = torch.empty(n, size, size)
    lab = p["label"]
    for k in range(len(CLASSES)):
        m = lab == k
        if not m.any():
            continue
        if k == 0:      # circle
            d = dist[m] - rr[m]
        elif k == 1:    # square
            h = 0.82 * rr[m]
            d = _box(u[m], v[m], h, h)
        elif k == 2:    # triangle (equilateral)
            d = _convex(u[m], v[m], _ring_of(1.15 * r[m], up[m], 3))
        elif k == 3:    # five-pointed star, exact sdf by folding into one 36-degree half-sector
            ro = 1.15 * rr[m]
            ri = ro * (0.38 + 0.12 * col(aux[m]))
            an = math.pi / 5
            phi = torch.atan2(v[m], u[m]) + math.pi / 2          # 0 = direction of the top tip
            b = (torch.remainder(phi, 2 * an) - an).abs()         # [0, an]: 0 = tip, an = inner vertex
            qx, qy = dist[m] * torch.cos(b), dist[m] * torch.sin(b)
            ex, ey = ri * math.cos(an) - ro, ri * math.sin(an)    # segment tip (ro, 0) -> inner vertex
            wx, wy = qx - ro, qy
            t = ((wx * ex + wy * ey) / (ex * ex + ey * ey)).clamp(0, 1)
            d = torch.sqrt((wx - t * ex) ** 2 + (wy - t * ey) ** 2)
            d = torch.where(ex * wy - ey * wx > 0, -d, d)         # origin side of the edge = inside
        elif k == 4:    # cross (plus sign)
            w = rr[m] * (0.28 + 0.12 * col(aux[m]))
            d = torch.minimum(_box(u[m], v[m], rr[m], w), _box(u[m], v[m], w, rr[m]))
        elif k == 5:    # ring
            ro = 1.05 * rr[m]
            th = rr[m] * (0.25 + 0.2 * col(aux[m]))
            d = (dist[m] - (ro - th / 2)).abs() - th / 2
        else:           # textures: full frame, small tilt
            tl = col(p["tilt"][m])
            tu = (x[m] - 0.5) * torch.cos(tl) + (y[m] - 0.5) * torch.sin(tl)
            tv = -(x[m] - 0.5) * torch.sin(tl) + (y[m] - 0.5) * torch.cos(tl)
            per = p["period"][m]
            if k in (6, 7):   # stripes: period 0.10..0.22 of the frame
                pr = col(0.10 + 0.12 * per)
                along = tv if k == 6 else tu
                phase = col(p["phase_u"][m] if k == 6 else p["phase_v"][m])
                d = _stripes(along, pr, phase, col(p["duty"][m]))
            elif k == 8:      # checkerboard: xor of two square waves, cell 0.08..0.18
                pr = col(0.16 + 0.20 * per)
                cu = _coverage(_stripes(tu, pr, col(p["phase_u"][m]), 0.5), size)
                cv = _coverage(_stripes(tv, pr, col(p["phase_v"][m]), 0.5), size)
                cov = cu + cv - 2 * cu * cv
                # turn the coverage back into an equivalent sdf so the blend below is shared
                d = (0.5 - cov) / size
            else:             # dots on a square lattice, any orientation
                pr = col(0.13 + 0.09 * per)
                ang = col(p["rot"][m])
                du = (x[m] - 0.5) * torch.cos(ang) + (y[m] - 0.5) * torch.sin(ang)
                dv = -(x[m] - 0.5) * torch.sin(ang) + (y[m] - 0.5) * torch.cos(ang)
                fu = torch.frac(du / pr + col(p["phase_u"][m]) + 100.0) - 0.5
                fv = torch.frac(dv / pr + col(p["phase_v"][m]) + 100.0) - 0.5
                d = torch.sqrt(fu * fu + fv * fv) * pr - pr * (0.22 + 0.12 * col(aux[m]))
        sdf[m] = d

    cov = _coverage(sdf, size)[:, None]
    img = bg * (1 - cov) + p["fg"][:, :, None, None] * cov
    img = img + F.interpolate(p["smooth_noise"], size=(size, size), mode="bilinear", align_corners=False)
    img = img + p["pixel_noise"][:, None, None, None] * torch.randn(n, 3, size, size, generator=g)
    return img.clamp(0, 1)


def quantize(img):
    """To what an 8-bit image file holds: round to k/255."""
    return torch.round(img * 255) / 255


def make_batch(seed, n, size=64, labels=None, out_size=64, weighted=False):
    """One deterministic batch: (images quantized to 8 bit [n,3,out,out] in [0,1], labels).
    Rendered at `size`; if that differs from out_size, downscaled with antialiased bicubic
    (close to Pillow's resize, which the eval transform uses) and quantized again."""
    g = torch.Generator().manual_seed(seed)
    if labels is None:
        if weighted:   # training: the shapes are harder than the textures, draw them twice as often
            w = torch.tensor([2.0] * SHAPES + [1.0] * (len(CLASSES) - SHAPES))
            labels = torch.multinomial(w, n, replacement=True, generator=g)
        else:
            labels = torch.randint(len(CLASSES), (n,), generator=g)
    p = sample_params(g, labels)
    img = quantize(render(p, size, g))
    if size != out_size:
        img = quantize(F.interpolate(img, size=(out_size, out_size), mode="bicubic",
                                     antialias=True, align_corners=False).clamp(0, 1))
    return img, labels


def normalize(img):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (img - mean) / std


def to_pil(img):
    """[3, H, W] in [0, 1], already quantized -> PIL RGB image."""
    from PIL import Image
    arr = (img.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(arr, mode="RGB")


# --------------------------------------------------------------------------------------------
# Model and training
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def init_timm(model, seed):
    """timm's default ViT init ('init_weights_vit_timm'): trunc-normal(0.02) linear weights,
    zero biases, LayerNorm (1, 0), pos_embed trunc-normal(0.02), cls_token N(0, 1e-6); the
    patch conv keeps PyTorch's default init."""
    torch.manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            nn.init.trunc_normal_(mod.weight, std=0.02)
            nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.LayerNorm):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)
    nn.init.trunc_normal_(model.pos_embed, std=0.02)
    nn.init.normal_(model.cls_token, std=1e-6)
    return model


def lr_at(step, steps, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def evaluate(model, images, labels, batch=250):
    model.eval()
    correct = 0
    per_class = torch.zeros(len(CLASSES), 2)
    for i in range(0, images.shape[0], batch):
        pred = model(normalize(images[i:i + batch])).argmax(1)
        y = labels[i:i + batch]
        correct += int((pred == y).sum())
        for c in range(len(CLASSES)):
            per_class[c, 0] += int(((pred == y) & (y == c)).sum())
            per_class[c, 1] += int((y == c).sum())
    return correct / images.shape[0], per_class


def heldout_set(seed, n=1000):
    """n images at 64x64, exactly n // 10 per class, in a fixed shuffled order."""
    g = torch.Generator().manual_seed(seed + HELDOUT_SEED_OFFSET)
    labels = torch.arange(n) % len(CLASSES)
    labels = labels[torch.randperm(n, generator=g)]
    return make_batch(seed + HELDOUT_SEED_OFFSET + 1, n, labels=labels)


def train(args):
    torch.manual_seed(args.seed)
    model = init_timm(VisionTransformer(**MODEL_ARGS), args.seed)
    decay, no_decay = [], []
    for name, prm in model.named_parameters():
        (no_decay if prm.ndim <= 1 or name in ("pos_embed", "cls_token") else decay).append(prm)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    warmup = max(1, int(args.steps * 0.05))
    val_x, val_y = heldout_set(args.seed)

    print(f"model {ARCH}: {sum(p.numel() for p in model.parameters())} parameters; "
          f"{args.steps} steps x batch {args.batch}, AdamW lr {args.lr} wd {args.weight_decay}, "
          f"warm-up {warmup}, cosine, label smoothing {args.label_smoothing}, "
          f"{torch.get_num_threads()} threads", flush=True)
    t0 = time.perf_counter()
    run_loss, run_acc, seen = 0.0, 0.0, 0
    for step in range(args.steps):
        # Every other batch is rendered larger and downscaled (96 and 128 alternate).
        size = (96, 128)[(step // 2) % 2] if step % 2 else 64
        x, y = make_batch(args.seed * 1_000_003 + step, args.batch, size=size, weighted=True)
        lr = lr_at(step, args.steps, args.lr, warmup, args.lr * 0.01)
        for grp in opt.param_groups:
            grp["lr"] = lr
        model.train()
        logits = model(normalize(x))
        loss = loss_fn(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run_loss += float(loss)
        run_acc += float((logits.argmax(1) == y).float().mean())
        seen += 1
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            msg = (f"step {step + 1:5d}/{args.steps}  lr {lr:.2e}  loss {run_loss / seen:.4f}  "
                   f"train acc {run_acc / seen:.3f}  {time.perf_counter() - t0:6.1f} s")
            if (step + 1) % (args.log_every * 10) == 0 or step + 1 == args.steps:
                acc, _ = evaluate(model, val_x, val_y)
                msg += f"  held-out acc {acc:.4f}"
            print(msg, flush=True)
            run_loss, run_acc, seen = 0.0, 0.0, 0
    train_seconds = time.perf_counter() - t0
    model.eval()
    return model, train_seconds


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------

def eval_transform():
    """timm's eval transform for this model's pretrained_cfg, as timm builds it
    (transforms_factory.transforms_imagenet_eval) with torchvision 0.14."""
    from torchvision import transforms
    from torchvision.transforms import InterpolationMode
    scale = int(math.floor(MODEL_ARGS["img_size"] / CROP_PCT))
    return transforms.Compose([
        transforms.Resize(scale, interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(MODEL_ARGS["img_size"]),
        transforms.ToTensor(),
        transforms.Normalize(mean=torch.tensor(MEAN), std=torch.tensor(STD)),
    ])


def demo_image(cls, seed):
    img, _ = make_batch(seed, 1, size=DEMO_SIZE, labels=torch.tensor([cls]), out_size=DEMO_SIZE)
    return to_pil(img[0])


def pipeline_batches(seed, n=1000):
    """The images pipeline_accuracy evaluates on, 100 at a time: (images [100, 3, 128, 128]
    quantized to 8 bit, labels [100]); class-balanced over all n, in a fixed shuffled order."""
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % len(CLASSES))[torch.randperm(n, generator=g)]
    for i in range(0, n, 100):
        imgs, _ = make_batch(seed + 1 + i, 100, size=DEMO_SIZE, labels=labels[i:i + 100], out_size=DEMO_SIZE)
        yield imgs, labels[i:i + 100]


@torch.no_grad()
def pipeline_accuracy(model, seed, n=1000):
    """Accuracy on n fresh images rendered at 128x128, stored as 8-bit RGB and passed through
    the real eval transform (PIL bicubic resize to 64 etc.), i.e. the path the demo takes."""
    tf = eval_transform()
    correct = 0
    for imgs, labels in pipeline_batches(seed, n):
        x = torch.stack([tf(to_pil(im)) for im in imgs])
        correct += int((model(x).argmax(1) == labels).sum())
    return correct / n


@torch.no_grad()
def export_val(model, folder, seed, count):
    """Writes the first `count` images of the set pipeline_accuracy evaluates on (the same
    images when count <= 1000: held-out, never seen in training) as 128x128 8-bit RGB PNGs,
    FOLDER/images/NNNN.png, and FOLDER/labels.tsv: file, class index, class name and the
    PyTorch float32 model's top-1 through the eval transform (for cross-checks; without
    torchvision, through the same steps written with PIL: bicubic resize of the square image to
    64, /255, normalise)."""
    try:
        tf, how = eval_transform(), "torchvision eval transform"
    except ImportError:
        how = "eval transform written with PIL (no torchvision)"

        def tf(pil):
            from PIL import Image
            side = MODEL_ARGS["img_size"]
            arr = np.asarray(pil.resize((side, side), Image.BICUBIC), dtype=np.float32) / 255
            x = torch.from_numpy(arr).permute(2, 0, 1)
            return (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    img_dir = os.path.join(folder, "images")
    os.makedirs(img_dir, exist_ok=True)
    n = max(1000, -(-count // 100) * 100)
    rows = ["file\tlabel\tclass\ttorch_top1"]
    correct = 0
    for b, (imgs, labels) in enumerate(pipeline_batches(seed, n)):
        if b * 100 >= count:
            break
        pils = [to_pil(im) for im in imgs[:count - b * 100]]
        pred = model(torch.stack([tf(p) for p in pils])).argmax(1)
        for j, pil in enumerate(pils):
            name = f"{b * 100 + j:04d}.png"
            pil.save(os.path.join(img_dir, name), format="PNG", optimize=False, compress_level=6)
            y = int(labels[j])
            rows.append(f"images/{name}\t{y}\t{CLASSES[y]}\t{int(pred[j])}")
            correct += int(pred[j]) == y
    with open(os.path.join(folder, "labels.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {count} images and labels.tsv to {folder}; PyTorch float32 top-1 accuracy on them "
          f"{correct / count:.4f} ({how})")


def f32(v):
    """A float32 as the shortest decimal that reads back to exactly that float32 value via
    double (Python's repr of the widened double)."""
    return float(np.float32(v))


def write_fixtures(model, out):
    from PIL import Image
    img_dir = os.path.join(out, "images")
    os.makedirs(img_dir, exist_ok=True)
    tf = eval_transform()
    m64 = VisionTransformer(**MODEL_ARGS).double().eval()
    m64.load_state_dict(model.state_dict())
    entries = []
    for name, cls, seed in DEMO_IMAGES:
        path = os.path.join(img_dir, name + ".png")
        demo_image(cls, seed).save(path, format="PNG", optimize=False, compress_level=9)
        # Re-read the file exactly as timm's ImageDataset / the demo does.
        with Image.open(path) as im:
            pil = im.convert("RGB")
        x = tf(pil).unsqueeze(0)                       # [1, 3, 64, 64] float32
        with torch.inference_mode():
            logits = model(x)[0]
            probs = torch.softmax(logits, dim=0)
            l64 = m64(x.double())[0]
        top = torch.topk(logits, 5)
        entries.append({
            "file": f"images/{name}.png",
            "image_size": [pil.height, pil.width],
            "true_index": cls,
            "true_label": CLASSES[cls],
            "generator_seed": seed,
            "input_sha256": hashlib.sha256(x.numpy().astype("<f4").tobytes()).hexdigest(),
            "input_channel_sums": [float(s) for s in x[0].double().sum(dim=(1, 2))],
            "top5": [{"index": int(i), "label": CLASSES[int(i)], "probability": f32(probs[i]),
                      "logit": f32(logits[i])} for i in top.indices],
            "logits": [f32(v) for v in logits],
            "f32_vs_f64_max_abs_logits": float(f"{float((logits.double() - l64).abs().max()):.3e}"),
        })
        pred = entries[-1]["top5"][0]
        print(f"{name:26s} {pil.width}x{pil.height} true {CLASSES[cls]:18s} -> {pred['label']:18s} "
              f"p {pred['probability']:.4f}  logit {pred['logit']:.4f}")
    with open(os.path.join(out, "shapes-vit", "model.safetensors"), "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    expected = {
        "generator": "tools/train_demo_classifier.py",
        "model": "shapes-vit",
        "model_sha256": model_sha,
        "torch_version": torch.__version__,
        "preprocessing": (
            "PIL Image.open(file).convert('RGB'); torchvision 0.14 Resize(64, "
            "interpolation=BICUBIC) (PIL resize of the shorter side to 64); CenterCrop(64); "
            "ToTensor (uint8 / 255, float32, CHW); Normalize(mean, std) in float32; batch 1"),
        "mean": list(MEAN),
        "std": list(STD),
        "input_sha256": "sha256 of the normalized float32 input [1,3,64,64] as little-endian C-order bytes",
        "label_names": CLASSES,
        "notes": "logits/probabilities are PyTorch float32 (eval, batch 1, CPU); probabilities = "
                 "softmax(logits) in float32; every number is the exact float32 value written as "
                 "the shortest decimal of its double widening. f32_vs_f64_max_abs_logits: the same "
                 "input through a float64 copy of the model.",
        "images": entries,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    return entries


def write_model(model, out):
    d = os.path.join(out, "shapes-vit")
    os.makedirs(d, exist_ok=True)
    st.save_file(model.state_dict(), os.path.join(d, "model.safetensors"), dtype="F32",
                 metadata={"format": "pt"})
    cfg = config_for(model, ARCH, crop_pct=CROP_PCT, mean=MEAN, std=STD)
    cfg["model_args"].pop("distilled")   # not a timm argument; the model is not distilled
    cfg["label_names"] = list(CLASSES)
    cfg["pretrained_cfg"]["label_names"] = list(CLASSES)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    back, _ = st.load_file(os.path.join(d, "model.safetensors"))
    for k, v in model.state_dict().items():
        assert torch.equal(back[k], v), k


def write_training_md(out, args, report):
    d = os.path.join(out, "shapes-vit")
    sizes = {fn: os.path.getsize(os.path.join(d, fn)) for fn in ("model.safetensors", "config.json")}
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    per_class = "\n".join(f"| {name} | {ok}/{n} |" for name, (ok, n) in report["per_class"].items())
    demo = "\n".join(f"| {e['file']} | {e['true_label']} | {e['top5'][0]['label']} | {e['top5'][0]['probability']:.4f} |"
                     for e in report["demo"])
    text = f"""# shapes-vit: how it was made

A {report['params']:,}-parameter ViT ({ARCH}: 64x64 input, patch 8, embed dim 96, depth 4,
3 heads, MLP 384, class token, LayerNorm eps 1e-6, exact GELU, timm parameter names) that
tells apart {len(CLASSES)} kinds of procedurally generated images: {", ".join(CLASSES)}.
Written by `tools/train_demo_classifier.py` (see tools/README.md); nothing here comes from
outside the repository.

## Result

* Held-out accuracy: **{report['heldout_acc'] * 100:.1f} %** on 1000 generated 64x64 images (100 per class,
  seed {args.seed} + {HELDOUT_SEED_OFFSET}, never seen in training).
* Through the real eval transform: {report['pipeline_acc'] * 100:.1f} % on another 1000 images rendered at
  128x128, stored as 8-bit RGB and resized by PIL bicubic to 64 (the path `hourglass demo` takes).
* Demo images: {report['demo_correct']}/{len(report['demo'])} classified correctly.
* Training time: **{report['seconds']:.0f} s** wall ({args.steps} steps), {args.threads} threads on a shared
  {os.cpu_count()}-core machine (1-minute load average {report['load_before']:.2f} before, {report['load_after']:.2f} after;
  this run itself accounts for about {args.threads} of it), torch {torch.__version__}.

| class | held-out correct |
|---|---|
{per_class}

| demo image | class | top-1 | probability |
|---|---|---|---|
{demo}

## Training

* Data: fresh batches from the generator every step (batch {args.batch}, {args.steps * args.batch:,} images in all);
  batch i is drawn from `torch.Generator(seed * 1_000_003 + i)`; every other batch is rendered at
  96 or 128 and downscaled with antialiased bicubic; shape classes are drawn twice as often as
  textures.
* Optimiser: AdamW, lr {args.lr} (5 % linear warm-up, cosine to 1 % of peak), weight decay
  {args.weight_decay} (not on biases, LayerNorm, pos_embed, cls_token), betas (0.9, 0.999), gradient
  norm clipped at 1.0, label smoothing {args.label_smoothing}; timm's default ViT init.
* Seed: **{args.seed}**.
* Normalisation: mean {list(MEAN)}, std {list(STD)}; `crop_pct` {CROP_PCT} (Resize(64) then CenterCrop(64)).

## Files

* `model.safetensors`: F32, timm names, {sizes['model.safetensors']:,} bytes, sha256 `{sha}`.
* `config.json`: timm hub layout ({sizes['config.json']:,} bytes); `label_names` at the top level and in
  `pretrained_cfg`.
* `../images/*.png`, `../expected.json`: demo images and the PyTorch float32 answers for them.

## Regenerate

```
/usr/bin/python3 tools/train_demo_classifier.py                  # train, then write everything here
/usr/bin/python3 tools/train_demo_classifier.py --fixtures-only  # only images + expected.json
```

The run is deterministic for a given torch build, BLAS and thread count: training twice gives
the same weights bit for bit (checked), so the files above are reproduced byte for byte.
A different BLAS or thread count changes float rounding, so the weights (and with them
expected.json) would differ slightly while the accuracy stays about the same.
"""
    with open(os.path.join(d, "TRAINING.md"), "w") as f:
        f.write(text)


def load_model(out):
    tensors, _ = st.load_file(os.path.join(out, "shapes-vit", "model.safetensors"))
    model = VisionTransformer(**MODEL_ARGS).eval()
    model.load_state_dict(tensors)
    return model


def preview(path, seed):
    """A grid of 10 examples per class (rows) at 64x64 plus one 128x128-rendered-then-resized row."""
    from PIL import Image
    n = 10
    rows = []
    for c in range(len(CLASSES)):
        imgs, _ = make_batch(seed + c, n, labels=torch.full((n,), c))
        rows.append(torch.cat(list(imgs), dim=2))
    grid = torch.cat(rows, dim=1)
    to_pil(grid).resize((grid.shape[2] * 2, grid.shape[1] * 2), Image.NEAREST).save(path)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--preview", metavar="PNG", help="write a grid of generated examples and exit")
    ap.add_argument("--fixtures-only", action="store_true",
                    help="load OUT/shapes-vit/model.safetensors and only rewrite images + expected.json")
    ap.add_argument("--export-val", metavar="DIR",
                    help="write --count held-out validation images (128x128 PNG, the set the eval-transform "
                         "accuracy uses) and DIR/labels.tsv, then exit; for benchmarks (never commit them)")
    ap.add_argument("--count", type=int, default=1000, help="images for --export-val (default 1000)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    if args.preview:
        preview(args.preview, args.seed)
        return
    if args.fixtures_only:
        write_fixtures(load_model(args.out), args.out)
        return
    if args.export_val:
        export_val(load_model(args.out), args.export_val, args.seed + 2 * HELDOUT_SEED_OFFSET, args.count)
        return

    load_before = os.getloadavg()[0]
    model, seconds = train(args)
    load_after = os.getloadavg()[0]
    val_x, val_y = heldout_set(args.seed)
    acc, per_class = evaluate(model, val_x, val_y)
    pipe_acc = pipeline_accuracy(model, args.seed + 2 * HELDOUT_SEED_OFFSET)
    print(f"training time {seconds:.1f} s; held-out accuracy (1000 images, 64x64) {acc:.4f}; "
          f"through the eval transform (1000 images rendered at 128) {pipe_acc:.4f}")
    for c, name in enumerate(CLASSES):
        print(f"  {name:18s} {int(per_class[c, 0])}/{int(per_class[c, 1])}")
    write_model(model, args.out)
    entries = write_fixtures(model, args.out)
    report = {"seconds": seconds, "heldout_acc": acc, "pipeline_acc": pipe_acc,
              "per_class": {CLASSES[c]: [int(per_class[c, 0]), int(per_class[c, 1])] for c in range(len(CLASSES))},
              "demo_correct": sum(e["top5"][0]["index"] == e["true_index"] for e in entries),
              "params": sum(p.numel() for p in model.parameters()),
              "load_before": load_before, "load_after": load_after}
    print("RESULT " + json.dumps(dict(report, args=vars(args))))
    write_training_md(args.out, args, dict(report, demo=entries))


if __name__ == "__main__":
    main()
