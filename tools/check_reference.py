#!/usr/bin/env python3
"""Self-checks for tools/hourglass_ref (run with the system interpreter):

    /usr/bin/python3 tools/check_reference.py

1. Attention block == torch.nn.MultiheadAttention with the same (q;k;v) in-projection.
2. GELU == the explicit erf formula; LayerNorm == the explicit formula with eps 1e-6.
3. Whole model (plain, distilled, resized input) == an independent float64 numpy forward
   written straight from the state_dict (catches wiring mistakes in vit.py itself).
4. norm_eps (1e-12, 1e-5) reaches every LayerNorm and matches the numpy forward; Segmenter's
   mask-transformer and linear decoders (segmenter.py) == an independent numpy statement.
5. The bicubic+antialias position-embedding resize runs and changes the values.
6. safetensors round trip for F32/F16/BF16 is bit exact, header aligned, no holes.
Takes a few seconds; exits non-zero on the first failure.
"""
import math
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref.vit import (VisionTransformer, init_random, resample_abs_pos_embed,  # noqa: E402
                               Attention)
from hourglass_ref.segmenter import MaskTransformer, DecoderLinear, init_random_decoder  # noqa: E402


def check(name, got, want, tol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    ok = got.shape == want.shape and err <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max_abs={err:.3e} (tol {tol:g})")
    if not ok:
        sys.exit(1)


def check_attention():
    torch.manual_seed(0)
    D, H, N, B = 48, 3, 7, 2
    attn = Attention(D, H, qkv_bias=True)
    mha = nn.MultiheadAttention(D, H, bias=True, batch_first=True)
    with torch.no_grad():
        # MultiheadAttention's in_proj rows are [q; k; v], each split into heads the same
        # way timm splits qkv, so the weights carry over unchanged.
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
        x = torch.randn(B, N, D)
        check("attention vs nn.MultiheadAttention", attn(x), mha(x, x, x, need_weights=False)[0], 1e-5)


def check_gelu_layernorm():
    x = torch.randn(1000, dtype=torch.float64) * 3
    check("nn.GELU vs erf formula", nn.GELU()(x), 0.5 * x * (1 + torch.erf(x / math.sqrt(2))), 1e-12)
    x = torch.randn(5, 32, dtype=torch.float64)
    w, b = torch.randn(32, dtype=torch.float64), torch.randn(32, dtype=torch.float64)
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance
    check("layer_norm eps=1e-6 vs formula", F.layer_norm(x, (32,), w, b, 1e-6),
          (x - mu) / torch.sqrt(var + 1e-6) * w + b, 1e-12)


def numpy_layer_norm(v, w, b, eps):
    mu = v.mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def numpy_block(sd, pre, h, heads, eps):
    """One pre-LN transformer block (timm names under `pre`), float64 numpy."""
    erf = np.vectorize(math.erf)
    B, T, D = h.shape
    y = numpy_layer_norm(h, sd[pre + "norm1.weight"], sd[pre + "norm1.bias"], eps)
    qkv = y @ sd[pre + "attn.qkv.weight"].T + sd[pre + "attn.qkv.bias"]
    hd = D // heads
    q, k, v = (qkv[..., j * D:(j + 1) * D].reshape(B, T, heads, hd).transpose(0, 2, 1, 3) for j in range(3))
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    o = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
    h = h + o @ sd[pre + "attn.proj.weight"].T + sd[pre + "attn.proj.bias"]
    y = numpy_layer_norm(h, sd[pre + "norm2.weight"], sd[pre + "norm2.bias"], eps)
    m = y @ sd[pre + "mlp.fc1.weight"].T + sd[pre + "mlp.fc1.bias"]
    m = 0.5 * m * (1 + erf(m / math.sqrt(2)))
    return h + m @ sd[pre + "mlp.fc2.weight"].T + sd[pre + "mlp.fc2.bias"]


def numpy_mask_transformer(sd, patches, n_cls, heads, grid, eps=1e-5):
    """Independent float64 statement of Segmenter's MaskTransformer.forward at eval, from
    the decoder's state dict (Segmenter names without 'decoder.'). patches: encoder output
    without the class token [B, N, D] (numpy). Returns masks [B, n_cls, gh, gw]."""
    sd = {k: v.detach().double().numpy() for k, v in sd.items()}
    x = np.asarray(patches, dtype=np.float64)
    B, N, _ = x.shape
    x = x @ sd["proj_dec.weight"].T + sd["proj_dec.bias"]
    x = np.concatenate([x, np.broadcast_to(sd["cls_emb"], (B,) + sd["cls_emb"].shape[1:])], axis=1)
    i = 0
    while f"blocks.{i}.norm1.weight" in sd:
        x = numpy_block(sd, f"blocks.{i}.", x, heads, eps)
        i += 1
    x = numpy_layer_norm(x, sd["decoder_norm.weight"], sd["decoder_norm.bias"], eps)
    p = x[:, :N] @ sd["proj_patch"]
    c = x[:, N:] @ sd["proj_classes"]
    p = p / np.sqrt((p ** 2).sum(-1, keepdims=True))
    c = c / np.sqrt((c ** 2).sum(-1, keepdims=True))
    m = p @ c.transpose(0, 2, 1)                                  # [B, N, n_cls]
    m = numpy_layer_norm(m, sd["mask_norm.weight"], sd["mask_norm.bias"], eps)
    gh, gw = grid
    out = np.zeros((B, n_cls, gh, gw))
    for t in range(N):                                            # token t is grid cell (t // gw, t % gw)
        out[:, :, t // gw, t % gw] = m[:, t, :]
    return out


def numpy_vit(sd, cfg, x, pos_grid, eps=1e-6):
    """Independent float64 forward from a state_dict (numpy only, except the resized
    position embedding, which is passed in). eps: every LayerNorm's eps."""
    sd = {k: v.detach().double().numpy() for k, v in sd.items()}
    p, D, Hh = cfg["patch"], cfg["dim"], cfg["heads"]
    x = x.double().numpy()
    B, _, Hi, Wi = x.shape
    gh, gw = Hi // p, Wi // p
    # Patchify: token (r, c) takes pixels [r*p:(r+1)*p, c*p:(c+1)*p] of every channel.
    patches = x[:, :, :gh * p, :gw * p].reshape(B, 3, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(B, gh * gw, 3 * p * p)
    tok = patches @ sd["patch_embed.proj.weight"].reshape(D, -1).T + sd["patch_embed.proj.bias"]
    prefix = [np.broadcast_to(sd["cls_token"], (B, 1, D))]
    if "dist_token" in sd:
        prefix.append(np.broadcast_to(sd["dist_token"], (B, 1, D)))
    h = np.concatenate(prefix + [tok], axis=1) + pos_grid

    def ln(v, w, b):
        return numpy_layer_norm(v, w, b, eps)

    for i in range(cfg["depth"]):
        h = numpy_block(sd, f"blocks.{i}.", h, Hh, eps)
    f = ln(h, sd["norm.weight"], sd["norm.bias"])
    logits = f[:, 0] @ sd["head.weight"].T + sd["head.bias"]
    if "head_dist.weight" in sd:
        logits = (logits + f[:, 1] @ sd["head_dist.weight"].T + sd["head_dist.bias"]) / 2
    return f, logits


def check_model(distilled, in_hw, seed):
    cfg = dict(patch=8, dim=64, heads=4, depth=2)
    m = init_random(VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4,
                                      num_classes=10, distilled=distilled), seed).eval()
    x = torch.randn(2, 3, *in_hw, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        feats, seq = m.forward_features(x)
        logits = m(x)
        grid = (in_hw[0] // 8, in_hw[1] // 8)
        pos = resample_abs_pos_embed(m.pos_embed, grid, (4, 4), m.num_prefix_tokens) if grid != (4, 4) else m.pos_embed
    f_ref, l_ref = numpy_vit(m.state_dict(), cfg, x, pos.detach().double().numpy())
    tag = f"{'deit' if distilled else 'vit'} {in_hw[0]}x{in_hw[1]}"
    check(f"model features vs numpy float64 ({tag})", feats, f_ref, 5e-5)
    check(f"model logits vs numpy float64 ({tag})", logits, l_ref, 5e-5)
    check(f"forward_features list length ({tag})", [len(seq)], [3], 0)
    print(f"     logits std {logits.std().item():.3f}")


def check_norm_eps():
    """norm_eps reaches every LayerNorm, and the numpy forward with the same eps agrees."""
    for eps in (1e-12, 1e-5):
        m = init_random(VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2,
                                          num_classes=10, norm_eps=eps), 15).eval()
        lns = [mod for mod in m.modules() if isinstance(mod, nn.LayerNorm)]
        assert len(lns) == 5 and all(ln.eps == eps for ln in lns), [ln.eps for ln in lns]
        x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(16))
        with torch.no_grad():
            feats, _ = m.forward_features(x, return_blocks=False)
        f_ref, _ = numpy_vit(m.state_dict(), dict(patch=8, dim=32, heads=2, depth=2), x,
                             m.pos_embed.detach().double().numpy(), eps=eps)
        check(f"features with norm_eps={eps:g} vs numpy float64", feats, f_ref, 5e-5)


def check_segmenter_decoders():
    """MaskTransformer / DecoderLinear vs an independent float64 numpy statement."""
    D, n_cls, grid = 32, 5, (4, 3)
    dec = init_random_decoder(MaskTransformer(n_cls, D, D, n_layers=2, n_heads=2, d_ff=4 * D), 17).eval()
    x = torch.randn(2, grid[0] * grid[1], D, generator=torch.Generator().manual_seed(18))
    with torch.no_grad():
        masks = dec(x, grid)
    ref = numpy_mask_transformer(dec.state_dict(), x.double().numpy(), n_cls, 2, grid)
    check("mask transformer masks vs numpy float64", masks, ref, 5e-5)
    print(f"     masks std {masks.std().item():.3f}")
    names = list(dec.state_dict())
    assert names[:3] == ["cls_emb", "proj_patch", "proj_classes"], names[:3]
    assert names[-4:] == ["decoder_norm.weight", "decoder_norm.bias", "mask_norm.weight", "mask_norm.bias"]
    lin = init_random_decoder(DecoderLinear(n_cls, D), 19).eval()
    with torch.no_grad():
        lm = lin(x, grid)
    w, b = lin.head.weight.detach().double().numpy(), lin.head.bias.detach().double().numpy()
    ref = (x.double().numpy() @ w.T + b).transpose(0, 2, 1).reshape(2, n_cls, *grid)
    check("linear decoder masks vs numpy float64", lm, ref, 1e-5)


def check_resample():
    pe = torch.randn(1, 1 + 16, 8)
    out = resample_abs_pos_embed(pe, (6, 5), (4, 4), 1)
    assert out.shape == (1, 1 + 30, 8), out.shape
    check("resample keeps the prefix row", out[:, :1], pe[:, :1], 0)
    direct = F.interpolate(pe[:, 1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2), size=(6, 5),
                           mode="bicubic", antialias=True, align_corners=False)
    check("resample == F.interpolate bicubic antialias", out[:, 1:],
          direct.permute(0, 2, 3, 1).reshape(1, 30, 8), 0)
    no_aa = F.interpolate(pe[:, 1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2), size=(6, 5),
                          mode="bicubic", antialias=False, align_corners=False)
    diff = float((direct - no_aa).abs().max())
    print(f"     antialias changes the upscale by {diff:.3e} (different cubic coefficient)")
    assert diff > 1e-3
    check("resample to same grid is the identity", resample_abs_pos_embed(pe, (4, 4), (4, 4), 1), pe, 0)


def check_safetensors():
    g = torch.Generator().manual_seed(3)
    tensors = {"a": torch.randn(3, 5, generator=g), "b.c": torch.randn(7, generator=g),
               "s": torch.randn(1, 1, 2, generator=g)}
    with tempfile.TemporaryDirectory() as d:
        for dtype, tdt in (("F32", torch.float32), ("F16", torch.float16), ("BF16", torch.bfloat16)):
            path = os.path.join(d, f"t_{dtype}.safetensors")
            n = st.save_file(tensors, path, dtype=dtype, metadata={"format": "pt"})
            assert n == os.path.getsize(path)
            header, meta, start = st.read_header(path)
            assert start % 8 == 0 and meta == {"format": "pt"}, (start, meta)
            assert list(header) == list(tensors), "header must keep insertion order"
            back, _ = st.load_file(path, as_torch=True)
            for k, t in tensors.items():
                assert back[k].dtype == tdt, back[k].dtype
                assert torch.equal(back[k].view(torch.int16 if tdt != torch.float32 else torch.int32),
                                   t.to(tdt).view(torch.int16 if tdt != torch.float32 else torch.int32)), k
            npy, _ = st.load_file(path, as_torch=False)
            for k, t in tensors.items():
                assert np.array_equal(npy[k].astype(np.float32), t.to(tdt).float().numpy()), k
            print(f"ok   safetensors {dtype} round trip bit exact (data at offset {start})")


def main():
    check_attention()
    check_gelu_layernorm()
    check_model(False, (32, 32), 11)
    check_model(True, (32, 32), 12)
    check_model(False, (48, 40), 13)
    check_model(True, (19, 35), 14)  # ragged input: trailing pixels dropped, 2x4 grid
    check_norm_eps()
    check_segmenter_decoders()
    check_resample()
    check_safetensors()
    print("all reference checks passed")


if __name__ == "__main__":
    main()
