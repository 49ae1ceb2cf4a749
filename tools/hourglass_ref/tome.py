"""Token Merging (ToMe, Bolya et al., ICLR 2023) at inference on the reference ViT/DeiT.

A clean-room statement of the algorithm in `ALGORITHMS.md` §4 (bipartite soft matching,
size-weighted merging, proportional attention, the (r, inflect) schedule), written from that
specification only. It runs on `hourglass_ref.vit.VisionTransformer` and reuses its modules
(patch embedding, position embedding, LayerNorms, qkv/proj, MLP, heads); float32 throughout.

    from hourglass_ref.tome import forward_tome
    logits, tokens_after_block, details = forward_tome(model, images, r=8, inflect=0.0, prop_attn=True)

Per block i (pre-norm, eval), with tokens x [B,T,C] and sizes s [B,T,1] (None before the
first merge):
  1. x += proj(attention(norm1(x))), the key axis of the logits shifted by log(s) when
     prop_attn and s is not None;
  2. metric = the block's keys averaged over heads [B,T,hd];
  3. bipartite soft matching removes r = min(r_i, (T - protected) // 2) tokens
     (protected = class token + distillation token);
  4. x = merge(x*s) / merge(s), s = merge(s);
  5. x += mlp(norm2(x)).
"""
import torch

NEG_INF = float("-inf")


def schedule(depth, r, inflect=0.0):
    """Tokens to remove per block: a linear ramp from int(r (1 - inflect)) to 2r - that value.

    inflect 0: r in every block; -1: decreasing (r=8, depth 12: 16, 14, 13, 11, 10, 8, 7, 5,
    4, 2, 1, 0); +1: increasing. Values are computed in double precision and truncated toward
    zero like Python's int(). depth 1 has no ramp: [int(r (1 - inflect))]. These are requested
    values; each block caps its own at (T - protected) // 2 (and a value <= 0 merges nothing).
    """
    if depth < 1:
        return []
    lo = int(r * (1.0 - inflect))
    hi = 2 * r - lo
    if depth == 1:
        return [lo]
    step = (hi - lo) / (depth - 1)
    return [int(lo + step * i) for i in range(depth)]


def _identity(t):
    return t


def bipartite_soft_matching(metric, r, class_token=True, distill_token=False):
    """Plan one ToMe merge from `metric` [B,T,c] (the keys averaged over heads).

    Returns (merge_fn, details). merge_fn(t) maps any per-token tensor t [B,T,k] to
    [B,T-r,k] by summing every merged-away token into its destination (sum, not mean; see
    merge_wavg for the size weighting). details holds the decision: r (after the cap),
    r_requested, tokens_in/out and, when r > 0, scores [B,|A|,|B|] (cosine similarities
    with the -inf masks), node_max / node_idx [B,|A|] (best score and best B index for every A
    token), order [B,|A|] (A indices by node_max, highest first), src_idx [B,r], dst_idx [B,r]
    (B indices), unm_idx [B,|A|-r] (kept A indices in output order). Indices are positions
    within set A (even positions of the input) or set B (odd positions).
    """
    B, T, _ = metric.shape
    protected = int(bool(class_token)) + int(bool(distill_token))
    r_eff = min(int(r), (T - protected) // 2)
    details = {"r_requested": int(r), "r": max(r_eff, 0), "tokens_in": T, "tokens_out": T - max(r_eff, 0)}
    if r_eff <= 0:
        return _identity, details
    r = r_eff

    with torch.no_grad():
        unit = metric / metric.norm(dim=-1, keepdim=True)       # no eps, as specified
        set_a = unit[:, 0::2, :]                               # even positions (class token = A[0])
        set_b = unit[:, 1::2, :]                               # odd positions (distillation token = B[0])
        scores = set_a @ set_b.transpose(1, 2)                 # [B, ceil(T/2), floor(T/2)]
        if class_token:
            scores[:, 0, :] = NEG_INF                          # the class token is never merged away
        if distill_token:
            scores[:, :, 0] = NEG_INF                          # the distillation token receives nothing
        node_max, node_idx = scores.max(dim=-1)                # best partner in B for each A token
        order = torch.argsort(node_max, dim=-1, descending=True)
        src_idx = order[:, :r]                                 # merged away, most similar first
        unm_idx = order[:, r:]                                 # kept
        if class_token:
            unm_idx = torch.sort(unm_idx, dim=-1).values       # ascending: class token stays first
        dst_idx = torch.gather(node_idx, 1, src_idx)

    def merge(t):
        k = t.shape[-1]
        t_a, t_b = t[:, 0::2, :], t[:, 1::2, :]
        kept = torch.gather(t_a, 1, unm_idx[..., None].expand(-1, -1, k))
        moved = torch.gather(t_a, 1, src_idx[..., None].expand(-1, -1, k))
        # Sources are added into their destination in src order (destination value included).
        t_b = t_b.scatter_add(1, dst_idx[..., None].expand(-1, -1, k), moved)
        if distill_token:
            return torch.cat([kept[:, :1], t_b[:, :1], kept[:, 1:], t_b[:, 1:]], dim=1)
        return torch.cat([kept, t_b], dim=1)

    details.update(scores=scores, node_max=node_max, node_idx=node_idx, order=order,
                   src_idx=src_idx, dst_idx=dst_idx, unm_idx=unm_idx)
    return merge, details


def merge_wavg(merge, x, size=None):
    """Size-weighted merge: x <- merge(x*s) / merge(s), s <- merge(s); s starts as ones [B,T,1].

    A merged token is the mean of the patches it stands for; its size is their count."""
    if size is None:
        size = torch.ones_like(x[..., :1])
    x = merge(x * size)
    size = merge(size)
    return x / size, size


def attention_with_sizes(attn, x, size=None, prop_attn=True):
    """timm attention (hourglass_ref.vit.Attention's modules) that also returns the metric.

    Proportional attention: when prop_attn and size is not None, log(size) of each key token
    is added to every head's and every query's logits before the softmax. Without it the
    operations are exactly vit.Attention's (bit-identical output).
    Returns (output [B,T,C], metric = keys averaged over heads [B,T,hd])."""
    B, N, C = x.shape
    qkv = attn.qkv(x).reshape(B, N, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)                                    # each [B, heads, N, hd]
    logits = (q @ k.transpose(-2, -1)) * attn.scale
    if prop_attn and size is not None:
        logits = logits + size.log()[:, None, None, :, 0]      # [B,1,1,N]: the key axis
    weights = logits.softmax(dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(B, N, C)
    return attn.proj(out), k.mean(dim=1)


def forward_tome(model, x, r, inflect=0.0, prop_attn=True, r_list=None):
    """ToMe forward of a hourglass_ref.vit.VisionTransformer on images x [B,3,H,W].

    r, inflect: the schedule (see schedule()); r_list overrides it with explicit per-block
    requested values. Returns (logits [B,classes], tokens_after_block [depth ints],
    details {"r_requested": [...], "r": [capped r per block], "blocks": [per-block dict from
    bipartite_soft_matching, plus "sizes" [B,T',1] after the block (None before any merge)],
    "features": final normed tokens [B,T_L,C]}).
    """
    blocks = list(model.blocks)
    requested = list(r_list) if r_list is not None else schedule(len(blocks), r, inflect)
    requested = requested + [0] * (len(blocks) - len(requested))
    class_token = True                         # every reference model has one
    distill_token = bool(model.distilled)

    tokens, grid = model.patch_embed(x)
    h = model._pos_embed(tokens, grid)
    size = None
    tokens_after = []
    per_block = []
    for blk, r_i in zip(blocks, requested):
        out, metric = attention_with_sizes(blk.attn, blk.norm1(h), size, prop_attn)
        h = h + out
        merge, info = bipartite_soft_matching(metric, r_i, class_token, distill_token)
        if info["r"] > 0:
            h, size = merge_wavg(merge, h, size)
        h = h + blk.mlp(blk.norm2(h))
        info["sizes"] = size
        per_block.append(info)
        tokens_after.append(int(h.shape[1]))
    feats = model.norm(h)
    logits = model.forward_head(feats)
    details = {"r_requested": requested, "r": [b["r"] for b in per_block], "blocks": per_block,
               "features": feats}
    return logits, tokens_after, details


def decision_margins(details):
    """How far each discrete choice of a forward_tome run is from a tie, per block and image.

    cut: node_max's r-th minus (r+1)-th value in descending order (which A tokens merge away;
    +inf when the (r+1)-th is the masked class token); dest: for every merged-away A token,
    its best minus second-best score over B (which B token receives it). Returns a list of
    {"block", "image", "cut", "dest_min"} for the blocks that merged, and the overall minimum.
    """
    rows = []
    overall = float("inf")
    for i, info in enumerate(details["blocks"]):
        r = info["r"]
        if r <= 0:
            continue
        node_max = info["node_max"].double()
        top2 = torch.topk(info["scores"].double(), 2, dim=-1).values   # [B, |A|, 2]
        for b in range(node_max.shape[0]):
            desc = torch.sort(node_max[b], descending=True).values
            cut = float(desc[r - 1] - desc[r]) if r < desc.numel() else float("inf")
            src = info["src_idx"][b]
            gaps = top2[b, src, 0] - top2[b, src, 1]
            dest = float(gaps.min())
            rows.append({"block": i, "image": b, "cut": cut, "dest_min": dest})
            overall = min(overall, cut, dest)
    return rows, overall
