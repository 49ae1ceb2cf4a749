"""DPT (Ranftl et al., "Vision Transformers for Dense Prediction") at eval, float32, with
isl-org/DPT's parameter names, written from the spec (ALGORITHMS.md §1.4.3, §1.7) and checked
against the original code (isl-org/DPT at cd3fe90 with timm 0.4.5, the version its
requirements.txt pins) and against transformers' DPT and DPT-Hybrid classes on tiny random
models; the numbers are in tools/README.md (`make_dpt_fixtures.py`). Nothing of the originals is
imported.

Names (DPT-Large sizes in ALGORITHMS.md §1.7):

    pretrained.model.*                 timm ViT (cls_token, pos_embed, patch_embed.proj, blocks.i, norm, head)
    pretrained.model.patch_embed.backbone.*   DPT-Hybrid only: timm ResNetV2 (see ResNetV2 below)
    pretrained.act_postprocessK.0.project.0.* readout 'project' only: Linear(2D -> D), then GELU
    pretrained.act_postprocessK.3.*    Conv1x1 D -> features[K-1]
    pretrained.act_postprocessK.4.*    K=1 ConvTranspose k4 s4, K=2 ConvTranspose k2 s2, K=4 Conv3x3 s2 p1
    scratch.layerK_rn.weight           Conv3x3 p1, no bias, features[K-1] -> fusion
    scratch.refinenetK.{out_conv, resConfUnit{1,2}.conv{1,2}[, bn{1,2}]}.*
    scratch.output_conv.{0,2,4}.*      depth head;  segmentation: .0 (no bias) .1 (BN) .4, auxlayer.{0,1,4}

Forward (every detail checked against the original):

* Encoder. tokens = patch_embed(x) (Conv k=p s=p; hybrid: ResNetV2 then a 1x1 conv), then
  cat(cls, tokens) + pos, where pos = DPT's `_resize_pos_embed`: the grid rows of pos_embed
  (the old grid is taken as square, side int(sqrt(rows))) -> [1, D, old, old] ->
  F.interpolate(size=(H // 16, W // 16), mode='bilinear', align_corners=False, no antialias)
  -> rows. DPT always interpolates, also to the same size (an exact identity then). Blocks as
  timm's (LayerNorm eps 1e-6 in the original; 1e-12 in Hugging Face's DPT). The four taps are
  the raw outputs of blocks hooks[0..3] (before the final `norm`, which DPT computes but never
  uses). DPT hard-codes patch size 16 for the token grid (H // 16, W // 16).
* Readout (per tap, on [B, 1 + N, D]): 'ignore' drops the class token; 'add' adds it to every
  patch token; 'project' = GELU(Linear(cat(patch_token, cls_token))) (patch token first, the
  class token second; exact erf GELU).
* Reassemble: [B, N, D] -> [B, D, H/16, W/16] (row-major grid) -> Conv1x1 -> resize:
  tap 1 ConvTranspose2d(k=4, s=4, p=0), tap 2 ConvTranspose2d(k=2, s=2, p=0), tap 3 none,
  tap 4 Conv2d(k=3, s=2, p=1); all with bias. (Hugging Face: reassemble_factors [4, 2, 1, 0.5].)
  DPT-Hybrid: taps 1 and 2 are the ResNet stage 0 and stage 1 outputs (stride 4, 256 ch; stride
  8, 512 ch), act_postprocess1/2 are identities (no parameters); taps 3, 4 are blocks hooks[2,3].
* layerK_rn: Conv3x3 pad 1, no bias, to the fusion width F.
* Fusion (FeatureFusionBlock_custom): refinenet4(l4) -> path4; refinenetK(path, lK) for K = 3, 2, 1:
      out = path + RCU1(lK)     (refinenet4 has no second input: its resConfUnit1 is never used)
      out = RCU2(out)
      out = interpolate(out, scale_factor=2, mode='bilinear', align_corners=True)
      out = out_conv(out)       (Conv1x1 with bias)
  RCU(x) = conv2(relu(conv1(relu(x)))) + x, with BatchNorm after each conv when use_bn
  (segmentation; then the convs have no bias; BN eval, eps 1e-5). DPT builds these blocks with
  nn.ReLU(inplace=False), so the skip adds the ORIGINAL x, not relu(x). (The older
  ResidualConvUnit in blocks.py uses ReLU(inplace=True), which would overwrite x; DPT's models
  do not use it.) Hugging Face's DPTFeatureFusionLayer is the same, except that it first resizes
  the skip input bilinearly (align_corners=False) to the path's size when the two differ; in the
  original they always agree for inputs that are multiples of 32 (other sizes fail there).
* Depth head (DPTDepthModel): Conv3x3(F -> F/2, p1) -> interpolate x2 bilinear align_corners=True
  -> Conv3x3(F/2 -> 32, p1) -> ReLU -> Conv1x1(32 -> 1) -> ReLU if non_negative (all released
  depth models: True) -> squeeze(1): [B, H, W] at the input resolution ("inverse depth"). With
  invert=True (KITTI: scale 0.00006016, shift 0.00579; NYU: scale 0.000305, shift 0.1378, from
  run_monodepth.py): depth = scale * out + shift, values < 1e-8 set to 1e-8, then 1 / depth;
  run_monodepth then multiplies the resized prediction by 256 (KITTI) or 1000 (NYU) before
  writing it. Hugging Face's DPTDepthEstimationHead is the non_negative head without those
  options (its optional `projection` conv is off for DPT's configs: add_projection False).
* Segmentation head (DPTSegmentationModel): Conv3x3(F -> F, no bias) -> BN -> ReLU -> Dropout
  (identity) -> Conv1x1(F -> classes) -> interpolate x2 bilinear align_corners=True.

DPT-Hybrid backbone (timm 0.4.5 `vit_base_resnet50_384`): ResNetV2(layers=(3, 4, 9),
channels (256, 512, 1024), stem_chs 64, preact=False, stem_type='same', conv_layer=StdConv2dSame,
GroupNorm 32 groups eps 1e-5):
* StdConv2dSame: weight standardised per output channel, w' = (w - mean) / (std + eps) with the
  biased std over (in, kh, kw) and eps = 1e-5 (timm 0.4.5; later timm versions use
  (w - mean) / sqrt(var + 1e-8) for the hybrid ViT, as Hugging Face's BiT does: std_rule "bit"
  below); no bias. Padding is
  TensorFlow 'SAME': for stride 1 and odd k the static symmetric (k - 1) / 2; otherwise dynamic:
  total = max((ceil(n / s) - 1) * s + k - n, 0), left/top = total // 2, the rest right/bottom,
  zeros.
* stem: conv 7x7 s2 (same) -> GroupNorm + ReLU -> MaxPool 3x3 s2 with 'SAME' padding of -inf.
* Bottleneck (non-pre-activation, V1.5): shortcut = downsample(x) in the first unit of each stage
  (StdConv 1x1 with the stage stride, GroupNorm without ReLU), else x; y = conv1 1x1 -> GN+ReLU ->
  conv2 3x3 (stride in the first unit) -> GN+ReLU -> conv3 1x1 -> GN (no ReLU); out = ReLU(y +
  shortcut). mid width = make_div(out * 0.25). Stage strides 1, 2, 2 (stride 16 overall).
* patch_embed.proj: Conv2d 1x1 (with bias) 1024 -> D on the stage 2 output.

Hugging Face's DPT-Hybrid (transformers' DPTViTHybridEmbeddings over BitBackbone, config
is_hybrid true, backbone_config a BitConfig with layer_type "bottleneck", global_padding "SAME",
embedding_dynamic_padding true, out_features stage1..stage3) is the same network with three
numerical differences, all of which `ResNetV2(std_rule="bit")` and `tiny_vit(norm_eps=HF_LN_EPS)`
reproduce:
* WeightStandardizedConv2d standardises with F.batch_norm over the weight viewed as
  [1, out, in*kh*kw] in training mode: w' = (w - mean) / sqrt(var + eps), the biased variance,
  eps INSIDE the square root, eps = 1e-8 for every convolution (stem, units, downsample).
* LayerNorm eps is layer_norm_eps (1e-12), not timm's 1e-6.
* BitMaxPool2d pads with 0, not -inf. The pool follows GroupNorm + ReLU (hidden_act "relu"), so
  every window holds a real value >= 0 and the result is the same.
Everything else is the same: TF-'SAME' padding (dynamic for stride 2, static otherwise), GroupNorm
num_groups (32) eps 1e-5, the non-pre-activation bottleneck with mid width make_div(out / 4), the
stage strides, the 1x1 projection (dpt.embeddings.projection), the taps (stage 1 and 2 outputs, i.e.
stages 0 and 1 here; then the blocks in backbone_out_indices[2:], taken in block order), readout
projections only for those two taps, the position-embedding resize (bilinear, align_corners=False),
the fusion (its skip resize never fires for multiples of 32) and the head. Its embeddings refuse any
input other than config.image_size unless called with interpolate_pos_encoding=True, which
DPTModel never passes: Hugging Face runs DPT-Hybrid at its trained size only; at other sizes this
reference (like isl-org's code and Hourglass) computes what that flag would.

Expedit-DPT (Expedit-LargeScale-Vision-Transformer/Expedit-DPT, ALGORITHMS.md 1.4.3): `forward(x, expedit=...)`
clusters the patch tokens after block expedit.alpha - 1 (`expedit_cluster`) and un-clusters them by hard-label
gather at every later tap (`expedit_unpool`); checked bit-identical to the official code (tools/README.md,
`make_dpt_expedit_fixtures.py`).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .vit import VisionTransformer, LN_EPS

HF_LN_EPS = 1e-12   # Hugging Face DPTConfig.layer_norm_eps
GN_EPS = 1e-5       # timm GroupNormAct default
STD_CONV_EPS = 1e-5  # timm 0.4.5 StdConv2dSame default (vit_base_resnet50_384 does not override it)
BIT_STD_EPS = 1e-8   # Hugging Face WeightStandardizedConv2d as BiT builds every one of them
PATCH = 16          # DPT hard-codes the token grid as (H // 16, W // 16)


def resize_pos_embed_dpt(posemb, gh, gw, start_index=1):
    """DPT's `_resize_pos_embed`: grid rows bilinear (align_corners=False), prefix rows kept."""
    tok, grid = posemb[:, :start_index], posemb[0, start_index:]
    old = int(math.sqrt(len(grid)))
    grid = grid.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(gh, gw), mode="bilinear", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
    return torch.cat([tok, grid], dim=1)


# ----------------------------------------------------------------------------- hybrid backbone

def make_div(v, divisor=8):
    """timm's make_div (channel rounding of ResNetV2)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def same_pad(x, k, s, value=0.0):
    """TensorFlow 'SAME' padding for kernel k, stride s (dilation 1), as timm's pad_same."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
    pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
    if ph > 0 or pw > 0:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=value)
    return x


def standardise(w, rule, eps):
    """A convolution weight standardised per output channel over (in, kh, kw), biased statistics.

    rule "timm" (timm 0.4.5): (w - mean) / (std + eps), as StdConv2dSame.forward computes it.
    rule "bit" (Hugging Face's BiT, later timm): (w - mean) / sqrt(var + eps), computed in the order
    and precision of PyTorch's CPU batch norm in training mode, which is how the original evaluates
    it (so the standardised weights are the original's to the bit): mean = float(sum in double / n);
    var = float(float(sum in double of float((w - mean)^2)) / n); invstd = float(1 / sqrt(var + eps)
    in double); w' = w * invstd + float(-mean * invstd) as a fused multiply-add (the product is
    exact in double)."""
    if rule == "timm":
        var, mean = torch.var_mean(w, dim=[1, 2, 3], keepdim=True, unbiased=False)
        return (w - mean) / (torch.sqrt(var) + eps)
    assert rule == "bit", rule
    x = w.reshape(w.shape[0], -1)
    n = x.shape[1]
    mean = (x.double().sum(1) / n).float()
    d = x - mean[:, None]
    var = (d * d).double().sum(1).float() / n
    invstd = (1.0 / torch.sqrt(var.double() + eps)).float()
    shift = -(mean * invstd)
    return (x.double() * invstd.double()[:, None] + shift.double()[:, None]).float().reshape(w.shape)


STD_EPS = {"timm": STD_CONV_EPS, "bit": BIT_STD_EPS}


class StdConv2dSame(nn.Conv2d):
    """Weight-standardised conv without bias, TF 'SAME' padding (static when stride 1, odd k)."""

    def __init__(self, cin, cout, k, stride=1, rule="timm"):
        self.static = stride == 1 and (k - 1) % 2 == 0
        super().__init__(cin, cout, k, stride=stride, padding=(k - 1) // 2 if self.static else 0, bias=False)
        self.rule, self.eps = rule, STD_EPS[rule]

    def forward(self, x):
        if self.rule == "timm":
            std, mean = torch.std_mean(self.weight, dim=[1, 2, 3], keepdim=True, unbiased=False)
            w = (self.weight - mean) / (std + self.eps)
        else:
            w = standardise(self.weight, self.rule, self.eps)
        if not self.static:
            x = same_pad(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, w, None, self.stride, self.padding)


class GroupNormAct(nn.GroupNorm):
    def __init__(self, channels, act=True, groups=32):
        super().__init__(groups, channels, eps=GN_EPS)
        self.act = act

    def forward(self, x):
        x = F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        return F.relu(x) if self.act else x


class Downsample(nn.Module):
    def __init__(self, cin, cout, stride, groups, rule):
        super().__init__()
        self.conv = StdConv2dSame(cin, cout, 1, stride=stride, rule=rule)
        self.norm = GroupNormAct(cout, act=False, groups=groups)

    def forward(self, x):
        return self.norm(self.conv(x))


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, stride, first, groups, rule):
        super().__init__()
        mid = make_div(cout * 0.25)
        self.downsample = Downsample(cin, cout, stride, groups, rule) if first else None
        self.conv1 = StdConv2dSame(cin, mid, 1, rule=rule)
        self.norm1 = GroupNormAct(mid, groups=groups)
        self.conv2 = StdConv2dSame(mid, mid, 3, stride=stride, rule=rule)
        self.norm2 = GroupNormAct(mid, groups=groups)
        self.conv3 = StdConv2dSame(mid, cout, 1, rule=rule)
        self.norm3 = GroupNormAct(cout, act=False, groups=groups)

    def forward(self, x):
        shortcut = self.downsample(x) if self.downsample is not None else x
        y = self.norm1(self.conv1(x))
        y = self.norm2(self.conv2(y))
        y = self.norm3(self.conv3(y))
        return F.relu(y + shortcut)


class Stage(nn.Module):
    def __init__(self, cin, cout, stride, depth, groups, rule):
        super().__init__()
        self.blocks = nn.Sequential(*[Bottleneck(cin if i == 0 else cout, cout, stride if i == 0 else 1, i == 0,
                                                 groups, rule) for i in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class Stem(nn.Module):
    def __init__(self, cout, groups, rule):
        super().__init__()
        self.conv = StdConv2dSame(3, cout, 7, stride=2, rule=rule)
        self.norm = GroupNormAct(cout, groups=groups)

    def forward(self, x):
        x = self.norm(self.conv(x))
        return F.max_pool2d(same_pad(x, 3, 2, value=-float("inf")), 3, 2)


class ResNetV2(nn.Module):
    """timm ResNetV2(preact=False, stem_type='same', conv_layer=StdConv2dSame) without head.
    forward returns every stage's output (DPT taps stages 0 and 1; the ViT takes the last).
    std_rule: "timm" (isl-org's timm 0.4.5) or "bit" (Hugging Face's BitBackbone), see
    `standardise`."""

    def __init__(self, layers=(3, 4, 9), channels=(256, 512, 1024), stem_chs=64, groups=32, std_rule="timm"):
        super().__init__()
        self.stem = Stem(stem_chs, groups, std_rule)
        self.stages = nn.Sequential()
        prev = stem_chs
        for i, (d, c) in enumerate(zip(layers, channels)):
            self.stages.add_module(str(i), Stage(prev, c, 1 if i == 0 else 2, d, groups, std_rule))
            prev = c
        self.num_features = prev

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for s in self.stages:
            x = s(x)
            outs.append(x)
        return outs


class HybridEmbed(nn.Module):
    def __init__(self, backbone, embed_dim):
        super().__init__()
        self.backbone = backbone
        self.proj = nn.Conv2d(backbone.num_features, embed_dim, 1)


# ----------------------------------------------------------------------------- neck and heads

class ProjectReadout(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU())

    def forward(self, x):
        readout = x[:, 0].unsqueeze(1).expand_as(x[:, 1:])
        return self.project(torch.cat((x[:, 1:], readout), -1))


class Readout(nn.Module):
    def __init__(self, kind):
        super().__init__()
        assert kind in ("ignore", "add")
        self.kind = kind

    def forward(self, x):
        return x[:, 1:] if self.kind == "ignore" else x[:, 1:] + x[:, 0].unsqueeze(1)


def reassemble(dim, feat, factor, readout):
    """act_postprocessK as an nn.Sequential with DPT's indices: 0 readout, 1-2 (transpose,
    unflatten: done in DPTModel.forward), 3 Conv1x1, 4 the resize (absent for factor 1)."""
    mods = [ProjectReadout(dim) if readout == "project" else Readout(readout), nn.Identity(), nn.Identity(),
            nn.Conv2d(dim, feat, 1)]
    if factor > 1:
        mods.append(nn.ConvTranspose2d(feat, feat, kernel_size=factor, stride=factor))
    elif factor < 1:
        mods.append(nn.Conv2d(feat, feat, 3, stride=int(round(1 / factor)), padding=1))
    return nn.Sequential(*mods)


class ResidualConvUnit(nn.Module):
    def __init__(self, f, use_bn):
        super().__init__()
        self.use_bn = use_bn
        self.conv1 = nn.Conv2d(f, f, 3, padding=1, bias=not use_bn)
        self.conv2 = nn.Conv2d(f, f, 3, padding=1, bias=not use_bn)
        if use_bn:
            self.bn1 = nn.BatchNorm2d(f)   # eval: running statistics, eps 1e-5
            self.bn2 = nn.BatchNorm2d(f)

    def forward(self, x):
        out = self.conv1(F.relu(x))         # not in place: x stays the skip
        if self.use_bn:
            out = self.bn1(out)
        out = self.conv2(F.relu(out))
        if self.use_bn:
            out = self.bn2(out)
        return out + x


class FusionBlock(nn.Module):
    def __init__(self, f, use_bn, resize_skip=False):
        super().__init__()
        self.out_conv = nn.Conv2d(f, f, 1)
        self.resConfUnit1 = ResidualConvUnit(f, use_bn)
        self.resConfUnit2 = ResidualConvUnit(f, use_bn)
        self.resize_skip = resize_skip      # Hugging Face only

    def forward(self, path, skip=None):
        out = path
        if skip is not None:
            if self.resize_skip and skip.shape != path.shape:
                skip = F.interpolate(skip, size=path.shape[2:], mode="bilinear", align_corners=False)
            out = out + self.resConfUnit1(skip)
        out = self.resConfUnit2(out)
        out = F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)
        return self.out_conv(out)


class Up2(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class Relu(nn.Module):
    def forward(self, x):
        return F.relu(x)


def depth_head(f, non_negative=True):
    return nn.Sequential(nn.Conv2d(f, f // 2, 3, padding=1), Up2(), nn.Conv2d(f // 2, 32, 3, padding=1), Relu(),
                         nn.Conv2d(32, 1, 1), Relu() if non_negative else nn.Identity(), nn.Identity())


def segmentation_head(f, classes, upsample):
    mods = [nn.Conv2d(f, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), Relu(), nn.Identity(),
            nn.Conv2d(f, classes, 1)]
    if upsample:
        mods.append(Up2())
    return nn.Sequential(*mods)


class DPTModel(nn.Module):
    """DPT at eval. `vit`: a hourglass_ref VisionTransformer (patch 16; its LayerNorm eps is the
    model's: 1e-6 original, 1e-12 Hugging Face). hybrid: a ResNetV2 whose last stage feeds the
    ViT through a 1x1 projection; hooks[0:2] are then ignored (the taps are stages 0 and 1).
    features: the four reassemble widths; fusion: F. head 'depth' or 'segmentation'."""

    def __init__(self, vit, hooks, features, fusion, readout="project", head="depth", non_negative=True,
                 num_classes=150, hybrid_backbone=None, scale=1.0, shift=0.0, invert=False, hf_fusion=False):
        super().__init__()
        assert vit.patch_size == PATCH
        self.hooks = list(hooks)
        self.hybrid = hybrid_backbone is not None
        self.head_kind = head
        self.scale, self.shift, self.invert = scale, shift, invert
        use_bn = head == "segmentation"
        self.pretrained = nn.Module()
        self.pretrained.model = vit
        if self.hybrid:
            vit.patch_embed = HybridEmbed(hybrid_backbone, vit.embed_dim)
        D = vit.embed_dim
        factors = (4, 2, 1, 0.5)
        for k in range(4):
            if self.hybrid and k < 2:
                seq = nn.Sequential(nn.Identity(), nn.Identity(), nn.Identity())
            else:
                seq = reassemble(D, features[k], factors[k], readout)
            setattr(self.pretrained, f"act_postprocess{k + 1}", seq)
        self.scratch = nn.Module()
        for k in range(4):
            setattr(self.scratch, f"layer{k + 1}_rn", nn.Conv2d(features[k], fusion, 3, padding=1, bias=False))
        for k in range(1, 5):
            setattr(self.scratch, f"refinenet{k}", FusionBlock(fusion, use_bn, resize_skip=hf_fusion))
        if head == "depth":
            self.scratch.output_conv = depth_head(fusion, non_negative)
        else:
            self.scratch.output_conv = segmentation_head(fusion, num_classes, True)
            self.auxlayer = segmentation_head(fusion, num_classes, False)

    def encoder_taps(self, x, expedit=None, details=None):
        """The four reassembled feature maps [B, features[k], ...] (strides 4, 8, 16, 32).

        expedit: an expedit.ExpeditSettings for Expedit-DPT (see `expedit_cluster`); details, a dict
        that receives the clustering's outputs (hard_labels, centres, the tokens it clustered)."""
        vit = self.pretrained.model
        B, _, H, W = x.shape
        gh, gw = H // PATCH, W // PATCH
        pos = resize_pos_embed_dpt(vit.pos_embed, gh, gw)
        taps = {}
        if self.hybrid:
            stages = vit.patch_embed.backbone(x)
            taps[0], taps[1] = stages[0], stages[1]
            t = vit.patch_embed.proj(stages[-1])
        else:
            t = vit.patch_embed.proj(x)
        t = t.flatten(2).transpose(1, 2)
        t = torch.cat((vit.cls_token.expand(B, -1, -1), t), dim=1) + pos
        labels = None
        for i, blk in enumerate(vit.blocks):
            t = blk(t)
            for k, h in enumerate(self.hooks):
                if i == h and not (self.hybrid and k < 2):
                    # Expedit-DPT's forward hook on the block: it sees the block's output, before a
                    # clustering after this same block.
                    taps[k] = t if labels is None else expedit_unpool(t, labels)
            if expedit is not None and i == expedit.alpha - 1:
                t, labels = expedit_cluster(t, expedit, (H, W), details)
        out = []
        for k in range(4):
            seq = getattr(self.pretrained, f"act_postprocess{k + 1}")
            y = taps[k]
            if y.ndim == 3:
                y = seq[0](y).transpose(1, 2).unflatten(2, (gh, gw))
                for m in seq[3:]:
                    y = m(y)
            out.append(y)
        return out

    def forward_raw(self, x, expedit=None, details=None):
        """scratch.output_conv's output: [B, 1, H, W] (depth) or [B, classes, H, W]."""
        l1, l2, l3, l4 = self.encoder_taps(x, expedit, details)
        s = self.scratch
        p = s.refinenet4(s.layer4_rn(l4))
        p = s.refinenet3(p, s.layer3_rn(l3))
        p = s.refinenet2(p, s.layer2_rn(l2))
        p = s.refinenet1(p, s.layer1_rn(l1))
        return s.output_conv(p)

    def forward(self, x, expedit=None, details=None):
        out = self.forward_raw(x, expedit, details)
        if self.head_kind != "depth":
            return out
        inv = out.squeeze(1)
        if not self.invert:
            return inv
        depth = self.scale * inv + self.shift
        depth = torch.where(depth < 1e-8, torch.full_like(depth, 1e-8), depth)
        return 1.0 / depth


# ----------------------------------------------------------------------------- Expedit-DPT

def expedit_cluster(tokens, settings, image_size, details=None):
    """Expedit-DPT's `HourglassVisionTransformer.cluster` (ALGORITHMS.md 1.4.3), after block
    settings.alpha - 1 (`clustering_location`, 0-based; alpha counts from 1): the patch tokens
    [B, N, D] are viewed as a grid with the IMAGE's aspect ratio (`reshape_as_aspect_ratio` with
    `get_aspect_ratio(H, W)`: the token grid whenever H/16 : W/16 is H : W), clustered by the Token
    Clustering Layer (expedit.token_clustering: soft k-means in a window, then hard labels = the
    unpenalised argmin over the final centres), and the class token is put back in front of the
    M centres. Returns ([B, 1 + M, D], hard_labels [B, N])."""
    from . import expedit as E
    ratio = E.aspect_ratio(*image_size)
    grid_tokens = E.reshape_as_aspect_ratio(tokens[:, 1:], ratio)
    c = E.token_clustering(grid_tokens, settings.grid, settings.iters, settings.window, settings.tau)
    if details is not None:
        details.update(c)
        details["clustered_tokens"] = tokens[:, 1:]
    return torch.cat([tokens[:, :1], c["centres"]], dim=1), c["hard_labels"]


def expedit_unpool(tokens, hard_labels):
    """Expedit-DPT's reassemble hook on a clustered sequence [B, 1 + M, D]: the patch tokens are
    un-clustered by hard-label gather (its `NaiveUnpooling`: Out[n] = Y[hard_labels[n]]; the kNN
    reconstruction is never used on this path) and the class token re-attached: [B, 1 + N, D]."""
    y = tokens[:, 1:]
    index = hard_labels.unsqueeze(-1).expand(-1, -1, y.shape[-1])
    return torch.cat([tokens[:, :1], y.gather(1, index)], dim=1)


def resize_to_image(depth, height, width):
    """run_monodepth / DPTImageProcessor.post_process_depth_estimation: [B, h, w] ->
    [B, height, width] with F.interpolate bicubic (a = -0.75, borders clamped), align_corners=False."""
    return F.interpolate(depth.unsqueeze(1), size=(height, width), mode="bicubic", align_corners=False).squeeze(1)


@torch.no_grad()
def init_random_dpt(model, seed, head_bias=0.5):
    """Every parameter random (see vit.init_random for the ViT part, seed `seed`); everything
    else from seed + 1: conv/linear weights N(0, 1/fan_in) (ConvTranspose: fan_in = in
    channels), biases 0.1 N(0,1), norm weights 1 + 0.2 N(0,1), BN running mean 0.1 N(0,1),
    running var 0.5 + U(0,1). `head_bias` is added to the depth head's last conv bias so that
    its final ReLU keeps most pixels."""
    from .vit import init_random
    vit = model.pretrained.model
    emb = vit.patch_embed
    if model.hybrid:
        vit.patch_embed = nn.Identity()    # keep init_random to the ViT's own parameters
        skip = {n for n, _ in emb.named_parameters()}
    init_random(vit, seed)
    if model.hybrid:
        vit.patch_embed = emb
    g = torch.Generator().manual_seed(seed + 1)
    for name, p in model.named_parameters():
        if name.startswith("pretrained.model.") and not name.startswith("pretrained.model.patch_embed.backbone") \
                and not (model.hybrid and name.startswith("pretrained.model.patch_embed.proj")):
            continue
        owner = model.get_submodule(name.rsplit(".", 1)[0])
        leaf = name.rsplit(".", 1)[-1]
        n = torch.randn(p.shape, generator=g)
        if isinstance(owner, (nn.GroupNorm, nn.BatchNorm2d)):
            p.copy_(1.0 + 0.2 * n if leaf == "weight" else 0.1 * n)
        elif leaf == "bias":
            p.copy_(0.1 * n + (head_bias if name == "scratch.output_conv.4.bias" else 0.0))
        else:
            fan_in = p.shape[0] if isinstance(owner, nn.ConvTranspose2d) else p[0].numel()
            p.copy_(n / math.sqrt(fan_in))
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.1 * torch.randn(b.shape, generator=g))
        elif name.endswith("running_var"):
            b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return model


def tiny_vit(embed_dim, depth, heads, img_size, mlp_ratio=2.0, norm_eps=LN_EPS, num_classes=10):
    return VisionTransformer(img_size=img_size, patch_size=PATCH, embed_dim=embed_dim, depth=depth,
                             num_heads=heads, mlp_ratio=mlp_ratio, qkv_bias=True, num_classes=num_classes,
                             norm_eps=norm_eps)
