"""CF-ViT (Chen et al., "Coarse-to-Fine Vision Transformer", AAAI 2023) inference: the DeiT
variant (`CFViT`) and the LV-ViT variant (`CFLVViT`).

A float32 statement of `ALGORITHMS.md` §3 (3.1-3.6, and the "LV-ViT-S differences" paragraph),
written from that specification; no code of the official ChenMnZ/CF-ViT repository (Apache-2.0)
is copied here. It runs on `hourglass_ref.vit.VisionTransformer` and reuses its modules.

Checked against the original by running both locally (ChenMnZ/CF-ViT at commit 84a05dd, CPU,
torch 1.13, `.cuda()` calls removed; the original code is not part of this repository), with
random weights loaded into both through `to_original` / `to_original_lvvit`:
  - CF_LV_ViT (patch 16, img_size_list [112, 224], 64-channel stem, embed_dim 64, 4 heads,
    mlp_ratio 3, skip_lam 2, return_dense=True, 10 classes), depth 6 and depth 16, batch 4, and
    [144, 288] at depth 6, batch 3: `forward_early_exit` at threshold 0 (coarse logits, i.e.
    its `coarse_result`) and 1.01 (fine logits), and `forward()` with informative_selection
    (both stages for every image): max abs difference 0.0 (bit-identical); at a threshold that
    splits the batch: 1.9e-6 / 1.7e-6 / 1.2e-6 (the original runs the fine stage on the
    non-exited sub-batch only, so float32 rounding differs);
  - CFVisionTransformer (DeiT, patch 16, 112 / 224, embed_dim 64, 4 heads, mlp_ratio 4, qkv
    bias, eps 1e-6), depth 6 and 12, batch 4: 0.0 at thresholds 0 and 1.01 and for `forward()`;
    1.7e-6 / 1.3e-6 at a splitting threshold;
  - the committed tiny fixtures in CF-ViT's own format (tasks/.../golden/cfvit/cf_d6_7x7.pth and
    lv_d6_7x7.pth; the original patched only where it hard-codes the geometry: `get_index`'s
    patch sizes 32/16 -> 16/8 and, for LV-ViT, the stem's 64 channels -> 16): coarse and fine
    logits 0.0, final logits at the fixture threshold 1.2e-6 for both.
The LV-ViT output follows the original's eval formula, including its asymmetry: coarse logits =
(head(cls) + 0.25 * max over tokens of aux_head(tokens)) / 1.25 (the exit decision uses their
softmax), fine logits = head(cls) + 0.25 * max(aux_head(tokens)) WITHOUT the /1.25.

One transformer (patch embedding, blocks, final norm, head) runs twice:

  coarse stage   the normalised fine image, downsampled bilinear (align_corners=True) to half
                 its size, through the transformer with the coarse position embedding; the
                 class attention of blocks ema_from_block..depth-1 is averaged with an EMA
                 (beta 0.99, starting at 0) into the global class attention g [B, Nc];
  early exit     images whose max softmax(coarse logits) >= threshold keep the coarse logits;
  fine stage     the K = ceil(alpha Nc) most attended coarse patches are re-split into their
                 2x2 fine children (patch embedding of the fine image + the reuse term
                 LN+MLP(coarse features) copied nearest x2, + fine position embedding); the
                 other coarse patches enter as their coarse INPUT embeddings (patch + coarse
                 position); all blocks; norm; head on the class token.

Parameter names (canonical, what the Hourglass engine reads): the timm ViT names of the shared
transformer with `pos_embed` = the FINE grid's embedding ([1, 1+Nf, D], CF-ViT's
`pos_embed_list.1`), plus

    cfvit.pos_embed_coarse        [1, 1+Nc, D]   (pos_embed_list.0)
    cfvit.reuse_norm.weight/bias  [D]            (reuse_block.0, LayerNorm eps 1e-6)
    cfvit.reuse_mlp.fc1.weight/bias [H, D] / [H] (reuse_block.1.fc1, H = mlp_ratio D)
    cfvit.reuse_mlp.fc2.weight/bias [D, H] / [D] (reuse_block.1.fc2; exact GELU between)

`to_original` / `from_original` map these to and from CF-ViT's own checkpoint names.

LV-ViT variant (`CFLVViT`, CF-ViT's `cf_lvvit_small` layout): the same names except that the
blocks have no `attn.qkv.bias`, `patch_embed.proj` is [D, C, p/2, p/2] (it reads the stem's C
channels), every LayerNorm (blocks, `norm`, `cfvit.reuse_norm`) has eps 1e-5, the reuse MLP
hidden width is mlp_ratio D, plus

    lvvit.stem.conv1.weight       [C, 3, 7, 7]   (conv 7x7 stride 2 padding 3, no bias)
    lvvit.stem.bn1.{weight,bias,running_mean,running_var} [C]  (BatchNorm2d eps 1e-5, eval)
    lvvit.stem.conv2.weight / conv3.weight [C, C, 3, 3] (stride 1 padding 1, no bias), bn2, bn3
    lvvit.aux_head.weight/bias    [classes, D] / [classes]

(ReLU after each BN; total stride 2 * p/2 = p; C = 64 in LV-ViT-S). Blocks compute scores as
(q * scale) @ k^T and divide both residual branches by skip_lam = 2 (weights stored as trained,
attn.proj / mlp.fc2 not pre-divided). `to_original_lvvit` / `from_original_lvvit` map to CF-ViT's
names: `patch_embed.conv{1,2,3}.weight`, `patch_embed.bn{1,2,3}.*` (+ `num_batches_tracked`),
`patch_embed.proj.*`, `aux_head.*`, `pos_embed_list.{0,1}`, `reuse_block.*`.

Index conventions: grids are row-major (token t = row * width + col), coarse width Hc, fine
width Hf = 2 Hc. Where `forward_early_exit` of the original hard-codes the 14x14 / 224 geometry
(§3.5 "Bug"), this follows `forward`, i.e. the actual coarse and fine grid sizes.
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .vit import LN_EPS, Attention, Mlp, VisionTransformer, init_random

EMA_BETA = 0.99
EMA_FROM_BLOCK = 3
SPLIT_FRACTION = 0.5


class CFExtras(nn.Module):
    """The parameters CF-ViT adds to the backbone (registered as `cfvit.*`)."""

    def __init__(self, embed_dim, coarse_tokens, mlp_hidden, norm_eps=LN_EPS):
        super().__init__()
        self.pos_embed_coarse = nn.Parameter(torch.zeros(1, coarse_tokens, embed_dim))
        self.reuse_norm = nn.LayerNorm(embed_dim, eps=norm_eps)
        self.reuse_mlp = Mlp(embed_dim, mlp_hidden)


class CFViT(VisionTransformer):
    """A DeiT-style CF-ViT: a VisionTransformer for the FINE image size (its `pos_embed` is
    the fine grid's) with the coarse position embedding and the reuse block under `cfvit.`.

    img_size is the fine image size; the coarse image is img_size // 2 (coarse grid = half the
    fine grid in each direction, which must be even). `model(x)` is the plain ViT forward on
    the fine image (what the fine weights compute without CF-ViT's token selection)."""

    def __init__(self, img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4.0,
                 qkv_bias=True, num_classes=1000, norm_eps=LN_EPS, reuse_mlp_ratio=None):
        super().__init__(img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth,
                         num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, num_classes=num_classes,
                         distilled=False, norm_eps=norm_eps)
        gh, gw = self.grid_size
        if gh % 2 or gw % 2:
            raise ValueError(f"fine grid {gh}x{gw} is not twice a coarse grid")
        self.coarse_grid = (gh // 2, gw // 2)
        self.coarse_img_size = img_size // 2
        hidden = int(embed_dim * (mlp_ratio if reuse_mlp_ratio is None else reuse_mlp_ratio))
        self.cfvit = CFExtras(embed_dim, 1 + self.coarse_grid[0] * self.coarse_grid[1], hidden, norm_eps)

    def settings(self):
        """The `cfvit` object of config.json (the keys the Hourglass converter writes)."""
        return {"coarse_grid": list(self.coarse_grid), "fine_grid": list(self.grid_size),
                "reuse_mlp_hidden": self.cfvit.reuse_mlp.fc1.out_features,
                "reuse_norm_eps": self.cfvit.reuse_norm.eps, "ema_beta": EMA_BETA,
                "ema_from_block": EMA_FROM_BLOCK, "split_fraction": SPLIT_FRACTION}

    # Hooks where the LV-ViT variant (CFLVViT) differs.
    def embed(self, img):
        """Patch tokens [B, gh*gw, D] (row-major) and the grid (gh, gw)."""
        return self.patch_embed(img)

    def coarse_head(self, feats):
        """Coarse logits from the final-normed coarse sequence [B, 1+Nc, D]."""
        return self.head(feats[:, 0])

    def fine_head(self, feats):
        """Fine logits from the final-normed fine sequence [B, T, D]."""
        return self.head(feats[:, 0])


# ---------------------------------------------------------------------------------------------
# Weights

@torch.no_grad()
def init_random_cfvit(model, seed):
    """Every parameter random. The shared transformer gets exactly what `vit.init_random(seed)`
    gives a plain VisionTransformer of the same shape (same rules, same draws); the CF-ViT
    extras then come, by the same rules, from a generator seeded `seed + 500_000`:
    pos_embed_coarse 0.5 N(0,1), reuse_norm weight 1 + 0.2 N(0,1), biases 0.1 N(0,1), reuse MLP
    weights N(0, 1/fan_in)."""
    plain = VisionTransformer(img_size=model.img_size, patch_size=model.patch_size, embed_dim=model.embed_dim,
                              depth=len(model.blocks), num_heads=model.num_heads,
                              mlp_ratio=model.blocks[0].mlp.fc1.out_features / model.embed_dim,
                              qkv_bias=model.blocks[0].attn.qkv.bias is not None,
                              num_classes=model.num_classes, norm_eps=model.norm_eps)
    init_random(plain, seed)
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("cfvit.") for k in missing), (missing, unexpected)

    g = torch.Generator().manual_seed(seed + 500_000)

    def randn(shape):
        return torch.randn(shape, generator=g)

    ex = model.cfvit
    ex.pos_embed_coarse.copy_(0.5 * randn(ex.pos_embed_coarse.shape))
    ex.reuse_norm.weight.copy_(1.0 + 0.2 * randn(ex.reuse_norm.weight.shape))
    ex.reuse_norm.bias.copy_(0.1 * randn(ex.reuse_norm.bias.shape))
    for fc in (ex.reuse_mlp.fc1, ex.reuse_mlp.fc2):
        fc.weight.copy_(randn(fc.weight.shape) / math.sqrt(fc.weight.shape[1]))
        fc.bias.copy_(0.1 * randn(fc.bias.shape))
    return model


# canonical name -> CF-ViT's original name (everything else keeps its timm name)
_TO_ORIGINAL = OrderedDict([
    ("pos_embed", "pos_embed_list.1"),
    ("cfvit.pos_embed_coarse", "pos_embed_list.0"),
    ("cfvit.reuse_norm.weight", "reuse_block.0.weight"),
    ("cfvit.reuse_norm.bias", "reuse_block.0.bias"),
    ("cfvit.reuse_mlp.fc1.weight", "reuse_block.1.fc1.weight"),
    ("cfvit.reuse_mlp.fc1.bias", "reuse_block.1.fc1.bias"),
    ("cfvit.reuse_mlp.fc2.weight", "reuse_block.1.fc2.weight"),
    ("cfvit.reuse_mlp.fc2.bias", "reuse_block.1.fc2.bias"),
])


def to_original(canonical):
    """Canonical state dict -> CF-ViT's `model` state dict (cf_deit_* names), in the order
    cls_token, patch_embed.proj.*, pos_embed_list.0, pos_embed_list.1, blocks.*, norm.*, head.*,
    reuse_block.*."""
    out = OrderedDict()
    out["cls_token"] = canonical["cls_token"]
    for leaf in ("weight", "bias"):
        out["patch_embed.proj." + leaf] = canonical["patch_embed.proj." + leaf]
    out["pos_embed_list.0"] = canonical["cfvit.pos_embed_coarse"]
    out["pos_embed_list.1"] = canonical["pos_embed"]
    out.update((k, v) for k, v in canonical.items() if k.startswith(("blocks.", "norm.", "head.")))
    out.update((_TO_ORIGINAL[k], canonical[k]) for k in _TO_ORIGINAL if k.startswith("cfvit.reuse"))
    assert len(out) == len(canonical), sorted(set(canonical) - set(_TO_ORIGINAL) - set(out))
    return out


def from_original(original):
    """CF-ViT's names -> canonical names (inverse of to_original)."""
    back = {v: k for k, v in _TO_ORIGINAL.items()}
    return OrderedDict((back.get(k, k), v) for k, v in original.items())


# ---------------------------------------------------------------------------------------------
# LV-ViT variant (CF-LV-ViT, ALGORITHMS.md §3.6 "LV-ViT-S differences")

LV_NORM_EPS = 1e-5      # PyTorch's LayerNorm default: blocks, final norm, reuse norm
LV_BN_EPS = 1e-5
LV_SKIP_LAM = 2.0
LV_AUX_WEIGHT = 0.25    # token-labelling head weight in the eval output
LV_STEM_CHANNELS = 64   # LV-ViT-S; a parameter here (the tiny fixtures use 16)


class EvalBatchNorm2d(nn.Module):
    """BatchNorm2d at eval: (x - running_mean) / sqrt(running_var + eps) * weight + bias, via
    F.batch_norm(training=False) as nn.BatchNorm2d.eval() does. Same names as nn.BatchNorm2d
    (weight, bias, running_mean, running_var) but no num_batches_tracked (unused at eval)."""

    def __init__(self, channels, eps=LV_BN_EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class ConvStem(nn.Module):
    """LV-ViT's convolutional stem before the patch projection: conv 7x7 stride 2 padding 3
    (3 -> C, no bias), BN, ReLU; conv 3x3 s1 p1 (C -> C, no bias), BN, ReLU; the same again.
    Output [B, C, H/2, W/2]."""

    def __init__(self, channels, in_chans=3, bn_eps=LV_BN_EPS):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, channels, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = EvalBatchNorm2d(channels, bn_eps)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = EvalBatchNorm2d(channels, bn_eps)
        self.conv3 = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn3 = EvalBatchNorm2d(channels, bn_eps)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.relu(self.bn3(self.conv3(x)))


class StemProjection(nn.Module):
    """`patch_embed` of the LV-ViT variant: only the projection conv (kernel = stride =
    patch_size / 2, C -> D, with bias), applied to the stem's output."""

    def __init__(self, patch_size, embed_dim, stem_channels):
        super().__init__()
        if patch_size % 2:
            raise ValueError(f"patch_size {patch_size} must be even (stem stride 2 x projection)")
        self.patch_size = patch_size
        self.proj = nn.Conv2d(stem_channels, embed_dim, kernel_size=patch_size // 2, stride=patch_size // 2)

    def forward(self, stem_out):
        x = self.proj(stem_out)
        gh, gw = x.shape[-2:]
        return x.flatten(2).transpose(1, 2), (gh, gw)


class LVBlock(nn.Module):
    """LV-ViT's pre-LN block: attention without qkv bias, scores (q * scale) @ k^T, and both
    residual branches divided by skip_lam: x + attn(norm1 x) / skip_lam, then
    x + mlp(norm2 x) / skip_lam. Submodule names as timm's Block (norm1, attn.qkv, attn.proj,
    norm2, mlp.fc1, mlp.fc2)."""

    def __init__(self, dim, num_heads, mlp_ratio, norm_eps=LV_NORM_EPS, skip_lam=LV_SKIP_LAM):
        super().__init__()
        self.skip_lam = skip_lam
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias=False)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward_with_attention(self, x):
        """(block output, post-softmax attention [B, heads, N, N])."""
        attn = self.attn
        y = self.norm1(x)
        B, N, C = y.shape
        qkv = attn.qkv(y).reshape(B, N, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        weights = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        out = attn.proj((weights @ v).transpose(1, 2).reshape(B, N, C))
        x = x + out / self.skip_lam
        x = x + self.mlp(self.norm2(x)) / self.skip_lam
        return x, weights

    def forward(self, x):
        return self.forward_with_attention(x)[0]


class LVExtras(nn.Module):
    """What the LV-ViT variant adds to the timm names (registered as `lvvit.*`)."""

    def __init__(self, stem_channels, embed_dim, num_classes, bn_eps=LV_BN_EPS):
        super().__init__()
        self.stem = ConvStem(stem_channels, bn_eps=bn_eps)
        self.aux_head = nn.Linear(embed_dim, num_classes)


class CFLVViT(CFViT):
    """CF-ViT on LV-ViT (CF-LV-ViT). Differences from CFViT (ALGORITHMS.md §3.6):

    - patch embedding = ConvStem (`lvvit.stem.*`) then `patch_embed.proj` (kernel = stride =
      patch_size / 2 on stem_channels); total stride patch_size;
    - LVBlock blocks (no qkv bias, (q * scale) @ k^T, residual branches / skip_lam);
    - every LayerNorm (blocks, final norm, reuse norm) eps 1e-5; reuse MLP hidden mlp_ratio D;
    - token-labelling output with `lvvit.aux_head` on the final-normed non-class tokens:
          fine   = head(cls) + 0.25 * max_tokens aux_head(tokens)
          coarse = (head(cls) + 0.25 * max_tokens aux_head(tokens)) / 1.25
      (the /1.25 only on the coarse path, as in the original; the exit decision uses softmax of
      the divided coarse logits). In the fine stage the max runs over the tokens of the fine
      SEQUENCE (4K fine + Nc - K coarse tokens), not the full fine grid.

    `model(x)` is the plain LV-ViT forward on the fine image with the fine output formula."""

    def __init__(self, img_size=224, patch_size=16, embed_dim=384, depth=16, num_heads=6, mlp_ratio=3.0,
                 num_classes=1000, stem_channels=LV_STEM_CHANNELS, norm_eps=LV_NORM_EPS, skip_lam=LV_SKIP_LAM,
                 aux_weight=LV_AUX_WEIGHT):
        super().__init__(img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth,
                         num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=False, num_classes=num_classes,
                         norm_eps=norm_eps)
        # replace (same registration slots, so state_dict order stays cls, pos, patch_embed, blocks, ...)
        self.patch_embed = StemProjection(patch_size, embed_dim, stem_channels)
        self.blocks = nn.Sequential(*[LVBlock(embed_dim, num_heads, mlp_ratio, norm_eps, skip_lam)
                                      for _ in range(depth)])
        self.lvvit = LVExtras(stem_channels, embed_dim, num_classes)
        self.stem_channels = stem_channels
        self.skip_lam = skip_lam
        self.aux_weight = aux_weight

    def settings(self):
        out = super().settings()
        out.update(skip_lam=self.skip_lam, aux_head=True)
        return out

    def embed(self, img):
        return self.patch_embed(self.lvvit.stem(img))

    def _token_label_logits(self, feats):
        cls = self.head(feats[:, 0])
        aux = self.lvvit.aux_head(feats[:, 1:]).max(dim=1).values
        return cls + self.aux_weight * aux

    def coarse_head(self, feats):
        return self._token_label_logits(feats) / (1.0 + self.aux_weight)

    def fine_head(self, feats):
        return self._token_label_logits(feats)

    def forward(self, x):
        tokens, grid = self.embed(x)
        x = self._pos_embed(tokens, grid)
        for blk in self.blocks:
            x = blk(x)
        return self.fine_head(self.norm(x))


@torch.no_grad()
def init_random_cflvvit(model, seed, qk_gain=1.5, head_gain=2.0, relu_gain=math.sqrt(2.0)):
    """Every parameter and BN statistic random, from one generator seeded `seed`, in state_dict
    order (the CF extras then from `seed + 500_000`, exactly as init_random_cfvit):

    - LayerNorm and BN weights 1 + 0.2 N(0,1); all biases 0.1 N(0,1);
    - BN running_mean 0.1 N(0,1), running_var U(0.5, 1.5);
    - linear/conv weights N(0, 1/fan_in); convs reading a ReLU output (stem conv2, conv3,
      patch_embed.proj) another x relu_gain (He scaling, keeps O(1) activations);
    - the q and k rows of qkv x qk_gain; head and aux_head x head_gain;
    - cls_token, pos_embed 0.5 N(0,1)."""
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g)

    for name, p in model.state_dict(keep_vars=True).items():
        if name.startswith("cfvit."):
            continue
        leaf = name.rsplit(".", 1)[-1]
        owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        if isinstance(owner, (nn.LayerNorm, EvalBatchNorm2d)) and leaf in ("weight", "bias"):
            p.copy_(1.0 + 0.2 * randn(p.shape) if leaf == "weight" else 0.1 * randn(p.shape))
        elif leaf == "running_mean":
            p.copy_(0.1 * randn(p.shape))
        elif leaf == "running_var":
            p.copy_(0.5 + torch.rand(p.shape, generator=g))
        elif leaf == "bias":
            p.copy_(0.1 * randn(p.shape))
        elif leaf == "weight":
            fan_in = p[0].numel()
            w = randn(p.shape) / math.sqrt(fan_in)
            if name.endswith("attn.qkv.weight"):
                w[: 2 * p.shape[1]] *= qk_gain
            elif name.startswith(("head.", "lvvit.aux_head.")):
                w *= head_gain
            elif name in ("lvvit.stem.conv2.weight", "lvvit.stem.conv3.weight", "patch_embed.proj.weight"):
                w *= relu_gain
            p.copy_(w)
        elif leaf in ("cls_token", "pos_embed"):
            p.copy_(0.5 * randn(p.shape))
        else:
            raise AssertionError(f"init_random_cflvvit does not know {name}")

    g = torch.Generator().manual_seed(seed + 500_000)
    ex = model.cfvit
    ex.pos_embed_coarse.copy_(0.5 * randn(ex.pos_embed_coarse.shape))
    ex.reuse_norm.weight.copy_(1.0 + 0.2 * randn(ex.reuse_norm.weight.shape))
    ex.reuse_norm.bias.copy_(0.1 * randn(ex.reuse_norm.bias.shape))
    for fc in (ex.reuse_mlp.fc1, ex.reuse_mlp.fc2):
        fc.weight.copy_(randn(fc.weight.shape) / math.sqrt(fc.weight.shape[1]))
        fc.bias.copy_(0.1 * randn(fc.bias.shape))
    return model


_LV_STEM_LEAVES = ("weight", "bias", "running_mean", "running_var")


def to_original_lvvit(canonical, num_batches_tracked=0):
    """Canonical state dict -> CF-ViT's `model` state dict in cf_lvvit_* names: cls_token,
    patch_embed.{conv1, bn1, conv2, bn2, conv3, bn3, proj}.* (each BN with an int64 0-d
    num_batches_tracked = `num_batches_tracked`), pos_embed_list.0 / .1, blocks.*, norm.*,
    head.*, aux_head.*, reuse_block.*."""
    out = OrderedDict()
    out["cls_token"] = canonical["cls_token"]
    for i in (1, 2, 3):
        out[f"patch_embed.conv{i}.weight"] = canonical[f"lvvit.stem.conv{i}.weight"]
        for leaf in _LV_STEM_LEAVES:
            out[f"patch_embed.bn{i}.{leaf}"] = canonical[f"lvvit.stem.bn{i}.{leaf}"]
        out[f"patch_embed.bn{i}.num_batches_tracked"] = torch.tensor(num_batches_tracked, dtype=torch.int64)
    for leaf in ("weight", "bias"):
        out["patch_embed.proj." + leaf] = canonical["patch_embed.proj." + leaf]
    out["pos_embed_list.0"] = canonical["cfvit.pos_embed_coarse"]
    out["pos_embed_list.1"] = canonical["pos_embed"]
    out.update((k, v) for k, v in canonical.items() if k.startswith(("blocks.", "norm.", "head.")))
    out["aux_head.weight"] = canonical["lvvit.aux_head.weight"]
    out["aux_head.bias"] = canonical["lvvit.aux_head.bias"]
    out.update((_TO_ORIGINAL[k], canonical[k]) for k in _TO_ORIGINAL if k.startswith("cfvit.reuse"))
    assert len(out) == len(canonical) + 3, sorted(set(canonical) - set(out))
    return out


def from_original_lvvit(original):
    """cf_lvvit_* names -> canonical names (inverse of to_original_lvvit; num_batches_tracked
    dropped)."""
    back = {v: k for k, v in _TO_ORIGINAL.items()}
    out = OrderedDict()
    for k, v in original.items():
        if k.endswith(".num_batches_tracked"):
            continue
        if k.startswith("patch_embed.") and not k.startswith("patch_embed.proj."):
            k = "lvvit.stem." + k[len("patch_embed."):]
        elif k.startswith("aux_head."):
            k = "lvvit." + k
        out[back.get(k, k)] = v
    return out


# ---------------------------------------------------------------------------------------------
# Stages

def coarse_input(fine_img, coarse_size):
    """The coarse image: the normalised fine input resized bilinear with align_corners=True
    (§3.2; not area pooling)."""
    if isinstance(coarse_size, int):
        coarse_size = (coarse_size, coarse_size)
    return F.interpolate(fine_img, size=tuple(coarse_size), mode="bilinear", align_corners=True)


def block_with_attention(blk, x):
    """`blk(x)` (a vit.Block) that also returns the post-softmax attention [B, heads, N, N].
    Same operations in the same order as vit.Attention/vit.Block: bit-identical output."""
    if hasattr(blk, "forward_with_attention"):
        return blk.forward_with_attention(x)
    attn = blk.attn
    y = blk.norm1(x)
    B, N, C = y.shape
    qkv = attn.qkv(y).reshape(B, N, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    weights = ((q @ k.transpose(-2, -1)) * attn.scale).softmax(dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(B, N, C)
    x = x + attn.proj(out)
    x = x + blk.mlp(blk.norm2(x))
    return x, weights


def forward_coarse(model, img_coarse, ema_beta=EMA_BETA, ema_from_block=EMA_FROM_BLOCK):
    """§3.3. Returns (coarse logits [B,C], Fc [B,Nc,D] = final-normed patch tokens,
    E1 [B,1+Nc,D] = the coarse input embeddings (class token + patches, + coarse position
    embedding), g [B,Nc] = global class attention).

    g: G = 0 [B,heads,1+Nc,1+Nc]; after block l (l >= ema_from_block): G = beta G + (1-beta) A_l
    with A_l the block's post-softmax attention; g = mean over heads of G's row 0 (class
    query), columns 1.. (patch keys)."""
    tokens, grid = model.embed(img_coarse)
    if tuple(grid) != tuple(model.coarse_grid):
        raise ValueError(f"coarse grid {grid} != {model.coarse_grid}")
    cls = model.cls_token.expand(tokens.shape[0], -1, -1)
    e1 = torch.cat([cls, tokens], dim=1) + model.cfvit.pos_embed_coarse
    x = e1
    ema = None
    for i, blk in enumerate(model.blocks):
        x, attn = block_with_attention(blk, x)
        if i >= ema_from_block:
            ema = (1.0 - ema_beta) * attn if ema is None else ema_beta * ema + (1.0 - ema_beta) * attn
    if ema is None:
        raise ValueError(f"depth {len(model.blocks)} has no block >= ema_from_block {ema_from_block}")
    feats = model.norm(x)
    logits = model.coarse_head(feats)
    g = ema.mean(dim=1)[:, 0, 1:]
    return logits, feats[:, 1:], e1, g


def num_important(n_coarse, alpha=SPLIT_FRACTION):
    return int(math.ceil(alpha * n_coarse))


def important_indices(g, alpha=SPLIT_FRACTION):
    """§3.5: K = ceil(alpha Nc); order = argsort(g, descending); (imp [B,K], unimp [B,Nc-K])."""
    k = num_important(g.shape[1], alpha)
    order = torch.argsort(g, dim=1, descending=True)
    return order[:, :k], order[:, k:]


def fine_indices(imp, coarse_w, fine_w):
    """§3.5: coarse index c = r*coarse_w + col -> fine children f1 = 2r*fine_w + 2col, f2 = f1+1,
    f3 = f1 + fine_w, f4 = f3 + 1; result [B,4K] = cat(f1 over imp, f2 over imp, f3, f4)
    (grouped by sub-position, importance order within each group)."""
    r = torch.div(imp, coarse_w, rounding_mode="floor")
    col = imp - r * coarse_w
    f1 = 2 * r * fine_w + 2 * col
    f3 = f1 + fine_w
    return torch.cat([f1, f1 + 1, f3, f3 + 1], dim=1)


def reuse_term(model, fc):
    """LN + MLP of the coarse features [B,Nc,D], each coarse token copied to its 2x2 fine
    children (nearest x2): [B,Nf,D] in fine row-major order."""
    B, _, D = fc.shape
    hc, wc = model.coarse_grid
    r = model.cfvit.reuse_mlp(model.cfvit.reuse_norm(fc))
    r = r.transpose(1, 2).reshape(B, D, hc, wc)
    r = F.interpolate(r, size=tuple(model.grid_size), mode="nearest")
    return r.flatten(2).transpose(1, 2)


def fine_sequence(model, img_fine, fc, e1, imp, unimp):
    """§3.6: the fine stage's input sequence [B, 1 + 4K + (Nc-K), D] and the fine indices."""
    tokens, grid = model.embed(img_fine)
    if tuple(grid) != tuple(model.grid_size):
        raise ValueError(f"fine grid {grid} != {model.grid_size}")
    B, _, D = tokens.shape
    cls = model.cls_token.expand(B, -1, -1)
    reuse = reuse_term(model, fc)
    xf = torch.cat([cls, tokens], dim=1) + torch.cat([torch.zeros_like(cls), reuse], dim=1)
    e2 = xf + model.pos_embed
    fidx = fine_indices(imp, model.coarse_grid[1], model.grid_size[1])
    take = torch.cat([torch.zeros_like(fidx[:, :1]), fidx + 1], dim=1)          # [B, 1+4K]
    fine_part = torch.gather(e2, 1, take[..., None].expand(-1, -1, D))
    coarse_part = torch.gather(e1, 1, (unimp + 1)[..., None].expand(-1, -1, D))
    return torch.cat([fine_part, coarse_part], dim=1), fidx


def forward_fine(model, img_fine, fc, e1, imp, unimp):
    """§3.6: fine logits [B,C] (head on the final-normed class token) and the sequence length."""
    x, _ = fine_sequence(model, img_fine, fc, e1, imp, unimp)
    n = x.shape[1]
    for blk in model.blocks:
        x = blk(x)
    return model.fine_head(model.norm(x)), n


def forward_cfvit(model, img_fine, threshold, alpha=SPLIT_FRACTION):
    """Two-stage inference (§3.3-3.6). The fine stage is computed for every image, then
    final = coarse logits where max softmax(coarse) >= threshold, else fine logits.
    Returns (final logits [B,C], details dict)."""
    img_c = coarse_input(img_fine, model.coarse_img_size)
    coarse_logits, fc, e1, g = forward_coarse(model, img_c)
    max_prob = coarse_logits.softmax(dim=-1).max(dim=-1).values
    exit_coarse = max_prob >= threshold
    imp, unimp = important_indices(g, alpha)
    fine_logits, n_fine = forward_fine(model, img_fine, fc, e1, imp, unimp)
    final = torch.where(exit_coarse[:, None], coarse_logits, fine_logits)
    details = {"coarse_input": img_c, "coarse_logits": coarse_logits, "coarse_features": fc, "e1": e1,
               "global_attention": g, "max_prob": max_prob, "exit_coarse": exit_coarse,
               "important": imp, "unimportant": unimp,
               "fine_indices": fine_indices(imp, model.coarse_grid[1], model.grid_size[1]),
               "fine_logits": fine_logits, "fine_tokens": n_fine}
    return final, details
