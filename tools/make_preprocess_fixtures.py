#!/usr/bin/env python3
"""Makes the preprocessing parity fixtures for the tasks module (package dev.hourglass.tasks.image).

What it makes, under tasks/src/test/resources/preprocess/ (everything is overwritten, nothing else is touched):
  inputs/     four real photographs from scikit-image's sample data (public domain / CC0, see README.md there),
              some cropped or downsized so that the committed copies stay small.
  resize/     Pillow's Image.resize((w, h), BICUBIC | BILINEAR) of those photos, 8-bit RGB PNG: downscaling,
              upscaling, odd sizes, one axis only, one pixel. The Java port of Pillow's resampling must match them
              bit for bit.
  pipeline/   timm's eval transform (torchvision Resize, CenterCrop, ToTensor, Normalize on PIL images) as
              float32 .npy, shape (3, len(rows), len(cols)): the tensor sampled at the rows and columns that
              manifest.json lists (every 7th row and column plus the last ones; all of them for one case).
  formats/    small files in the layouts a decoder meets (palette, transparency, grey + alpha, 16-bit, 2-bit,
              1-bit, JPEG 4:2:0 / 4:4:4 / grey / CMYK, a zero-width and an oversized PNG header) and, under
              formats/expected/, what Image.open(f).convert('RGB') gives for each one Pillow can read.
  manifest.json  every case with its parameters.

Run it from the repository root with Debian's interpreter, which has Pillow 9.4, torchvision 0.14 and scikit-image:
    /usr/bin/python3 tools/make_preprocess_fixtures.py
It is deterministic: running it twice gives the same bytes.
"""
import json
import math
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import PIL
import skimage
import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tasks", "src", "test", "resources", "preprocess")
SKIMAGE_DATA = os.path.join(os.path.dirname(skimage.__file__), "data")

PIL_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
TV_FILTERS = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_CROP_PCT = 0.875


def save_png(img, path, keep_icc=False):
    """Pillow carries an input's ICC profile into derived images; outputs drop it (3 KB each, and unused)."""
    extra = {} if keep_icc else {"icc_profile": None}
    img.save(path, format="PNG", optimize=False, compress_level=9, **extra)


def make_inputs():
    """The committed photographs: Pillow-derived crops/downsizes of skimage's sample images."""
    inputs = {}

    def keep(name, img):
        path = os.path.join(OUT, "inputs", name)
        save_png(img, path, keep_icc=True)  # chelsea and astronaut carry an sRGB profile, which decoders ignore
        inputs[name] = img

    # 451x300 RGB: odd width, landscape, kept as it is.
    keep("chelsea.png", Image.open(os.path.join(SKIMAGE_DATA, "chelsea.png")).convert("RGB"))
    # 600x400 RGB cropped to a 321x214 window (odd, landscape) around the cup.
    coffee = Image.open(os.path.join(SKIMAGE_DATA, "coffee.png")).convert("RGB")
    keep("coffee.png", coffee.crop((140, 90, 140 + 321, 90 + 214)))
    # 512x512 RGB downsized to 160x160: square, and small enough that a 384 crop upscales it.
    astronaut = Image.open(os.path.join(SKIMAGE_DATA, "astronaut.png")).convert("RGB")
    keep("astronaut.png", astronaut.resize((160, 160), Image.Resampling.LANCZOS))
    # 512x512 greyscale (mode L) cropped to a 203x257 portrait window: tests L -> RGB and portrait geometry.
    camera = Image.open(os.path.join(SKIMAGE_DATA, "camera.png"))
    assert camera.mode == "L", camera.mode
    keep("camera.png", camera.crop((150, 40, 150 + 203, 40 + 257)))
    return inputs


RESIZE_CASES = [
    # (input, width, height): downscale, odd, one axis only, upscale, extreme
    ("chelsea.png", 224, 149),   # the shape timm's Resize(224) gives, downscale both axes
    ("chelsea.png", 37, 251),    # odd sizes, strong horizontal reduction
    ("chelsea.png", 451, 173),   # vertical pass only
    ("chelsea.png", 200, 300),   # horizontal pass only
    ("chelsea.png", 1, 1),       # everything into one pixel
    ("chelsea.png", 1, 300),     # one column, height kept
    ("coffee.png", 113, 79),
    ("coffee.png", 331, 220),    # slight upscale, odd
    ("astronaut.png", 241, 97),  # upscale horizontally, downscale vertically
    ("astronaut.png", 289, 289), # upscale both
    ("camera.png", 101, 131),    # greyscale source converted to RGB first
]


def make_resize_cases(inputs):
    cases = []
    for name, w, h in RESIZE_CASES:
        src = inputs[name].convert("RGB")
        for filt in ("bicubic", "bilinear"):
            out = src.resize((w, h), PIL_FILTERS[filt])
            file = f"{name[:-4]}_{filt}_{w}x{h}.png"
            save_png(out, os.path.join(OUT, "resize", file))
            cases.append({"input": "inputs/" + name, "filter": filt, "width": w, "height": h,
                          "expected": "resize/" + file})
    return cases


def timm_eval_transform(cfg):
    """timm's transforms_imagenet_eval for crop_mode 'center' (the timm 0.6 form: a square target resizes the
    shorter side; a non-square one resizes to exactly floor(H / crop_pct) x floor(W / crop_pct))."""
    _, h, w = cfg["input_size"]
    crop_pct = cfg.get("crop_pct") or DEFAULT_CROP_PCT
    scale = (math.floor(h / crop_pct), math.floor(w / crop_pct))
    size = scale[0] if scale[0] == scale[1] else scale
    interp = TV_FILTERS[cfg.get("interpolation", "bicubic")]
    return transforms.Compose([
        transforms.Resize(size, interpolation=interp),
        transforms.CenterCrop((h, w)),
        transforms.ToTensor(),
        transforms.Normalize(cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD)),
    ])


PIPELINE_CASES = [
    # (case name, input, pretrained_cfg, sample every row/column?)
    ("chelsea_224_bicubic_imagenet", "inputs/chelsea.png",
     {"input_size": [3, 224, 224], "crop_pct": 0.875, "interpolation": "bicubic", "crop_mode": "center",
      "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, True),
    ("coffee_224_crop09_bicubic_half", "inputs/coffee.png",
     {"input_size": [3, 224, 224], "crop_pct": 0.9, "interpolation": "bicubic",
      "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}, False),
    ("astronaut_384_crop1_bicubic", "inputs/astronaut.png",
     {"input_size": [3, 384, 384], "crop_pct": 1.0, "interpolation": "bicubic",
      "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, False),
    ("camera_256x320_bilinear", "inputs/camera.png",
     {"input_size": [3, 256, 320], "crop_pct": 0.875, "interpolation": "bilinear",
      "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, False),
    ("coffee_defaults", "inputs/coffee.png", {"input_size": [3, 160, 160]}, False),
    ("chelsea_224_crop15_padded", "inputs/chelsea.png",
     {"input_size": [3, 224, 224], "crop_pct": 1.5, "interpolation": "bilinear",
      "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, False),
    ("chelsea_jpeg_224_bicubic", "formats/chelsea_420.jpg",
     {"input_size": [3, 224, 224], "crop_pct": 0.875, "interpolation": "bicubic",
      "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, False),
]


def sample_indices(n, every):
    return list(range(n)) if every else sorted(set(range(0, n, 7)) | {n - 1})


def make_pipeline_cases():
    cases = []
    for name, input_file, cfg, every in PIPELINE_CASES:
        img = Image.open(os.path.join(OUT, input_file)).convert("RGB")  # what timm's ImageDataset does
        tensor = timm_eval_transform(cfg)(img).numpy()
        assert tensor.dtype == np.float32 and tensor.shape == (3, cfg["input_size"][1], cfg["input_size"][2])
        rows = sample_indices(tensor.shape[1], every)
        cols = sample_indices(tensor.shape[2], every)
        sampled = np.ascontiguousarray(tensor[:, rows][:, :, cols])
        file = f"pipeline/{name}.npy"
        np.save(os.path.join(OUT, file), sampled)
        cases.append({"name": name, "input": input_file, "pretrained_cfg": cfg, "rows": rows, "cols": cols,
                      "expected": file})
    return cases


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_raw_png(path, width, height, bit_depth, color_type, rows, extra_chunks=()):
    """A PNG written by hand, for layouts Pillow cannot save (16-bit colour, 2-bit grey, broken headers).
    rows: the unfiltered scanline bytes, one bytes object per row."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr))
        for kind, data in extra_chunks:
            f.write(png_chunk(kind, data))
        f.write(png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def make_format_cases(inputs):
    """Decoder layouts. Each readable file gets formats/expected/<name>.png = Image.open(f).convert('RGB')."""
    fmt = os.path.join(OUT, "formats")
    chelsea = inputs["chelsea.png"]
    patch = chelsea.crop((200, 60, 248, 96))  # 48x36, the cat's eye region
    patch_np = np.asarray(patch)
    gray_np = np.asarray(patch.convert("L"))
    h, w = gray_np.shape
    alpha_np = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))

    files = {}
    Image.fromarray(np.dstack([patch_np, alpha_np]), "RGBA").save(os.path.join(fmt, "rgba.png"))
    files["rgba.png"] = "RGBA, 8-bit: alpha dropped, not composited"
    Image.fromarray(np.dstack([gray_np, alpha_np]), "LA").save(os.path.join(fmt, "gray_alpha.png"))
    files["gray_alpha.png"] = "LA, 8-bit: grey replicated, alpha dropped"
    palette = patch.quantize(colors=23, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(os.path.join(fmt, "palette.png"))
    files["palette.png"] = "P, 23 colours"
    palette.save(os.path.join(fmt, "palette_transparent.png"), transparency=3)
    files["palette_transparent.png"] = "P with a tRNS entry: transparency ignored"
    Image.fromarray(gray_np, "L").convert("1", dither=Image.Dither.NONE).save(os.path.join(fmt, "bilevel.png"))
    files["bilevel.png"] = "1-bit"

    gray16 = (gray_np.astype(np.uint16) * 256 + np.arange(w, dtype=np.uint16) * 5).astype(">u2")
    write_raw_png(os.path.join(fmt, "gray16.png"), w, h, 16, 0, [r.tobytes() for r in gray16])
    # Pillow 9.4 opens this as mode "I" and convert('RGB') clips every value to 255. Hourglass keeps the high byte
    # instead (as Pillow does for 16-bit RGB): the expected image is that, and Pillow's own result is kept beside
    # it so that the test documents the difference.
    high_byte = Image.fromarray((gray16 >> 8).astype(np.uint8), "L").convert("RGB")
    save_png(high_byte, os.path.join(OUT, "formats/expected/gray16.png"))
    save_png(Image.open(os.path.join(fmt, "gray16.png")).convert("RGB"),
             os.path.join(OUT, "formats/expected/gray16_pillow.png"))
    rgb16 = (patch_np.astype(">u2") * 257 + 128).astype(">u2")
    write_raw_png(os.path.join(fmt, "rgb16.png"), w, h, 16, 2, [r.tobytes() for r in rgb16])
    files["rgb16.png"] = "16-bit RGB: Pillow keeps the high byte"
    rgba16 = np.dstack([rgb16, (alpha_np.astype(">u2") * 257).astype(">u2")]).astype(">u2")
    write_raw_png(os.path.join(fmt, "rgba16.png"), w, h, 16, 6, [r.tobytes() for r in rgba16])
    files["rgba16.png"] = "16-bit RGBA: high byte, alpha dropped"
    gray2 = (gray_np >> 6).astype(np.uint8)
    packed = [bytes(np.packbits(np.unpackbits(r[:, None], axis=1)[:, 6:].reshape(-1))) for r in gray2]
    write_raw_png(os.path.join(fmt, "gray2bit.png"), w, h, 2, 0, packed)
    files["gray2bit.png"] = "2-bit grey: values scaled by 85"

    chelsea.save(os.path.join(fmt, "chelsea_420.jpg"), quality=90, subsampling=2)
    files["chelsea_420.jpg"] = "JPEG, YCbCr 4:2:0, quality 90"
    patch.save(os.path.join(fmt, "patch_444.jpg"), quality=95, subsampling=0)
    files["patch_444.jpg"] = "JPEG, YCbCr 4:4:4"
    patch.convert("L").save(os.path.join(fmt, "gray.jpg"), quality=90)
    files["gray.jpg"] = "JPEG, greyscale"

    expected = [{"input": "formats/gray16.png", "expected": "formats/expected/gray16.png",
                 "pillow": "formats/expected/gray16_pillow.png",
                 "note": "16-bit grey: high byte kept; Pillow 9.4 clips to 255 instead (documented difference)"}]
    for name, note in files.items():
        rgb = Image.open(os.path.join(fmt, name)).convert("RGB")
        out = "formats/expected/" + name.rsplit(".", 1)[0] + ".png"
        save_png(rgb, os.path.join(OUT, out))
        expected.append({"input": "formats/" + name, "note": note, "expected": out})

    # Files the reader must refuse, and why.
    patch.convert("CMYK").save(os.path.join(fmt, "cmyk.jpg"), quality=90)
    write_raw_png(os.path.join(fmt, "zero_width.png"), 0, 4, 8, 2, [b""] * 4)
    # A 20000x20000 header (400 million pixels) with a one-row body: refused before anything is decoded.
    write_raw_png(os.path.join(fmt, "huge_header.png"), 20000, 20000, 8, 0, [bytes(20000)])
    refused = [
        {"input": "formats/cmyk.jpg", "reason": "CMYK: Pillow converts it with its own formula, not reproduced"},
        {"input": "formats/zero_width.png", "reason": "width 0 (ImageIO rejects the header)"},
        {"input": "formats/huge_header.png", "reason": "400000000 pixels, over the default limit"},
    ]
    return expected, refused


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for sub in ("inputs", "resize", "pipeline", "formats/expected"):
        os.makedirs(os.path.join(OUT, sub))
    inputs = make_inputs()
    resize_cases = make_resize_cases(inputs)
    formats, refused = make_format_cases(inputs)
    pipeline_cases = make_pipeline_cases()
    manifest = {
        "generator": "tools/make_preprocess_fixtures.py",
        "versions": {"python": sys.version.split()[0], "pillow": PIL.__version__, "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "numpy": np.__version__},
        "resize": resize_cases,
        "pipeline": pipeline_cases,
        "formats": formats,
        "refused": refused,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT}: {len(resize_cases)} resize, {len(pipeline_cases)} pipeline, {len(formats)} format cases, "
          f"{total / 1e6:.2f} MB")


README = """# Preprocessing parity fixtures

Generated by `tools/make_preprocess_fixtures.py` (run `/usr/bin/python3 tools/make_preprocess_fixtures.py` from the
repository root; Debian's Pillow 9.4, torchvision 0.14, numpy 1.24 and scikit-image 0.19). Do not edit by hand.

The photographs in `inputs/` (and the files derived from them in `formats/`, `resize/`, `pipeline/`) come from
scikit-image's sample data (`skimage/data`, scikit-image 0.19), whose docstrings state their terms:
`chelsea.png` (CC0, photographer Stefan van der Walt), `coffee.png` (CC0, Rachel Michetti), `camera.png` (CC0,
Lav Varshney) and `astronaut.png` (Eileen Collins, NASA; public domain, no known copyright restrictions). Some are cropped or downsized here to keep the test resources small.

`manifest.json` lists every case: Pillow `Image.resize` outputs (`resize/`, compared bit for bit), timm eval
transform outputs (`pipeline/`, float32 .npy sampled at the listed rows and columns), decoder layouts with their
`Image.open(f).convert('RGB')` results (`formats/`), and files the reader must refuse.
"""

if __name__ == "__main__":
    main()
