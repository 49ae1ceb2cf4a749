#!/usr/bin/env python3
"""Golden fixtures for DPT monocular depth (isl-org/DPT and Hugging Face's DPTForDepthEstimation)
and for DPT's two image preprocessings.

    /usr/bin/python3 tools/make_dpt_fixtures.py [--out tasks/src/test/resources/golden/dpt]

Writes (all float32 .npy, C order; fixtures.json describes every file):

    dpt_tiny.pt                 tiny DPT (ViT encoder), isl-org/DPT names, plain state_dict (torch.save)
    hf/model.safetensors        the same weights in Hugging Face's names (F32, sorted by name)
    hf/config.json              DPTConfig as transformers writes it (layer_norm_eps 1e-12)
    hf/preprocessor_config.json DPTImageProcessor defaults at size 64
    input.npy, depth_pt.npy, depth_hf.npy      a random 1x3x64x96 input and both models' depth
    photo.png                   skimage's chelsea, downscaled to 157x100 (8-bit RGB)
    monodepth_*.npy             run_monodepth.py's path for that photo at net size 64
    hf_*.npy, hf_aspect_*.npy   DPTImageProcessor's path (default stretch; keep-aspect, multiple of 32)
    dpt_hybrid_tiny.pt, hybrid_input.npy, hybrid_depth.npy   a tiny DPT-Hybrid (ResNetV2 + ViT)
    hybrid_depth_kitti.npy      the same model built as run_monodepth.py builds dpt_hybrid_kitti (scale 0.00006016,
                                shift 0.00579, invert=True): metric depth for hybrid_input.npy
    hf_hybrid/model.safetensors  a tiny Hugging Face DPT-Hybrid (BiT backbone, dpt.embeddings.backbone.bit.*)
    hf_hybrid/config.json        DPTConfig with is_hybrid, embedding_type "hybrid" and a BiT backbone_config
    hf_hybrid/preprocessor_config.json, hf_hybrid_depth.npy   its processor and its depth for hybrid_input.npy
    hf_hybrid_stem_standardised.npy   its stem convolution as BiT standardises it (eps 1e-8 inside the root)

The model is hourglass_ref.dpt (verified bit-identical to the original DPT code with timm 0.4.5 on
these weights, and against transformers' DPT-Hybrid classes for hf_hybrid/; see tools/README.md).
The preprocessing is restated here from the originals'
definitions: cv2 (python3-opencv) for run_monodepth's cv2.resize(INTER_CUBIC) and PIL for
DPTImageProcessor's resize. Deterministic: the same torch/numpy/PIL/OpenCV reproduce every byte.
"""
import argparse
import collections
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
from hourglass_ref import dpt as R  # noqa: E402
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import LN_EPS  # noqa: E402
from make_converter_fixtures import hf_encoder_state, dpt_to_hf_neck, write_hf_json  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "tasks", "src", "test", "resources", "golden", "dpt")
GENERATOR = "tools/make_dpt_fixtures.py"

# Tiny DPT: ViT img 64 (pos_embed grid 4x4), patch 16 (DPT's fixed grid), D 32, depth 4, 2 heads, MLP 64.
VIT = dict(embed_dim=32, depth=4, heads=2, img_size=64, mlp_ratio=2.0)
HOOKS = [0, 1, 2, 3]              # = the converter's default for depth 4 (k * depth / 4 - 1)
FEATURES = [8, 16, 32, 32]
FUSION = 16
HEAD_BIAS = 1.5                   # keeps most depth pixels above the final ReLU
SEED_MODEL, SEED_INPUT = 1401, 1402
# Tiny DPT-Hybrid: ResNetV2 stem 32, one unit per stage, widths 128 (GroupNorm needs 32 groups: mid
# width 32 = 128 / 4), ViT D 32 depth 4; taps: stage 0, stage 1, blocks 2 and 3.
HYBRID = dict(layers=(1, 1, 1), channels=(128, 128, 128), stem=32)
HYBRID_FEATURES = [128, 128, 32, 32]
SEED_HYBRID, SEED_HYBRID_INPUT = 1403, 1404
# Tiny Hugging Face DPT-Hybrid: the same smallest ResNet BiT's 32 GroupNorm groups allow (93k of its 131k
# parameters), a narrower ViT (D 16) and neck; backbone_out_indices [0, 1, 1, 3]: Hugging Face reads only the last
# two (taps: stage 1, stage 2, blocks 1 and 3), so the converter must take them from config.json.
HF_HYBRID_VIT = dict(embed_dim=16, depth=4, heads=2, img_size=64, mlp_ratio=2.0)
HF_HYBRID_HOOKS = [0, 1, 1, 3]
HF_HYBRID_FEATURES = [128, 128, 16, 16]
HF_HYBRID_FUSION = 8
SEED_HF_HYBRID = 1411
# The BiT convolutions' weights are scaled down to std ~1e-3 (standardisation undoes the scale): there BiT's eps (1e-8
# inside the root) shrinks the standardised weights by ~0.5 % and timm 0.4.5's rule (std + 1e-5) by ~1 %, so a wrong
# rule or eps moves the depth well past the golden tolerance; at init_random_dpt's std (~0.08) it would not.
BIT_WEIGHT_SCALE = 0.01
BIT_PREFIX = "dpt.embeddings.backbone.bit."
# run_monodepth.py's dpt_hybrid_kitti: DPTDepthModel(scale=0.00006016, shift=0.00579, invert=True).
KITTI = dict(scale=0.00006016, shift=0.00579)
NET = 64                          # network size for both preprocessings (DPT-Large/Hybrid use 384)
MULTIPLE = 32
PHOTO_SIZE = (157, 100)           # (width, height)
HALF = [0.5, 0.5, 0.5]


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(np.asarray(arr), dtype="<f4"))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_dpt(norm_eps, hf_fusion=False):
    vit = R.tiny_vit(VIT["embed_dim"], VIT["depth"], VIT["heads"], VIT["img_size"], VIT["mlp_ratio"],
                     norm_eps=norm_eps)
    return R.DPTModel(vit, HOOKS, FEATURES, FUSION, readout="project", head="depth", non_negative=True,
                      hf_fusion=hf_fusion).eval()


def build_hybrid():
    vit = R.tiny_vit(VIT["embed_dim"], VIT["depth"], VIT["heads"], VIT["img_size"], VIT["mlp_ratio"])
    bb = R.ResNetV2(HYBRID["layers"], HYBRID["channels"], HYBRID["stem"])
    return R.DPTModel(vit, HOOKS, HYBRID_FEATURES, FUSION, readout="project", head="depth",
                      hybrid_backbone=bb).eval()


def build_hf_hybrid():
    """Hugging Face's DPT-Hybrid: BiT's standardisation (sqrt(var + 1e-8)), LayerNorm eps 1e-12, its fusion."""
    v = HF_HYBRID_VIT
    vit = R.tiny_vit(v["embed_dim"], v["depth"], v["heads"], v["img_size"], v["mlp_ratio"], norm_eps=R.HF_LN_EPS)
    bb = R.ResNetV2(HYBRID["layers"], HYBRID["channels"], HYBRID["stem"], std_rule="bit")
    return R.DPTModel(vit, HF_HYBRID_HOOKS, HF_HYBRID_FEATURES, HF_HYBRID_FUSION, readout="project", head="depth",
                      hybrid_backbone=bb, hf_fusion=True).eval()


@torch.no_grad()
def make_hf_hybrid():
    """hf_hybrid/'s model: random (seed SEED_HF_HYBRID), the BiT convolutions scaled by BIT_WEIGHT_SCALE."""
    model = build_hf_hybrid()
    R.init_random_dpt(model, SEED_HF_HYBRID, head_bias=HEAD_BIAS)
    for p in model.pretrained.model.patch_embed.backbone.parameters():
        if p.ndim == 4:
            p.mul_(BIT_WEIGHT_SCALE)
    return model


def bit_name(resnet_name):
    """A timm ResNetV2 name (stem.*, stages.S.blocks.U.*) as transformers' BitModel names it."""
    if resnet_name.startswith("stem.conv."):
        return "embedder.convolution." + resnet_name[len("stem.conv."):]
    if resnet_name.startswith("stem.norm."):
        return "embedder.norm." + resnet_name[len("stem.norm."):]
    parts = resnet_name.split(".")
    assert parts[0] == "stages" and parts[2] == "blocks", resnet_name
    return "encoder.stages." + parts[1] + ".layers." + ".".join(parts[3:])


def hf_hybrid_state(sd, depth):
    """isl-org hybrid names -> Hugging Face DPTForDepthEstimation's (convert_dpt_hybrid_to_pytorch.py's renaming):
    the ViT as for a plain DPT, the ResNet under dpt.embeddings.backbone.bit., patch_embed.proj as
    dpt.embeddings.projection; the timm head is dropped as that script does."""
    m = "pretrained.model."
    vit_sd = collections.OrderedDict((k[len(m):], v) for k, v in sd.items()
                                     if k.startswith(m) and not k.startswith(m + "patch_embed.backbone."))
    out = hf_encoder_state(vit_sd, "dpt", depth, False)
    for leaf in ("weight", "bias"):
        out["dpt.embeddings.projection." + leaf] = out.pop("dpt.embeddings.patch_embeddings.projection." + leaf)
    b = m + "patch_embed.backbone."
    for k, v in sd.items():
        if k.startswith(b):
            out[BIT_PREFIX + bit_name(k[len(b):])] = v
    neck = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith(m))
    out.update(dpt_to_hf_neck(neck))
    return out


def plain_state(model):
    return collections.OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())


# ------------------------------------------------------------------ preprocessing (restated)

def constrain_to_multiple_of(x, multiple, min_val=0, max_val=None):
    """DPT transforms.Resize / DPTImageProcessor: round half to even (np.round / Python round),
    floor if above max_val, ceil if below min_val."""
    y = int(np.round(x / multiple) * multiple)
    if max_val is not None and y > max_val:
        y = int(math.floor(x / multiple) * multiple)
    if y < min_val:
        y = int(math.ceil(x / multiple) * multiple)
    return y


def keep_aspect_size(width, height, net_w, net_h, multiple):
    """resize_method 'minimal' with keep_aspect_ratio: the scale closer to 1 wins (ties: height's),
    both sides scaled by it, each rounded to a multiple. Returns (new_w, new_h)."""
    sh, sw = net_h / height, net_w / width
    if abs(1 - sw) < abs(1 - sh):
        sh = sw
    else:
        sw = sh
    return constrain_to_multiple_of(sw * width, multiple), constrain_to_multiple_of(sh * height, multiple)


def monodepth_input(path):
    """run_monodepth.py: util.io.read_image (cv2.imread, BGR->RGB, / 255.0: float64), Resize(net, net,
    keep_aspect_ratio, ensure_multiple_of=32, 'minimal', cv2.INTER_CUBIC) on the float64 image,
    NormalizeImage(0.5, 0.5) in float64, PrepareForNet (HWC -> CHW, float32)."""
    import cv2
    img = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) / 255.0
    w, h = keep_aspect_size(img.shape[1], img.shape[0], NET, NET, MULTIPLE)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    img = (img - HALF) / HALF
    return np.ascontiguousarray(np.transpose(img, (2, 0, 1))).astype(np.float32)[None]


def hf_input(path, keep_aspect, multiple):
    """DPTImageProcessor: uint8 RGB -> PIL resize (BICUBIC, reducing_gap None) to the size of
    get_resize_output_image_size -> uint8 -> float64 * (1/255) -> float32 -> (x - 0.5) / 0.5 in float32."""
    pil = Image.open(path).convert("RGB")
    if keep_aspect:
        w, h = keep_aspect_size(pil.width, pil.height, NET, NET, multiple)
    else:
        w, h = constrain_to_multiple_of(NET, multiple), constrain_to_multiple_of(NET, multiple)
    arr = np.array(pil.resize((w, h), resample=Image.BICUBIC, reducing_gap=None))
    arr = (arr.astype(np.float64) * (1 / 255)).astype(np.float32)
    mean, std = np.array(HALF, dtype=np.float32), np.array(HALF, dtype=np.float32)
    arr = (arr - mean) / std
    return np.ascontiguousarray(arr.transpose(2, 0, 1))[None]


# ------------------------------------------------------------------ writing

def hf_config(vit=VIT, hooks=HOOKS, features=FEATURES, fusion=FUSION):
    return {"architectures": ["DPTForDepthEstimation"], "add_projection": False,
            "attention_probs_dropout_prob": 0.0, "auxiliary_loss_weight": 0.4, "backbone": None,
            "backbone_config": None, "backbone_featmap_shape": None, "backbone_out_indices": hooks,
            "fusion_hidden_size": fusion, "head_in_index": -1, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
            "hidden_size": vit["embed_dim"], "image_size": vit["img_size"], "initializer_range": 0.02,
            "intermediate_size": int(vit["embed_dim"] * vit["mlp_ratio"]), "is_hybrid": False,
            "layer_norm_eps": R.HF_LN_EPS, "model_type": "dpt", "neck_hidden_sizes": features,
            "neck_ignore_stages": [], "num_attention_heads": vit["heads"], "num_channels": 3,
            "num_hidden_layers": vit["depth"], "patch_size": R.PATCH, "qkv_bias": True, "readout_type": "project",
            "reassemble_factors": [4, 2, 1, 0.5], "semantic_classifier_dropout": 0.1,
            "semantic_loss_ignore_index": 255, "torch_dtype": "float32", "use_auxiliary_head": True,
            "use_batch_norm_in_fusion_residual": False, "use_bias_in_fusion_residual": None}


def hf_hybrid_config():
    """DPTConfig(is_hybrid=True, embedding_type="hybrid", backbone_config=BitConfig(...)) as transformers writes it:
    the hybrid fields set as convert_dpt_hybrid_to_pytorch.py and DPTConfig's hybrid defaults set them, the BiT
    config as BitConfig.to_dict() gives it (global_padding upper-cased, out_features and out_indices both)."""
    c = hf_config(HF_HYBRID_VIT, HF_HYBRID_HOOKS, HF_HYBRID_FEATURES, HF_HYBRID_FUSION)
    stages = len(HYBRID["layers"])
    c.update({
        "backbone_config": {
            "depths": list(HYBRID["layers"]), "drop_path_rate": 0.0, "embedding_dynamic_padding": True,
            "embedding_size": HYBRID["stem"], "global_padding": "SAME", "hidden_act": "relu",
            "hidden_sizes": list(HYBRID["channels"]), "layer_type": "bottleneck", "model_type": "bit",
            "num_channels": 3, "num_groups": 32, "out_features": [f"stage{i}" for i in range(1, stages + 1)],
            "out_indices": list(range(1, stages + 1)), "output_stride": 32,
            "stage_names": ["stem"] + [f"stage{i}" for i in range(1, stages + 1)], "width_factor": 1},
        "backbone_featmap_shape": [1, HYBRID["channels"][-1], HF_HYBRID_VIT["img_size"] // R.PATCH,
                                   HF_HYBRID_VIT["img_size"] // R.PATCH],
        "backbone_kwargs": None, "embedding_type": "hybrid", "is_hybrid": True, "neck_ignore_stages": [0, 1],
        "reassemble_factors": [1, 1, 1, 0.5], "use_pretrained_backbone": False, "use_timm_backbone": False})
    return c


def hf_preprocessor(keep_aspect=False, multiple=1):
    return {"do_normalize": True, "do_pad": False, "do_rescale": True, "do_resize": True,
            "ensure_multiple_of": multiple, "image_mean": HALF, "image_processor_type": "DPTImageProcessor",
            "image_std": HALF, "keep_aspect_ratio": keep_aspect, "resample": 3,
            "rescale_factor": 0.00392156862745098, "size": {"height": NET, "width": NET}, "size_divisor": None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    out = args.out
    os.makedirs(os.path.join(out, "hf"), exist_ok=True)
    torch.set_num_threads(1)
    files = {}

    def npy(name, arr, what):
        save_npy(os.path.join(out, name), arr)
        files[name] = {"shape": list(np.asarray(arr).shape), "what": what}

    with torch.no_grad():
        # --- tiny DPT, original layout (LayerNorm eps 1e-6) and Hugging Face layout (1e-12)
        model = build_dpt(LN_EPS)
        R.init_random_dpt(model, SEED_MODEL, head_bias=HEAD_BIAS)
        sd = plain_state(model)
        torch.save(sd, os.path.join(out, "dpt_tiny.pt"))
        hf_model = build_dpt(R.HF_LN_EPS, hf_fusion=True)
        hf_model.load_state_dict(sd)
        vit_sd = collections.OrderedDict((k[len("pretrained.model."):], v) for k, v in sd.items()
                                         if k.startswith("pretrained.model."))
        neck = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("pretrained.model."))
        hf = hf_encoder_state(vit_sd, "dpt", VIT["depth"], False)
        hf.update(dpt_to_hf_neck(neck))
        st.save_file(collections.OrderedDict(sorted(hf.items())), os.path.join(out, "hf", "model.safetensors"),
                     metadata={"format": "pt"})
        write_hf_json(os.path.join(out, "hf", "config.json"), hf_config())
        write_hf_json(os.path.join(out, "hf", "preprocessor_config.json"), hf_preprocessor())

        g = torch.Generator().manual_seed(SEED_INPUT)
        x = torch.rand(1, 3, 64, 96, generator=g) * 2 - 1
        npy("input.npy", x, "random input in [-1, 1) (like a 0.5/0.5-normalised image), NCHW")
        d_pt = model(x)
        d_hf = hf_model(x)
        npy("depth_pt.npy", d_pt, "dpt_tiny.pt's output for input.npy: DPTDepthModel.forward, [B, H, W]")
        npy("depth_hf.npy", d_hf, "hf/'s output for input.npy: DPTForDepthEstimation.predicted_depth (eps 1e-12)")
        positive = float((d_pt > 0).float().mean())

        # --- the photo
        from skimage import data as skdata
        photo = os.path.join(out, "photo.png")
        Image.fromarray(skdata.chelsea()).resize(PHOTO_SIZE, Image.LANCZOS).save(photo)
        W, H = PHOTO_SIZE

        mono = monodepth_input(photo)
        npy("monodepth_input.npy", mono, "run_monodepth preprocessing of photo.png at net 64x64, multiple of 32")
        d = model(torch.from_numpy(mono))
        npy("monodepth_depth.npy", d, "dpt_tiny.pt on monodepth_input.npy, [1, h, w]")
        npy("monodepth_depth_full.npy", R.resize_to_image(d, H, W),
            "monodepth_depth.npy resized to the photo: F.interpolate bicubic align_corners=False, [1, H, W]")

        hfx = hf_input(photo, keep_aspect=False, multiple=1)
        npy("hf_input.npy", hfx, "DPTImageProcessor defaults (size 64x64 stretched, PIL bicubic, 1/255, 0.5/0.5)")
        d = hf_model(torch.from_numpy(hfx))
        npy("hf_depth.npy", d, "hf/ on hf_input.npy, [1, 64, 64]")
        npy("hf_depth_full.npy", R.resize_to_image(d, H, W),
            "post_process_depth_estimation(target_sizes=[(H, W)]): bicubic align_corners=False, [1, H, W]")
        hfa = hf_input(photo, keep_aspect=True, multiple=MULTIPLE)
        npy("hf_aspect_input.npy", hfa, "DPTImageProcessor(keep_aspect_ratio=True, ensure_multiple_of=32), size 64")
        npy("hf_aspect_depth.npy", hf_model(torch.from_numpy(hfa)), "hf/ on hf_aspect_input.npy")

        # --- tiny DPT-Hybrid (original layout only)
        hyb = build_hybrid()
        R.init_random_dpt(hyb, SEED_HYBRID, head_bias=HEAD_BIAS)
        torch.save(plain_state(hyb), os.path.join(out, "dpt_hybrid_tiny.pt"))
        g = torch.Generator().manual_seed(SEED_HYBRID_INPUT)
        xh = torch.rand(1, 3, 64, 96, generator=g) * 2 - 1
        npy("hybrid_input.npy", xh, "random input in [-1, 1), NCHW")
        npy("hybrid_depth.npy", hyb(xh), "dpt_hybrid_tiny.pt's output for hybrid_input.npy, [B, H, W]")
        hyb.scale, hyb.shift, hyb.invert = KITTI["scale"], KITTI["shift"], True
        d_kitti = hyb(xh)
        npy("hybrid_depth_kitti.npy", d_kitti, "dpt_hybrid_tiny.pt with KITTI's scale, shift and invert (run_monodepth"
            ".py's dpt_hybrid_kitti) for hybrid_input.npy: 1 / max(scale * x + shift, 1e-8), metric depth, [B, H, W]")

        # --- tiny Hugging Face DPT-Hybrid (BiT backbone), its own weights
        hfh = make_hf_hybrid()
        os.makedirs(os.path.join(out, "hf_hybrid"), exist_ok=True)
        hfh_state = hf_hybrid_state(plain_state(hfh), HF_HYBRID_VIT["depth"])
        st.save_file(collections.OrderedDict(sorted(hfh_state.items())),
                     os.path.join(out, "hf_hybrid", "model.safetensors"), metadata={"format": "pt"})
        write_hf_json(os.path.join(out, "hf_hybrid", "config.json"), hf_hybrid_config())
        write_hf_json(os.path.join(out, "hf_hybrid", "preprocessor_config.json"), hf_preprocessor())
        stem = hfh.pretrained.model.patch_embed.backbone.stem.conv.weight
        npy("hf_hybrid_stem_standardised.npy", R.standardise(stem, "bit", R.BIT_STD_EPS),
            "hf_hybrid/'s stem convolution weight [32, 3, 7, 7] as WeightStandardizedConv2d convolves with it "
            "(F.batch_norm over [1, out, in*k*k] in training mode, eps 1e-8; R.standardise reproduces it to the bit)")
        d_hfh = hfh(xh)
        npy("hf_hybrid_depth.npy", d_hfh, "hf_hybrid/'s output for hybrid_input.npy: DPTForDepthEstimation."
            "predicted_depth with the embeddings' size check off (interpolate_pos_encoding=True), [B, H, W]")
        hfh_positive = float((d_hfh > 0).float().mean())

    manifest = {
        "generator": GENERATOR, "torch_version": torch.__version__, "numpy_version": np.__version__,
        "notes": [
            "Every .npy is float32 little-endian, C order. Depth maps are DPTDepthModel.forward's output "
            "(squeezed channel: [B, H, W], 'inverse depth', non-negative) at the network input size.",
            "The .pt and hf/ models hold the same weights; they differ only in LayerNorm eps (1e-6 in the "
            "original timm ViT, 1e-12 in Hugging Face's DPTConfig), hence depth_pt vs depth_hf.",
            "Hugging Face's fusion resizes a skip input whose size differs from the path; with inputs that "
            "are multiples of 32 they never differ, so hf/ computes what the original computes.",
        ],
        "models": {
            "dpt_tiny": {
                "file": "dpt_tiny.pt", "format": "torch.save of a plain state_dict (isl-org/DPT names)",
                "sha256": sha256(os.path.join(out, "dpt_tiny.pt")), "seed": SEED_MODEL,
                "encoder": {"img_size": VIT["img_size"], "patch_size": R.PATCH, "embed_dim": VIT["embed_dim"],
                            "depth": VIT["depth"], "num_heads": VIT["heads"],
                            "mlp_hidden": int(VIT["embed_dim"] * VIT["mlp_ratio"]), "qkv_bias": True,
                            "norm_eps": LN_EPS},
                "dpt": {"hooks": HOOKS, "readout": "project", "features": FEATURES, "fusion_features": FUSION,
                        "reassemble_factors": [4, 2, 1, 0.5], "use_bn": False, "head": "depth",
                        "non_negative": True, "invert": False, "head_hidden": 32},
                "depth_positive_fraction": round(positive, 4),
            },
            "hf": {"folder": "hf", "files": ["model.safetensors", "config.json", "preprocessor_config.json"],
                   "same_weights_as": "dpt_tiny", "norm_eps": R.HF_LN_EPS,
                   "sha256": sha256(os.path.join(out, "hf", "model.safetensors"))},
            "dpt_hybrid_tiny": {
                "file": "dpt_hybrid_tiny.pt", "seed": SEED_HYBRID,
                "sha256": sha256(os.path.join(out, "dpt_hybrid_tiny.pt")),
                "backbone": {"type": "ResNetV2 (timm 0.4.5, preact False, stem 'same', StdConv2dSame)",
                             "stem_channels": HYBRID["stem"], "layers": list(HYBRID["layers"]),
                             "channels": list(HYBRID["channels"]), "group_norm_groups": 32, "group_norm_eps": R.GN_EPS,
                             "std_conv_eps": R.STD_CONV_EPS,
                             "std_conv": "w' = (w - mean) / (std + eps), biased std over (in, kh, kw)"},
                "encoder": {"img_size": VIT["img_size"], "patch_size": R.PATCH, "embed_dim": VIT["embed_dim"],
                            "depth": VIT["depth"], "num_heads": VIT["heads"],
                            "mlp_hidden": int(VIT["embed_dim"] * VIT["mlp_ratio"]), "norm_eps": LN_EPS,
                            "patch_embed": "1x1 conv (patch_embed.proj) on the last ResNet stage"},
                "dpt": {"hooks": HOOKS, "tap_sources": ["stages.0", "stages.1", "blocks.2", "blocks.3"],
                        "readout": "project", "features": HYBRID_FEATURES, "fusion_features": FUSION,
                        "head": "depth", "non_negative": True},
                "metric_kitti": {"file": "hybrid_depth_kitti.npy", "scale": KITTI["scale"], "shift": KITTI["shift"],
                                 "invert": True,
                                 "formula": "depth = scale * x + shift (scale and shift rounded to float32, two "
                                            "roundings); depth < 1e-8 set to 1e-8; 1.0 / depth (IEEE division)",
                                 "depth_min": float(d_kitti.min()), "depth_max": float(d_kitti.max())},
            },
            "hf_hybrid": {
                "folder": "hf_hybrid", "files": ["model.safetensors", "config.json", "preprocessor_config.json"],
                "seed": SEED_HF_HYBRID, "sha256": sha256(os.path.join(out, "hf_hybrid", "model.safetensors")),
                "bit_conv_weight_scale": BIT_WEIGHT_SCALE,
                "backbone": {"type": "transformers BitBackbone (layer_type bottleneck, global_padding SAME,"
                                     " embedding_dynamic_padding, WeightStandardizedConv2d)",
                             "stem_channels": HYBRID["stem"], "layers": list(HYBRID["layers"]),
                             "channels": list(HYBRID["channels"]), "group_norm_groups": 32, "group_norm_eps": R.GN_EPS,
                             "std_conv_eps": R.BIT_STD_EPS,
                             "std_conv": "w' = (w - mean) / sqrt(var + eps), biased var over (in, kh, kw)"},
                "encoder": {"img_size": HF_HYBRID_VIT["img_size"], "patch_size": R.PATCH,
                            "embed_dim": HF_HYBRID_VIT["embed_dim"], "depth": HF_HYBRID_VIT["depth"],
                            "num_heads": HF_HYBRID_VIT["heads"],
                            "mlp_hidden": int(HF_HYBRID_VIT["embed_dim"] * HF_HYBRID_VIT["mlp_ratio"]),
                            "norm_eps": R.HF_LN_EPS,
                            "patch_embed": "1x1 conv (dpt.embeddings.projection) on the last BiT stage"},
                "dpt": {"backbone_out_indices": HF_HYBRID_HOOKS,
                        "tap_sources": ["stages.0", "stages.1", "blocks.1", "blocks.3"],
                        "readout": "project", "features": HF_HYBRID_FEATURES, "fusion_features": HF_HYBRID_FUSION,
                        "reassemble_factors": [1, 1, 1, 0.5], "head": "depth", "non_negative": True},
                "note": "Hugging Face's DPTViTHybridEmbeddings refuses inputs other than image_size (64x64) unless "
                        "interpolate_pos_encoding=True, which DPTModel never passes; the depth is what that flag "
                        "computes (DPT's bilinear position-embedding resize, as isl-org/DPT does at every size).",
                "depth_positive_fraction": round(hfh_positive, 4),
            },
        },
        "preprocessing": {
            "photo": {"file": "photo.png", "width": W, "height": H, "sha256": sha256(photo),
                      "source": "skimage.data.chelsea() resized with PIL LANCZOS"},
            "monodepth": {"net_width": NET, "net_height": NET, "ensure_multiple_of": MULTIPLE,
                          "keep_aspect_ratio": True, "resize_method": "minimal", "interpolation": "cv2.INTER_CUBIC",
                          "precision": "float64 until PrepareForNet casts to float32",
                          "mean": HALF, "std": HALF,
                          "output_size": list(mono.shape[2:]),
                          "note": "DPT-Large/Hybrid use net 384 (KITTI 1216x352, NYU 640x480)"},
            "hugging_face": {"size": {"height": NET, "width": NET}, "keep_aspect_ratio": False,
                             "ensure_multiple_of": 1, "resample": "PIL BICUBIC (3) on uint8",
                             "rescale_factor": "1/255 (float64 product, then float32)",
                             "mean": HALF, "std": HALF, "output_size": list(hfx.shape[2:])},
            "hugging_face_aspect": {"size": {"height": NET, "width": NET}, "keep_aspect_ratio": True,
                                    "ensure_multiple_of": MULTIPLE, "output_size": list(hfa.shape[2:])},
            "resize_back": "F.interpolate(depth.unsqueeze(1), size=(H, W), mode='bicubic', align_corners=False)",
        },
        "files": files,
    }
    with open(os.path.join(out, "fixtures.json"), "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    total = sum(os.path.getsize(os.path.join(dp, n)) for dp, _, ns in os.walk(out) for n in ns)
    print(f"wrote {out}: {total} bytes; depth > 0 on {positive:.1%} of pixels (hf_hybrid {hfh_positive:.1%}); "
          f"monodepth input {tuple(mono.shape)}, hf {tuple(hfx.shape)}, hf aspect {tuple(hfa.shape)}")


if __name__ == "__main__":
    main()
