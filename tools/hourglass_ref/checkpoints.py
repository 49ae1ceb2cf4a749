"""Checkpoint layouts of the projects Hourglass imports, and how each maps to the canonical layout.

The canonical layout is what the Java weights converter produces:

* the ViT encoder under exactly timm's names (see vit.py): ``cls_token``, ``dist_token``,
  ``pos_embed``, ``patch_embed.proj.*``, ``blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,
  mlp.fc2}.*``, ``norm.*``, ``head.*``, ``head_dist.*``;
* Segmenter decoders under ``decoder.`` + Segmenter's own names (``decoder.cls_emb``,
  ``decoder.proj_dec.*``, ``decoder.blocks.{i}.*``, ``decoder.decoder_norm.*``,
  ``decoder.proj_patch``, ``decoder.proj_classes``, ``decoder.mask_norm.*``; linear:
  ``decoder.head.*``);
* the DPT neck and depth head under ``dpt.`` + the original isl-org/DPT name with its
  ``pretrained.`` part dropped (``dpt.act_postprocess{k}.*``, ``dpt.scratch.*``);
* CF-ViT extras: ``cfvit.pos_embed_coarse`` (``pos_embed_list.0``; ``pos_embed_list.1`` becomes
  ``pos_embed``), ``cfvit.reuse_norm.*`` (``reuse_block.0``), ``cfvit.reuse_mlp.fc{1,2}.*``
  (``reuse_block.1.fc{1,2}``);
* LV-ViT extras: ``lvvit.stem.{conv1,bn1,conv2,bn2,conv3,bn3}.*`` (``patch_embed.*`` of the
  convolutional stem; its final ``patch_embed.proj`` stays ``patch_embed.proj``) and
  ``lvvit.aux_head.*``. BatchNorm ``num_batches_tracked`` counters (int64, unused at eval) are
  dropped.

``to_canonical(layout, state_dict)`` states each mapping as name rules, the way the converter
applies them; make_converter_fixtures.py builds each source layout from the canonical tensors
its own way and checks that this function gives them back bit for bit. It returns
``(canonical, sources, dropped)``: canonical name -> tensor, canonical name -> source name(s)
(a list means concatenation along dim 0 in that order: Hugging Face q, k, v -> qkv), and the
source names that have no canonical counterpart.
"""
import collections
import re

import torch

LAYOUTS = ("timm_hub", "timm_bare_safetensors", "deit_pth", "hf_vit", "hf_deit", "hf_vit_sharded",
           "segmenter_pth", "segmenter_linear_pth", "segmenter_mmseg_pth", "dpt_pt", "hf_dpt",
           "cfvit_deit_pth", "cfvit_lvvit_pth")

# Hugging Face ViT-style encoder layer (ViTLayer / DeiTLayer / DPTViTLayer) -> timm Block.
_HF_LAYER = {
    "layernorm_before": "norm1",
    "attention.output.dense": "attn.proj",
    "layernorm_after": "norm2",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
}
# mmseg VisionTransformer layer (Expedit-Segmenter tools/prepocess_ckpt.py) -> timm Block.
_MMSEG_LAYER = {
    "ln1": "norm1",
    "attn.attn.in_proj_weight": "attn.qkv.weight",
    "attn.attn.in_proj_bias": "attn.qkv.bias",
    "attn.attn.out_proj": "attn.proj",
    "ln2": "norm2",
    "ffn.layers.0.0": "mlp.fc1",
    "ffn.layers.1": "mlp.fc2",
}


class _Builder:
    def __init__(self, sd):
        self.sd = sd
        self.used = set()
        self.out = collections.OrderedDict()
        self.sources = collections.OrderedDict()
        self.dropped = []

    def put(self, canonical, source):
        if canonical in self.out:
            raise ValueError(f"two sources for {canonical}")
        if isinstance(source, list):
            self.out[canonical] = torch.cat([self.sd[s] for s in source], dim=0)
        else:
            self.out[canonical] = self.sd[source]
        self.sources[canonical] = source
        self.used.update(source if isinstance(source, list) else [source])

    def drop(self, source):
        self.used.add(source)
        self.dropped.append(source)

    def finish(self):
        unmapped = [k for k in self.sd if k not in self.used]
        if unmapped:
            raise ValueError(f"unmapped source keys: {unmapped}")
        return self.out, self.sources, self.dropped


def _hf_encoder(b, prefix, sd):
    """Hugging Face ViT/DeiT/DPT encoder under `prefix` ('vit', 'deit', 'dpt')."""
    emb = prefix + ".embeddings."
    for k in sd:
        if not k.startswith(prefix + "."):
            continue
        if k == emb + "cls_token":
            b.put("cls_token", k)
        elif k == emb + "distillation_token":
            b.put("dist_token", k)
        elif k == emb + "position_embeddings":
            b.put("pos_embed", k)
        elif k.startswith(emb + "patch_embeddings.projection."):
            b.put("patch_embed.proj." + k.rsplit(".", 1)[1], k)
        elif k.startswith(prefix + ".layernorm."):
            b.put("norm." + k.rsplit(".", 1)[1], k)
        else:
            m = re.fullmatch(re.escape(prefix) + r"\.encoder\.layer\.(\d+)\.(.+)\.(weight|bias)", k)
            if not m:
                raise ValueError(f"unknown key {k}")
            i, mid, leaf = m.groups()
            if mid == "attention.attention.query":
                base = f"{prefix}.encoder.layer.{i}.attention.attention."
                b.put(f"blocks.{i}.attn.qkv.{leaf}",
                      [base + "query." + leaf, base + "key." + leaf, base + "value." + leaf])
            elif mid in ("attention.attention.key", "attention.attention.value"):
                continue  # merged with query above
            else:
                b.put(f"blocks.{i}.{_HF_LAYER[mid]}.{leaf}", k)


def _dpt_hf_neck_name(k):
    """Hugging Face DPTForDepthEstimation neck/head key -> original isl-org/DPT key (without
    the leading 'pretrained.' of act_postprocess), i.e. the canonical name minus 'dpt.'."""
    m = re.fullmatch(r"neck\.reassemble_stage\.readout_projects\.(\d)\.0\.(weight|bias)", k)
    if m:
        return f"act_postprocess{int(m[1]) + 1}.0.project.0.{m[2]}"
    m = re.fullmatch(r"neck\.reassemble_stage\.layers\.(\d)\.(projection|resize)\.(weight|bias)", k)
    if m:
        return f"act_postprocess{int(m[1]) + 1}.{3 if m[2] == 'projection' else 4}.{m[3]}"
    m = re.fullmatch(r"neck\.convs\.(\d)\.weight", k)
    if m:
        return f"scratch.layer{int(m[1]) + 1}_rn.weight"
    m = re.fullmatch(r"neck\.fusion_stage\.layers\.(\d)\.(.+)", k)
    if m:
        rest = (m[2].replace("projection", "out_conv").replace("residual_layer", "resConfUnit")
                .replace("convolution", "conv").replace("batch_norm", "bn"))
        return f"scratch.refinenet{4 - int(m[1])}.{rest}"
    m = re.fullmatch(r"head\.head\.(\d)\.(weight|bias)", k)
    if m:
        return f"scratch.output_conv.{m[1]}.{m[2]}"
    raise ValueError(f"unknown key {k}")


def to_canonical(layout, sd):
    """Map one source state dict (already merged across shards, tensors by name) to canonical
    names. Raises ValueError on any key the layout does not explain."""
    b = _Builder(sd)
    if layout in ("timm_hub", "timm_bare_safetensors", "deit_pth"):
        for k in sd:
            b.put(k, k)
    elif layout in ("hf_vit", "hf_vit_sharded"):
        _hf_encoder(b, "vit", sd)
        for leaf in ("weight", "bias"):
            b.put("head." + leaf, "classifier." + leaf)
    elif layout == "hf_deit":
        _hf_encoder(b, "deit", sd)
        for leaf in ("weight", "bias"):
            b.put("head." + leaf, "cls_classifier." + leaf)
            b.put("head_dist." + leaf, "distillation_classifier." + leaf)
    elif layout in ("segmenter_pth", "segmenter_linear_pth"):
        for k in sd:
            if k.startswith("encoder."):
                b.put(k[len("encoder."):], k)
            elif k.startswith("decoder."):
                b.put(k, k)
            else:
                raise ValueError(f"unknown key {k}")
    elif layout == "segmenter_mmseg_pth":
        for k in sd:
            if k.startswith("backbone.layers."):
                i, rest = re.fullmatch(r"backbone\.layers\.(\d+)\.(.+)", k).groups()
                for src, dst in _MMSEG_LAYER.items():
                    if rest == src or rest.startswith(src + "."):
                        b.put(f"blocks.{i}.{dst}{rest[len(src):]}", k)
                        break
                else:
                    raise ValueError(f"unknown key {k}")
            elif k.startswith("backbone.patch_embed.projection."):
                b.put("patch_embed.proj." + k.rsplit(".", 1)[1], k)
            elif k.startswith("backbone.ln1."):
                b.put("norm." + k.rsplit(".", 1)[1], k)
            elif k in ("backbone.cls_token", "backbone.pos_embed"):
                b.put(k[len("backbone."):], k)
            elif k.startswith("encoder.head."):
                # prepocess_ckpt.py renames neither encoder.head.* nor drops it: the unused
                # ImageNet head stays in the file under its Segmenter name.
                b.put(k[len("encoder."):], k)
            elif k.startswith("decode_head."):
                b.put("decoder." + k[len("decode_head."):], k)
            else:
                raise ValueError(f"unknown key {k}")
    elif layout == "dpt_pt":
        for k in sd:
            if k.startswith("pretrained.model."):
                b.put(k[len("pretrained.model."):], k)
            elif k.startswith("pretrained.act_postprocess"):
                b.put("dpt." + k[len("pretrained."):], k)
            elif k.startswith("scratch."):
                b.put("dpt." + k, k)
            else:
                raise ValueError(f"unknown key {k}")
    elif layout == "hf_dpt":
        _hf_encoder(b, "dpt", sd)
        for k in sd:
            if not k.startswith("dpt."):
                b.put("dpt." + _dpt_hf_neck_name(k), k)
    elif layout in ("cfvit_deit_pth", "cfvit_lvvit_pth"):
        for k in sd:
            if k == "pos_embed_list.1":
                b.put("pos_embed", k)
            elif k == "pos_embed_list.0":
                b.put("cfvit.pos_embed_coarse", k)
            elif k.startswith("reuse_block.0."):
                b.put("cfvit.reuse_norm." + k[len("reuse_block.0."):], k)
            elif k.startswith("reuse_block.1."):
                b.put("cfvit.reuse_mlp." + k[len("reuse_block.1."):], k)
            elif layout == "cfvit_lvvit_pth" and k.endswith(".num_batches_tracked"):
                b.drop(k)
            elif layout == "cfvit_lvvit_pth" and re.match(r"patch_embed\.(conv|bn)\d\.", k):
                b.put("lvvit.stem." + k[len("patch_embed."):], k)
            elif layout == "cfvit_lvvit_pth" and k.startswith("aux_head."):
                b.put("lvvit." + k, k)
            else:
                b.put(k, k)
    else:
        raise ValueError(f"unknown layout {layout}")
    return b.finish()


@torch.no_grad()
def random_state(shapes, seed, gains=None):
    """Random tensors for a list of (name, shape) in the spirit of vit.init_random: biases
    0.1 N(0,1); LayerNorm/BatchNorm weights (names given in `gains` as 'norm') 1 + 0.2 N(0,1);
    BatchNorm running_mean 0.1 N(0,1), running_var 0.5 + U(0,1); other weights
    N(0, 1/fan_in) with fan_in = prod(shape[1:]); tokens/position embeddings 0.5 N(0,1).
    `gains`: {name: 'norm' | float}, a float multiplies that weight."""
    g = torch.Generator().manual_seed(seed)
    gains = gains or {}
    out = collections.OrderedDict()
    for name, shape in shapes:
        leaf = name.rsplit(".", 1)[-1]
        n = torch.randn(shape, generator=g)
        if gains.get(name) == "norm":
            t = 1.0 + 0.2 * n
        elif leaf == "bias":
            t = 0.1 * n
        elif leaf == "running_mean":
            t = 0.1 * n
        elif leaf == "running_var":
            t = 0.5 + torch.rand(shape, generator=g)
        elif "token" in leaf or "pos_embed" in name:
            t = 0.5 * n
        else:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            t = n / fan_in ** 0.5 * float(gains.get(name, 1.0))
        out[name] = t
    return out
