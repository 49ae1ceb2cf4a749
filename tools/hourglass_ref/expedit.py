"""Expedit ("Hourglass ViT") reference: token clustering, token reconstruction, and a
Segmenter forward / sliding-window inference that can use them. Plain PyTorch, float32.

Written from docs ALGORITHMS.md sections 1.2 (Token Clustering Layer), 1.3 (Token
Reconstruction Layer), 1.4.1 (where Expedit sits in Segmenter) and 1.7 (Segmenter's
sliding-window inference). The torch operations are chosen to be the ones the original code
applies, in the same order, so results agree with it to float32 rounding:

Token Clustering Layer (TCL), ``token_clustering``:
  * initial centres: ``F.adaptive_avg_pool2d`` of the token grid to the cluster grid (h, w);
  * initial label of every token: the float map of cell ids [0, M) resized with
    ``F.interpolate(size=(H, W), mode="nearest")`` (PyTorch computes the source index in
    float32: ``min(floor(dst * float32(in / out)), in - 1)``, identity at equal size, ``dst >> 1``
    at exactly twice the size);
  * locality: cluster s is allowed for token p iff its grid row and column are both within
    r = window // 2 of the row/column of p's initial cell; a forbidden pair gets 1e16 added to
    its distance BEFORE the temperature is applied;
  * ``iters`` rounds of soft k-means: D = (x.x) + (s.s) - 2 einsum(s, x) (that order, no clamp),
    A = softmax over the cluster axis of ``(-(D + pen)) * tau``, centres = (A @ tokens) divided by
    the per-cluster weight sum clamped at 1e-16;
  * hard labels: argmin over clusters of D with the final centres and NO locality penalty.

Token Reconstruction Layer (TRL), ``token_reconstruction``:
  D[n, m] = (f.f) + (g.g) - 2 einsum(f, g), W = exp(-tau_r * D), threshold = the smallest of
  ``torch.topk(W, k)`` values, entries below it set to 0 (entries EQUAL to it kept, so ties
  can leave more than k), rows L2-normalised with ``F.normalize`` (eps 1e-12), output =
  einsum(W, Y). A row whose weights all underflow to 0 stays 0.

Segmenter integration (``segmenter_forward``), one window, Expedit's mmseg backbone order:
  block 0 .. block alpha-1, then (Expedit) cluster the patch tokens and continue with
  [prefix tokens, M centres]; remaining blocks; final LayerNorm; decoder on the patch (or
  cluster) tokens; (Expedit) TRL on the decoder's class logits; bilinear upsampling to the padded
  window; crop the padding away.

``segmenter_inference`` restates rstrudel/segmenter's sliding-window ``inference`` for one
image and no flip, returning the merged logits before the softmax.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn.functional as F

# The locality penalty, as the original writes it (a float32 tensor holds 1.0000000272564224e16).
WINDOW_PENALTY = 1e16
# Floor of the per-cluster weight sum in the centre update.
WEIGHT_SUM_FLOOR = 1e-16
# F.normalize's default eps in the TRL.
NORMALIZE_EPS = 1e-12


@dataclass(frozen=True)
class ExpeditSettings:
    """Expedit hyper-parameters.

    alpha   clustering happens after block alpha - 1 (alpha counts blocks from 1; Expedit's
            ``cluster_location`` is alpha - 1);
    grid    cluster grid (h, w), M = h * w;
    iters   soft k-means rounds (kappa);
    window  locality window (odd; lambda), r = window // 2;
    tau     clustering temperature (multiplies the negative squared distance);
    k       TRL top-k;
    tau_r   TRL temperature.
    """
    alpha: int
    grid: tuple
    iters: int
    window: int
    tau: float
    k: int
    tau_r: float

    def __post_init__(self):
        if self.window % 2 != 1:
            raise ValueError(f"window must be odd, got {self.window}")
        if self.alpha < 1:
            raise ValueError(f"alpha counts blocks from 1, got {self.alpha}")

    @property
    def num_clusters(self):
        return self.grid[0] * self.grid[1]

    def as_dict(self):
        d = asdict(self)
        d["grid"] = list(self.grid)
        return d


# ------------------------------------------------------------------ shapes

def aspect_ratio(h, w):
    """(h, w) divided by their gcd."""
    g = math.gcd(h, w)
    return h // g, w // g


def reshape_as_aspect_ratio(tokens, ratio):
    """[B, N, C] tokens -> [B, C, s*ratio[0], s*ratio[1]] with s = round(sqrt(N / (r0 * r1))),
    as Expedit's ``mmseg/models/utils/shape.py`` does (a view of the transposed tokens; fails
    when N is not s*s*r0*r1)."""
    B, N, C = tokens.shape
    s = round(math.sqrt(N / (ratio[0] * ratio[1])))
    return tokens.transpose(1, 2).view(B, C, s * ratio[0], s * ratio[1])


# ------------------------------------------------------------------ token clustering

def initial_centres(grid_tokens, grid):
    """Adaptive average pooling of [B, C, H, W] to the cluster grid: [B, C, M] (row-major)."""
    B, C = grid_tokens.shape[:2]
    return F.adaptive_avg_pool2d(grid_tokens, grid).reshape(B, C, -1)


def initial_labels(token_grid, grid, dtype=torch.float32):
    """Each token's initial cluster id, [H*W] in ``dtype`` (float, as the original keeps it):
    the cell-id map [h, w] resized to [H, W] with nearest-neighbour interpolation."""
    h, w = grid
    ids = torch.arange(h * w).reshape(1, 1, h, w).to(dtype)
    return F.interpolate(ids, size=tuple(token_grid), mode="nearest").reshape(-1)


def window_penalty(labels, grid, window):
    """[1, M, N] float32: 0 where cluster s may take token p, 1e16 where the window forbids it."""
    w = grid[1]
    r = window // 2
    cluster = torch.arange(grid[0] * grid[1])[None, :, None]          # [1, M, 1]
    own = labels[None, None, :]                                        # [1, 1, N] (float ids)
    col_ok = torch.abs(own % w - cluster % w) <= r
    row_ok = torch.abs(own // w - cluster // w) <= r
    return (~torch.logical_and(col_ok, row_ok)) * WINDOW_PENALTY


def squared_distances(points, centres):
    """points [B, C, N], centres [B, C, M] -> [B, M, N] in the expanded form
    ||x||^2 + ||s||^2 - 2 <s, x>, summed in that order (may be slightly negative)."""
    return ((points * points).sum(dim=1).unsqueeze(1)
            + (centres * centres).sum(dim=1).unsqueeze(2)
            - 2 * torch.einsum("bcm,bcn->bmn", centres, points))


def token_clustering(grid_tokens, grid, iters, window, tau):
    """The Token Clustering Layer.

    grid_tokens: [B, C, H, W] patch tokens on their grid. Returns a dict with
      centres       [B, M, C]  final cluster centres (row-major over the cluster grid)
      hard_labels   [B, N]     int64, argmin of the unpenalised distance to the final centres
      init_centres  [B, M, C]  adaptive-pool centres
      init_labels   [N]        float32 initial cluster id of every token
      assignments   [B, M, N]  the last round's soft assignment (None when iters == 0)
    """
    B, C, H, W = grid_tokens.shape
    centres = initial_centres(grid_tokens, grid)                       # [B, C, M]
    init = centres
    labels = initial_labels((H, W), grid, grid_tokens.dtype)
    pen = window_penalty(labels, grid, window)                         # [1, M, N]
    points = grid_tokens.reshape(B, C, H * W)                          # [B, C, N]
    rows = points.permute(0, 2, 1)                                     # [B, N, C]
    soft = None
    for _ in range(iters):
        dist = squared_distances(points, centres) + pen
        soft = ((-dist) * tau).softmax(dim=1)                          # over clusters
        summed = torch.bmm(soft, rows)                                 # [B, M, C]
        mass = soft.sum(dim=2, keepdim=True).clamp(min=WEIGHT_SUM_FLOOR)
        centres = (summed / mass).permute(0, 2, 1)                     # [B, C, M]
    hard = torch.argmin(squared_distances(points, centres), dim=1)     # no window here
    return {"centres": centres.permute(0, 2, 1), "hard_labels": hard,
            "init_centres": init.permute(0, 2, 1), "init_labels": labels, "assignments": soft}


# ------------------------------------------------------------------ token reconstruction

def reconstruction_weights(f, g, k, tau_r):
    """[B, N, M] TRL weights (after top-k and L2 normalisation) from F [B, N, C] and G [B, M, C]."""
    dist = ((f * f).sum(dim=2).unsqueeze(2)
            + (g * g).sum(dim=2).unsqueeze(1)
            - 2 * torch.einsum("bnc,bmc->bnm", f, g))
    wt = torch.exp(-tau_r * dist)
    if k >= 0:
        threshold = torch.topk(wt, k=k, dim=2).values.min(dim=-1).values.unsqueeze(-1)
        wt = torch.where(wt >= threshold, wt, torch.zeros_like(wt))
    return F.normalize(wt, dim=2, eps=NORMALIZE_EPS)


def token_reconstruction(y, f, g, k, tau_r):
    """The Token Reconstruction Layer: Y [B, M, Cy] at cluster resolution -> [B, N, Cy]."""
    return torch.einsum("bnm,bmc->bnc", reconstruction_weights(f, g, k, tau_r), y)


# ------------------------------------------------------------------ Segmenter

def _pad_to_patch(image, patch):
    """Segmenter's ``padding``: zeros on the right/bottom up to a multiple of the patch size."""
    H, W = image.shape[2:]
    ph, pw = (-H) % patch, (-W) % patch
    return F.pad(image, (0, pw, 0, ph), value=0.0) if ph or pw else image


def _encoder_tokens(encoder, image):
    """Patch embedding + prefix tokens + position embedding, as Segmenter's encoder does it
    (grid part of pos_embed resized bilinearly, align_corners=False, when the grid differs
    from the training grid)."""
    x, grid = encoder.patch_embed(image)
    pos = encoder.pos_embed
    n_prefix = encoder.num_prefix_tokens
    if tuple(grid) != tuple(encoder.grid_size):
        oh, ow = encoder.grid_size
        body = pos[0, n_prefix:].reshape(1, oh, ow, -1).permute(0, 3, 1, 2)
        body = F.interpolate(body, size=tuple(grid), mode="bilinear", align_corners=False)
        body = body.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)
        pos = torch.cat([pos[:, :n_prefix], body], dim=1)
    prefix = [encoder.cls_token.expand(x.shape[0], -1, -1)]
    if encoder.distilled:
        prefix.append(encoder.dist_token.expand(x.shape[0], -1, -1))
    return torch.cat(prefix + [x], dim=1) + pos, tuple(grid)


@torch.no_grad()
def segmenter_forward(encoder, decoder, image, expedit=None, details=None):
    """Segmenter.forward for one batch of windows, optionally with Expedit.

    encoder: hourglass_ref.vit.VisionTransformer (Segmenter's LayerNorm eps 1e-5);
    decoder: hourglass_ref.segmenter.MaskTransformer or DecoderLinear;
    image:   [B, 3, H, W] normalised. Returns masks [B, n_cls, H, W].
    details: an optional dict that receives the intermediate tensors ("token_masks":
    [B, n_cls, gh, gw] decoder output at token resolution, after the TRL when Expedit is on;
    "tcl": the token_clustering result; "trl_weights"; "token_grid"; "feat_before").
    """
    H, W = image.shape[2:]
    padded = _pad_to_patch(image, encoder.patch_size)
    x, token_grid = _encoder_tokens(encoder, padded)
    n_prefix = encoder.num_prefix_tokens
    ratio = aspect_ratio(*token_grid)
    feat_before = tcl = None
    for i, blk in enumerate(encoder.blocks):
        x = blk(x)
        if expedit is not None and i == expedit.alpha - 1:
            feat_before = x[:, n_prefix:]
            tcl = token_clustering(reshape_as_aspect_ratio(feat_before, ratio), expedit.grid,
                                   expedit.iters, expedit.window, expedit.tau)
            x = torch.cat([x[:, :n_prefix], tcl["centres"]], dim=1)
    if expedit is not None and tcl is None:
        raise ValueError(f"alpha {expedit.alpha} is beyond the encoder's {len(encoder.blocks)} blocks")
    x = encoder.norm(x)
    patches = x[:, n_prefix:]
    if expedit is None:
        masks = decoder(patches, token_grid)
    else:
        # The backbone hands the M tokens on with the INPUT aspect ratio (Expedit's
        # reconstruct(..., disabled=True)); that only gives the cluster grid when both agree.
        dec_grid = tuple(reshape_as_aspect_ratio(patches, ratio).shape[2:])
        if dec_grid != tuple(expedit.grid):
            raise ValueError(f"cluster grid {expedit.grid} does not have the token grid's aspect ratio "
                             f"{ratio} (Expedit would decode it as {dec_grid})")
        low = decoder(patches, dec_grid)                               # [B, n_cls, h, w]
        B, n_cls = low.shape[:2]
        low = low.permute(0, 2, 3, 1).reshape(B, -1, n_cls)            # [B, M, n_cls]
        full = token_reconstruction(low, feat_before, tcl["centres"], expedit.k, expedit.tau_r)
        masks = reshape_as_aspect_ratio(full, ratio)                   # [B, n_cls, gh, gw]
        if details is not None:
            details["trl_weights"] = reconstruction_weights(feat_before, tcl["centres"], expedit.k,
                                                            expedit.tau_r)
    if details is not None:
        details.update(token_masks=masks, tcl=tcl, token_grid=token_grid, feat_before=feat_before)
    masks = F.interpolate(masks, size=tuple(padded.shape[2:]), mode="bilinear", align_corners=False)
    return masks[:, :, :H, :W]


def scale_to_window(image, window_size):
    """Segmenter's ``resize(im, smaller_size)``: when the shorter side is below the window,
    bilinear (align_corners=False) to shorter side = window, the other side int() of the float
    product; otherwise unchanged."""
    h, w = image.shape[2:]
    if min(h, w) >= window_size:
        return image
    if h < w:
        size = (window_size, int((w / h) * window_size))
    else:
        size = (int((h / w) * window_size), window_size)
    return F.interpolate(image, size, mode="bilinear", align_corners=False)


def window_anchors(length, window_size, stride):
    """Window starts along one axis: range(0, length, stride) kept while < length - window,
    then length - window."""
    return [a for a in range(0, length, stride) if a < length - window_size] + [length - window_size]


@torch.no_grad()
def segmenter_inference(encoder, decoder, image, window_size, window_stride, expedit=None,
                        details=None):
    """rstrudel/segmenter ``inference`` for one image [1, 3, H, W] (no flip): scale up when
    needed, run every window (batch 1), average overlapping window logits, resize back to
    (H, W) bilinearly (align_corners=False). Returns the merged logits [n_cls, H, W] BEFORE
    Segmenter's final softmax. ``details`` (optional dict) receives "scaled" (the scaled image),
    "anchors", and "windows" (per window the segmenter_forward details)."""
    assert image.shape[0] == 1, "one image at a time"
    H, W = image.shape[2:]
    scaled = scale_to_window(image, window_size)
    sh, sw = scaled.shape[2:]
    anchors = [(a, b) for a in window_anchors(sh, window_size, window_stride)
               for b in window_anchors(sw, window_size, window_stride)]
    total = count = None
    per_window = []
    for a, b in anchors:
        crop = scaled[:, :, a:a + window_size, b:b + window_size]
        d = {} if details is not None else None
        out = segmenter_forward(encoder, decoder, crop, expedit, d)[0]  # [n_cls, ws, ws]
        per_window.append(d)
        if total is None:
            total = torch.zeros((out.shape[0], sh, sw), dtype=out.dtype)
            count = torch.zeros((1, sh, sw), dtype=out.dtype)
        total[:, a:a + window_size, b:b + window_size] += out
        count[:, a:a + window_size, b:b + window_size] += 1
    merged = total / count
    merged = F.interpolate(merged.unsqueeze(0), (H, W), mode="bilinear", align_corners=False)[0]
    if details is not None:
        details.update(scaled=scaled, anchors=anchors, windows=per_window)
    return merged
