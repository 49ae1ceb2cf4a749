"""Patch Slimming (PS-ViT, static masks) at inference on ``hourglass_ref.vit.VisionTransformer``
(plain ViT/DeiT and distilled DeiT), plus the significance score used to choose the masks.

Docs: ``ALGORITHMS.md`` §2 (§2.2 pruned architecture, §2.3 score, §2.4 search, §2.7 pseudo-code).
No official code exists (§2.1); this is a clean statement of the transcribed spec. Blocks are
0-based here (the paper counts layers 1..L).

Masks
-----
``keep`` is a list with one entry per block: ``keep[l]`` = the ids kept BY block l (its query
rows and output tokens), as positions in the ORIGINAL sequence: 0..P-1 the prefix tokens (class,
then distillation for a distilled DeiT), then the patches row-major. Each list is ascending.
Rules (``validate_masks``): len(keep) == depth; ids are ints in [0, N); strictly ascending; every
prefix token in every list; nested keep[l] ⊆ keep[l-1] (keep[0] ⊆ all). Stored as JSON::

    {"format": "hourglass-token-masks", "version": 1, "tokens": N, "prefix_tokens": P,
     "keep": [[...], ...],   # optional: "model", "calibration_images", "tolerance",
     }                       #           "expected_gflops", "training_free"

Pruned forward (``forward_pruned``)
-----------------------------------
x = [prefix tokens, patch embeddings] + pos_embed (once, before block 0); K_{-1} = all ids. Block
l with kept set K_l: n = LN1(x) over the current tokens (K_{l-1}, ascending id order); q from the
rows of n whose id is in K_l, k and v from all rows of n; a = softmax((q @ k^T) * scale) (shape
[B, heads, |K_l|, |K_{l-1}|]); x = x[rows of K_l] + proj(a @ v); x = x + MLP(LN2(x)). A dropped
token never returns. logits = head(LN(x)[cls]) (distilled: (head(cls) + head_dist(dist)) / 2). The
prefix tokens are always rows 0..P-1. With every token kept it is bit-identical to ``model(x)``.

Significance score (``significance``), the exact definition implemented
------------------------------------------------------------------------
Inputs: model, calibration images X (batch B), block t, masks ``keep`` (only keep[t+1..L-1] are
used). The forward runs with blocks 0..t UNPRUNED (K_0 = ... = K_t = all N ids) and blocks
t+1..L-1 pruned by keep[t+1..L-1] (L = depth). Per image b:

* Z = the input of block t (the residual stream entering block t, before norm1; for t = 0 the
  embeddings + pos_embed), [N, D]; |Z| elementwise absolute value.
* P_{h,l} = post-softmax attention of head h in block l of that forward, [|K_l|, |K_{l-1}|]
  (softmax over the kept columns only, i.e. exactly the pruned forward's attention).
* u_i = (1/H) Σ_h Σ_d ( (P_{h,t} |Z|)[i, d] )²          (H = heads, i over all N tokens)
* G: start G = diag(w) over the tokens kept by the LAST block (K_{L-1}), with w = 1 on the class
  token and 0 elsewhere (plain); distilled: w = 1/2 on the class token and 1/2 on the distillation
  token (mirroring the head average). Then for l = L-1, L-2, ..., t+1:
        G <- (1/H) Σ_h P_{h,l}^T G P_{h,l}          ([|K_{l-1}|, |K_{l-1}|]; ends as [N, N])
  (for t = L-1 the loop is empty and G = diag(w) over all N tokens).
* s_i = G_ii · u_i.
The returned score is the MEAN over the B images of the per-image s_i (mean of products, not
product of means). Scores are returned for all N tokens; the prefix tokens are reported but are
never candidates for ranking (they are always kept), and neither are tokens already in keep[t+1].
G_ii = Σ over head paths (h_{t+1..L-1}) of H^{-(L-1-t)} Σ_r w_r A_path[r, i]², A_path the product
of those heads' attention maps from block L-1 down to t+1: the head-averaged version of §2.3's
Σ_paths ‖A[:, i] U[i, :]‖_F² (the 1/H per layer, t included, only rescales by H^{-(L-t)} and
does not change any ranking).

Mask search (``pyramid_masks`` with calibration images): §2.4 top-down without fine-tuning and with
fixed counts: keep[L-1] from counts[L-1]; for l = L-2 .. 0: if counts[l] < all patches, scores at
block l with blocks > l pruned by the masks already chosen; keep[l] = keep[l+1] ∪ the
(counts[l] - |patches in keep[l+1]|) highest-scoring remaining patches. (The last block's patches,
if counts[L-1] > 0, are chosen by the score at block L-1, whose G = diag(w) scores every patch 0,
so use counts[L-1] = 0 there, as PS-ViT does.) With a seed instead: one seeded random permutation
of the patches (torch.Generator(seed).randperm), keep[l] = prefix + its first counts[l] entries.

``numpy_forward_pruned`` / ``numpy_significance`` are independent float64 numpy statements (one
image at a time, explicit head loops), for checking the float32 torch versions.
"""
import json
import math

import numpy as np
import torch

FORMAT = "hourglass-token-masks"
VERSION = 1
OPTIONAL_FIELDS = ("model", "calibration_images", "tolerance", "expected_gflops", "training_free")


# ---------------------------------------------------------------------------------------------
# Masks

def num_tokens(model):
    return model.num_prefix_tokens + model.grid_size[0] * model.grid_size[1]


def full_masks(model):
    """Every token kept by every block (the plain forward)."""
    n = num_tokens(model)
    return [list(range(n)) for _ in model.blocks]


def validate_masks(keep, tokens, prefix_tokens, depth):
    """Raise ValueError (first violation, with the block and id) unless ``keep`` follows the rules."""
    if not isinstance(keep, (list, tuple)):
        raise ValueError(f"keep must be a list of {depth} lists, got {type(keep).__name__}")
    if len(keep) != depth:
        raise ValueError(f"keep has {len(keep)} lists, the model has {depth} blocks")
    prev = None
    for l, ids in enumerate(keep):
        if not isinstance(ids, (list, tuple)):
            raise ValueError(f"keep[{l}] is not a list")
        for j, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, int):
                raise ValueError(f"keep[{l}][{j}] = {i!r} is not an integer id")
            if not 0 <= i < tokens:
                raise ValueError(f"keep[{l}][{j}] = {i} is out of range [0, {tokens})")
            if j > 0 and i <= ids[j - 1]:
                raise ValueError(f"keep[{l}] is not strictly ascending at position {j} ({ids[j - 1]}, {i})")
        present = set(ids)
        for p in range(prefix_tokens):
            if p not in present:
                raise ValueError(f"keep[{l}] lacks prefix token {p}")
        if prev is not None:
            extra = sorted(present - prev)
            if extra:
                raise ValueError(f"keep[{l}] is not a subset of keep[{l - 1}]: {extra[0]} was dropped before")
        prev = present
    return True


def validate_for(model, keep):
    return validate_masks(keep, num_tokens(model), model.num_prefix_tokens, len(model.blocks))


def to_json(keep, tokens, prefix_tokens, **optional):
    """The mask file's dict (json.dump it); optional fields from OPTIONAL_FIELDS only."""
    for k in optional:
        if k not in OPTIONAL_FIELDS:
            raise ValueError(f"unknown optional field {k}")
    d = {"format": FORMAT, "version": VERSION, "tokens": tokens, "prefix_tokens": prefix_tokens,
         "keep": [list(map(int, ids)) for ids in keep]}
    d.update(optional)
    return d


def dump_json(d, path):
    """One keep list per line (readable, small)."""
    head = {k: v for k, v in d.items() if k != "keep"}
    text = json.dumps(head, indent=2)[:-2]
    text += ',\n  "keep": [\n' + ",\n".join("    " + json.dumps(ids) for ids in d["keep"]) + "\n  ]\n}\n"
    assert json.loads(text) == d
    with open(path, "w") as f:
        f.write(text)


def load_json(path_or_dict, depth=None):
    d = path_or_dict
    if not isinstance(d, dict):
        with open(d) as f:
            d = json.load(f)
    if d.get("format") != FORMAT or d.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} v{VERSION} file")
    keep = d["keep"]
    validate_masks(keep, d["tokens"], d["prefix_tokens"], len(keep) if depth is None else depth)
    return keep, d


def patch_counts(model, counts):
    """counts: per block an int (patches kept, prefix excluded) or a float ratio of the patches
    (int(ratio * patches + 0.5))."""
    patches = num_tokens(model) - model.num_prefix_tokens
    out = []
    for c in counts:
        out.append(int(c * patches + 0.5) if isinstance(c, float) else int(c))
    if len(out) != len(model.blocks):
        raise ValueError(f"{len(out)} counts for {len(model.blocks)} blocks")
    if any(c < 0 or c > patches for c in out) or any(b > a for a, b in zip(out, out[1:])):
        raise ValueError(f"counts must be non-increasing in [0, {patches}]: {out}")
    return out


def pyramid_masks(model, counts, calibration=None, seed=None):
    """Nested masks keeping counts[l] patches (plus the prefix) at block l.

    calibration (images [B,3,H,W]): patches chosen by the significance score (top-down search,
    module docstring); seed: by one seeded random permutation. Returns (keep, info) where info has,
    per searched block, the scores and the cut margin (raw and relative to the largest candidate
    score)."""
    counts = patch_counts(model, counts)
    P, N, L = model.num_prefix_tokens, num_tokens(model), len(model.blocks)
    prefix = list(range(P))
    info = {"counts": counts, "blocks": {}}
    if (calibration is None) == (seed is None):
        raise ValueError("give exactly one of calibration, seed")
    if seed is not None:
        perm = (torch.randperm(N - P, generator=torch.Generator().manual_seed(seed)) + P).tolist()
        keep = [prefix + sorted(perm[:c]) for c in counts]
        info["permutation"] = perm
        return keep, info
    keep = [None] * L
    if counts[L - 1] == N - P:
        keep[L - 1] = list(range(N))
    elif counts[L - 1] == 0:
        keep[L - 1] = list(prefix)
    else:
        raise ValueError("score-based search needs counts[-1] = 0 or all patches (the last block's G "
                         "scores every patch 0)")
    for l in range(L - 2, -1, -1):
        have = [i for i in keep[l + 1] if i >= P]
        r = counts[l] - len(have)
        if counts[l] == N - P:
            keep[l] = list(range(N))
            continue
        masks = [list(range(N))] * (l + 1) + keep[l + 1:]
        sc = significance(model, calibration, l, masks)
        s = sc["scores"].double()
        cand = [i for i in range(P, N) if i not in set(have)]
        order = sorted(cand, key=lambda i: -float(s[i]))
        chosen = order[:r]
        keep[l] = sorted(prefix + have + chosen)
        vals = [float(s[i]) for i in order]
        scale = max(vals)
        cut = vals[r - 1] - vals[r] if 0 < r < len(vals) else math.inf
        gaps = [a - b for a, b in zip(vals, vals[1:])]
        info["blocks"][l] = {"scores": sc["scores"], "per_image": sc["per_image"], "order": order,
                             "chosen": chosen, "cut": cut, "cut_rel": cut / scale, "scale": scale,
                             "min_order_gap_rel": min(gaps) / scale if gaps else math.inf}
    validate_for(model, keep)
    return keep, info


# ---------------------------------------------------------------------------------------------
# Pruned forward (float32 or float64, whatever the model's dtype)

def _attention(attn_mod, n, rows):
    B, T, C = n.shape
    H, hd = attn_mod.num_heads, attn_mod.head_dim
    qkv = attn_mod.qkv(n).reshape(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)                      # [B, H, T, hd]
    q = q[:, :, rows]                            # queries only for the kept tokens
    a = (q @ k.transpose(-2, -1)) * attn_mod.scale
    a = a.softmax(dim=-1)                        # [B, H, |K_l|, T]
    o = (a @ v).transpose(1, 2).reshape(B, len(rows), C)
    return attn_mod.proj(o), a


def forward_pruned(model, x, keep=None, return_details=False):
    """Returns (logits [B, C], tokens kept per block) and, with return_details, a dict with
    "attn" (per block [B, H, |K_l|, |K_{l-1}|]), "inputs" (per block its input [B, |K_{l-1}|, D])
    and "ids" (per block the kept ids)."""
    if keep is None:
        keep = full_masks(model)
    validate_for(model, keep)
    t, grid = model.patch_embed(x)
    t = model._pos_embed(t, grid)
    if tuple(grid) != tuple(model.grid_size):
        raise ValueError("masks are defined on the model's own grid")
    cur = list(range(t.shape[1]))
    tokens, attn, inputs = [], [], []
    for blk, ids in zip(model.blocks, keep):
        pos = {i: j for j, i in enumerate(cur)}
        rows = torch.tensor([pos[i] for i in ids], dtype=torch.long)
        if return_details:
            inputs.append(t)
        y, a = _attention(blk.attn, blk.norm1(t), rows)
        t = t[:, rows] + y
        t = t + blk.mlp(blk.norm2(t))
        cur = list(ids)
        tokens.append(len(ids))
        if return_details:
            attn.append(a)
    logits = model.forward_head(model.norm(t))
    if return_details:
        return logits, tokens, {"attn": attn, "inputs": inputs, "ids": [list(i) for i in keep]}
    return logits, tokens


def start_weights(model):
    """w of the score's G = diag(w): class token 1 (plain); class and distillation 1/2 each."""
    return [1.0] if model.num_prefix_tokens == 1 else [0.5, 0.5]


def significance(model, x, t, keep):
    """Significance of every token at block t (module docstring); blocks <= t unpruned, blocks
    > t pruned by keep[t+1:]. Returns {"scores": [N] mean over images, "per_image": [B, N],
    "g": [B, N] (G's diagonal), "u": [B, N]} in the model's dtype."""
    N, L = num_tokens(model), len(model.blocks)
    masks = [list(range(N))] * (t + 1) + [list(k) for k in keep[t + 1:]]
    with torch.no_grad():
        _, _, d = forward_pruned(model, x, masks, return_details=True)
        P = d["attn"][t]                                   # [B, H, N, N]
        Z = d["inputs"][t].abs()                           # [B, N, D]
        U = P @ Z.unsqueeze(1)                             # [B, H, N, D]
        u = (U * U).sum(-1).mean(1)                        # [B, N]
        B = x.shape[0]
        w = start_weights(model)
        last = masks[L - 1]
        G = torch.zeros(B, len(last), len(last), dtype=Z.dtype)
        for r, wr in enumerate(w):                         # prefix tokens are rows 0..P-1
            G[:, r, r] = wr
        for l in range(L - 1, t, -1):
            A = d["attn"][l]                               # [B, H, |K_l|, |K_{l-1}|]
            G = (A.transpose(-2, -1) @ G.unsqueeze(1) @ A).mean(1)
        g = torch.diagonal(G, dim1=-2, dim2=-1)            # [B, N]
        per = g * u
    return {"scores": per.mean(0), "per_image": per, "g": g, "u": u}


# ---------------------------------------------------------------------------------------------
# Independent float64 numpy statement

_erf = np.vectorize(math.erf)


def _ln(v, w, b, eps):
    mu = v.mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _np_state(model):
    return {k: v.detach().double().numpy() for k, v in model.state_dict().items()}


def _np_embed(model, sd, img):
    """One image [3,H,W] -> [N, D] tokens (+ pos), per-patch loop."""
    p, D = model.patch_size, model.embed_dim
    gh, gw = model.grid_size
    w = sd["patch_embed.proj.weight"].reshape(D, -1)
    rows = [sd["cls_token"][0, 0]] + ([sd["dist_token"][0, 0]] if model.distilled else [])
    for r in range(gh):
        for c in range(gw):
            rows.append(w @ img[:, r * p:(r + 1) * p, c * p:(c + 1) * p].reshape(-1) + sd["patch_embed.proj.bias"])
    return np.stack(rows) + sd["pos_embed"][0]


def _np_block(model, sd, l, h, cur, ids):
    """h: [len(cur), D] tokens with ids `cur`; returns (tokens of `ids`, per-head attention list)."""
    pre = f"blocks.{l}."
    eps, D, H = model.norm_eps, model.embed_dim, model.num_heads
    hd = D // H
    y = _ln(h, sd[pre + "norm1.weight"], sd[pre + "norm1.bias"], eps)
    wq, wk, wv = (sd[pre + "attn.qkv.weight"][j * D:(j + 1) * D] for j in range(3))
    bias = sd.get(pre + "attn.qkv.bias", np.zeros(3 * D))
    bq, bk, bv = (bias[j * D:(j + 1) * D] for j in range(3))
    rows = [cur.index(i) for i in ids]
    heads_out, maps = [], []
    for hh in range(H):
        sl = slice(hh * hd, (hh + 1) * hd)
        q = y[rows] @ wq[sl].T + bq[sl]
        k = y @ wk[sl].T + bk[sl]
        v = y @ wv[sl].T + bv[sl]
        s = q @ k.T / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        maps.append(s)
        heads_out.append(s @ v)
    o = np.concatenate(heads_out, axis=1)
    h = h[rows] + o @ sd[pre + "attn.proj.weight"].T + sd[pre + "attn.proj.bias"]
    y = _ln(h, sd[pre + "norm2.weight"], sd[pre + "norm2.bias"], eps)
    m = y @ sd[pre + "mlp.fc1.weight"].T + sd[pre + "mlp.fc1.bias"]
    m = 0.5 * m * (1 + _erf(m / math.sqrt(2)))
    return h + m @ sd[pre + "mlp.fc2.weight"].T + sd[pre + "mlp.fc2.bias"], maps


def _np_run(model, sd, img, keep):
    h = _np_embed(model, sd, img)
    cur = list(range(h.shape[0]))
    inputs, maps = [], []
    for l, ids in enumerate(keep):
        inputs.append(h)
        h, m = _np_block(model, sd, l, h, cur, list(ids))
        maps.append(m)
        cur = list(ids)
    return h, inputs, maps


def numpy_forward_pruned(model, x, keep):
    """float64 logits [B, C] of the pruned forward, one image at a time."""
    sd = _np_state(model)
    out = []
    for img in x.detach().double().numpy():
        h, _, _ = _np_run(model, sd, img, keep)
        f = _ln(h, sd["norm.weight"], sd["norm.bias"], model.norm_eps)
        lg = f[0] @ sd["head.weight"].T + sd["head.bias"]
        if model.distilled:
            lg = (lg + f[1] @ sd["head_dist.weight"].T + sd["head_dist.bias"]) / 2
        out.append(lg)
    return np.stack(out)


def numpy_significance(model, x, t, keep):
    """float64 statement of ``significance`` (explicit head loops); returns (scores [N], per_image [B, N])."""
    sd = _np_state(model)
    N, L, H = num_tokens(model), len(model.blocks), model.num_heads
    masks = [list(range(N))] * (t + 1) + [list(k) for k in keep[t + 1:]]
    w = start_weights(model)
    per = []
    for img in x.detach().double().numpy():
        _, inputs, maps = _np_run(model, sd, img, masks)
        Z = np.abs(inputs[t])
        u = np.zeros(N)
        for hh in range(H):
            u += ((maps[t][hh] @ Z) ** 2).sum(-1) / H
        n_last = len(masks[L - 1])
        G = np.zeros((n_last, n_last))
        for r, wr in enumerate(w):
            G[r, r] = wr
        for l in range(L - 1, t, -1):
            G = sum(maps[l][hh].T @ G @ maps[l][hh] for hh in range(H)) / H
        per.append(np.diag(G) * u)
    per = np.stack(per)
    return per.mean(0), per
