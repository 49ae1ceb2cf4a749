#!/usr/bin/env python3
"""Fixtures for the weights converter: one tiny checkpoint per source layout it must recognise.

    /usr/bin/python3 tools/make_converter_fixtures.py [--out weights-converter/src/test/resources/convert]
                                                      [--no-verify]

Every layout of a family is derived from ONE random base model, so every layout of the family
must convert to the same canonical tensors, bit for bit. Per layout, <out>/<layout>/ holds the
source files exactly as the original project names and shapes them, and

    expected/canonical.safetensors  the same tensors under canonical names (F32; see
                                    hourglass_ref/checkpoints.py for the canonical layout)
    expected/input.npy              float32 [1, 3, H, W] (not for cfvit_lvvit_pth)
    expected/logits.npy             float32 [1, classes]: eval output of the classifier
    expected/features.npy           float32 [1, T, D]: the encoder's final LayerNorm output, all tokens
    expected/masks.npy              float32 [1, n_cls, GH, GW]: Segmenter decoder output before upsampling
    fixture.json                    layout, source files, encoder configuration, family settings,
                                    the full canonical <- source name mapping, what each expected
                                    file is, and notes

<out>/refused/ holds inputs the converter must reject (fixture.json there says why), and
<out>/fixtures.json lists every fixture. Outputs are computed by PyTorch in float32 from the
canonical tensors with hourglass_ref (LayerNorm eps as the source project uses it) and are
checked against an independent float64 numpy forward (check_reference.py). After writing,
the script reloads every fixture (torch.load / the safetensors reader), maps it with
hourglass_ref.checkpoints.to_canonical and requires the canonical file back bit for bit
(--no-verify skips that). Deterministic: the same torch build reproduces every byte.
"""
import argparse
import collections
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import VisionTransformer, init_random, config_for, LN_EPS  # noqa: E402
from hourglass_ref.segmenter import (MaskTransformer, DecoderLinear, init_random_decoder,  # noqa: E402
                                     SEGMENTER_LN_EPS)
from hourglass_ref.checkpoints import to_canonical, random_state  # noqa: E402
from check_reference import numpy_vit, numpy_mask_transformer  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "weights-converter", "src", "test", "resources", "convert")
GENERATOR = "tools/make_converter_fixtures.py"
HF_EPS = 1e-12

# Base models (all: image 32, patch 8 -> 4x4 grid, depth 2 unless said, mlp_ratio 4, qkv bias).
VIT = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0, num_classes=10)
BARE = dict(VIT, embed_dim=64, num_heads=1, mlp_ratio=2.0)  # heads = width / 64 (what a shape-only reader
#                                                   infers); MLP 128 keeps the file small
DEIT = dict(VIT, distilled=True)
SEG = dict(VIT)                                      # encoder.head has 10 rows here (Segmenter builds 1000)
DPT = dict(VIT, depth=4)
LVVIT = dict(VIT, mlp_ratio=3.0, qkv_bias=False)
REFUSED = dict(VIT, embed_dim=16, depth=1, num_heads=1)

SEG_N_CLS = 5
SEG_DECODER_HEADS = 2                                # Segmenter itself uses d_model // 64 (0 here)
DPT_HOOKS = [0, 1, 2, 3]
DPT_FEATURES = [4, 8, 16, 32]                        # neck_hidden_sizes (ViT-B/16 pattern: D/8, D/4, D/2, D)
DPT_FUSION = 8                                       # "features" / fusion_hidden_size
LV_STEM = 8                                          # LV-ViT stem channels (64 in LV-ViT-S)

SEEDS = dict(vit=101, vit_bare=102, deit=103, segmenter=104, seg_mask=105, seg_linear=106,
             dpt=107, dpt_neck=108, cfvit_deit=109, cfvit_deit_extra=110, cfvit_lvvit=111,
             cfvit_lvvit_extra=112, refused=113)
INPUT_SEEDS = dict(vit=201, vit_bare=202, deit=203, segmenter=204, dpt=207, cfvit_deit=209)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]


# ---------------------------------------------------------------- small helpers

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def detach(sd):
    """Own, contiguous float32 copies (every tensor of a real checkpoint has its own storage)."""
    return collections.OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())


def save_st(path, tensors, sort=False):
    """safetensors with {"format": "pt"}; sort=True orders tensors by name, as the safetensors
    library (and hence timm / transformers uploads) lays them out."""
    items = sorted(tensors.items()) if sort else list(tensors.items())
    st.save_file(collections.OrderedDict(items), path, metadata={"format": "pt"})


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(np.asarray(arr), dtype="<f4"))


def _compact(obj, indent=0):
    """JSON with dicts indented and lists of scalars kept on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {_compact(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        if all(isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        items = [f"{pad}  {_compact(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(_compact(obj) + "\n")


def write_hf_json(path, obj):
    """As transformers writes config.json / preprocessor_config.json / the shard index."""
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def encoder_config(model, eps, class_token=True):
    return {
        "img_size": model.img_size, "patch_size": model.patch_size, "embed_dim": model.embed_dim,
        "depth": len(model.blocks), "num_heads": model.num_heads,
        "mlp_hidden": model.blocks[0].mlp.fc1.out_features,
        "qkv_bias": model.blocks[0].attn.qkv.bias is not None, "norm_eps": eps,
        "class_token": class_token, "dist_token": model.distilled,
        "num_classes": model.num_classes, "num_prefix_tokens": model.num_prefix_tokens,
        "grid": list(model.grid_size),
        "tokens": model.num_prefix_tokens + model.grid_size[0] * model.grid_size[1],
    }


def make_input(seed, shape=(1, 3, 32, 32)):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def with_eps(model, eps):
    """A copy of `model` (same tensors) whose LayerNorms use `eps`."""
    kw = dict(img_size=model.img_size, patch_size=model.patch_size, embed_dim=model.embed_dim,
              depth=len(model.blocks), num_heads=model.num_heads,
              mlp_ratio=model.blocks[0].mlp.fc1.out_features / model.embed_dim,
              qkv_bias=model.blocks[0].attn.qkv.bias is not None, num_classes=model.num_classes,
              distilled=model.distilled, norm_eps=eps)
    m = VisionTransformer(**kw).eval()
    m.load_state_dict(model.state_dict(), strict=True)
    return m


@torch.no_grad()
def run_encoder(model, x):
    """(features, logits) in float32, plus the float32-vs-float64 discrepancy of the features."""
    feats, _ = model.forward_features(x, return_blocks=False)
    logits = model.forward_head(feats)
    m64 = with_eps(model, model.norm_eps).double()
    f64, _ = m64.forward_features(x.double(), return_blocks=False)
    return feats, logits, float((feats.double() - f64).abs().max())


def file_entries(d, names):
    return [{"file": n, "bytes": os.path.getsize(os.path.join(d, n)), "sha256": sha256(os.path.join(d, n))}
            for n in names]


class Fixture:
    """Collects one fixture folder's files and its fixture.json."""

    def __init__(self, out, layout, family, description):
        self.dir = os.path.join(out, layout)
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(os.path.join(self.dir, "expected"))
        self.doc = collections.OrderedDict(layout=layout, family=family, generator=GENERATOR,
                                           description=description)
        self.sources = []
        self.expected = collections.OrderedDict()

    def path(self, name):
        return os.path.join(self.dir, name)

    def source(self, name):
        self.sources.append(name)
        return self.path(name)

    def expect(self, name, arr, what):
        save_npy(self.path("expected/" + name), arr)
        self.expected[name] = {"shape": list(np.asarray(arr).shape), "what": what}

    def finish(self, canonical, source_sd, checkpoint, settings, notes):
        canon_path = self.path("expected/canonical.safetensors")
        save_st(canon_path, canonical)
        _, sources, dropped = to_canonical(self.doc["layout"], source_sd)
        d = self.doc
        d["source_files"] = file_entries(self.dir, self.sources)
        d["checkpoint"] = checkpoint
        d.update(settings)
        d["canonical"] = {"file": "expected/canonical.safetensors", "dtype": "F32",
                          "tensors": len(canonical),
                          "bytes": os.path.getsize(canon_path), "sha256": sha256(canon_path)}
        d["expected"] = self.expected
        d["mapping"] = {"note": "canonical name -> source name; a list is concatenated along dim 0 "
                                "in that order", "canonical_from_source": sources,
                        "dropped_source_keys": dropped}
        d["notes"] = notes
        write_json(self.path("fixture.json"), d)
        return d


# ---------------------------------------------------------------- layout writers

def hf_encoder_state(sd, prefix, depth, distilled):
    """timm encoder tensors -> Hugging Face ViT/DeiT/DPT encoder names, in the state_dict order
    of the HF module (own Parameters first, then sub-modules in registration order)."""
    out = collections.OrderedDict()
    e = f"{prefix}.embeddings."
    out[e + "cls_token"] = sd["cls_token"]
    if distilled:
        out[e + "distillation_token"] = sd["dist_token"]
    out[e + "position_embeddings"] = sd["pos_embed"]
    out[e + "patch_embeddings.projection.weight"] = sd["patch_embed.proj.weight"]
    out[e + "patch_embeddings.projection.bias"] = sd["patch_embed.proj.bias"]
    D = sd["cls_token"].shape[-1]
    for i in range(depth):
        b, L = f"blocks.{i}.", f"{prefix}.encoder.layer.{i}."
        qkv_w, qkv_b = sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"]
        for j, part in enumerate(("query", "key", "value")):   # rows [0,D), [D,2D), [2D,3D)
            out[L + f"attention.attention.{part}.weight"] = qkv_w[j * D:(j + 1) * D]
            out[L + f"attention.attention.{part}.bias"] = qkv_b[j * D:(j + 1) * D]
        for hf, timm in (("attention.output.dense", "attn.proj"), ("intermediate.dense", "mlp.fc1"),
                         ("output.dense", "mlp.fc2"), ("layernorm_before", "norm1"),
                         ("layernorm_after", "norm2")):
            out[L + hf + ".weight"] = sd[b + timm + ".weight"]
            out[L + hf + ".bias"] = sd[b + timm + ".bias"]
    out[f"{prefix}.layernorm.weight"] = sd["norm.weight"]
    out[f"{prefix}.layernorm.bias"] = sd["norm.bias"]
    return out


def hf_vit_config(model, arch, model_type, eps):
    labels = {str(i): f"LABEL_{i}" for i in range(model.num_classes)}
    return {
        "architectures": [arch], "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "hidden_size": model.embed_dim, "id2label": labels,
        "image_size": model.img_size, "initializer_range": 0.02,
        "intermediate_size": model.blocks[0].mlp.fc1.out_features,
        "label2id": {v: int(k) for k, v in labels.items()}, "layer_norm_eps": eps,
        "model_type": model_type, "num_attention_heads": model.num_heads, "num_channels": 3,
        "num_hidden_layers": len(model.blocks), "patch_size": model.patch_size, "qkv_bias": True,
        "torch_dtype": "float32",
    }


def vit_preprocessor(size):
    return {"do_resize": True, "size": {"height": size, "width": size}, "resample": 2,
            "do_rescale": True, "rescale_factor": 0.00392156862745098, "do_normalize": True,
            "image_mean": HALF, "image_std": HALF, "image_processor_type": "ViTImageProcessor"}


def yaml_dump(obj, indent=0):
    """The subset of PyYAML's default block style (yaml.dump, sort_keys=True) that variant.yml
    needs: nested dicts, str/int/float/bool/None scalars, and tuples (!!python/tuple with an
    indentless block sequence, as PyYAML writes them inside a mapping)."""
    lines = []
    pad = "  " * indent

    def scalar(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            r = repr(v)
            if "e" in r and "." not in r.split("e")[0]:
                m, e = r.split("e")
                r = f"{m}.0e{e}"            # PyYAML writes 1e-05 as 1.0e-05
            return r
        return str(v)

    for k in sorted(obj):
        v = obj[k]
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:" + (" {}" if not v else ""))
            if v:
                lines.append(yaml_dump(v, indent + 1))
        elif isinstance(v, tuple):
            lines.append(f"{pad}{k}: !!python/tuple")
            lines.extend(f"{pad}- {scalar(x)}" for x in v)
        else:
            lines.append(f"{pad}{k}: {scalar(v)}")
    return "\n".join(lines)


def segmenter_variant(decoder_name, n_cls, log_dir):
    """variant.yml content as rstrudel/segmenter segm/train.py builds it (net_kwargs['decoder']
    also gets n_cls: create_segmenter mutates that dict before the yaml.dump)."""
    decoder = ({"drop_path_rate": 0.0, "dropout": 0.1, "n_layers": 2, "name": "mask_transformer",
                "n_cls": n_cls} if decoder_name == "mask_transformer" else {"name": "linear", "n_cls": n_cls})
    return {
        "world_batch_size": 8, "version": "normal", "resume": True,
        "dataset_kwargs": {"dataset": "ade20k", "image_size": 32, "crop_size": 32, "batch_size": 8,
                           "normalization": "vit", "split": "train", "num_workers": 10},
        "algorithm_kwargs": {"batch_size": 8, "start_epoch": 0, "num_epochs": 3, "eval_freq": 2},
        "optimizer_kwargs": {"opt": "sgd", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9,
                             "clip_grad": None, "sched": "polynomial", "epochs": 3, "min_lr": 1e-5,
                             "poly_power": 0.9, "poly_step_size": 1},
        "net_kwargs": {"image_size": (32, 32), "patch_size": 8, "d_model": SEG["embed_dim"],
                       "n_heads": SEG["num_heads"], "n_layers": SEG["depth"], "normalization": "vit",
                       "distilled": False, "backbone": "vit_tiny_patch16_384", "dropout": 0.0,
                       "drop_path_rate": 0.1, "decoder": decoder, "n_cls": n_cls},
        "amp": False, "log_dir": log_dir,
        "inference_kwargs": {"im_size": 32, "window_size": 32, "window_stride": 16},
    }


def expedit_prepocess(ckpt):
    """Expedit-Segmenter tools/prepocess_ckpt.py, statement by statement (pop + re-insert, so
    renamed keys move to the end; encoder.head.* is neither renamed nor removed)."""
    ckpt = dict(ckpt)
    sd = collections.OrderedDict(ckpt["model"])
    ckpt["model"] = sd

    def change(old, new):
        if old in ckpt["state_dict"]:
            ckpt["state_dict"][new] = ckpt["state_dict"].pop(old)

    if "meta" not in ckpt:
        ckpt["meta"] = {}
    if "n_cls" in ckpt:
        ckpt["meta"]["n_cls"] = ckpt.pop("n_cls")
    if "epoch" in ckpt:
        ckpt["meta"]["epoch"] = ckpt.pop("epoch")
    if "model" in ckpt:
        ckpt["state_dict"] = ckpt.pop("model")
    change("encoder.cls_token", "backbone.cls_token")
    change("encoder.pos_embed", "backbone.pos_embed")
    change("encoder.patch_embed.proj.weight", "backbone.patch_embed.projection.weight")
    change("encoder.patch_embed.proj.bias", "backbone.patch_embed.projection.bias")
    for i in range(24):
        for leaf in ("weight", "bias"):
            change(f"encoder.blocks.{i}.norm1.{leaf}", f"backbone.layers.{i}.ln1.{leaf}")
        for leaf in ("weight", "bias"):
            change(f"encoder.blocks.{i}.norm2.{leaf}", f"backbone.layers.{i}.ln2.{leaf}")
        change(f"encoder.blocks.{i}.attn.qkv.weight", f"backbone.layers.{i}.attn.attn.in_proj_weight")
        change(f"encoder.blocks.{i}.attn.qkv.bias", f"backbone.layers.{i}.attn.attn.in_proj_bias")
        for leaf in ("weight", "bias"):
            change(f"encoder.blocks.{i}.attn.proj.{leaf}", f"backbone.layers.{i}.attn.attn.out_proj.{leaf}")
        for leaf in ("weight", "bias"):
            change(f"encoder.blocks.{i}.mlp.fc1.{leaf}", f"backbone.layers.{i}.ffn.layers.0.0.{leaf}")
        for leaf in ("weight", "bias"):
            change(f"encoder.blocks.{i}.mlp.fc2.{leaf}", f"backbone.layers.{i}.ffn.layers.1.{leaf}")
    change("encoder.norm.weight", "backbone.ln1.weight")
    change("encoder.norm.bias", "backbone.ln1.bias")
    for k in list(ckpt["state_dict"].keys()):
        if "decoder." in k:
            change(k, k.replace("decoder.", "decode_head."))
    return ckpt


def dpt_neck_shapes(D):
    """Original isl-org/DPT names and shapes after the ViT (readout 'project', use_bn False,
    depth head), in the model's state_dict order."""
    f, F = DPT_FEATURES, DPT_FUSION
    s = []
    for k in range(1, 5):
        p = f"pretrained.act_postprocess{k}."
        s += [(p + "0.project.0.weight", [D, 2 * D]), (p + "0.project.0.bias", [D]),
              (p + "3.weight", [f[k - 1], D, 1, 1]), (p + "3.bias", [f[k - 1]])]
        if k == 1:
            s += [(p + "4.weight", [f[0], f[0], 4, 4]), (p + "4.bias", [f[0]])]   # ConvTranspose k4 s4
        elif k == 2:
            s += [(p + "4.weight", [f[1], f[1], 2, 2]), (p + "4.bias", [f[1]])]   # ConvTranspose k2 s2
        elif k == 4:
            s += [(p + "4.weight", [f[3], f[3], 3, 3]), (p + "4.bias", [f[3]])]   # Conv3x3 s2 p1
    s += [(f"scratch.layer{k}_rn.weight", [F, f[k - 1], 3, 3]) for k in range(1, 5)]
    for k in range(1, 5):
        p = f"scratch.refinenet{k}."
        s += [(p + "out_conv.weight", [F, F, 1, 1]), (p + "out_conv.bias", [F])]
        for u in (1, 2):
            for c in (1, 2):
                s += [(p + f"resConfUnit{u}.conv{c}.weight", [F, F, 3, 3]),
                      (p + f"resConfUnit{u}.conv{c}.bias", [F])]
    s += [("scratch.output_conv.0.weight", [F // 2, F, 3, 3]), ("scratch.output_conv.0.bias", [F // 2]),
          ("scratch.output_conv.2.weight", [32, F // 2, 3, 3]), ("scratch.output_conv.2.bias", [32]),
          ("scratch.output_conv.4.weight", [1, 32, 1, 1]), ("scratch.output_conv.4.bias", [1])]
    return s


def dpt_to_hf_neck(neck):
    """Original DPT neck/head -> Hugging Face DPTForDepthEstimation names, in HF module order
    (reassemble layers, readout projects, convs, fusion layers, head)."""
    f_names = {}
    for k in range(1, 5):
        p = f"pretrained.act_postprocess{k}."
        for leaf in ("weight", "bias"):
            f_names[p + "3." + leaf] = f"neck.reassemble_stage.layers.{k - 1}.projection.{leaf}"
            if k != 3:
                f_names[p + "4." + leaf] = f"neck.reassemble_stage.layers.{k - 1}.resize.{leaf}"
    r_names = {f"pretrained.act_postprocess{k}.0.project.0.{leaf}":
               f"neck.reassemble_stage.readout_projects.{k - 1}.0.{leaf}"
               for k in range(1, 5) for leaf in ("weight", "bias")}
    c_names = {f"scratch.layer{k}_rn.weight": f"neck.convs.{k - 1}.weight" for k in range(1, 5)}
    u_names = {}
    for k in (4, 3, 2, 1):                          # refinenet4 -> fusion layer 0, ..., 1 -> 3
        p, q = f"scratch.refinenet{k}.", f"neck.fusion_stage.layers.{4 - k}."
        for leaf in ("weight", "bias"):
            u_names[p + "out_conv." + leaf] = q + "projection." + leaf
            for u in (1, 2):
                for c in (1, 2):
                    u_names[p + f"resConfUnit{u}.conv{c}.{leaf}"] = q + f"residual_layer{u}.convolution{c}.{leaf}"
    h_names = {f"scratch.output_conv.{i}.{leaf}": f"head.head.{i}.{leaf}"
               for i in (0, 2, 4) for leaf in ("weight", "bias")}
    out = collections.OrderedDict()
    for table in (f_names, r_names, c_names):
        for src, dst in table.items():
            if src in neck:                          # DPT-Hybrid has no act_postprocess1/2 (stage taps)
                out[dst] = neck[src]
    # fusion layers in HF order (layer 0 first), each: projection, residual_layer1, residual_layer2
    for dst_src in sorted(((d, s) for s, d in u_names.items()),
                          key=lambda ds: (ds[0].split(".")[3], ds[0].split(".")[4] != "projection", ds[0])):
        out[dst_src[0]] = neck[dst_src[1]]
    for src, dst in h_names.items():
        out[dst] = neck[src]
    assert len(out) == len(neck)
    return out


def hf_shards(sd, n=2):
    """Split a state dict (HF module order) the way transformers' shard_checkpoint does: fill a
    shard until the next tensor would exceed max_shard_size (here: 1.1 x total / n bytes)."""
    sizes = {k: v.numel() * 4 for k, v in sd.items()}
    limit = int(sum(sizes.values()) / n * 1.1)
    shards, cur, cur_size = [], collections.OrderedDict(), 0
    for k, v in sd.items():
        if cur and cur_size + sizes[k] > limit:
            shards.append(cur)
            cur, cur_size = collections.OrderedDict(), 0
        cur[k] = v
        cur_size += sizes[k]
    shards.append(cur)
    assert len(shards) == n, [len(s) for s in shards]
    return shards, sum(sizes.values())


# ---------------------------------------------------------------- the fixtures

def vit_expected(fx, model, x, eps):
    m = with_eps(model, eps)
    feats, logits, f64 = run_encoder(m, x)
    fx.expect("input.npy", x, "float32 NCHW input, batch 1 (random normal, as if already normalized)")
    fx.expect("logits.npy", logits, ("eval logits: head(norm(x)[:,0])" if not model.distilled else
                                     "eval logits: (head(norm(x)[:,0]) + head_dist(norm(x)[:,1])) / 2")
              + f", LayerNorm eps {eps:g}")
    fx.expect("features.npy", feats, f"encoder forward_features: final LayerNorm output, all tokens, eps {eps:g}")
    return {"f32_vs_f64_max_abs_features": float(f"{f64:.3e}"),
            "logits_std": round(float(logits.std()), 6), "features_std": round(float(feats.std()), 6)}


def make_timm_hub(out, model, x):
    fx = Fixture(out, "timm_hub", "vit", "timm Hub format: model.safetensors (timm names) + config.json")
    save_st(fx.source("model.safetensors"), model.state_dict(), sort=True)
    cfg = config_for(model, "vit_tiny_patch16_224", mean=HALF, std=HALF)
    with open(fx.source("config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    stats = vit_expected(fx, model, x, LN_EPS)
    return fx.finish(detach(model.state_dict()), model.state_dict(),
                     {"format": "safetensors", "state_dict_key": None},
                     {"encoder": encoder_config(model, LN_EPS), "preprocessing": {"mean": HALF, "std": HALF},
                      "stats": stats, "not_in_source": []},
                     ["Tensors are stored sorted by name, as the safetensors library writes them.",
                      "config.json: model_args override the registered architecture's shape "
                      "(embed 32, 2 heads, patch 8, image 32)."])


def make_timm_bare(out, model, x):
    fx = Fixture(out, "timm_bare_safetensors", "vit_bare",
                 "A bare model.safetensors with timm names and no config: everything from shapes")
    save_st(fx.source("model.safetensors"), model.state_dict(), sort=True)
    stats = vit_expected(fx, model, x, LN_EPS)
    return fx.finish(detach(model.state_dict()), model.state_dict(),
                     {"format": "safetensors", "state_dict_key": None},
                     {"encoder": encoder_config(model, LN_EPS), "stats": stats,
                      "not_in_source": ["num_heads", "norm_eps", "preprocessing"],
                      "inference": {
                          "embed_dim": "cls_token [1,1,D]", "patch_size": "patch_embed.proj.weight [D,3,p,p]",
                          "img_size": "pos_embed rows - 1 = 16 = 4x4 grid -> 4 * p = 32",
                          "depth": "number of blocks.{i}", "mlp_hidden": "blocks.0.mlp.fc1.weight rows",
                          "qkv_bias": "blocks.0.attn.qkv.bias present", "num_classes": "head.weight rows",
                          "num_heads": "not stored: width / 64 = 1 (head_dim 64, as every timm ViT/DeiT)",
                          "norm_eps": "not stored: timm's 1e-6"}},
                     ["Its own base model (embed 64, 1 head) so that heads = width / 64 is right; the "
                      "other ViT layouts use embed 32 with 2 heads, which a shape-only reader cannot know."])


def make_deit_pth(out, model, x):
    fx = Fixture(out, "deit_pth", "deit", "facebookresearch/deit training checkpoint (distilled)")
    sd = model.state_dict()
    order = ["cls_token", "pos_embed", "dist_token"] + [k for k in sd if k not in
                                                         ("cls_token", "pos_embed", "dist_token")]
    src = detach(collections.OrderedDict((k, sd[k]) for k in order))   # DeiT's DistilledVisionTransformer order
    ckpt = {"model": src,
            "optimizer": {"state": {}, "param_groups": [
                {"lr": 0.0005, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0.05, "amsgrad": False,
                 "maximize": False, "foreach": None, "capturable": False, "params": list(range(len(src)))}]},
            "epoch": 3,
            "args": argparse.Namespace(model="deit_tiny_distilled_patch16_224", input_size=32)}
    torch.save(ckpt, fx.source("checkpoint.pth"))
    stats = vit_expected(fx, model, x, LN_EPS)
    return fx.finish(detach(sd), src,
                     {"format": "pth", "state_dict_key": "model", "zip_folder": "checkpoint",
                      "top_level_keys": list(ckpt), "metadata": {"epoch": "3", "args.model":
                      "deit_tiny_distilled_patch16_224", "args.input_size": "32"}},
                     {"encoder": encoder_config(model, LN_EPS),
                      "preprocessing": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD},
                      "stats": stats, "not_in_source": ["num_heads", "norm_eps"]},
                     ["num_heads is not in the checkpoint and width / 64 = 0 here: pass num_heads = 2. "
                      "args.model names the real DeiT-Ti (192 wide, 3 heads), which this tiny model is not.",
                      "State dict order as DeiT's DistilledVisionTransformer: cls_token, pos_embed, "
                      "dist_token, patch_embed..., head, head_dist."])


def make_hf_vit(out, model, x, layout="hf_vit", shards=False):
    desc = ("Hugging Face ViTForImageClassification, sharded safetensors + index" if shards else
            "Hugging Face ViTForImageClassification: model.safetensors + config.json + preprocessor_config.json")
    fx = Fixture(out, layout, "vit", desc)
    sd = model.state_dict()
    hf = hf_encoder_state(sd, "vit", len(model.blocks), False)
    hf["classifier.weight"] = sd["head.weight"]
    hf["classifier.bias"] = sd["head.bias"]
    checkpoint = {"format": "safetensors", "state_dict_key": None}
    if shards:
        parts, total = hf_shards(hf)
        weight_map = {}
        for i, part in enumerate(parts):
            name = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            save_st(fx.source(name), part, sort=True)
            weight_map.update({k: name for k in part})
        write_hf_json(fx.source("model.safetensors.index.json"),
                      {"metadata": {"total_size": total}, "weight_map": weight_map})
        checkpoint = {"format": "safetensors-sharded", "index": "model.safetensors.index.json",
                      "state_dict_key": None,
                      "shards": {f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors": list(p)
                                 for i, p in enumerate(parts)}}
    else:
        save_st(fx.source("model.safetensors"), hf, sort=True)
    write_hf_json(fx.source("config.json"), hf_vit_config(model, "ViTForImageClassification", "vit", HF_EPS))
    write_hf_json(fx.source("preprocessor_config.json"), vit_preprocessor(model.img_size))
    stats = vit_expected(fx, model, x, HF_EPS)
    feats6, _, _ = run_encoder(with_eps(model, LN_EPS), x)
    stats["features_eps_1e-12_vs_1e-6_max_abs"] = float(f"{float((feats6 - torch.from_numpy(np.load(fx.path('expected/features.npy')))).abs().max()):.3e}")
    notes = ["layer_norm_eps 1e-12 (HF): the expected outputs use it; the canonical tensors are the "
             "timm_hub ones bit for bit (same canonical.safetensors bytes).",
             "q, k, v weights [D, D] / biases [D] concatenated in that order along dim 0 give timm's qkv.",
             "Tensors sorted by name within each file, as the safetensors library writes them."]
    if shards:
        notes.append("Split in HF module order at total_size / 2 bytes (transformers' shard_checkpoint "
                     "rule), so the cut falls inside an encoder layer; total_size = sum of tensor bytes.")
    return fx.finish(detach(sd), hf, checkpoint,
                     {"encoder": encoder_config(model, HF_EPS),
                      "preprocessing": {"mean": HALF, "std": HALF, "resize": [model.img_size] * 2,
                                        "resample": "bilinear (PIL 2)", "rescale": "1/255"},
                      "stats": stats, "not_in_source": []}, notes)


def make_hf_deit(out, model, x):
    fx = Fixture(out, "hf_deit", "deit", "Hugging Face DeiTForImageClassificationWithTeacher")
    sd = model.state_dict()
    hf = hf_encoder_state(sd, "deit", len(model.blocks), True)
    for leaf in ("weight", "bias"):
        hf["cls_classifier." + leaf] = sd["head." + leaf]
    for leaf in ("weight", "bias"):
        hf["distillation_classifier." + leaf] = sd["head_dist." + leaf]
    save_st(fx.source("model.safetensors"), hf, sort=True)
    write_hf_json(fx.source("config.json"),
                  hf_vit_config(model, "DeiTForImageClassificationWithTeacher", "deit", HF_EPS))
    crop = model.img_size
    write_hf_json(fx.source("preprocessor_config.json"),
                  {"crop_size": {"height": crop, "width": crop}, "do_center_crop": True, "do_normalize": True,
                   "do_rescale": True, "do_resize": True, "image_mean": IMAGENET_MEAN,
                   "image_processor_type": "DeiTImageProcessor", "image_std": IMAGENET_STD, "resample": 3,
                   "rescale_factor": 0.00392156862745098,
                   "size": {"height": int(crop / 0.875), "width": int(crop / 0.875)}})
    stats = vit_expected(fx, model, x, HF_EPS)
    return fx.finish(detach(sd), hf, {"format": "safetensors", "state_dict_key": None},
                     {"encoder": encoder_config(model, HF_EPS),
                      "preprocessing": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                                        "resize": [int(crop / 0.875)] * 2, "center_crop": [crop, crop],
                                        "resample": "bicubic (PIL 3)", "rescale": "1/255"},
                      "stats": stats, "not_in_source": []},
                     ["layer_norm_eps 1e-12 (HF). Canonical tensors = deit_pth's bit for bit (same file bytes).",
                      "position_embeddings has N+2 rows (class and distillation token).",
                      "logits = (cls_classifier(x[:,0]) + distillation_classifier(x[:,1])) / 2, as timm."])


def segmenter_models():
    enc = init_random(VisionTransformer(**SEG, norm_eps=SEGMENTER_LN_EPS), SEEDS["segmenter"]).eval()
    D = SEG["embed_dim"]
    mask = init_random_decoder(MaskTransformer(SEG_N_CLS, D, D, n_layers=2, n_heads=SEG_DECODER_HEADS,
                                               d_ff=4 * D), SEEDS["seg_mask"]).eval()
    linear = init_random_decoder(DecoderLinear(SEG_N_CLS, D), SEEDS["seg_linear"]).eval()
    return enc, mask, linear


def segmenter_settings(decoder_name):
    s = {"n_cls": SEG_N_CLS, "decoder": decoder_name, "decoder_input": "encoder features without the class token",
         "decoder_norm_eps": SEGMENTER_LN_EPS, "inference": {"im_size": 32, "window_size": 32, "window_stride": 16},
         "normalization": "vit"}
    if decoder_name == "mask_transformer":
        s.update(decoder_layers=2, decoder_d_model=SEG["embed_dim"], decoder_heads=SEG_DECODER_HEADS,
                 decoder_d_ff=4 * SEG["embed_dim"])
    return s


@torch.no_grad()
def segmenter_expected(fx, enc, decoder, x):
    feats, _, f64 = run_encoder(enc, x)
    grid = enc.grid_size
    masks = decoder(feats[:, 1:], grid)
    fx.expect("input.npy", x, "float32 NCHW input, batch 1 (random normal, as if already normalized)")
    fx.expect("features.npy", feats, "encoder final LayerNorm output (eps 1e-5), all tokens incl. the class token")
    fx.expect("masks.npy", masks, "decoder output [B, n_cls, GH, GW] at patch resolution (after mask_norm "
                                  "for the mask transformer), before Segmenter's bilinear upsampling")
    return {"f32_vs_f64_max_abs_features": float(f"{f64:.3e}"), "masks_std": round(float(masks.std()), 6),
            "features_std": round(float(feats.std()), 6)}


def segmenter_state(enc, decoder):
    sd = collections.OrderedDict(("encoder." + k, v) for k, v in enc.state_dict().items())
    sd.update(("decoder." + k, v) for k, v in decoder.state_dict().items())
    return detach(sd)


def segmenter_canonical(enc, decoder):
    sd = detach(enc.state_dict())
    sd.update(detach(collections.OrderedDict(("decoder." + k, v) for k, v in decoder.state_dict().items())))
    return sd


SEG_NOTES = ["LayerNorm eps 1e-5 everywhere (Segmenter uses PyTorch's default).",
             "encoder.head.* is the unused ImageNet head Segmenter's VisionTransformer always has "
             "(1000 rows there; 10 here); it maps to canonical head.*.",
             "The checkpoint has no head count: variant.yml net_kwargs.n_heads gives the encoder's."]


def make_segmenter(out, enc, mask, x):
    fx = Fixture(out, "segmenter_pth", "segmenter", "rstrudel/segmenter checkpoint.pth + variant.yml (mask transformer)")
    src = segmenter_state(enc, mask)
    ckpt = {"model": src, "optimizer": {}, "n_cls": SEG_N_CLS, "lr_scheduler": {}, "epoch": 2}
    torch.save(ckpt, fx.source("checkpoint.pth"))
    variant = segmenter_variant("mask_transformer", SEG_N_CLS, "seg_tiny_mask")
    with open(fx.source("variant.yml"), "w") as f:
        f.write(yaml_dump(variant) + "\n")
    stats = segmenter_expected(fx, enc, mask, x)
    return fx.finish(segmenter_canonical(enc, mask), src,
                     {"format": "pth", "state_dict_key": "model", "zip_folder": "checkpoint",
                      "top_level_keys": list(ckpt), "metadata": {"n_cls": str(SEG_N_CLS), "epoch": "2"}},
                     {"encoder": encoder_config(enc, SEGMENTER_LN_EPS), "segmenter": segmenter_settings("mask_transformer"),
                      "preprocessing": {"mean": HALF, "std": HALF}, "stats": stats,
                      "not_in_source": ["decoder_heads"]},
                     SEG_NOTES + [
                         "Segmenter computes the decoder's heads as d_model // 64 (0 at d_model 32): this "
                         "fixture's decoder has 2 heads; pass it (fixture.json segmenter.decoder_heads).",
                         "variant.yml is written by hand the way yaml.dump writes Segmenter's variant dict "
                         "(sorted keys, image_size as !!python/tuple)."])


def make_segmenter_linear(out, enc, linear, x):
    fx = Fixture(out, "segmenter_linear_pth", "segmenter_linear",
                 "rstrudel/segmenter checkpoint.pth + variant.yml (linear decoder)")
    src = segmenter_state(enc, linear)
    ckpt = {"model": src, "optimizer": {}, "n_cls": SEG_N_CLS, "lr_scheduler": {}, "epoch": 2}
    torch.save(ckpt, fx.source("checkpoint.pth"))
    variant = segmenter_variant("linear", SEG_N_CLS, "seg_tiny_linear")
    with open(fx.source("variant.yml"), "w") as f:
        f.write(yaml_dump(variant) + "\n")
    stats = segmenter_expected(fx, enc, linear, x)
    return fx.finish(segmenter_canonical(enc, linear), src,
                     {"format": "pth", "state_dict_key": "model", "zip_folder": "checkpoint",
                      "top_level_keys": list(ckpt), "metadata": {"n_cls": str(SEG_N_CLS), "epoch": "2"}},
                     {"encoder": encoder_config(enc, SEGMENTER_LN_EPS), "segmenter": segmenter_settings("linear"),
                      "preprocessing": {"mean": HALF, "std": HALF}, "stats": stats, "not_in_source": []},
                     SEG_NOTES + ["Same encoder tensors (and features.npy) as segmenter_pth; masks = "
                                  "decoder.head applied to each patch token, reshaped row-major."])


def make_segmenter_mmseg(out, enc, mask, x, seg_ckpt_path):
    fx = Fixture(out, "segmenter_mmseg_pth", "segmenter",
                 "segmenter_pth's checkpoint after Expedit-Segmenter's tools/prepocess_ckpt.py (mmseg names)")
    ckpt = expedit_prepocess(torch.load(seg_ckpt_path))
    torch.save(ckpt, fx.source("checkpoint.pth"))
    stats = segmenter_expected(fx, enc, mask, x)
    return fx.finish(segmenter_canonical(enc, mask), ckpt["state_dict"],
                     {"format": "pth", "state_dict_key": "state_dict", "zip_folder": "checkpoint",
                      "top_level_keys": list(ckpt), "meta": ckpt["meta"]},
                     {"encoder": encoder_config(enc, SEGMENTER_LN_EPS), "segmenter": segmenter_settings("mask_transformer"),
                      "preprocessing": {"mean": HALF, "std": HALF}, "stats": stats,
                      "not_in_source": ["num_heads", "decoder_heads", "norm_eps"]},
                     ["Made by running prepocess_ckpt.py's renaming (re-implemented statement by statement) "
                      "on segmenter_pth/checkpoint.pth: top level {optimizer, lr_scheduler, meta: {n_cls, epoch}, "
                      "state_dict}; renamed keys are popped and re-inserted, so they move to the end.",
                      "prepocess_ckpt.py neither renames nor removes encoder.head.*: the file keeps "
                      "encoder.head.weight/bias (first in the state dict), which mmseg's backbone does not "
                      "use; they map to canonical head.*, so the canonical file is segmenter_pth's, byte for byte.",
                      "attn.attn.in_proj_weight [3D, D] has nn.MultiheadAttention's [q; k; v] rows = timm's qkv.",
                      "No variant.yml: Expedit's mmseg config (not included) carries the shapes. Expected "
                      "outputs use eps 1e-5 (the weights' own Segmenter model); Expedit's mmseg config "
                      "declares 1e-6 for the backbone LayerNorms (see stats.features_eps_1e-6_vs_1e-5_max_abs)."])


def make_dpt(out, enc, neck, x):
    fx = Fixture(out, "dpt_pt", "dpt", "isl-org/DPT depth checkpoint (plain state_dict, torch.save)")
    sd = collections.OrderedDict(("pretrained.model." + k, v) for k, v in enc.state_dict().items())
    sd.update(neck)
    src = detach(sd)
    torch.save(src, fx.source("dpt_tiny-midas.pt"))
    feats, _, f64 = run_encoder(enc, x)
    fx.expect("input.npy", x, "float32 NCHW input, batch 1 (random normal, as if already normalized)")
    fx.expect("features.npy", feats, "ViT encoder final LayerNorm output (eps 1e-6), all tokens")
    canonical = detach(enc.state_dict())
    canonical.update(detach(collections.OrderedDict(("dpt." + k[len("pretrained."):] if k.startswith("pretrained.")
                                                     else "dpt." + k, v) for k, v in neck.items())))
    return fx.finish(canonical, src, {"format": "pth", "state_dict_key": None, "zip_folder": "dpt_tiny-midas"},
                     {"encoder": encoder_config(enc, LN_EPS), "dpt": dpt_settings(),
                      "preprocessing": {"mean": HALF, "std": HALF},
                      "stats": {"f32_vs_f64_max_abs_features": float(f"{f64:.3e}")},
                      "not_in_source": ["num_heads", "norm_eps", "hooks", "readout"]},
                     ["pretrained.model.head.* is timm's leftover classifier (DPT never uses it); it maps to "
                      "canonical head.*. Hugging Face's conversion drops it (see hf_dpt).",
                      "Only the encoder has an expected output (features.npy); the neck and head tensors are "
                      "random and only their names and shapes matter here."])


def dpt_settings():
    return {"hooks": DPT_HOOKS, "readout": "project", "features": DPT_FEATURES, "fusion_features": DPT_FUSION,
            "reassemble_factors": [4, 2, 1, 0.5], "use_bn": False, "head": "depth",
            "head_shapes": "output_conv.0 [F/2,F,3,3], .2 [32,F/2,3,3], .4 [1,32,1,1]"}


def make_hf_dpt(out, enc, neck, x, dpt_canonical_path):
    fx = Fixture(out, "hf_dpt", "dpt", "Hugging Face DPTForDepthEstimation (model.safetensors + config.json)")
    sd = enc.state_dict()
    hf = hf_encoder_state(sd, "dpt", len(enc.blocks), False)
    hf.update(dpt_to_hf_neck(neck))
    save_st(fx.source("model.safetensors"), hf, sort=True)
    cfg = {"architectures": ["DPTForDepthEstimation"], "attention_probs_dropout_prob": 0.0,
           "auxiliary_loss_weight": 0.4, "backbone_out_indices": DPT_HOOKS, "fusion_hidden_size": DPT_FUSION,
           "head_in_index": -1, "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": enc.embed_dim,
           "image_size": enc.img_size, "initializer_range": 0.02,
           "intermediate_size": enc.blocks[0].mlp.fc1.out_features, "is_hybrid": False, "layer_norm_eps": HF_EPS,
           "model_type": "dpt", "neck_hidden_sizes": DPT_FEATURES, "num_attention_heads": enc.num_heads,
           "num_channels": 3, "num_hidden_layers": len(enc.blocks), "patch_size": enc.patch_size,
           "qkv_bias": True, "readout_type": "project", "reassemble_factors": [4, 2, 1, 0.5],
           "semantic_classifier_dropout": 0.1, "semantic_loss_ignore_index": 255, "torch_dtype": "float32",
           "use_auxiliary_head": True, "use_batch_norm_in_fusion_residual": False}
    write_hf_json(fx.source("config.json"), cfg)
    write_hf_json(fx.source("preprocessor_config.json"),
                  {"do_normalize": True, "do_pad": False, "do_rescale": True, "do_resize": True,
                   "ensure_multiple_of": 1, "image_mean": HALF, "image_processor_type": "DPTImageProcessor",
                   "image_std": HALF, "keep_aspect_ratio": False, "resample": 3,
                   "rescale_factor": 0.00392156862745098, "size": {"height": enc.img_size, "width": enc.img_size}})
    m = with_eps(enc, HF_EPS)
    feats, _, f64 = run_encoder(m, x)
    fx.expect("input.npy", x, "float32 NCHW input, batch 1 (same as dpt_pt)")
    fx.expect("features.npy", feats, "ViT encoder final LayerNorm (dpt.layernorm) output, eps 1e-12, all tokens")
    canonical, _ = st.load_file(dpt_canonical_path)
    canonical = collections.OrderedDict((k, v) for k, v in canonical.items() if not k.startswith("head."))
    return fx.finish(canonical, hf, {"format": "safetensors", "state_dict_key": None},
                     {"encoder": dict(encoder_config(enc, HF_EPS), num_classes=0), "dpt": dpt_settings(),
                      "preprocessing": {"mean": HALF, "std": HALF}, "stats": {"f32_vs_f64_max_abs_features":
                                                                              float(f"{f64:.3e}")},
                      "not_in_source": []},
                     ["Canonical = dpt_pt's canonical minus head.weight/head.bias (transformers' "
                      "convert_dpt_to_pytorch.py drops pretrained.model.head.*); every other tensor is "
                      "bit-identical, names included.",
                      "layer_norm_eps 1e-12 in HF (dpt_pt: 1e-6); features.npy uses 1e-12.",
                      "fusion_stage.layers.{0,1,2,3} = refinenet{4,3,2,1}; reassemble_stage.layers.2 has no "
                      "resize (factor 1: Identity); dpt.layernorm = pretrained.model.norm.",
                      "Tensors sorted by name, as the safetensors library writes them."])


def cf_extras(D, hidden, seed, coarse_rows):
    return random_state([("pos_embed_list.0", [1, coarse_rows, D]), ("reuse_block.0.weight", [D]),
                         ("reuse_block.0.bias", [D]), ("reuse_block.1.fc1.weight", [hidden, D]),
                         ("reuse_block.1.fc1.bias", [hidden]), ("reuse_block.1.fc2.weight", [D, hidden]),
                         ("reuse_block.1.fc2.bias", [D])], seed, gains={"reuse_block.0.weight": "norm"})


def cf_canonical(base, extras):
    c = detach(base)
    c["cfvit.pos_embed_coarse"] = extras["pos_embed_list.0"]
    for leaf in ("weight", "bias"):
        c["cfvit.reuse_norm." + leaf] = extras["reuse_block.0." + leaf]
    for fc in ("fc1", "fc2"):
        for leaf in ("weight", "bias"):
            c[f"cfvit.reuse_mlp.{fc}.{leaf}"] = extras[f"reuse_block.1.{fc}.{leaf}"]
    return detach(c)


CF_META = {"flop": [1.1, 4.0], "anytime_classification": [75.0, 80.0],
           "budgeted_batch_classification": [[1.0, 2.0], [70.0, 80.0]]}


def cf_settings(model):
    return {"coarse_img_size": model.img_size // 2, "fine_img_size": model.img_size,
            "coarse_grid": [model.grid_size[0] // 2, model.grid_size[1] // 2], "fine_grid": list(model.grid_size),
            "reuse_mlp_hidden": model.blocks[0].mlp.fc1.out_features, "alpha": 0.5, "beta": 0.99,
            "coarse_input": "fine input downsampled by F.interpolate(bilinear, align_corners=True)"}


def make_cfvit_deit(out, model, x):
    fx = Fixture(out, "cfvit_deit_pth", "cfvit_deit", "ChenMnZ/CF-ViT DeiT checkpoint (cf_deit_small layout, tiny)")
    sd = model.state_dict()
    D = model.embed_dim
    coarse = (model.grid_size[0] // 2) * (model.grid_size[1] // 2) + 1
    extras = cf_extras(D, model.blocks[0].mlp.fc1.out_features, SEEDS["cfvit_deit_extra"], coarse)
    src = collections.OrderedDict()
    src["cls_token"] = sd["cls_token"]
    src["patch_embed.proj.weight"] = sd["patch_embed.proj.weight"]
    src["patch_embed.proj.bias"] = sd["patch_embed.proj.bias"]
    src["pos_embed_list.0"] = extras["pos_embed_list.0"]
    src["pos_embed_list.1"] = sd["pos_embed"]
    src.update((k, v) for k, v in sd.items() if k.startswith(("blocks.", "norm.", "head.")))
    src.update((k, v) for k, v in extras.items() if k.startswith("reuse_block."))
    src = detach(src)
    ckpt = dict({"model": src}, **CF_META)
    torch.save(ckpt, fx.source("cf-deit-tiny-2x2.pth"))
    stats = vit_expected(fx, model, x, LN_EPS)
    return fx.finish(cf_canonical(sd, extras), src,
                     {"format": "pth", "state_dict_key": "model", "zip_folder": "cf-deit-tiny-2x2",
                      "top_level_keys": list(ckpt)},
                     {"encoder": encoder_config(model, LN_EPS), "cfvit": dict(cf_settings(model), reuse_norm_eps=LN_EPS),
                      "preprocessing": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}, "stats": stats,
                      "not_in_source": ["num_heads", "norm_eps", "coarse/fine image sizes"]},
                     ["features.npy / logits.npy: the fine-stage weights run as a plain timm ViT on the 32x32 "
                      "input (pos_embed = pos_embed_list.1, all 16 patch tokens, no coarse stage, no reuse): "
                      "NOT CF-ViT's two-stage output.",
                      "Patch 8 here: coarse image 16 -> 2x2 grid (pos_embed_list.0 [1,5,D]), fine image 32 -> "
                      "4x4 (pos_embed_list.1 [1,17,D]); CF-DeiT-S uses patch 16 with 7x7 / 14x14.",
                      "reuse_block = Sequential(LayerNorm(D, eps 1e-6), Mlp(D -> 4D -> D, GELU))."])


def make_cfvit_lvvit(out):
    fx = Fixture(out, "cfvit_lvvit_pth", "cfvit_lvvit", "ChenMnZ/CF-ViT CF-LV-ViT checkpoint (cf_lvvit_small layout, tiny)")
    base = init_random(VisionTransformer(**LVVIT, norm_eps=SEGMENTER_LN_EPS), SEEDS["cfvit_lvvit"]).eval()
    sd = base.state_dict()
    D, c = base.embed_dim, LV_STEM
    hidden = base.blocks[0].mlp.fc1.out_features
    coarse = (base.grid_size[0] // 2) * (base.grid_size[1] // 2) + 1
    stem_shapes = []
    for i, (cin, k) in enumerate([(3, 7), (c, 3), (c, 3)], start=1):
        stem_shapes.append((f"patch_embed.conv{i}.weight", [c, cin, k, k]))
        stem_shapes += [(f"patch_embed.bn{i}.{leaf}", [c]) for leaf in ("weight", "bias", "running_mean", "running_var")]
    stem_shapes += [("patch_embed.proj.weight", [D, c, 4, 4]), ("aux_head.weight", [base.num_classes, D]),
                    ("aux_head.bias", [base.num_classes])]
    extra = random_state(stem_shapes, SEEDS["cfvit_lvvit_extra"],
                         gains=dict({f"patch_embed.bn{i}.weight": "norm" for i in (1, 2, 3)}, **{"aux_head.weight": 2.0}))
    cf = cf_extras(D, hidden, SEEDS["cfvit_lvvit_extra"] + 1000, coarse)
    src = collections.OrderedDict()
    src["cls_token"] = sd["cls_token"]
    for i in (1, 2, 3):
        src[f"patch_embed.conv{i}.weight"] = extra[f"patch_embed.conv{i}.weight"]
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            src[f"patch_embed.bn{i}.{leaf}"] = extra[f"patch_embed.bn{i}.{leaf}"]
        src[f"patch_embed.bn{i}.num_batches_tracked"] = torch.tensor(100 * i, dtype=torch.int64)
    src["patch_embed.proj.weight"] = extra["patch_embed.proj.weight"]
    src["patch_embed.proj.bias"] = sd["patch_embed.proj.bias"]
    src["pos_embed_list.0"] = cf["pos_embed_list.0"]
    src["pos_embed_list.1"] = sd["pos_embed"]
    src.update((k, v) for k, v in sd.items() if k.startswith(("blocks.", "norm.", "head.")))
    src["aux_head.weight"] = extra["aux_head.weight"]
    src["aux_head.bias"] = extra["aux_head.bias"]
    src.update((k, v) for k, v in cf.items() if k.startswith("reuse_block."))
    src = detach(src)
    ckpt = dict({"model": src}, **CF_META)
    torch.save(ckpt, fx.source("cf-lvvit-tiny-2x2.pth"))

    canonical = collections.OrderedDict()
    canonical["cls_token"] = src["cls_token"]
    canonical["pos_embed"] = src["pos_embed_list.1"]
    canonical["patch_embed.proj.weight"] = src["patch_embed.proj.weight"]
    canonical["patch_embed.proj.bias"] = src["patch_embed.proj.bias"]
    canonical.update((k, v) for k, v in src.items() if k.startswith(("blocks.", "norm.", "head.")))
    for i in (1, 2, 3):
        canonical[f"lvvit.stem.conv{i}.weight"] = src[f"patch_embed.conv{i}.weight"]
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            canonical[f"lvvit.stem.bn{i}.{leaf}"] = src[f"patch_embed.bn{i}.{leaf}"]
    canonical["lvvit.aux_head.weight"] = src["aux_head.weight"]
    canonical["lvvit.aux_head.bias"] = src["aux_head.bias"]
    canonical = cf_canonical(canonical, cf)
    enc = encoder_config(base, SEGMENTER_LN_EPS)
    enc.update(patch_embed="conv stem", patch_size=8)
    return fx.finish(canonical, src,
                     {"format": "pth", "state_dict_key": "model", "zip_folder": "cf-lvvit-tiny-2x2",
                      "top_level_keys": list(ckpt)},
                     {"encoder": enc,
                      "lvvit": {"skip_lam": 2.0, "norm_eps": SEGMENTER_LN_EPS, "mlp_ratio": 3.0, "qkv_bias": False,
                                "stem_channels": c,
                                "stem": "conv1 7x7 s2 p3 (no bias) + bn1 + ReLU, conv2 3x3 s1 p1 + bn2 + ReLU, "
                                        "conv3 3x3 s1 p1 + bn3 + ReLU, proj 4x4 s4 (bias): total stride 8",
                                "bn_eps": 1e-5, "attention_scale": "(q * scale) @ k^T",
                                "aux_head": "eval: head(cls) + 0.25 * max over tokens of aux_head(tokens) "
                                            "(coarse stage / 1.25)"},
                      "cfvit": dict(cf_settings(base), reuse_norm_eps=SEGMENTER_LN_EPS),
                      "preprocessing": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD, "crop_pct": 0.9},
                      "not_in_source": ["num_heads", "norm_eps", "skip_lam", "coarse/fine image sizes"]},
                     ["No expected outputs: the engine cannot run LV-ViT yet; only the conversion is checked.",
                      "patch_embed.bn{i}.num_batches_tracked (int64, 0-d; values 100, 200, 300) have no "
                      "canonical counterpart (unused at eval) and are dropped.",
                      "patch_embed.proj [D, c, 4, 4] stays canonical patch_embed.proj: it runs on the stem's "
                      "output, not on pixels. Blocks have no attn.qkv.bias.",
                      "Top-level keys copied from the CF-DeiT format (model, flop, anytime_classification, "
                      "budgeted_batch_classification); the released LV-ViT file was not available to check."])


def make_refused(out):
    d = os.path.join(out, "refused")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    m = init_random(VisionTransformer(**REFUSED), SEEDS["refused"]).eval()
    sd = detach(m.state_dict())
    D = m.embed_dim
    cases = []

    resnet = random_state([("conv1.weight", [8, 3, 7, 7]), ("bn1.weight", [8]), ("bn1.bias", [8]),
                           ("bn1.running_mean", [8]), ("bn1.running_var", [8]),
                           ("layer1.0.conv1.weight", [8, 8, 3, 3]), ("layer1.0.bn1.weight", [8]),
                           ("layer1.0.bn1.bias", [8]), ("layer1.0.bn1.running_mean", [8]),
                           ("layer1.0.bn1.running_var", [8]), ("layer1.0.conv2.weight", [8, 8, 3, 3]),
                           ("layer1.0.bn2.weight", [8]), ("layer1.0.bn2.bias", [8]),
                           ("layer1.0.bn2.running_mean", [8]), ("layer1.0.bn2.running_var", [8]),
                           ("fc.weight", [10, 8]), ("fc.bias", [10])], SEEDS["refused"] + 1,
                          gains={k: "norm" for k in ("bn1.weight", "layer1.0.bn1.weight", "layer1.0.bn2.weight")})
    rn = collections.OrderedDict()
    for k, v in resnet.items():
        rn[k] = v
        if k.endswith("running_var"):
            rn[k.rsplit(".", 1)[0] + ".num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)
    torch.save(rn, os.path.join(d, "unknown_layout.pth"))
    cases.append({"file": "unknown_layout.pth", "reason": "unknown layout: a torchvision-ResNet-like state dict "
                  "(conv1, bn1, layer1.0.*, fc) matches none of the known layouts", "keys": list(rn)})

    bad = collections.OrderedDict(sd)
    w = bad["blocks.0.attn.qkv.weight"]
    bad["blocks.0.attn.qkv.weight"] = torch.cat([w, w[:1] * 0.5], dim=0)
    save_st(os.path.join(d, "wrong_qkv_shape.safetensors"), bad, sort=True)
    cases.append({"file": "wrong_qkv_shape.safetensors", "reason": "blocks.0.attn.qkv.weight is "
                  f"[{3 * D + 1}, {D}], not [3D, D] = [{3 * D}, {D}] (qkv.bias is still [{3 * D}])",
                  "key": "blocks.0.attn.qkv.weight", "shape": [3 * D + 1, D], "expected_shape": [3 * D, D]})

    extra = collections.OrderedDict(sd)
    extra["blocks.0.ls1.gamma"] = 1e-5 * torch.ones(D)
    save_st(os.path.join(d, "unexpected_key.safetensors"), extra, sort=True)
    cases.append({"file": "unexpected_key.safetensors", "reason": "unexpected key blocks.0.ls1.gamma "
                  "(timm LayerScale, which the engine does not implement): must not be ignored",
                  "key": "blocks.0.ls1.gamma", "shape": [D]})

    missing = collections.OrderedDict((k, v) for k, v in sd.items() if k != "norm.weight")
    save_st(os.path.join(d, "missing_norm_weight.safetensors"), missing, sort=True)
    cases.append({"file": "missing_norm_weight.safetensors", "reason": "norm.weight is missing (norm.bias is there)",
                  "key": "norm.weight"})

    for c in cases:
        p = os.path.join(d, c["file"])
        c.update(bytes=os.path.getsize(p), sha256=sha256(p))
    doc = {"layout": "refused", "generator": GENERATOR,
           "description": "Inputs the converter must reject with an error naming the problem. The three "
                          "safetensors files are a valid tiny timm ViT (embed 16, depth 1, 1 head, patch 8, "
                          "image 32, 10 classes) but for the one defect each.",
           "cases": cases}
    write_json(os.path.join(d, "fixture.json"), doc)
    return doc


# ---------------------------------------------------------------- verification

def load_source(fx_dir, doc):
    """The state dict of a fixture, read back from its files."""
    ck = doc["checkpoint"]
    files = [f["file"] for f in doc["source_files"]]
    if ck["format"] == "safetensors":
        sd, meta = st.load_file(os.path.join(fx_dir, "model.safetensors"))
        assert meta == {"format": "pt"}, meta
        return sd
    if ck["format"] == "safetensors-sharded":
        with open(os.path.join(fx_dir, ck["index"])) as f:
            index = json.load(f)
        sd, total = collections.OrderedDict(), 0
        for shard in sorted(set(index["weight_map"].values())):
            part, _ = st.load_file(os.path.join(fx_dir, shard))
            for k, v in part.items():
                assert index["weight_map"][k] == shard, k
                assert k not in sd, k
                sd[k] = v
                total += v.numel() * 4
        assert set(sd) == set(index["weight_map"]), "index and shards disagree"
        assert total == index["metadata"]["total_size"], (total, index["metadata"])
        return sd
    pth = [f for f in files if f.endswith((".pth", ".pt"))][0]
    root = torch.load(os.path.join(fx_dir, pth))
    return root[ck["state_dict_key"]] if ck["state_dict_key"] else root


def verify(out, docs):
    fams = collections.defaultdict(list)
    for doc in docs:
        fx_dir = os.path.join(out, doc["layout"])
        sd = load_source(fx_dir, doc)
        canon, sources, dropped = to_canonical(doc["layout"], sd)
        ref, meta = st.load_file(os.path.join(fx_dir, "expected", "canonical.safetensors"))
        assert meta == {"format": "pt"}
        assert set(canon) == set(ref), (doc["layout"], set(canon) ^ set(ref))
        for k, v in ref.items():
            assert v.dtype == torch.float32 and canon[k].dtype == torch.float32, k
            assert torch.equal(canon[k], v), f"{doc['layout']}: {k} differs"
        assert json.loads(json.dumps(sources)) == doc["mapping"]["canonical_from_source"]
        fams[doc["family"]].append(doc)
        msg = verify_outputs(fx_dir, doc, ref)
        print(f"ok   {doc['layout']:24s} {len(sd):3d} source tensors -> {len(ref):3d} canonical"
              f"{' (' + str(len(dropped)) + ' dropped)' if dropped else ''}{msg}")
    # Every layout of a family gives the same canonical file (hf_dpt: minus the unused head).
    for fam, ds in fams.items():
        shas = {d["canonical"]["sha256"] for d in ds}
        assert len(shas) == 1 or fam == "dpt", (fam, [d["layout"] for d in ds])
        if len(ds) > 1:
            print(f"ok   family {fam}: {', '.join(d['layout'] for d in ds)} -> "
                  f"{'identical canonical files' if len(shas) == 1 else 'same tensors for the shared names'}")
    # Segmenter linear and mask share the encoder; DPT: hf_dpt = dpt_pt minus head.*.
    a, _ = st.load_file(os.path.join(out, "segmenter_pth/expected/canonical.safetensors"))
    b, _ = st.load_file(os.path.join(out, "segmenter_linear_pth/expected/canonical.safetensors"))
    shared = [k for k in a if not k.startswith("decoder.")]
    assert all(torch.equal(a[k], b[k]) for k in shared) and set(shared) == {k for k in b if not k.startswith("decoder.")}
    a, _ = st.load_file(os.path.join(out, "dpt_pt/expected/canonical.safetensors"))
    b, _ = st.load_file(os.path.join(out, "hf_dpt/expected/canonical.safetensors"))
    assert set(a) - set(b) == {"head.weight", "head.bias"} and not set(b) - set(a)
    assert all(torch.equal(a[k], b[k]) for k in b)
    import yaml  # PyYAML (Debian python3-yaml): only to check the hand-written variant.yml
    for name in ("segmenter_pth", "segmenter_linear_pth"):
        text = open(os.path.join(out, name, "variant.yml")).read()
        variant = yaml.load(text, Loader=yaml.FullLoader)   # how Segmenter's load_model reads it
        want = segmenter_variant(variant["net_kwargs"]["decoder"]["name"], SEG_N_CLS, variant["log_dir"])
        assert variant == want, name
        assert text == yaml.dump(want), f"{name}: variant.yml differs from PyYAML's own dump"
    print("ok   variant.yml == yaml.dump(variant) and loads back with yaml.FullLoader")
    verify_refused(out)


@torch.no_grad()
def verify_outputs(fx_dir, doc, canonical):
    """Recompute the expected files from the canonical tensors (bit for bit) and compare them
    with the independent float64 numpy forward."""
    exp = doc["expected"]
    if not exp:
        return ""
    e = doc["encoder"]
    enc_sd = {k: v for k, v in canonical.items() if not k.startswith(("decoder.", "dpt.", "cfvit.", "lvvit."))}
    num_classes = enc_sd["head.weight"].shape[0] if "head.weight" in enc_sd else 1
    m = VisionTransformer(img_size=e["img_size"], patch_size=e["patch_size"], embed_dim=e["embed_dim"],
                          depth=e["depth"], num_heads=e["num_heads"], mlp_ratio=e["mlp_hidden"] / e["embed_dim"],
                          qkv_bias=e["qkv_bias"], num_classes=num_classes, distilled=e["dist_token"],
                          norm_eps=e["norm_eps"]).eval()
    if "head.weight" not in enc_sd:         # hf_dpt: no classifier; give the module a dummy one
        enc_sd = dict(enc_sd, **{"head.weight": torch.zeros(1, e["embed_dim"]), "head.bias": torch.zeros(1)})
    m.load_state_dict(enc_sd, strict=True)
    x = torch.from_numpy(np.load(os.path.join(fx_dir, "expected/input.npy")))
    feats, _ = m.forward_features(x, return_blocks=False)
    want = np.load(os.path.join(fx_dir, "expected/features.npy"))
    assert np.array_equal(feats.numpy(), want), "features.npy is not reproduced bit for bit"
    f_ref, l_ref = numpy_vit(enc_sd, dict(patch=e["patch_size"], dim=e["embed_dim"], heads=e["num_heads"],
                                          depth=e["depth"]), x, m.pos_embed.double().numpy(), eps=e["norm_eps"])
    err = float(np.abs(want - f_ref).max())
    assert err < 5e-5, err
    msg = f"; features vs numpy f64 {err:.1e}"
    if "logits.npy" in exp:
        logits = np.load(os.path.join(fx_dir, "expected/logits.npy"))
        assert np.array_equal(m.forward_head(feats).numpy(), logits)
        err = float(np.abs(logits - l_ref).max())
        assert err < 5e-5, err
        msg += f", logits {err:.1e}"
    if "masks.npy" in exp:
        s = doc["segmenter"]
        dec_sd = {k[len("decoder."):]: v for k, v in canonical.items() if k.startswith("decoder.")}
        masks = np.load(os.path.join(fx_dir, "expected/masks.npy"))
        grid = tuple(e["grid"])
        if s["decoder"] == "linear":
            ref = (f_ref[:, 1:] @ dec_sd["head.weight"].double().numpy().T + dec_sd["head.bias"].double().numpy())
            ref = ref.transpose(0, 2, 1).reshape(masks.shape)
        else:
            ref = numpy_mask_transformer(dec_sd, f_ref[:, 1:], s["n_cls"], s["decoder_heads"], grid,
                                         eps=s["decoder_norm_eps"])
        err = float(np.abs(masks - ref).max())
        assert err < 5e-5, err
        msg += f", masks {err:.1e}"
    return msg


def verify_refused(out):
    d = os.path.join(out, "refused")
    rn = torch.load(os.path.join(d, "unknown_layout.pth"))
    vit_like = ("cls_token", "pos_embed", "blocks.", "encoder.", "decoder.", "backbone.", "decode_head.",
                "pretrained.", "scratch.", "vit.", "deit.", "dpt.", "neck.", "pos_embed_list.", "patch_embed.")
    assert not any(k.startswith(vit_like) for k in rn), "unknown_layout.pth looks like a known layout"
    for name in ("wrong_qkv_shape", "unexpected_key", "missing_norm_weight"):
        sd, _ = st.load_file(os.path.join(d, name + ".safetensors"))
        D = sd["cls_token"].shape[-1]
        if name == "wrong_qkv_shape":
            assert list(sd["blocks.0.attn.qkv.weight"].shape) == [3 * D + 1, D]
        elif name == "unexpected_key":
            assert "blocks.0.ls1.gamma" in sd
        else:
            assert "norm.weight" not in sd and "norm.bias" in sd
        try:   # the plain ViT must refuse to load each of them
            VisionTransformer(**REFUSED).load_state_dict(sd, strict=True)
            raise AssertionError(f"{name} loads")
        except RuntimeError:
            pass
    print("ok   refused: the three timm files fail a strict load; unknown_layout.pth has no ViT keys")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-verify", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = args.out
    os.makedirs(out, exist_ok=True)

    vit = init_random(VisionTransformer(**VIT), SEEDS["vit"]).eval()
    bare = init_random(VisionTransformer(**BARE), SEEDS["vit_bare"]).eval()
    deit = init_random(VisionTransformer(**DEIT), SEEDS["deit"]).eval()
    x_vit, x_deit = make_input(INPUT_SEEDS["vit"]), make_input(INPUT_SEEDS["deit"])

    docs = [make_timm_hub(out, vit, x_vit),
            make_timm_bare(out, bare, make_input(INPUT_SEEDS["vit_bare"])),
            make_deit_pth(out, deit, x_deit),
            make_hf_vit(out, vit, x_vit),
            make_hf_deit(out, deit, x_deit),
            make_hf_vit(out, vit, x_vit, layout="hf_vit_sharded", shards=True)]

    enc, mask, linear = segmenter_models()
    x_seg = make_input(INPUT_SEEDS["segmenter"])
    docs.append(make_segmenter(out, enc, mask, x_seg))
    docs.append(make_segmenter_linear(out, enc, linear, x_seg))
    docs.append(make_segmenter_mmseg(out, enc, mask, x_seg, os.path.join(out, "segmenter_pth", "checkpoint.pth")))
    with torch.no_grad():
        f5, _, _ = run_encoder(enc, x_seg)
        f6, _, _ = run_encoder(with_eps(enc, 1e-6), x_seg)
    docs[-1]["stats"]["features_eps_1e-6_vs_1e-5_max_abs"] = float(f"{float((f5 - f6).abs().max()):.3e}")
    write_json(os.path.join(out, "segmenter_mmseg_pth", "fixture.json"), docs[-1])

    dpt = init_random(VisionTransformer(**DPT), SEEDS["dpt"]).eval()
    neck = random_state(dpt_neck_shapes(dpt.embed_dim), SEEDS["dpt_neck"])
    x_dpt = make_input(INPUT_SEEDS["dpt"])
    docs.append(make_dpt(out, dpt, neck, x_dpt))
    docs.append(make_hf_dpt(out, dpt, neck, x_dpt, os.path.join(out, "dpt_pt", "expected", "canonical.safetensors")))

    cf = init_random(VisionTransformer(**VIT), SEEDS["cfvit_deit"]).eval()
    docs.append(make_cfvit_deit(out, cf, make_input(INPUT_SEEDS["cfvit_deit"])))
    docs.append(make_cfvit_lvvit(out))
    refused = make_refused(out)

    def folder_bytes(name):
        d = os.path.join(out, name)
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)

    index = {"generator": GENERATOR, "torch_version": torch.__version__,
             "notes": "One folder per source layout; each has fixture.json. Layouts of one family convert to "
                      "the same canonical tensors (same canonical.safetensors bytes; hf_dpt: dpt_pt's minus "
                      "head.*). npy files are float32 little-endian C order.",
             "fixtures": [{"layout": d["layout"], "family": d["family"],
                           "source_files": [f["file"] for f in d["source_files"]],
                           "expected": ["canonical.safetensors"] + list(d["expected"]),
                           "canonical_sha256": d["canonical"]["sha256"], "bytes": folder_bytes(d["layout"])}
                          for d in docs],
             "refused": [c["file"] for c in refused["cases"]]}
    write_json(os.path.join(out, "fixtures.json"), index)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    for e in index["fixtures"]:
        print(f"{e['layout']:24s} {e['family']:17s} {e['bytes'] / 1e3:8.1f} kB")
    print(f"{'refused':24s} {'':17s} {folder_bytes('refused') / 1e3:8.1f} kB")
    print(f"total {total / 1e6:.2f} MB in {out}")
    if not args.no_verify:
        verify(out, docs)


if __name__ == "__main__":
    main()
