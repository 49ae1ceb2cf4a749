"""CF-ViT (Chen et al., "Coarse-to-Fine Vision Transformer", AAAI 2023) inference, DeiT style.

A clean-room float32 statement of `ALGORITHMS.md` §3 (3.1-3.6), written from that
specification only (the official ChenMnZ/CF-ViT code has no licence and was not consulted).
It runs on `hourglass_ref.vit.VisionTransformer` and reuses its modules.

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

Index conventions: grids are row-major (token t = row * width + col), coarse width Hc, fine
width Hf = 2 Hc. Where `forward_early_exit` of the original hard-codes the 14x14 / 224 geometry
(§3.5 "Bug"), this follows `forward`, i.e. the actual coarse and fine grid sizes.
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .vit import LN_EPS, Mlp, VisionTransformer, init_random

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
    tokens, grid = model.patch_embed(img_coarse)
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
    logits = model.head(feats[:, 0])
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
    tokens, grid = model.patch_embed(img_fine)
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
    return model.head(model.norm(x)[:, 0]), n


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
