#!/usr/bin/env python3
"""YAML files written by PyYAML's yaml.dump, with what yaml.load makes of them, for the Java
reader dev.hourglass.convert.yaml.YamlReader (the subset Segmenter's variant.yml uses).

    /usr/bin/python3 tools/make_yaml_fixtures.py [--out weights-converter/src/test/resources/yaml]

Needs PyYAML (Debian python3-yaml).  Writes to <out>/:
    segmenter_variant_large.yml   yaml.dump(variant) of a realistic Segmenter ViT-L/16 mask-transformer
                                  training variant (ADE20K, 640x640 crops), built as segm/train.py builds it
    pyyaml_subset.yml             yaml.dump of a dict exercising everything the reader accepts: nested
                                  mappings and sequences (indentless, compact "- - x" and "- k: v"),
                                  tuples (!!python/tuple, also empty and nested), {} and [], ints up to
                                  the 64-bit limits, floats (1.0e-05, .inf, -.inf, .nan, -0.0, denormals),
                                  bools, nulls, strings PyYAML must quote ('true', '1', '', '- x', ...),
                                  strings it leaves plain that look like numbers (1e-05, -.5, 09),
                                  long strings it wraps over several lines (plain, single- and
                                  double-quoted), escapes (\\n, \\xE9, \\L, \\U0001F600, \\a), quoted keys
    pyyaml_random.yml             yaml.dump of a random nested structure (seeded): strings drawn from
                                  YAML's indicator characters, quotes, spaces, line breaks, control and
                                  non-ASCII characters, long runs of words (so PyYAML wraps them), random
                                  ints over the 64-bit range and floats over the whole double range
    <name>.expected.json          yaml.load(text, Loader=yaml.FullLoader) of each file, typed:
                                  null | {"bool": b} | {"int": "decimal"} | {"float": float.hex(x) or
                                  "inf" / "-inf" / "nan"} | {"str": s} | {"list": [...]} (lists and
                                  tuples) | {"map": [[key, value], ...]} (in file order)

The script checks that each file loads back (FullLoader) to exactly the object dumped.
Deterministic: a rerun reproduces every byte (same PyYAML version).
"""
import argparse
import json
import math
import os
import random
import struct

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "weights-converter", "src", "test", "resources", "yaml")


def segmenter_variant_large():
    """segm/train.py's variant for `--dataset ade20k --backbone vit_large_patch16_384 --decoder
    mask_transformer --im-size 640 --crop-size 640 --window-size 640 --window-stride 512`, with
    segm/config.yml's vit_large_patch16_384, mask_transformer and ade20k entries; create_segmenter
    later adds n_cls to net_kwargs and to its decoder dict (the same dict objects) before the dump
    in the real run, so they appear here too."""
    n_cls = 150
    decoder = {"drop_path_rate": 0.0, "dropout": 0.1, "n_layers": 2, "name": "mask_transformer", "n_cls": n_cls}
    model = {"image_size": (640, 640), "patch_size": 16, "d_model": 1024, "n_heads": 16, "n_layers": 24,
             "normalization": "vit", "distilled": False, "backbone": "vit_large_patch16_384", "dropout": 0.0,
             "drop_path_rate": 0.1, "decoder": decoder, "n_cls": n_cls}
    return {
        "world_batch_size": 8,
        "version": "normal",
        "resume": True,
        "dataset_kwargs": {"dataset": "ade20k", "image_size": 640, "crop_size": 640, "batch_size": 8,
                           "normalization": "vit", "split": "train", "num_workers": 10},
        "algorithm_kwargs": {"batch_size": 8, "start_epoch": 0, "num_epochs": 64, "eval_freq": 2},
        "optimizer_kwargs": {"opt": "sgd", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9, "clip_grad": None,
                             "sched": "polynomial", "epochs": 64, "min_lr": 1e-5, "poly_power": 0.9,
                             "poly_step_size": 1},
        "net_kwargs": model,
        "amp": False,
        "log_dir": "seg_large_mask_640/ade20k",
        "inference_kwargs": {"im_size": 640, "window_size": 640, "window_stride": 512},
    }


def pyyaml_subset():
    return {
        "mapping": {"inner": {"deeper": {"leaf": 1, "empty_map": {}, "empty_list": []}}, "after": "x"},
        "empty_map": {},
        "empty_list": [],
        "none_value": None,
        "indentless": [1, 2, 3],
        "nested_lists": [[1, 2], [3, [4, 5]], [], [[]], [{}]],
        "list_of_maps": [{"a": 1, "b": [1, 2], "c": {"d": None}}, {"e": "f"}],
        "tuple": (640, 640),
        "tuples": [(1, 2), (), ((3, 4), (5,)), {"t": (6, 7)}],
        "empty_tuple": (),
        "ints": [0, 1, -3, 42, 9223372036854775807, -9223372036854775808],
        "floats": [1e-5, 1.0, 0.1, -2.5, 1e20, 1.5e300, 2.5e-320, -0.0, 0.0, 123456789.0, 1e16,
                   math.inf, -math.inf, math.nan],
        "bools": [True, False],
        "quoted": ["true", "True", "yes", "no", "on", "off", "1", "-3", "1.0", "", "null", "~", "-", ": x",
                   "#c", "a #b", "'", "it's", '"q"', " lead", "trail ", "0x10", "012", "1_000", "2001-12-14",
                   "=", "<<", ".5", ".inf", "@x", "`y", "%p", "!t", "&a", "*b", "|", ">", "?", "? x", "- x",
                   "[a]", "{b}", ",c", "x\ny", "a: b", "a:b"],
        "plain_lookalikes": ["1e-05", "-.5", "09", "-x", "a,b", "x:y", "1.0e5", "+.5", "0o17", "http://a/b?c=d#e"],
        "long_plain": "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho",
        "long_single": "word word word word word word word word word word word word word word word word word ",
        "long_double": "tab\there " * 12 + "caf\u00e9",
        "escapes": "nl\nbell\x07 nbsp\u00a0 ls\u2028 ps\u2029 nel\x85 emoji\U0001F600 bs\\ dq\" esc\x1b end",
        "newlines": "one\n\ntwo\nthree",
        "list_long": ["a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q"],
        "deep": {"value": "x " * 45 + "y"},
        "k e y": "space in key",
        "quo'te": "quote in key",
        "1": "string key that looks like an int",
        "true": "string key that looks like a bool",
        "caf\u00e9": "non-ASCII key",
        "unicode": "\u4e2d\u6587 \u00fc",
    }


RANDOM_CHARS = (list("abcxyz019.-_ :#?'\"\\,[]{}&*!|>%@`~=<") +
                ["\n", "\t", "\r", "\x07", "\x1b", "\x85", "\xa0", "\xe9", "\u2028", "\u4e2d", "\U0001F600"])
RANDOM_WORDS = ["a", "ab", "word", "x:y", "#h", "it's", '"q"', "-", "1", "0.5", "true", "null", "~", "e\xe9"]


def random_string(rng, keylike=False):
    kind = rng.randrange(4)
    if kind == 0:       # characters
        s = "".join(rng.choice(RANDOM_CHARS) for _ in range(rng.randrange(0, 12 if keylike else 40)))
    elif kind == 1:     # words, long enough to wrap
        s = " ".join(rng.choice(RANDOM_WORDS) for _ in range(rng.randrange(1, 6 if keylike else 40)))
    elif kind == 2:     # words with runs of spaces and line breaks
        seps = [" ", "  ", "\n", "\n\n", " \n"]
        s = "".join(rng.choice(RANDOM_WORDS) + rng.choice(seps) for _ in range(rng.randrange(1, 25)))
    else:               # number-like text
        s = rng.choice(["1e-05", "-.5", "+1", "0b1", "0o7", "1_0", "0x1F", "1:20", "2024-01-02", ".NaN", "-.INF",
                        "Yes", "OFF", "NULL", "3.", "-0", "00", "1.0e+3", "1e3"])
    if keylike:
        for ch in ("\n", "\r", "\x85", "\u2028"):
            s = s.replace(ch, " ")
        s = s or "k"
    return s


def random_float(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice([0.0, -0.0, 1.0, 0.1, 1e-5, 1e16, 1e-320, 5e-324, 1.7976931348623157e308,
                           math.inf, -math.inf, math.nan])
    if kind == 1:
        return rng.uniform(-1e3, 1e3)
    while True:         # any finite double
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(v):
            return v


def random_value(rng, depth):
    kind = rng.randrange(10 if depth < 6 else 6)
    if kind == 0:
        return None if rng.random() < 0.5 else rng.random() < 0.5
    if kind == 1:
        return rng.choice([0, 1, -1, 2 ** 63 - 1, -2 ** 63, rng.randrange(-2 ** 63, 2 ** 63), rng.randrange(-999, 999)])
    if kind == 2:
        return random_float(rng)
    if kind in (3, 4, 5):
        return random_string(rng)
    n = rng.randrange(0, 5)
    if kind in (6, 7):
        keys = {random_string(rng, keylike=True) for _ in range(n)}
        return {k: random_value(rng, depth + 1) for k in sorted(keys)}
    items = [random_value(rng, depth + 1) for _ in range(n)]
    return tuple(items) if kind == 8 else items


def pyyaml_random():
    rng = random.Random(20240905)
    return {f"case{i:03d}": random_value(rng, 1) for i in range(150)}


def typed(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        return {"float": float.hex(v)}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, (list, tuple)):
        return {"list": [typed(x) for x in v]}
    if isinstance(v, dict):
        return {"map": [[k, typed(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def same(a, b):
    """Equality (dicts in any order) that treats NaN as equal to NaN, tells -0.0 from 0.0 and
    tuples from lists."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, obj in (("segmenter_variant_large", segmenter_variant_large()), ("pyyaml_subset", pyyaml_subset()),
                      ("pyyaml_random", pyyaml_random())):
        text = yaml.dump(obj)
        assert not any(line.lstrip("- ").startswith("&") or ": &" in line or "- &" in line
                       for line in text.splitlines()), f"{name}: the dump has anchors"
        loaded = yaml.load(text, Loader=yaml.FullLoader)
        assert same(loaded, obj), f"{name}: does not load back"
        with open(os.path.join(args.out, name + ".yml"), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        with open(os.path.join(args.out, name + ".expected.json"), "w", encoding="utf-8", newline="\n") as f:
            json.dump(typed(loaded), f, indent=1, ensure_ascii=True)
            f.write("\n")
        print(f"wrote {name}.yml ({len(text)} bytes) and {name}.expected.json")
    print(f"PyYAML {yaml.__version__}; every file loads back (FullLoader) to the dumped object")


if __name__ == "__main__":
    main()
