#!/usr/bin/env python3
"""Random-weight ViT-B/16 (224, 1000 classes) as timm safetensors + ONNX, for benchmarks.

    /usr/bin/python3 tools/export_onnx.py [OUT] [--seed 1234] [--no-verify] [--arch ARCH]

OUT defaults to bench-out/models (git-ignored; these files are ~350 MB each, never commit
them).  Writes:
    OUT/vit_base_patch16_224/model.safetensors   F32, timm names
    OUT/vit_base_patch16_224/config.json         timm hub config (architecture vit_base_patch16_224)
    OUT/vit_base_patch16_224.onnx                opset 17, static [1,3,224,224] "pixel_values" -> [1,1000] "logits"
    OUT/reference_input.npy                      float32 [1,3,224,224]
    OUT/reference_logits.npy                     float32 [1,1000], PyTorch fp32 eval output
--arch vit_large_patch16_512 writes ViT-L/16 at 512 (1025 tokens, 1.2 GB per file) the same way, under
OUT/vit_large_patch16_512/ and OUT/vit_large_patch16_512.onnx, with OUT/vit_large_patch16_512_input.npy and
_logits.npy (use --no-verify: the numpy interpreter takes minutes on it).
The ONNX file is checked with onnx.checker and, unless --no-verify, executed by a small numpy
interpreter (below) whose output must match reference_logits.npy, since onnxruntime is not
available here.  Takes ~1 minute on 2 cores.
"""
import argparse
import collections
import json
import os
import sys
import time
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import VisionTransformer, init_random, config_for  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCH = "vit_base_patch16_224"
VIT_B = dict(img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0,
             num_classes=1000)
ARCHS = {
    ARCH: VIT_B,
    "vit_large_patch16_512": dict(img_size=512, patch_size=16, embed_dim=1024, depth=24, num_heads=16,
                                  mlp_ratio=4.0, num_classes=1000),
}
DEFAULT_SEED = 1234
INPUT_SEED = 4321


def build_model(seed=DEFAULT_SEED, arch=ARCH):
    """The benchmark ViT with seeded random weights (ViT-B/16 is shared with bench_torch.py)."""
    return init_random(VisionTransformer(**ARCHS[arch]), seed).eval()


def reference_input(size=224):
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(INPUT_SEED))


def reference_files(arch):
    """Names of the input and logits files for arch (ViT-B/16 keeps the names it always had)."""
    if arch == ARCH:
        return "reference_input.npy", "reference_logits.npy"
    return f"{arch}_input.npy", f"{arch}_logits.npy"


def opset():
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET
    except ImportError:
        ONNX_MAX_OPSET = 17
    return min(17, ONNX_MAX_OPSET)


# ---------------------------------------------------------------- numpy ONNX interpreter
# Covers exactly the ops torch 1.13 emits for this model; anything else raises, which makes
# the verification report "unsupported op" rather than silently passing.

def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _conv(x, w, b, node):
    strides = _attr(node, "strides", [1, 1])
    pads = _attr(node, "pads", [0, 0, 0, 0])
    assert _attr(node, "group", 1) == 1 and list(_attr(node, "dilations", [1, 1])) == [1, 1]
    assert list(pads) == [0, 0, 0, 0] and list(strides) == list(w.shape[2:]), "only patchify convs"
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    gh, gw = h // kh, wd // kw
    p = x[:, :, :gh * kh, :gw * kw].reshape(n, c, gh, kh, gw, kw).transpose(0, 2, 4, 1, 3, 5)
    y = p.reshape(n * gh * gw, c * kh * kw) @ w.reshape(o, -1).T
    y = y.reshape(n, gh, gw, o).transpose(0, 3, 1, 2)
    return y + b.reshape(1, o, 1, 1) if b is not None else y


def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def _layernorm(x, scale, bias, node):
    axis = _attr(node, "axis", -1)
    eps = _attr(node, "epsilon", 1e-5)
    mu = x.mean(axis=axis, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axis, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps) * scale
    return y + bias if bias is not None else y


def _softmax(x, node):
    axis = _attr(node, "axis", -1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, a, st_ in zip(starts, ends, axes, steps):
        idx[int(a)] = slice(int(s), int(e), int(st_))
    return x[tuple(idx)]


def run_onnx_numpy(model, feeds):
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env.update(feeds)
    ops = {
        "Conv": lambda n, x, w, b=None: _conv(x, w, b, n),
        "MatMul": lambda n, a, b: np.matmul(a, b),
        "Gemm": lambda n, a, b, c=None: (a.T if _attr(n, "transA", 0) else a) @ (b.T if _attr(n, "transB", 0) else b)
                                        * _attr(n, "alpha", 1.0) + (0 if c is None else c * _attr(n, "beta", 1.0)),
        "Equal": lambda n, a, b: np.equal(a, b),
        "Where": lambda n, c, a, b: np.where(c, a, b),
        "Add": lambda n, a, b: a + b, "Sub": lambda n, a, b: a - b,
        "Mul": lambda n, a, b: a * b, "Div": lambda n, a, b: a / b,
        "Pow": lambda n, a, b: np.power(a, b), "Sqrt": lambda n, a: np.sqrt(a),
        "Erf": lambda n, a: _erf(a),
        "Softmax": lambda n, x: _softmax(x, n),
        "LayerNormalization": lambda n, x, s, b=None: _layernorm(x, s, b, n),
        "ReduceMean": lambda n, x: x.mean(axis=tuple(_attr(n, "axes")), keepdims=bool(_attr(n, "keepdims", 1))),
        "Reshape": lambda n, x, s: x.reshape([x.shape[i] if v == 0 else v for i, v in enumerate(s.tolist())]),
        "Flatten": lambda n, x: x.reshape(int(np.prod(x.shape[:_attr(n, "axis", 1)])), -1),
        "Transpose": lambda n, x: np.transpose(x, _attr(n, "perm")),
        "Concat": lambda n, *xs: np.concatenate(xs, axis=_attr(n, "axis")),
        "Gather": lambda n, x, i: np.take(x, i, axis=_attr(n, "axis", 0)),
        "Slice": lambda n, x, *a: _slice(x, *a),
        "Squeeze": lambda n, x, axes=None: np.squeeze(x, axis=None if axes is None else tuple(axes.tolist())),
        "Unsqueeze": lambda n, x, axes: np.expand_dims(x, tuple(axes.tolist())),
        "Expand": lambda n, x, s: x * np.ones(s.tolist(), dtype=x.dtype),
        "Shape": lambda n, x: np.array(x.shape, dtype=np.int64),
        "Cast": lambda n, x: x.astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[_attr(n, "to")]),
        "Identity": lambda n, x: x,
        "Constant": lambda n: numpy_helper.to_array(_attr(n, "value")),
        "ConstantOfShape": lambda n, s: np.full(s.tolist(), numpy_helper.to_array(_attr(n, "value"))
                                                if _attr(n, "value") is not None else 0.0),
        "Split": None,  # handled below (multiple outputs)
    }
    for node in model.graph.node:
        args = [env[i] if i else None for i in node.input]
        if node.op_type == "Split":
            axis = _attr(node, "axis", 0)
            sizes = args[1].tolist() if len(args) > 1 and args[1] is not None else \
                [args[0].shape[axis] // len(node.output)] * len(node.output)
            outs = np.split(args[0], np.cumsum(sizes)[:-1], axis=axis)
        elif node.op_type in ops:
            outs = [ops[node.op_type](node, *args)]
        else:
            raise NotImplementedError(f"numpy interpreter: unsupported op {node.op_type}")
        for name, val in zip(node.output, outs):
            env[name] = np.asarray(val)
    return [env[o.name] for o in model.graph.output]


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=os.path.join(REPO, "bench-out", "models"))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--no-verify", action="store_true", help="skip running the ONNX graph in numpy")
    ap.add_argument("--arch", choices=sorted(ARCHS), default=ARCH)
    args = ap.parse_args()
    arch = args.arch
    out = os.path.abspath(args.out)
    mdir = os.path.join(out, arch)
    os.makedirs(mdir, exist_ok=True)

    t0 = time.time()
    model = build_model(args.seed, arch)
    x = reference_input(ARCHS[arch]["img_size"])
    with torch.inference_mode():
        logits = model(x)
    print(f"built {arch} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M params), "
          f"logits std {logits.std().item():.3f}, {time.time() - t0:.1f}s")

    st.save_file(model.state_dict(), os.path.join(mdir, "model.safetensors"), dtype="F32",
                 metadata={"format": "pt", "hourglass_seed": str(args.seed)})
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump(config_for(model, arch, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)), f, indent=2)
        f.write("\n")
    input_file, logits_file = reference_files(arch)
    np.save(os.path.join(out, input_file), x.numpy().astype("<f4"))
    np.save(os.path.join(out, logits_file), logits.numpy().astype("<f4"))

    onnx_path = os.path.join(out, f"{arch}.onnx")
    ops = opset()
    # The resample branch in vit.py is a Python-level shape test; the trace fixes it to the
    # export size's path, which is what a static-shape export wants, so the warning is noise.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    with torch.no_grad():
        torch.onnx.export(model, (x,), onnx_path, opset_version=ops, input_names=["pixel_values"],
                          output_names=["logits"], do_constant_folding=True, export_params=True)
    onnx.checker.check_model(onnx_path)
    m = onnx.load(onnx_path)
    hist = collections.Counter(n.op_type for n in m.graph.node)
    eps = {round(_attr(n, "epsilon", 1e-5), 9) for n in m.graph.node if n.op_type == "LayerNormalization"}
    assert eps == {1e-6}, f"LayerNormalization epsilons {eps}"
    print(f"exported {onnx_path} (opset {ops}, {os.path.getsize(onnx_path) / 1e6:.0f} MB), "
          f"checker ok; ops: {dict(sorted(hist.items()))}")

    result = {"onnx": onnx_path, "opset": ops, "seed": args.seed, "logits_std": float(logits.std())}
    if not args.no_verify:
        t1 = time.time()
        (y,) = run_onnx_numpy(m, {"pixel_values": x.numpy()})
        err = float(np.abs(y.astype(np.float64) - logits.numpy()).max())
        result["onnx_numpy_vs_torch_max_abs"] = err
        print(f"numpy run of the ONNX graph vs torch: max_abs {err:.2e} ({time.time() - t1:.1f}s)")
        assert err < 1e-3, "ONNX graph disagrees with the PyTorch model"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
