#!/usr/bin/env python3
"""Fixtures for position-embedding resizing (F.interpolate, align_corners=False).

    /usr/bin/python3 tools/make_resample_fixtures.py [--out engine/src/test/resources/golden/resample]

For each size pair writes <out>/<case>/ with
    input.npy                         float32 [1, 3, in_h, in_w]  (NCHW, C order, '<f4')
    bicubic_aa.npy  bicubic.npy       float32 [1, 3, out_h, out_w]
    bilinear_aa.npy bilinear.npy
being F.interpolate(input, size=(out_h, out_w), mode=m, align_corners=False, antialias=aa),
plus <out>/cases.json.  timm resizes ViT position embeddings with ('bicubic', antialias=True).

The script also recomputes every output with an independent float64 numpy implementation
(`weights()` below, one 1-D weight matrix per axis, applied separably) and fails if it
disagrees with PyTorch beyond float32 coordinate rounding (PyTorch computes source
positions and weights in float32; the float64 reference differs by up to ~5e-6 at 14->24):
that function is the readable spec for the Java port.  Notably the
antialiased cubic uses a = -0.5 while plain bicubic uses a = -0.75.
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "resample")

SIZES = [((4, 4), (6, 5)),      # the vit_resized_input golden case's grid change
         ((14, 14), (24, 24)),  # 224 -> 384 for patch 16
         ((14, 14), (7, 9)),    # downscale, non-integer ratio on one axis
         ((3, 5), (3, 5)),      # identity
         ((6, 6), (1, 1)),      # extreme downscale: one output averages everything
         ((5, 9), (8, 4))]      # up on one axis, down on the other
MODES = [("bicubic", True), ("bicubic", False), ("bilinear", True), ("bilinear", False)]


def _cubic(x, a):
    """Keys cubic convolution kernel with parameter a, at distance x."""
    x = abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def weights(in_size, out_size, mode, antialias):
    """[out_size, in_size] float64 matrix M with out = M @ in along one axis."""
    m = np.zeros((out_size, in_size))
    scale = in_size / out_size
    if antialias:
        # PIL-style resampling: the kernel is stretched by `scale` when downsampling, the
        # taps are those within `support` of the output pixel's centre, weights renormalised.
        if mode == "bicubic":
            kernel, half = (lambda t: _cubic(t, -0.5)), 2.0
        else:
            kernel, half = (lambda t: max(0.0, 1.0 - abs(t))), 1.0
        support = half * scale if scale >= 1 else half
        inv = 1.0 / scale if scale >= 1 else 1.0
        for i in range(out_size):
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)      # C-style truncation, then clamp
            hi = min(int(center + support + 0.5), in_size)
            w = np.array([kernel((j - center + 0.5) * inv) for j in range(lo, hi)])
            if w.sum() != 0:
                w = w / w.sum()
            m[i, lo:hi] = w
        return m
    for i in range(out_size):
        src = scale * (i + 0.5) - 0.5
        if mode == "bicubic":
            # No clamping of src; the 4 taps floor(src)-1..+2 are clamped to the edge instead.
            f = math.floor(src)
            t = src - f
            for k, w in zip(range(-1, 3), (_cubic(t + 1, -0.75), _cubic(t, -0.75),
                                            _cubic(1 - t, -0.75), _cubic(2 - t, -0.75))):
                m[i, min(max(f + k, 0), in_size - 1)] += w
        else:
            src = max(src, 0.0)
            i0 = int(src)
            lam = src - i0
            i1 = i0 + (1 if i0 < in_size - 1 else 0)
            m[i, i0] += 1 - lam
            m[i, i1] += lam
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = torch.Generator().manual_seed(20240)
    cases = []
    for (ih, iw), (oh, ow) in SIZES:
        name = f"r{ih}x{iw}_to_{oh}x{ow}"
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        x = torch.randn(1, 3, ih, iw, generator=g)
        np.save(os.path.join(d, "input.npy"), x.numpy().astype("<f4"))
        outputs = {}
        for mode, aa in MODES:
            y = F.interpolate(x, size=(oh, ow), mode=mode, align_corners=False, antialias=aa)
            ref = np.einsum("oh,chw,pw->cop", weights(ih, oh, mode, aa), x[0].double().numpy(),
                            weights(iw, ow, mode, aa))
            err = float(np.abs(ref - y[0].double().numpy()).max())
            assert err < 1e-5, f"{name} {mode} aa={aa}: numpy reference differs by {err}"
            fn = f"{mode}{'_aa' if aa else ''}.npy"
            np.save(os.path.join(d, fn), y.numpy().astype("<f4"))
            outputs[fn] = {"mode": mode, "antialias": aa, "numpy_f64_max_abs": float(f"{err:.3e}")}
            print(f"{name:18s} {mode:8s} aa={aa!s:5s} numpy-vs-torch {err:.1e}")
        cases.append({"name": name, "channels": 3, "in_size": [ih, iw], "out_size": [oh, ow],
                      "input": "input.npy", "outputs": outputs})
    manifest = {
        "generator": "tools/make_resample_fixtures.py",
        "torch_version": torch.__version__,
        "call": "torch.nn.functional.interpolate(input, size=out_size, mode=mode, "
                "align_corners=False, antialias=antialias)",
        "layout": "float32 little-endian C-order .npy, NCHW, N=1",
        "precision": "PyTorch computes source coordinates and tap weights in float32 (weights off by "
                     "up to ~1e-6 from exact at 14->24), so an implementation in double differs from "
                     "these outputs by up to ~5e-6 (see numpy_f64_max_abs); compare with atol >= 1e-5.",
        "cases": cases,
    }
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
