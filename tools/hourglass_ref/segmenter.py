"""Reference Segmenter decoders (rstrudel/segmenter, `segm/model/decoder.py`) in plain PyTorch.

Parameter names and shapes are Segmenter's own, so ``module.state_dict()`` prefixed with
``decoder.`` is exactly what a Segmenter checkpoint holds (and, with ``decode_head.``, what
Expedit's mmseg port holds):

MaskTransformer (d = d_model, here d_encoder = d_model as in Segmenter's factory):
    cls_emb                         [1, n_cls, d]
    proj_patch                      [d, d]      bare Parameter, used as ``x @ proj_patch``
    proj_classes                    [d, d]      bare Parameter, used as ``x @ proj_classes``
    blocks.{i}.norm1.weight/bias    [d]
    blocks.{i}.norm2.weight/bias    [d]
    blocks.{i}.attn.qkv.weight/bias [3d, d] / [3d]   (rows q | k | v, each head-major, as timm)
    blocks.{i}.attn.proj.weight/bias [d, d] / [d]
    blocks.{i}.mlp.fc1.weight/bias  [d_ff, d] / [d_ff]
    blocks.{i}.mlp.fc2.weight/bias  [d, d_ff] / [d]
    proj_dec.weight/bias            [d, d_encoder] / [d]
    decoder_norm.weight/bias        [d]
    mask_norm.weight/bias           [n_cls]
(state_dict order as Segmenter's: the module's own Parameters first, then its sub-modules in
registration order.)

DecoderLinear:
    head.weight/bias                [n_cls, d_encoder] / [n_cls]

Both take the encoder output WITHOUT its class (and distillation) token, i.e. the final-normed
patch tokens [B, GH*GW, d_encoder] in row-major grid order, and return masks
[B, n_cls, GH, GW] at patch resolution (Segmenter.forward then upsamples them bilinearly to
the padded image size and crops; that part is not here).

Every LayerNorm uses PyTorch's default eps 1e-5, as Segmenter's ``segm/model/blocks.py`` and
``decoder.py`` do. Dropout and drop-path are identities at eval and are left out.
"""
import math

import torch
import torch.nn as nn

from .vit import Block

SEGMENTER_LN_EPS = 1e-5  # nn.LayerNorm's default, used everywhere in Segmenter


class MaskTransformer(nn.Module):
    """Segmenter's mask-transformer decoder at eval.

    forward(x, grid):
        x = proj_dec(x)                                   # [B, N, d]
        x = cat(x, cls_emb)                               # class embeddings AFTER the patches
        x = blocks(x)                                     # pre-LN ViT blocks (timm math, eps 1e-5)
        x = decoder_norm(x)
        patches, classes = x[:, :-n_cls], x[:, -n_cls:]
        patches = patches @ proj_patch; classes = classes @ proj_classes
        patches /= ||patches||_2 (per token, over channels, no eps); same for classes
        masks = patches @ classes^T                       # [B, N, n_cls]
        masks = mask_norm(masks)                          # LayerNorm over the n_cls axis
        masks -> [B, n_cls, GH, GW]                       # token t = (t // GW, t % GW)
    """

    def __init__(self, n_cls, d_encoder, d_model, n_layers, n_heads, d_ff, norm_eps=SEGMENTER_LN_EPS):
        super().__init__()
        self.n_cls = n_cls
        self.d_model = d_model
        # Own Parameters in Segmenter's registration order (they come first in state_dict).
        self.cls_emb = nn.Parameter(torch.zeros(1, n_cls, d_model))
        self.proj_patch = nn.Parameter(torch.zeros(d_model, d_model))
        self.proj_classes = nn.Parameter(torch.zeros(d_model, d_model))
        # Sub-modules in Segmenter's registration order.
        self.blocks = nn.ModuleList([Block(d_model, n_heads, d_ff / d_model, True, norm_eps)
                                     for _ in range(n_layers)])
        assert self.blocks[0].mlp.fc1.out_features == d_ff
        self.proj_dec = nn.Linear(d_encoder, d_model)
        self.decoder_norm = nn.LayerNorm(d_model, eps=norm_eps)
        self.mask_norm = nn.LayerNorm(n_cls, eps=norm_eps)

    def forward(self, x, grid):
        gh, gw = grid
        B, N, _ = x.shape
        assert N == gh * gw, (N, grid)
        x = self.proj_dec(x)
        x = torch.cat((x, self.cls_emb.expand(B, -1, -1)), dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.decoder_norm(x)
        patches, classes = x[:, : -self.n_cls], x[:, -self.n_cls:]
        patches = patches @ self.proj_patch
        classes = classes @ self.proj_classes
        patches = patches / patches.norm(dim=-1, keepdim=True)
        classes = classes / classes.norm(dim=-1, keepdim=True)
        masks = patches @ classes.transpose(1, 2)
        masks = self.mask_norm(masks)
        # einops "b (h w) n -> b n h w"
        return masks.transpose(1, 2).reshape(B, self.n_cls, gh, gw)


class DecoderLinear(nn.Module):
    """Segmenter's linear decoder: masks = head(patch tokens) -> [B, n_cls, GH, GW]."""

    def __init__(self, n_cls, d_encoder):
        super().__init__()
        self.n_cls = n_cls
        self.head = nn.Linear(d_encoder, n_cls)

    def forward(self, x, grid):
        gh, gw = grid
        B, N, _ = x.shape
        assert N == gh * gw, (N, grid)
        x = self.head(x)
        return x.transpose(1, 2).reshape(B, self.n_cls, gh, gw)


@torch.no_grad()
def init_random_decoder(decoder, seed, qk_gain=1.5):
    """Random values for every decoder parameter, in the spirit of vit.init_random: LayerNorm
    weights 1 + 0.2 N(0,1), biases 0.1 N(0,1), linear weights and proj_patch/proj_classes
    N(0, 1/fan_in) (q and k rows of qkv x qk_gain), cls_emb 0.5 N(0,1)."""
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g)

    for name, p in decoder.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        owner = decoder.get_submodule(name.rsplit(".", 1)[0]) if "." in name else decoder
        if isinstance(owner, nn.LayerNorm):
            p.copy_(1.0 + 0.2 * randn(p.shape) if leaf == "weight" else 0.1 * randn(p.shape))
        elif leaf == "bias":
            p.copy_(0.1 * randn(p.shape))
        elif leaf == "weight":
            w = randn(p.shape) / math.sqrt(p[0].numel())
            if name.endswith("attn.qkv.weight"):
                w[: 2 * p.shape[1]] *= qk_gain
            p.copy_(w)
        elif leaf in ("proj_patch", "proj_classes"):
            # used as x @ P, so the fan-in is the first dimension
            p.copy_(randn(p.shape) / math.sqrt(p.shape[0]))
        elif leaf == "cls_emb":
            p.copy_(0.5 * randn(p.shape))
        else:
            raise AssertionError(f"init_random_decoder does not know parameter {name}")
    return decoder
