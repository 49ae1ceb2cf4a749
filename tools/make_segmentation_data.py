#!/usr/bin/env python3
"""Write shapes-seg images and their ground-truth class maps for benchmarks (e.g. mIoU of the
demo Segmenter with and without token reduction).

    /usr/bin/python3 tools/make_segmentation_data.py --split val --count 64 --size 512 --out bench-out/shapes-seg-val

Writes, for k = 1..count and index = start + k - 1:
    OUT/images/<k>-<split>-<index>.png   8-bit RGB PNG, no alpha, size x size
    OUT/labels/<k>-<split>-<index>.png   8-bit greyscale PNG (mode 'L'), pixel = class index
    OUT/classes.txt                      class names in index order, one per line
    OUT/index.json                       what was written (see below)
k is zero-padded to max(2, digits of count), index to 4 digits: the same naming as the demo
fixtures (tasks/.../demo/segmentation/images/01-val-0002.png). The images are
tools/hourglass_ref/shapes_seg.sample(split, index, size), so the same arguments give the same
files (same numpy and Pillow builds). Do not commit the output.

The demo model (tools/train_demo_segmenter.py) reports its validation mIoU on
--split val --start 0 --count 64 --size 512.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import shapes_seg  # noqa: E402
from hourglass_ref.shapes_seg import CLASSES  # noqa: E402


def file_name(position, split, index, width=2):
    return f"{position:0{width}d}-{split}-{index:04d}.png"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="val", choices=sorted(shapes_seg.SPLITS))
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--start", type=int, default=0, help="first index")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from PIL import Image

    width = max(2, len(str(args.count)))
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "labels"), exist_ok=True)
    entries = []
    total = np.zeros(len(CLASSES))
    for k in range(1, args.count + 1):
        index = args.start + k - 1
        img, lab = shapes_seg.sample(args.split, index, args.size)
        name = file_name(k, args.split, index, width)
        Image.fromarray(img, mode="RGB").save(os.path.join(args.out, "images", name), format="PNG",
                                              optimize=False, compress_level=9)
        Image.fromarray(lab, mode="L").save(os.path.join(args.out, "labels", name), format="PNG",
                                            optimize=False, compress_level=9)
        frac = shapes_seg.class_fractions(lab)
        total += frac
        entries.append({"image": f"images/{name}", "label": f"labels/{name}", "split": args.split, "index": index,
                        "gt_fractions": {c: round(float(f), 6) for c, f in zip(CLASSES, frac)}})
    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.write("".join(c + "\n" for c in CLASSES))
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump({"generator": "tools/make_segmentation_data.py", "dataset": "shapes-seg "
                   "(tools/hourglass_ref/shapes_seg.py)", "split": args.split, "start": args.start,
                   "count": args.count, "size": args.size, "classes": CLASSES,
                   "normalization": {"name": "vit", "mean": [0.5] * 3, "std": [0.5] * 3},
                   "mean_gt_fractions": {c: round(float(f), 6) for c, f in zip(CLASSES, total / args.count)},
                   "files": entries}, f, indent=1)
        f.write("\n")
    print(f"wrote {args.count} images + labels ({args.size}x{args.size}, {args.split} {args.start}.."
          f"{args.start + args.count - 1}) to {args.out}")


if __name__ == "__main__":
    main()
