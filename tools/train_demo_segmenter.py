#!/usr/bin/env python3
"""Train the small Segmenter (ViT-Ti/16 encoder + mask-transformer decoder) on the procedural
shapes-seg data set, convert it with Hourglass's own converter, and write its golden
end-to-end fixtures.

    nice -n 10 /usr/bin/python3 tools/train_demo_segmenter.py [--minutes 44 | --steps N] [--seed 20240917]
    /usr/bin/python3 tools/train_demo_segmenter.py --from-checkpoint  # convert + fixtures from bench-out/demo-segmenter
    /usr/bin/python3 tools/train_demo_segmenter.py --fixtures-only    # fixtures from the committed model.safetensors
    /usr/bin/python3 tools/train_demo_segmenter.py --preview grid.png # look at the data

Data: tools/hourglass_ref/shapes_seg.py (10 classes: background, solid, stripes, waves,
checker, dots, rings, grid, bricks, noise; see its docstring). Training batch i holds
sample("train", i * batch + j, 256) for j < batch, generated on the fly by one helper
process (niced) a few batches ahead; every image is seen once.

Model (Segmenter's ViT-Ti/16 + mask transformer at this width): encoder patch 16, D 192,
depth 12, 3 heads, MLP 768, class token, qkv bias, LayerNorm eps 1e-5 (PyTorch's default, as
Segmenter), no classification head; decoder MaskTransformer d_model 192, 2 layers, 3 heads
(= 192 // 64, Segmenter's rule), d_ff 768, n_cls 10, dropout / drop path 0. 6,538,772
parameters. Init as Segmenter: trunc-normal(0.02) linear weights, zero biases, LayerNorm
(1, 0), pos_embed / cls_token / cls_emb trunc-normal(0.02), proj_patch / proj_classes
d^-0.5 N(0, 1), the patch conv PyTorch's default.

Depth: 12, Segmenter's ViT-Ti. Measured here (2 threads, batch 8, 256x256, forward +
backward + AdamW, float32): 0.9-1.2 s per step at depth 12, 0.6-0.9 s at depth 8 on the quiet
machine; with the encoder under bfloat16 autocast (below) depth 12 takes 0.55-0.75 s. So
depth 12 gets about 1,800-3,500 steps into the budget, depending on what else runs on the
machine, which is enough to learn this task (TRAINING.md has the curve); depth 8 would buy
about 1.4x more steps but not the architecture that Segmenter and Expedit name.

Training: input 256x256 'vit' normalisation (x / 255 - 0.5) / 0.5; loss cross-entropy on the
masks bilinearly upsampled to 256x256 (align_corners=False), as Segmenter's forward and
train loop do; AdamW lr 5e-4, betas (0.9, 0.999), weight decay 0.05 (not on biases,
LayerNorms, pos_embed, cls_token, cls_emb), gradient norm clipped at 1.0; 100 linear warm-up
steps, then cosine to 1 % of the peak over the planned number of steps. Batch 8. The
encoder's forward runs under torch.cpu.amp.autocast(bfloat16) (--amp bf16, default: oneDNN
bf16 matmuls, ~1.5x faster on this AVX512-BF16 CPU; master weights, optimizer, decoder and
loss stay float32); everything after training (evaluation, fixtures) is float32. Short
pilots (291 steps): lr 6e-4 trained the same with and without autocast; lr 1e-3 collapsed to
predicting background.

Time budget (--minutes, default 44): the first minute of steps (all in the warm-up, whose
schedule does not depend on the total) measures the speed; the run is then planned as
elapsed steps + 0.92 * remaining budget / (seconds per step), the cosine schedule is defined
over that total, and the number is printed. A hard stop at the deadline protects the budget
if the machine gets slower (printed as such; the schedule then ends early). --steps N skips
the measurement and reproduces a run exactly.

Evaluation (Segmenter's inference with im_size 512, window 256, stride 256): a 512x512 image
is cut into exactly 4 non-overlapping 256 windows (sliding_window's anchors are {0, 256} on
each axis), each window's masks are upsampled bilinearly to 256x256, pasted back (every pixel
covered once, so merge_windows' division by the count is exact), argmax over classes.
mIoU over N images: intersections and unions summed over the images per class, IoU per
class, mean over the classes with a non-empty union (mmseg / Segmenter's convention).

Result (seed 20240917; see tasks/.../demo/shapes-segmenter/TRAINING.md for the details):
filled in from the run below.

Writes:
    bench-out/demo-segmenter/checkpoint.pth   {'model': encoder.* + decoder.*, 'n_cls': 10, 'epoch': 0}
    bench-out/demo-segmenter/variant.yml      Segmenter's variant (yaml.dump)
    bench-out/demo-segmenter/train_log.json   the run's log
    tasks/src/main/resources/dev/hourglass/demo/shapes-segmenter/model.safetensors
                                               F16, by `bin/hourglass convert ... --dtype f16`
    tasks/src/main/resources/dev/hourglass/demo/shapes-segmenter/TRAINING.md    how it was made
    tasks/src/main/resources/dev/hourglass/demo/segmentation/images/NN-val-IIII.png   6 demo images
    tasks/src/main/resources/dev/hourglass/demo/segmentation/labels/NN-val-IIII.png   their class ids
    tasks/src/main/resources/dev/hourglass/demo/segmentation/expected.json   PyTorch answers (F16 weights)
"""
import argparse
import collections
import hashlib
import io
import json
import math
import multiprocessing
import os
import subprocess
import sys
import time

# Set before torch loads libgomp (see train_demo_classifier.py): idle spinning OpenMP workers
# starve the BLAS threads on the shared 2-core machine. Results do not depend on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from hourglass_ref import shapes_seg  # noqa: E402
from hourglass_ref.segmenter import MaskTransformer, SEGMENTER_LN_EPS  # noqa: E402
from hourglass_ref.shapes_seg import CLASSES  # noqa: E402
from hourglass_ref.vit import VisionTransformer  # noqa: E402
from make_segmentation_data import file_name  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(REPO, "tasks", "src", "main", "resources", "dev", "hourglass", "demo")
MODEL_DIR = os.path.join(DEMO, "shapes-segmenter")
SEG_DIR = os.path.join(DEMO, "segmentation")
BENCH_DIR = os.path.join(REPO, "bench-out", "demo-segmenter")

N_CLS = len(CLASSES)
TRAIN_SIZE = 256          # training crops = Segmenter's image_size = window size
WINDOW, STRIDE, IM_SIZE = 256, 256, 512
PATCH, D_MODEL, HEADS, MLP = 16, 192, 3, 768
DEC_LAYERS = 2
DEC_HEADS = D_MODEL // 64  # Segmenter's rule: 3
DEFAULT_DEPTH = 12
DEFAULT_SEED = 20240917
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
WARMUP = 100
CALIBRATE_SECONDS = 60.0
PLAN_SAFETY = 0.92
QUICK_VAL = ("val", 100_000, 16)   # quick check during training: val images 100000.. at 256
FINAL_VAL_COUNT = 64               # val 0..63 at 512: the reported mIoU
DEMO_COUNT = 6
DEMO_MAX_PNG = 470_000             # demo images are the first val images whose PNG is at most this


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

class DemoSegmenter(nn.Module):
    """Segmenter (encoder + mask transformer) with Segmenter's parameter names: state_dict()
    is `encoder.*` (timm names, no head) + `decoder.*`. forward(x [B,3,H,W], H and W multiples
    of 16) -> masks [B, n_cls, H, W] bilinearly upsampled from the token grid."""

    def __init__(self, depth=DEFAULT_DEPTH, n_cls=N_CLS, dec_layers=DEC_LAYERS):
        super().__init__()
        self.n_cls = n_cls
        self.encoder = VisionTransformer(img_size=TRAIN_SIZE, patch_size=PATCH, embed_dim=D_MODEL, depth=depth,
                                         num_heads=HEADS, mlp_ratio=MLP / D_MODEL, qkv_bias=True, num_classes=1,
                                         norm_eps=SEGMENTER_LN_EPS)
        self.encoder.head = nn.Identity()   # Segmenter's features path never uses a head; keep none
        self.decoder = MaskTransformer(n_cls, D_MODEL, D_MODEL, dec_layers, DEC_HEADS, 4 * D_MODEL)

    def grid_masks(self, x):
        """Decoder output at the token grid [B, n_cls, H/16, W/16]."""
        feats, _ = self.encoder.forward_features(x, return_blocks=False)
        gh, gw = x.shape[2] // PATCH, x.shape[3] // PATCH
        return self.decoder(feats[:, 1:], (gh, gw))

    def forward(self, x, encoder_bf16=False):
        """encoder_bf16 (training only): run the encoder under CPU autocast to bfloat16 (its
        matmuls in oneDNN bf16, weights and everything else float32); the decoder always runs
        in float32 (torch 1.13's CPU autocast breaks its bare-Parameter matmuls + mask_norm)."""
        if encoder_bf16:
            with torch.cpu.amp.autocast(dtype=torch.bfloat16):
                feats, _ = self.encoder.forward_features(x, return_blocks=False)
            feats = feats.float()
            masks = self.decoder(feats[:, 1:], (x.shape[2] // PATCH, x.shape[3] // PATCH))
        else:
            masks = self.grid_masks(x)
        return F.interpolate(masks, size=x.shape[2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def init_segmenter(model, seed):
    """Segmenter's init (segm/model/vit.py, decoder.py, utils.init_weights)."""
    torch.manual_seed(seed)
    tn = nn.init.trunc_normal_
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            tn(mod.weight, std=0.02)
            nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.LayerNorm):
            nn.init.ones_(mod.weight)
            nn.init.zeros_(mod.bias)
    enc, dec = model.encoder, model.decoder
    tn(enc.pos_embed, std=0.02)
    tn(enc.cls_token, std=0.02)
    scale = D_MODEL ** -0.5
    dec.proj_patch.copy_(scale * torch.randn(D_MODEL, D_MODEL))
    dec.proj_classes.copy_(scale * torch.randn(D_MODEL, D_MODEL))
    tn(dec.cls_emb, std=0.02)
    return model


def normalize(images_u8):
    """uint8 [B,H,W,3] (numpy) -> float32 [B,3,H,W] with Segmenter's 'vit' normalisation."""
    x = torch.from_numpy(np.array(images_u8, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def train_batch(step, batch):
    imgs, labs = zip(*(shapes_seg.sample("train", step * batch + j, TRAIN_SIZE) for j in range(batch)))
    return np.stack(imgs), np.stack(labs)


def _worker_init():
    os.nice(5)


class Prefetcher:
    """Batches generated by one helper process, `depth` ahead; batch i is a pure function of
    i, so the stream is the same as generating inline."""

    def __init__(self, batch, depth=3, workers=1):
        self.batch, self.depth = batch, depth
        self.pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) if workers else None
        self.pending = collections.OrderedDict()

    def get(self, step):
        if self.pool is None:
            return train_batch(step, self.batch)
        for s in range(step, step + self.depth):
            if s not in self.pending:
                self.pending[s] = self.pool.apply_async(train_batch, (s, self.batch))
        return self.pending.pop(step).get()

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


# --------------------------------------------------------------------------------------------
# Inference and metrics
# --------------------------------------------------------------------------------------------

def window_anchors(size, window, stride):
    """segm/model/utils.sliding_window's anchors along one axis."""
    return [a for a in range(0, size, stride) if a < size - window] + [size - window]


@torch.no_grad()
def sliding_logits(model, image_u8, window=WINDOW, stride=STRIDE, return_grid=False):
    """Segmenter's inference for one image (H, W >= window): windows -> forward -> sum into a
    canvas / count. Returns float32 logits [n_cls, H, W] (argmax = argmax of Segmenter's
    softmax), and, if asked, the token-grid masks of every window [n_win, n_cls, gh, gw]."""
    x = normalize(image_u8[None])
    _, _, H, W = x.shape
    anchors = [(ha, wa) for ha in window_anchors(H, window, stride) for wa in window_anchors(W, window, stride)]
    crops = torch.cat([x[:, :, ha:ha + window, wa:wa + window] for ha, wa in anchors])
    grid = model.grid_masks(crops)
    up = F.interpolate(grid, size=(window, window), mode="bilinear", align_corners=False)
    logit = torch.zeros(model.n_cls, H, W)
    count = torch.zeros(1, H, W)
    for w, (ha, wa) in zip(up, anchors):
        logit[:, ha:ha + window, wa:wa + window] += w
        count[:, ha:ha + window, wa:wa + window] += 1
    logit = logit / count
    return (logit, grid, anchors) if return_grid else logit


def confusion(gt, pred, n=N_CLS):
    return np.bincount(gt.reshape(-1).astype(np.int64) * n + pred.reshape(-1).astype(np.int64),
                       minlength=n * n).reshape(n, n)


def iou_from_confusion(cm):
    """(per-class IoU with None where the union is empty, mIoU over the others, pixel accuracy)."""
    inter = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    ious = [None if union[c] == 0 else float(inter[c] / union[c]) for c in range(cm.shape[0])]
    present = [v for v in ious if v is not None]
    return ious, float(np.mean(present)), float(inter.sum() / cm.sum())


def evaluate(model, split, start, count, size):
    """Summed confusion over sample(split, start..start+count-1, size), sliding windows when
    size > WINDOW."""
    model.eval()
    cm = np.zeros((N_CLS, N_CLS), dtype=np.int64)
    for i in range(start, start + count):
        img, lab = shapes_seg.sample(split, i, size)
        pred = sliding_logits(model, img).argmax(0).numpy()
        cm += confusion(lab, pred)
    return cm


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

def lr_at(step, total, peak, floor_frac=0.01):
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    t = min(1.0, (step - WARMUP) / max(1, total - WARMUP))
    floor = peak * floor_frac
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


def param_groups(model, weight_decay):
    no_decay_names = {"encoder.pos_embed", "encoder.cls_token", "decoder.cls_emb"}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name in no_decay_names else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(args, log):
    torch.manual_seed(args.seed)   # the patch conv keeps PyTorch's default init, drawn here
    model = init_segmenter(DemoSegmenter(depth=args.depth), args.seed)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Segmenter ViT-Ti/16 depth {args.depth} + mask transformer {DEC_LAYERS} layers: {n_params:,} parameters; "
          f"batch {args.batch} x {TRAIN_SIZE}^2, AdamW lr {args.lr} wd {args.weight_decay}, warm-up {WARMUP}, cosine; "
          f"{torch.get_num_threads()} threads", flush=True)
    planned = args.steps
    budget = args.minutes * 60.0
    data = Prefetcher(args.batch, workers=args.workers)
    t0 = time.perf_counter()
    deadline = None if args.steps else t0 + budget
    run_loss, run_acc, seen = 0.0, 0.0, 0
    step = 0
    calib_start = None
    stopped_early = False
    try:
        while planned is None or step < planned:
            if planned is None:
                now = time.perf_counter()
                if step == 5:
                    calib_start = (now, step)
                if calib_start and (now - t0 >= CALIBRATE_SECONDS or step >= WARMUP - 1):
                    per_step = (now - calib_start[0]) / (step - calib_start[1])
                    planned = step + int(PLAN_SAFETY * (budget - (now - t0)) / per_step)
                    if args.max_steps:
                        planned = min(planned, args.max_steps)
                    planned = max(planned, WARMUP + 1)
                    print(f"speed {per_step:.3f} s/step over steps {calib_start[1]}..{step}: planning {planned} steps "
                          f"(reproduce with --steps {planned})", flush=True)
                    log["calibration"] = {"seconds_per_step": per_step, "measured_steps": [calib_start[1], step],
                                          "planned_steps": planned}
            if deadline is not None and time.perf_counter() >= deadline:
                print(f"time budget reached at step {step} of {planned}: stopping early", flush=True)
                stopped_early = True
                break
            imgs, labs = data.get(step)
            x, y = normalize(imgs), torch.from_numpy(labs).long()
            lr = lr_at(step, planned if planned else 10 ** 9, args.lr)
            for grp in opt.param_groups:
                grp["lr"] = lr
            model.train()
            out = model(x, encoder_bf16=args.amp == "bf16")
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            run_loss += float(loss)
            run_acc += float((out.argmax(1) == y).float().mean())
            seen += 1
            step += 1
            if step % args.log_every == 0 or step == planned:
                el = time.perf_counter() - t0
                entry = {"step": step, "lr": lr, "loss": run_loss / seen, "train_pixel_acc": run_acc / seen,
                         "seconds": round(el, 1)}
                msg = (f"step {step:5d}/{planned or '?'}  lr {lr:.2e}  loss {run_loss / seen:.4f}  "
                       f"pixel acc {run_acc / seen:.3f}  {el:6.1f} s")
                if step % (args.log_every * 10) == 0 or step == planned:
                    split, start, n = QUICK_VAL
                    _, miou, acc = iou_from_confusion(evaluate(model, split, start, n, TRAIN_SIZE))
                    entry.update(quick_val_miou=miou, quick_val_pixel_acc=acc)
                    msg += f"  quick val ({n} x 256) mIoU {miou:.4f} acc {acc:.4f}"
                print(msg, flush=True)
                log["curve"].append(entry)
                run_loss, run_acc, seen = 0.0, 0.0, 0
    finally:
        data.close()
    seconds = time.perf_counter() - t0
    log.update(steps=step, planned_steps=planned, stopped_early=stopped_early, train_seconds=seconds,
               params=n_params)
    model.eval()
    return model, seconds


# --------------------------------------------------------------------------------------------
# Original-format checkpoint, conversion
# --------------------------------------------------------------------------------------------

def variant(args, steps):
    """Segmenter's segm/train.py variant dict for this run (yaml.dump'ed to variant.yml)."""
    net = {"image_size": (TRAIN_SIZE, TRAIN_SIZE), "patch_size": PATCH, "d_model": D_MODEL, "n_heads": HEADS,
           "n_layers": args.depth, "normalization": "vit", "distilled": False, "backbone": "vit_tiny_patch16_384",
           "dropout": 0.0, "drop_path_rate": 0.0,
           "decoder": {"drop_path_rate": 0.0, "dropout": 0.0, "n_layers": DEC_LAYERS, "name": "mask_transformer",
                       "n_cls": N_CLS},
           "n_cls": N_CLS}
    return {
        "world_batch_size": args.batch, "version": "normal", "resume": False,
        "dataset_kwargs": {"dataset": "shapes_seg", "image_size": TRAIN_SIZE, "crop_size": TRAIN_SIZE,
                           "batch_size": args.batch, "normalization": "vit", "split": "train", "num_workers": 1},
        "algorithm_kwargs": {"batch_size": args.batch, "start_epoch": 0, "num_epochs": 1, "eval_freq": 1},
        "optimizer_kwargs": {"opt": "adamw", "lr": args.lr, "weight_decay": args.weight_decay, "momentum": 0.9,
                             "clip_grad": 1.0, "sched": "cosine", "epochs": 1, "min_lr": round(args.lr * 0.01, 12),
                             "poly_power": 0.9, "poly_step_size": 1, "iter_max": steps, "iter_warmup": WARMUP},
        "net_kwargs": net, "amp": False, "log_dir": "bench-out/demo-segmenter",
        "inference_kwargs": {"im_size": IM_SIZE, "window_size": WINDOW, "window_stride": STRIDE},
    }


def write_checkpoint(model, args, steps, out=BENCH_DIR):
    import yaml
    os.makedirs(out, exist_ok=True)
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    torch.save({"model": sd, "n_cls": N_CLS, "epoch": 0}, os.path.join(out, "checkpoint.pth"))
    with open(os.path.join(out, "variant.yml"), "w") as f:
        f.write(yaml.dump(variant(args, steps)))


def convert(out=BENCH_DIR):
    os.makedirs(MODEL_DIR, exist_ok=True)
    dst = os.path.join(MODEL_DIR, "model.safetensors")
    # Segmenter checkpoints carry no class names: give them to the converter, which stores them in the file.
    labels = os.path.join(out, "labels.txt")
    with open(labels, "w") as f:
        f.write("".join(c + "\n" for c in CLASSES))
    cmd = [os.path.join(REPO, "bin", "hourglass"), "convert", os.path.join(out, "checkpoint.pth"), dst,
           "--dtype", "f16", "--labels", labels, "--force"]
    print("$ " + " ".join(os.path.relpath(c, REPO) if c.startswith(REPO) else c for c in cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)
    insp = subprocess.run([os.path.join(REPO, "bin", "hourglass"), "inspect", dst], check=True, cwd=REPO,
                          capture_output=True, text=True).stdout
    print(insp, flush=True)
    # Keep the summary; the per-tensor list that follows "tensors ..." is long.
    lines = insp.splitlines()
    insp = "\n".join(lines[:next(i for i, ln in enumerate(lines) if ln.startswith("tensors")) + 1]) + "\n"
    return dst, insp


def load_converted(depth, path=None):
    """The converted (F16) file as a float32 DemoSegmenter: canonical names are timm's for the
    encoder and `decoder.*` for the decoder."""
    tensors, meta = st.load_file(path or os.path.join(MODEL_DIR, "model.safetensors"))
    sd = collections.OrderedDict()
    for k, v in tensors.items():
        sd[k if k.startswith("decoder.") else "encoder." + k] = v.float()
    model = DemoSegmenter(depth=depth).eval()
    model.load_state_dict(sd, strict=True)
    return model, tensors, meta


def load_checkpoint(out=BENCH_DIR):
    import yaml
    ckpt = torch.load(os.path.join(out, "checkpoint.pth"))
    with open(os.path.join(out, "variant.yml")) as f:
        var = yaml.load(f, Loader=yaml.FullLoader)
    model = DemoSegmenter(depth=var["net_kwargs"]["n_layers"]).eval()
    model.load_state_dict(ckpt["model"], strict=True)
    return model, var


def f16_rounded(model):
    m = DemoSegmenter(depth=len(model.encoder.blocks)).eval()
    m.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return m


def depth_of_file(path):
    tensors, _ = st.load_file(path)
    return sum(1 for k in tensors if k.startswith("blocks.") and k.endswith(".norm1.weight"))


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

def png_bytes(array, mode):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def choose_demo():
    """The first DEMO_COUNT val images (512) whose PNG is <= DEMO_MAX_PNG bytes (the committed
    images must stay small); together they must show every class. Depends on the data only."""
    chosen, seen = [], np.zeros(N_CLS)
    i = 0
    while len(chosen) < DEMO_COUNT:
        img, lab = shapes_seg.sample("val", i, IM_SIZE)
        data = png_bytes(img, "RGB")
        if len(data) <= DEMO_MAX_PNG:
            chosen.append((i, img, lab, data))
            seen += shapes_seg.class_fractions(lab) > 0.005
        i += 1
    assert seen.all(), f"demo images miss classes {[CLASSES[c] for c in np.where(seen == 0)[0]]}"
    return chosen


def f32(v):
    return float(np.float32(v))


def write_fixtures(model_path, depth):
    from PIL import Image
    model, tensors, meta = load_converted(depth, model_path)
    os.makedirs(os.path.join(SEG_DIR, "images"), exist_ok=True)
    os.makedirs(os.path.join(SEG_DIR, "labels"), exist_ok=True)
    entries = []
    total_cm = np.zeros((N_CLS, N_CLS), dtype=np.int64)
    for pos, (index, img, lab, data) in enumerate(choose_demo(), start=1):
        name = file_name(pos, "val", index)
        with open(os.path.join(SEG_DIR, "images", name), "wb") as f:
            f.write(data)
        with open(os.path.join(SEG_DIR, "labels", name), "wb") as f:
            f.write(png_bytes(lab, "L"))
        # Re-read the files, as a consumer would.
        with Image.open(os.path.join(SEG_DIR, "images", name)) as im:
            rgb = np.asarray(im.convert("RGB"))
        with Image.open(os.path.join(SEG_DIR, "labels", name)) as im:
            gt = np.asarray(im)
        assert np.array_equal(rgb, img) and np.array_equal(gt, lab)
        x = normalize(rgb[None])
        logits, grid, anchors = sliding_logits(model, rgb, return_grid=True)
        pred = logits.argmax(0).numpy().astype(np.int8)
        top2 = torch.topk(logits, 2, dim=0).values
        margin = (top2[0] - top2[1]).numpy()
        cm = confusion(gt, pred)
        total_cm += cm
        ious, miou, acc = iou_from_confusion(cm)
        win = []
        for (ha, wa), g in zip(anchors, grid):
            win.append({"anchor": [ha, wa], "grid_masks_sum": float(g.double().sum()),
                        "grid_masks_abs_sum": float(g.double().abs().sum()),
                        "grid_masks_min": f32(g.min()), "grid_masks_max": f32(g.max())})
        entry = {
            "file": f"images/{name}", "label_file": f"labels/{name}", "split": "val", "index": index,
            "image_size": [IM_SIZE, IM_SIZE],
            "input_sha256": hashlib.sha256(x.numpy().astype("<f4").tobytes()).hexdigest(),
            "pixel_accuracy": acc, "miou": miou,
            "iou": {CLASSES[c]: ious[c] for c in range(N_CLS)},
            "gt_fractions": {CLASSES[c]: float(v) for c, v in enumerate(shapes_seg.class_fractions(gt))},
            "pred_fractions": {CLASSES[c]: float(v) for c, v in enumerate(shapes_seg.class_fractions(pred.astype(np.uint8)))},
            "argmax_sha256": hashlib.sha256(np.ascontiguousarray(pred).tobytes()).hexdigest(),
            "pixels_margin_below_1e-3": int((margin < 1e-3).sum()),
            "pixels_margin_below_1e-2": int((margin < 1e-2).sum()),
            "windows": win,
        }
        if pos == 1:
            entry["grid_masks_window0"] = [[[f32(v) for v in row] for row in cls] for cls in grid[0].numpy()]
        entries.append(entry)
        print(f"{name}: pixel acc {acc:.4f}  mIoU {miou:.4f}  (low-margin pixels {entry['pixels_margin_below_1e-3']})")
    ious, miou, acc = iou_from_confusion(total_cm)
    with open(model_path, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    expected = {
        "generator": "tools/train_demo_segmenter.py",
        "model": "shapes-segmenter/model.safetensors",
        "model_sha256": model_sha,
        "weights": "the F16 values of model.safetensors widened to float32; PyTorch float32 CPU forward",
        "torch_version": torch.__version__,
        "classes": CLASSES,
        "normalization": {"name": "vit", "mean": list(MEAN), "std": list(STD),
                          "formula": "x = (uint8 / 255 - 0.5) / 0.5 per RGB channel, float32, NCHW"},
        "inference": {"im_size": IM_SIZE, "window_size": WINDOW, "window_stride": STRIDE,
                      "windows": "anchors (row, col) in {0, 256} x {0, 256}, row-major order: 4 non-overlapping "
                                 "256x256 windows, each run alone through encoder + decoder",
                      "upsampling": "each window's token-grid masks [n_cls, 16, 16] -> F.interpolate(size=(256, 256), "
                                    "mode='bilinear', align_corners=False), pasted at its anchor (each pixel once)",
                      "prediction": "argmax over classes of the pasted logits (first index on ties)"},
        "metrics": {"pixel_accuracy": "correct pixels / all pixels",
                    "miou": "mean over the classes present in the ground truth or the prediction of "
                            "|gt = c and pred = c| / |gt = c or pred = c|",
                    "overall_miou": "intersections and unions summed over the images, then IoU per class and the "
                                    "mean over classes with a non-empty union",
                    "argmax_sha256": "sha256 of the prediction as int8 [512, 512], row-major",
                    "input_sha256": "sha256 of the normalized float32 input [1, 3, 512, 512], little-endian C order",
                    "pixels_margin_below_1e-3": "pixels whose top-2 logits differ by less than 1e-3 (an "
                                                "implementation with other float rounding may flip these)",
                    "windows": "per window, statistics of the token-grid masks (decoder output after mask_norm, "
                               "before upsampling), float64 sums of the float32 values",
                    "grid_masks_window0": "image 1 only: window (0, 0)'s token-grid masks [n_cls][16][16]"},
        "images": entries,
        "overall": {"images": len(entries), "pixel_accuracy": acc, "miou": miou,
                    "iou": {CLASSES[c]: ious[c] for c in range(N_CLS)}},
    }
    with open(os.path.join(SEG_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print(f"demo images: overall pixel acc {acc:.4f}  mIoU {miou:.4f}")
    return expected


def write_training_md(log, insp):
    res = log["final"]
    curve = "\n".join(f"| {e['step']} | {e['seconds']:.0f} | {e['lr']:.2e} | {e['loss']:.4f} | {e['train_pixel_acc']:.4f} | "
                      f"{e['quick_val_miou']:.4f} |" for e in log["curve"] if "quick_val_miou" in e)
    per_class = "\n".join(f"| {c} | {res['iou_f32'][c]:.4f} | {res['iou_f16'][c]:.4f} |" for c in CLASSES)
    model_path = os.path.join(MODEL_DIR, "model.safetensors")
    with open(model_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    a = log["args"]
    text = f"""# shapes-segmenter: how it was made

A Segmenter (rstrudel/segmenter) at ViT-Ti/16 width, trained from scratch on the procedural
shapes-seg data set (`tools/hourglass_ref/shapes_seg.py`): every pixel gets one of {N_CLS} classes,
{", ".join(CLASSES)}. Written by `tools/train_demo_segmenter.py` (see tools/README.md); nothing
here comes from outside the repository.

## Model

* Encoder: ViT patch 16, embed dim 192, depth {a['depth']}, 3 heads, MLP 768, class token, qkv bias,
  LayerNorm eps 1e-5, exact GELU, trained at 256x256 (16x16 tokens + class token), no head.
* Decoder: Segmenter's mask transformer, d_model 192, {DEC_LAYERS} layers, 3 heads (192 // 64),
  d_ff 768, LayerNorm eps 1e-5, {N_CLS} class embeddings; masks at the token grid, bilinearly
  upsampled (align_corners=False).
* {log['params']:,} parameters.

## Result

* Validation: **mIoU {res['miou_f16']:.4f}**, pixel accuracy {res['acc_f16']:.4f} on {FINAL_VAL_COUNT} val images of
  512x512 (`sample("val", 0..{FINAL_VAL_COUNT - 1}, 512)`), Segmenter's sliding window (window 256,
  stride 256 = 4 windows), with the F16 weights of model.safetensors. With the float32 weights
  before conversion: mIoU {res['miou_f32']:.4f}, pixel accuracy {res['acc_f32']:.4f}
  ({res['pred_diff_pixels']} of {FINAL_VAL_COUNT * IM_SIZE * IM_SIZE:,} predicted pixels differ between the two).
* Training: **{log['train_seconds']:.0f} s** wall ({log['steps']} steps of batch {a['batch']}, {log['steps'] * a['batch']:,} images),
  {a['threads']} threads under `nice -n 10` on a shared {os.cpu_count()}-core machine (1-minute load
  average {log['load_before']:.2f} before, {log['load_after']:.2f} after), torch {torch.__version__}.
  {"The time budget ended the run before its planned " + str(log['planned_steps']) + " steps." if log['stopped_early'] else ""}

| class | IoU (F32) | IoU (F16) |
|---|---|---|
{per_class}

Training curve (quick val: {QUICK_VAL[2]} val images of 256x256, one window each):

| step | s | lr | loss | train pixel acc | quick val mIoU |
|---|---|---|---|---|---|
{curve}

## Training

* Data: fresh images every step, batch {a['batch']}: step i uses `sample("train", i * {a['batch']} + j, 256)`.
* Loss: cross-entropy on the masks upsampled to 256x256, as Segmenter.
* Optimiser: AdamW lr {a['lr']} (100 linear warm-up steps, cosine to 1 % over {log['planned_steps']} steps), weight
  decay {a['weight_decay']} (not on biases, LayerNorms, pos_embed, cls_token, cls_emb), betas (0.9, 0.999),
  gradient norm clipped at 1.0; Segmenter's init.
* Precision: {"the encoder's forward under `torch.cpu.amp.autocast(dtype=torch.bfloat16)` (oneDNN bf16 matmuls; weights, optimizer, decoder and loss in float32)" if a.get('amp', 'none') == 'bf16' else 'float32 throughout'}; evaluation and fixtures in float32.
* Seed: **{a['seed']}**; steps planned from the measured speed: {log['planned_steps']} (reproduce exactly
  with `--steps {log['planned_steps']}`).
* Normalisation 'vit': (x / 255 - 0.5) / 0.5.

## Files

* `model.safetensors`: `bin/hourglass convert bench-out/demo-segmenter/checkpoint.pth ... --dtype f16 --labels
  bench-out/demo-segmenter/labels.txt` (the class names are stored in the file's configuration)
  (Segmenter's original checkpoint.pth + variant.yml, written by the script into the git-ignored
  bench-out/demo-segmenter/), {os.path.getsize(model_path):,} bytes, sha256 `{sha}`.
* `../segmentation/`: demo images, their ground truth and the PyTorch answers (`expected.json`).

`bin/hourglass inspect model.safetensors`:

```
{insp.rstrip()}
```

## Regenerate

```
nice -n 10 /usr/bin/python3 tools/train_demo_segmenter.py --steps {log['planned_steps']}   # train, convert, fixtures
/usr/bin/python3 tools/train_demo_segmenter.py --fixtures-only                 # only ../segmentation/
```

Deterministic for a given torch build, BLAS and thread count (and numpy build for the data):
the same steps give the same weights. A different BLAS or thread count changes float rounding,
so the weights and expected.json would differ slightly.
"""
    with open(os.path.join(MODEL_DIR, "TRAINING.md"), "w") as f:
        f.write(text)


def final_eval(model_f32, model_f16):
    cm32 = np.zeros((N_CLS, N_CLS), dtype=np.int64)
    cm16 = np.zeros((N_CLS, N_CLS), dtype=np.int64)
    diff = 0
    for i in range(FINAL_VAL_COUNT):
        img, lab = shapes_seg.sample("val", i, IM_SIZE)
        p32 = sliding_logits(model_f32, img).argmax(0).numpy()
        p16 = sliding_logits(model_f16, img).argmax(0).numpy()
        cm32 += confusion(lab, p32)
        cm16 += confusion(lab, p16)
        diff += int((p32 != p16).sum())
    i32, m32, a32 = iou_from_confusion(cm32)
    i16, m16, a16 = iou_from_confusion(cm16)
    return {"miou_f32": m32, "acc_f32": a32, "iou_f32": dict(zip(CLASSES, i32)),
            "miou_f16": m16, "acc_f16": a16, "iou_f16": dict(zip(CLASSES, i16)), "pred_diff_pixels": diff,
            "confusion_f16": cm16.tolist()}


def preview(path):
    from PIL import Image
    rows = []
    for i in range(4):
        img, lab = shapes_seg.sample("train", i, TRAIN_SIZE)
        rows.append(np.concatenate([img, shapes_seg.colourize(lab)], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(path)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--minutes", type=float, default=44.0, help="training time budget (steps are planned from it)")
    ap.add_argument("--steps", type=int, help="train exactly this many steps (no budget; reproduces a run)")
    ap.add_argument("--max-steps", type=int, help="cap on the planned steps")
    ap.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--amp", choices=("bf16", "none"), default="bf16",
                    help="bf16: encoder under CPU autocast to bfloat16 while training (about 1.5x faster here)")
    ap.add_argument("--workers", type=int, default=1, help="data processes (0: generate inline)")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--no-convert", action="store_true", help="stop after writing bench-out/demo-segmenter")
    ap.add_argument("--from-checkpoint", action="store_true",
                    help="skip training: convert bench-out/demo-segmenter/checkpoint.pth and write the fixtures")
    ap.add_argument("--fixtures-only", action="store_true",
                    help="only rewrite ../segmentation/ from the committed model.safetensors")
    ap.add_argument("--preview", metavar="PNG", help="write 4 training samples with their labels and exit")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    if args.preview:
        preview(args.preview)
        return
    if args.fixtures_only:
        path = os.path.join(MODEL_DIR, "model.safetensors")
        write_fixtures(path, depth_of_file(path))
        return

    log_path = os.path.join(BENCH_DIR, "train_log.json")
    if args.from_checkpoint:
        model, var = load_checkpoint()
        with open(log_path) as f:
            log = json.load(f)
    else:
        log = {"args": vars(args), "curve": [], "load_before": os.getloadavg()[0]}
        model, seconds = train(args, log)
        log["load_after"] = os.getloadavg()[0]
        write_checkpoint(model, args, log["steps"])
        with open(log_path, "w") as f:
            json.dump(log, f, indent=1)
        print(f"training time {seconds:.1f} s, {log['steps']} steps; wrote {os.path.relpath(BENCH_DIR, REPO)}/",
              flush=True)
    if args.no_convert:
        return
    path, insp = convert()
    conv, tensors, meta = load_converted(len(model.encoder.blocks), path)
    ref = f16_rounded(model)
    for k, v in ref.state_dict().items():
        assert torch.equal(conv.state_dict()[k], v), f"converted {k} is not the F16 rounding of the checkpoint"
    assert all(t.dtype == torch.float16 for t in tensors.values())
    t0 = time.perf_counter()
    log["final"] = final_eval(model, conv)
    log["final_eval_seconds"] = time.perf_counter() - t0
    r = log["final"]
    print(f"val ({FINAL_VAL_COUNT} x 512, 4 windows): mIoU F32 {r['miou_f32']:.4f} (acc {r['acc_f32']:.4f}), "
          f"F16 {r['miou_f16']:.4f} (acc {r['acc_f16']:.4f}), {r['pred_diff_pixels']} pixels differ")
    for c in CLASSES:
        print(f"  {c:11s} IoU {r['iou_f16'][c]:.4f}")
    expected = write_fixtures(path, len(model.encoder.blocks))
    log["demo_overall"] = expected["overall"]
    with open(log_path, "w") as f:
        json.dump(log, f, indent=1)
    write_training_md(log, insp)
    print("RESULT " + json.dumps({k: log[k] for k in ("steps", "planned_steps", "train_seconds", "stopped_early")}
                                 | {"miou_f16": r["miou_f16"], "miou_f32": r["miou_f32"],
                                    "demo_miou": expected["overall"]["miou"]}))


if __name__ == "__main__":
    main()
