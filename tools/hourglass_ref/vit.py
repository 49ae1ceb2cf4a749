"""Reference ViT / DeiT in plain PyTorch, numerically equivalent to timm's
VisionTransformer (and VisionTransformerDistilled) in eval mode.

Parameter names and shapes are exactly timm's, so ``model.state_dict()`` can be written
straight to a safetensors file that timm (and the Hourglass converter) would load:

    cls_token                [1, 1, D]
    dist_token               [1, 1, D]            (distilled only)
    pos_embed                [1, prefix + gh*gw, D] (covers the prefix tokens)
    patch_embed.proj.weight  [D, 3, p, p]   .bias [D]
    blocks.{i}.norm1.weight/bias              [D]
    blocks.{i}.attn.qkv.weight [3D, D]   .bias [3D]   (bias only if qkv_bias)
    blocks.{i}.attn.proj.weight [D, D]   .bias [D]
    blocks.{i}.norm2.weight/bias              [D]
    blocks.{i}.mlp.fc1.weight [H, D]  .bias [H]
    blocks.{i}.mlp.fc2.weight [D, H]  .bias [D]
    norm.weight/bias                          [D]
    head.weight [C, D]  .bias [C]
    head_dist.weight [C, D]  .bias [C]         (distilled only)

Dropout, drop-path, LayerScale and the other training-only pieces of timm are left out: at
eval they are identities.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-6  # timm ViT uses partial(nn.LayerNorm, eps=1e-6)


def resample_abs_pos_embed(posemb, new_size, old_size=None, num_prefix_tokens=1,
                           interpolation="bicubic", antialias=True):
    """Resize the grid part of an absolute position embedding, as timm does.

    posemb: [1, prefix + old_h*old_w, D].  The prefix rows (class/distillation tokens) are
    kept as they are; the grid rows are viewed as an image [1, D, old_h, old_w], resized
    with F.interpolate (align_corners=False) and flattened back row-major.
    """
    new_h, new_w = new_size
    if old_size is None:
        side = int(math.sqrt(posemb.shape[1] - num_prefix_tokens))
        old_size = (side, side)
    old_h, old_w = old_size
    if (new_h, new_w) == (old_h, old_w):
        # timm returns the embedding untouched here; (resizing to the same size would be
        # an identity anyway, to rounding.)
        return posemb
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    dim = posemb.shape[-1]
    orig_dtype = grid.dtype
    grid = grid.float().reshape(1, old_h, old_w, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_h, new_w), mode=interpolation,
                         antialias=antialias, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_h * new_w, dim).to(orig_dtype)
    return torch.cat([prefix, grid], dim=1)


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, embed_dim, in_chans=3):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        # [B, 3, H, W] -> [B, D, gh, gw] -> [B, gh*gw, D] (row-major over the grid).
        # Like timm's Conv2d, trailing pixels that do not fill a whole patch are dropped.
        x = self.proj(x)
        gh, gw = x.shape[-2:]
        return x.flatten(2).transpose(1, 2), (gh, gw)


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        # qkv output features are ordered (which in {q,k,v}, head, head_dim).
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                      # each [B, heads, N, hd]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = attn @ v                                  # [B, heads, N, hd]
        x = x.transpose(1, 2).reshape(B, N, C)        # heads concatenated per token
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf form, not the tanh approximation
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, norm_eps=LN_EPS):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class VisionTransformer(nn.Module):
    """timm VisionTransformer (global_pool='token', class token, no fc_norm) and, with
    distilled=True, timm/DeiT VisionTransformerDistilled.

    norm_eps: every LayerNorm's eps (timm: 1e-6; Hugging Face ViT/DeiT/DPT: 1e-12; Segmenter
    and LV-ViT: PyTorch's default 1e-5). Parameter names and shapes do not depend on it."""

    def __init__(self, img_size=224, patch_size=16, embed_dim=768, depth=12, num_heads=12,
                 mlp_ratio=4.0, qkv_bias=True, num_classes=1000, distilled=False, norm_eps=LN_EPS):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.num_classes = num_classes
        self.distilled = distilled
        self.norm_eps = norm_eps
        self.num_prefix_tokens = 2 if distilled else 1
        self.grid_size = (img_size // patch_size, img_size // patch_size)
        num_patches = self.grid_size[0] * self.grid_size[1]

        # Registration order mirrors timm so state_dict() iterates in the familiar order.
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if distilled:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_prefix_tokens, embed_dim))
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, qkv_bias, norm_eps)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=norm_eps)
        self.head = nn.Linear(embed_dim, num_classes)
        if distilled:
            self.head_dist = nn.Linear(embed_dim, num_classes)

    def _pos_embed(self, x, grid):
        pos = self.pos_embed
        if tuple(grid) != tuple(self.grid_size):
            pos = resample_abs_pos_embed(pos, grid, old_size=self.grid_size,
                                         num_prefix_tokens=self.num_prefix_tokens)
        prefix = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.distilled:
            prefix.append(self.dist_token.expand(x.shape[0], -1, -1))
        return torch.cat(prefix + [x], dim=1) + pos

    def forward_features(self, x, return_blocks=True):
        """Returns (final normed tokens [B, T, D], [tokens after embedding, after block 0, ...]).

        The list has depth + 1 entries: entry 0 is the input to the first block (patch
        tokens + prefix + position embedding), entry i+1 the output of block i (un-normed).
        """
        x, grid = self.patch_embed(x)
        x = self._pos_embed(x, grid)
        seq = [x] if return_blocks else None
        for blk in self.blocks:
            x = blk(x)
            if return_blocks:
                seq.append(x)
        return self.norm(x), seq

    def forward_head(self, feats):
        if self.distilled:
            # DeiT eval output: average of the class-token head and the distillation head.
            return (self.head(feats[:, 0]) + self.head_dist(feats[:, 1])) / 2
        return self.head(feats[:, 0])

    def forward(self, x):
        feats, _ = self.forward_features(x, return_blocks=False)
        return self.forward_head(feats)


@torch.no_grad()
def init_random(model, seed, qk_gain=1.5, head_gain=2.0):
    """Give every parameter random values so no term in an implementation can hide.

    - LayerNorm weights ~ 1 + 0.2 N(0,1), all biases ~ 0.1 N(0,1) (so a dropped bias or a
      LayerNorm that ignores its affine part shows up as an O(0.1) error);
    - linear/conv weights ~ N(0, 1/fan_in): each layer keeps O(1) inputs O(1);
    - the q and k rows of qkv get an extra `qk_gain` so attention is clearly non-uniform
      (a wrong softmax scale or a transposed score matrix must change the result);
    - the classifier heads get an extra `head_gain` so logits have std ~1-2 (a 1e-4
      absolute tolerance is then a tight relative check, while float32 rounding stays ~1e-6);
    - cls/dist tokens and pos_embed ~ 0.5 N(0,1).
    The final LayerNorm bounds the features, so logits stay O(1) whatever the depth.
    """
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g)

    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        if isinstance(owner, nn.LayerNorm):
            p.copy_(1.0 + 0.2 * randn(p.shape) if leaf == "weight" else 0.1 * randn(p.shape))
        elif leaf == "bias":
            p.copy_(0.1 * randn(p.shape))
        elif leaf == "weight":  # nn.Linear or the patch conv
            fan_in = p[0].numel()
            w = randn(p.shape) / math.sqrt(fan_in)
            if name.endswith("attn.qkv.weight"):
                d = p.shape[1]
                w[: 2 * d] *= qk_gain
            elif name.startswith("head"):
                w *= head_gain
            p.copy_(w)
        elif leaf in ("cls_token", "dist_token", "pos_embed"):
            p.copy_(0.5 * randn(p.shape))
        else:
            raise AssertionError(f"init_random does not know parameter {name}")
    return model


def round_weights(model, dtype):
    """Round every parameter to `dtype` (torch.float16 / torch.bfloat16) and back to float32
    in place, so a float32 forward gives the reference for weights stored in that dtype."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    return model


IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)


def timm_config(architecture, img_size, patch_size, embed_dim, depth, num_heads, num_classes,
                mlp_ratio=4.0, qkv_bias=True, distilled=False, crop_pct=0.875,
                mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD, extra_model_args=None):
    """timm hub-style config.json contents (a dict; json.dump it)."""
    model_args = {
        "img_size": img_size, "patch_size": patch_size, "embed_dim": embed_dim,
        "depth": depth, "num_heads": num_heads, "mlp_ratio": mlp_ratio,
        "qkv_bias": qkv_bias, "class_token": True, "distilled": distilled,
    }
    if extra_model_args:
        model_args.update(extra_model_args)
    return {
        "architecture": architecture,
        "num_classes": num_classes,
        "num_features": embed_dim,
        "global_pool": "token",
        "model_args": model_args,
        "pretrained_cfg": {
            "input_size": [3, img_size, img_size],
            "interpolation": "bicubic",
            "crop_pct": crop_pct,
            "crop_mode": "center",
            "mean": list(mean),
            "std": list(std),
            "num_classes": num_classes,
            "first_conv": "patch_embed.proj",
            "classifier": ["head", "head_dist"] if distilled else "head",
        },
    }


def config_for(model, architecture, **kw):
    """timm_config() filled from a VisionTransformer instance."""
    mlp_hidden = model.blocks[0].mlp.fc1.out_features
    return timm_config(architecture, model.img_size, model.patch_size, model.embed_dim,
                       len(model.blocks), model.num_heads, model.num_classes,
                       mlp_ratio=mlp_hidden / model.embed_dim,
                       qkv_bias=model.blocks[0].attn.qkv.bias is not None,
                       distilled=model.distilled, **kw)
