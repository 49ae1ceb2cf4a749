#!/usr/bin/env python3
"""Fixtures for the PyTorch checkpoint reader (weights-converter, dev.hourglass.convert.pth).

    /usr/bin/python3 tools/make_pth_fixtures.py [--out weights-converter/src/test/resources/pth]

Writes small `torch.save` checkpoints and, for each readable one, what the Java reader must
find in it:

    <case>.pth                     the checkpoint
    <case>.expected.safetensors    every F32/F16/BF16 tensor of its state dict, made contiguous
                                   in its own dtype (so F16/BF16 compare bit for bit)
    <case>.expected.json           {"state_dict_key": "model"|null, "top": zip folder,
                                    "tensors": [{"name", "dtype", "shape", "stride",
                                                 "storage_offset", "storage_key", "contiguous",
                                                 "parameter", "values" (non-float dtypes only)}],
                                    "metadata": {name: str}}

Readable cases (all written by torch 1.13's own `torch.save`, except `untyped_v3`):
  state_dict   a bare OrderedDict (zip folder "state_dict"): F32 tensor plus views of it
               (transposed, contiguous row at a storage offset, 2-D slice with an offset,
               every-other-column, and the last two share the storage of `f32`), an expanded
               tensor (stride 0), F16 + its transpose, BF16 + a permutation, a 0-d scalar,
               an empty [0, 3] tensor, an nn.Parameter, I64 position ids and a 0-d I64
               num_batches_tracked, F64, I32, U8 and BOOL tensors, and a `_metadata` attribute.
  segmenter    Segmenter's snapshot dict {'model', 'optimizer' (real SGD state: int keys),
               'n_cls': 150, 'lr_scheduler', 'loss_scaler': None, 'epoch': 3}
  deit         DeiT's {'model', 'optimizer' (real AdamW state), 'lr_scheduler', 'epoch',
               'model_ema', 'scaler', 'args': argparse.Namespace(...)}
  mmseg        {'meta': {...}, 'state_dict': OrderedDict}
  protocol4    a state dict saved with pickle_protocol=4 (FRAME, SHORT_BINUNICODE, MEMOIZE,
               STACK_GLOBAL)
  repacked     state_dict.pth re-zipped: folder "my-model.v2", ZIP64 records everywhere,
               storages DEFLATE-compressed, a "byteorder" entry ("little") as PyTorch 2 writes
               (expected values: state_dict's)
  untyped_v3   hand-assembled PyTorch-2 style pickle: torch.UntypedStorage storages read through
               torch._utils._rebuild_tensor_v3 with a dtype (torch.float16, torch.bfloat16),
               a 7-argument _rebuild_tensor_v2 (metadata dict) and
               _rebuild_parameter_with_state; torch 1.13 cannot load it, so its expected values
               are derived here from the storage bytes

Refused cases (no expected files; the Java tests check each error message):
  evil_os_system  data.pkl calls os.system("touch /tmp/hourglass-pth-fixture-was-executed")
  evil_eval       data.pkl calls builtins.eval("__import__('os').system('touch ...')")
  truncated       state_dict.pth cut after 60% of its bytes
  missing_storage segmenter.pth without its storage record archive/data/1
  short_storage   segmenter.pth with archive/data/1 cut to 5 bytes
  legacy          torch.save({'w': tensor, 'n': 3}, _use_new_zipfile_serialization=False) (its
                  storage key, which PyTorch takes from a memory address, renamed "storage0")
  big_endian      segmenter.pth plus an archive/byteorder entry saying "big"
  torchscript     torch.jit.save of a scripted nn.Linear(2, 2) (file torchscript.pt)

The malicious pickles are assembled byte by byte and written with zipfile; this script never
unpickles them (and nothing should: unpickling either would run the command). Deterministic:
fixed seeds, and every zip written here has fixed timestamps, so a rerun reproduces the files
byte for byte with the same torch version (the script re-executes itself with
PYTHONHASHSEED=0, as TorchScript's generated code depends on string hashing).
"""
import argparse
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from hourglass_ref.safetensors_io import save_file  # noqa: E402

DEFAULT_OUT = os.path.join(REPO, "weights-converter", "src", "test", "resources", "pth")
MARKER = "/tmp/hourglass-pth-fixture-was-executed"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

_DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
                torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
_FLOAT_NAMES = ("F32", "F16", "BF16")


# ---------------------------------------------------------------- expected values

def py_str(v):
    """How the Java reader renders a scalar in metadata(): Python's str()/repr()."""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def is_scalar(v):
    return v is None or isinstance(v, (str, bool, int, float))


def expected_metadata(root):
    """Top-level scalars of a checkpoint dict, plus one level into argparse.Namespace values."""
    meta = {}
    if not isinstance(root, dict):
        return meta
    for k, v in root.items():
        if not isinstance(k, str):
            continue
        if is_scalar(v):
            meta[k] = py_str(v)
        elif isinstance(v, argparse.Namespace):
            for ak, av in vars(v).items():
                if is_scalar(av):
                    meta[f"{k}.{ak}"] = py_str(av)
    return meta


def tensor_entry(name, t, storage_key=None):
    dtype = _DTYPE_NAMES[t.dtype]
    e = {"name": name, "dtype": dtype, "shape": list(t.shape), "stride": list(t.stride()),
         "storage_offset": t.storage_offset(), "storage_key": storage_key,
         "contiguous": t.is_contiguous(), "parameter": isinstance(t, torch.nn.Parameter)}
    if dtype not in _FLOAT_NAMES:
        e["values"] = t.detach().reshape(-1).tolist()
    return e


def storage_keys(sd):
    """The storage record key torch.save gives each tensor: storages numbered in first-seen order."""
    keys, out = {}, {}
    for name, t in sd.items():
        ptr = t.storage()._storage._cdata
        if ptr not in keys:
            keys[ptr] = str(len(keys))
        out[name] = keys[ptr]
    return out


def write_expected(out, case, sd, root, state_dict_key, top, keys=None):
    keys = keys or storage_keys(sd)
    floats = collections.OrderedDict((n, t.detach().contiguous()) for n, t in sd.items()
                                     if _DTYPE_NAMES[t.dtype] in _FLOAT_NAMES)
    save_file(floats, os.path.join(out, case + ".expected.safetensors"))
    doc = {"state_dict_key": state_dict_key, "top": top,
           "tensors": [tensor_entry(n, t, keys[n]) for n, t in sd.items()],
           "metadata": expected_metadata(root)}
    write_json(os.path.join(out, case + ".expected.json"), doc)


def write_json(path, doc):
    """JSON with one line per tensor entry."""
    lines = ["{"]
    for n, (k, v) in enumerate(doc.items()):
        comma = "," if n + 1 < len(doc) else ""
        if k == "tensors":
            items = [" " * 4 + json.dumps(t) for t in v]
            lines.append(f'  "{k}": [\n' + ",\n".join(items) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def check_roundtrip(path, root):
    """torch.load our own (benign) file back and compare: the fixture is what we think it is."""
    back = torch.load(path)

    def same(a, b):
        if isinstance(a, torch.Tensor):
            return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                    and a.stride() == b.stride() and torch.equal(a, b))
        if isinstance(a, dict):
            return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, argparse.Namespace):
            return vars(a) == vars(b)
        return a == b
    if not same(root, back):
        raise SystemExit(f"{path}: torch.load gives something else than what was saved")


# ---------------------------------------------------------------- checkpoints

def make_state_dict():
    g = torch.Generator().manual_seed(1234)
    sd = collections.OrderedDict()
    base = torch.randn(4, 6, generator=g)
    sd["f32"] = base
    sd["f32_t"] = base.t()                      # transposed view of the same storage
    sd["f32_row"] = base[2]                     # contiguous, storage offset 12
    sd["f32_slice"] = base[1:3, 2:5]            # offset 8, strides (6, 1): not contiguous
    sd["f32_every_other"] = base[:, ::2]        # strides (6, 2)
    sd["f32_expand"] = torch.randn(3, 1, generator=g).expand(3, 4)   # stride 0
    half = torch.randn(5, 3, generator=g).half()
    sd["f16"] = half
    sd["f16_t"] = half.t()
    bf = torch.randn(2, 3, 4, generator=g).bfloat16()
    sd["bf16"] = bf
    sd["bf16_perm"] = bf.permute(2, 0, 1)
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.empty(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(3, generator=g))
    sd["position_ids"] = torch.arange(7).unsqueeze(0)
    sd["bn.num_batches_tracked"] = torch.tensor(42)
    sd["f64"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    sd["i32"] = torch.tensor([-3, 0, 2 ** 31 - 1], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
    return sd


def vit_like_state_dict(seed, prefix, n_out):
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    sd[prefix + "cls_token"] = torch.randn(1, 1, 8, generator=g)
    sd[prefix + "pos_embed"] = torch.randn(1, 5, 8, generator=g)
    sd[prefix + "patch_embed.proj.weight"] = torch.randn(8, 3, 2, 2, generator=g)
    sd[prefix + "patch_embed.proj.bias"] = torch.randn(8, generator=g)
    sd[prefix + "blocks.0.norm1.weight"] = 1 + 0.1 * torch.randn(8, generator=g)
    sd[prefix + "blocks.0.attn.qkv.weight"] = torch.randn(24, 8, generator=g)
    sd[prefix + "head.weight"] = torch.randn(n_out, 8, generator=g)
    sd[prefix + "head.bias"] = torch.zeros(n_out)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def optimizer_state(sd, kind):
    params = [torch.nn.Parameter(t.clone()) for t in sd.values()]
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    else:
        opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.05)
    for p in params:
        p.grad = torch.full_like(p, 0.01)
    opt.step()
    return opt, opt.state_dict()


def make_segmenter():
    sd = vit_like_state_dict(7, "encoder.", 4)
    sd["decoder.head.weight"] = torch.randn(3, 8, generator=torch.Generator().manual_seed(8))
    opt, opt_sd = optimizer_state(sd, "sgd")
    sched = torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=10) \
        if hasattr(torch.optim.lr_scheduler, "PolynomialLR") else None
    root = {"model": sd, "optimizer": opt_sd, "n_cls": 150,
            "lr_scheduler": sched.state_dict() if sched else {"last_epoch": 3},
            "loss_scaler": None, "epoch": 3}
    return sd, root


def make_deit():
    sd = vit_like_state_dict(11, "", 10)
    opt, opt_sd = optimizer_state(sd, "adamw")
    ema = collections.OrderedDict((k, v * 0.5) for k, v in sd.items())
    args = argparse.Namespace(batch_size=128, epochs=300, model="deit_tiny_patch16_224",
                              input_size=224, drop=0.0, drop_path=0.1, model_ema=True,
                              model_ema_decay=0.99996, opt="adamw", opt_eps=1e-08, opt_betas=None,
                              momentum=0.9, weight_decay=0.05, sched="cosine", lr=0.0005,
                              lr_noise=None, warmup_lr=1e-06, min_lr=1e-05, smoothing=0.1,
                              mixup=0.8, repeated_aug=True, data_set="IMNET",
                              data_path="/datasets01/imagenet_full_size/061417/",
                              output_dir="", device="cuda", seed=0, dist_eval=False,
                              color_jitter=0.4, aa="rand-m9-mstd0.5-inc1", nb_classes=1000,
                              world_size=1, dist_url="env://", betas=[0.9, 0.999])
    root = {"model": sd, "optimizer": opt_sd,
            "lr_scheduler": {"base_epoch": 300, "t_initial": 300, "warmup_t": 5},
            "epoch": 299, "model_ema": ema,
            "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                       "growth_interval": 2000, "_growth_tracker": 17},
            "args": args}
    return sd, root, ema


def make_mmseg():
    sd = vit_like_state_dict(13, "backbone.", 2)
    root = {"meta": {"epoch": 1, "iter": 160000, "CLASSES": ("road", "sidewalk")},
            "state_dict": sd}
    return sd, root


# ---------------------------------------------------------------- zip and pickle helpers

def read_zip(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(path, entries, compress=None, force_zip64=False):
    """entries: [(name, bytes)]; compress(name) -> True deflates that entry."""
    saved = (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT)
    if force_zip64:
        # zipfile writes ZIP64 extra fields and the ZIP64 end records when sizes, offsets or
        # the entry count pass these limits; lowering them makes every record ZIP64.
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 1, 1
    try:
        with zipfile.ZipFile(path, "w", allowZip64=True, compresslevel=9) as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = (zipfile.ZIP_DEFLATED if compress and compress(name)
                                      else zipfile.ZIP_STORED)
                info.create_system = 0
                with z.open(info, "w", force_zip64=force_zip64) as dest:
                    dest.write(data)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


def s(text):
    """BINUNICODE."""
    enc = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(enc)) + enc


def s8(text):
    """SHORT_BINUNICODE (protocol 4)."""
    enc = text.encode("utf-8")
    return b"\x8c" + struct.pack("<B", len(enc)) + enc


def i(n):
    """BININT."""
    return b"J" + struct.pack("<i", n)


def glob(module, name):
    """GLOBAL."""
    return b"c" + f"{module}\n{name}\n".encode("ascii")


def stack_glob(module, name):
    """STACK_GLOBAL (protocol 4), memoized like Python's pickler does."""
    return s8(module) + s8(name) + b"\x93\x94"


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def evil_pickle(module, name, argument):
    """{'model': OrderedDict(), 'hook': module.name(argument)}: calls the global while unpickling."""
    return (b"\x80\x02}q\x00(" + s("model") + glob("collections", "OrderedDict") + b")R"
            + s("hook") + glob(module, name) + s(argument) + b"\x85R" + b"u.")


def untyped_v3():
    """Hand-assembled pickle in the style of PyTorch 2 (protocol 4 opcodes); see the module doc."""
    g = torch.Generator().manual_seed(21)
    halves = torch.randn(8, generator=g).half()
    bf = torch.randn(4, generator=g).bfloat16()
    floats = torch.randn(3, generator=g)
    records = {"0": halves.numpy().tobytes(),
               "1": bf.view(torch.int16).numpy().tobytes(),
               "2": floats.numpy().tobytes()}

    def persid(storage_global, key, numel):
        return tup(s8("storage"), storage_global, s8(key), s8("cpu"), i(numel)) + b"Q"

    od = stack_glob("collections", "OrderedDict") + b")R"
    v3 = stack_glob("torch._utils", "_rebuild_tensor_v3")
    v2 = stack_glob("torch._utils", "_rebuild_tensor_v2")
    body = (b"\x80\x04" + od + b"("
            # 'h': float16 [2, 3] from byte storage "0" (16 bytes), element offset 1
            + s8("h") + v3 + b"(" + persid(stack_glob("torch", "UntypedStorage"), "0", 16)
            + i(1) + i(2) + i(3) + b"\x86" + i(3) + i(1) + b"\x86" + b"\x89" + od
            + stack_glob("torch", "float16") + b"tR"
            # 'b': bfloat16 [2, 2] strides (1, 2) from byte storage "1" (8 bytes): a transpose
            + s8("b") + v3 + b"(" + persid(glob("torch.storage", "UntypedStorage"), "1", 8)
            + i(0) + i(2) + i(2) + b"\x86" + i(1) + i(2) + b"\x86" + b"\x89" + od
            + glob("torch", "bfloat16") + b"tR"
            # 'f': 7-argument _rebuild_tensor_v2 (PyTorch 2's metadata dict)
            + s8("f") + v2 + b"(" + persid(glob("torch", "FloatStorage"), "2", 3)
            + i(0) + i(3) + b"\x85" + i(1) + b"\x85" + b"\x89" + od + b"}tR"
            # 'p': the same storage as a parameter with state
            + s8("p") + stack_glob("torch._utils", "_rebuild_parameter_with_state")
            + b"(" + v2 + b"(" + persid(glob("torch", "FloatStorage"), "2", 3)
            + i(1) + i(2) + b"\x85" + i(1) + b"\x85" + b"\x89" + od + b"tR"
            + b"\x88" + od + b"}tR"
            + b"u.")
    entries = [("archive/data.pkl", body), ("archive/byteorder", b"little"),
               ("archive/data/0", records["0"]), ("archive/data/1", records["1"]),
               ("archive/data/2", records["2"]), ("archive/version", b"3\n")]
    h = halves[1:7].reshape(2, 3)
    b = bf.reshape(2, 2).t()
    p = torch.nn.Parameter(floats[1:3].clone())
    sd = collections.OrderedDict([("h", h), ("b", b), ("f", floats), ("p", p)])
    entries_doc = [tensor_entry("h", h, "0"), tensor_entry("b", b, "1"),
                   tensor_entry("f", floats, "2"), tensor_entry("p", p, "2")]
    entries_doc[0].update(stride=[3, 1], storage_offset=1)
    entries_doc[1].update(stride=[1, 2], storage_offset=0, contiguous=False)
    entries_doc[3].update(storage_offset=1)
    return entries, sd, entries_doc


# ---------------------------------------------------------------- main

def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript's generated code lists constants in set order: fix string hashing.
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(os.environ, PYTHONHASHSEED="0"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)

    def p(name):
        return os.path.join(out, name)

    # state_dict: saved through a path, so the zip's folder is the file's stem ("state_dict").
    sd = make_state_dict()
    torch.save(sd, p("state_dict.pth"))
    check_roundtrip(p("state_dict.pth"), sd)
    write_expected(out, "state_dict", sd, sd, None, "state_dict")

    # The others go through a buffer, so their folder is "archive".
    def save(name, root):
        buf = io.BytesIO()
        torch.save(root, buf)
        with open(p(name), "wb") as f:
            f.write(buf.getvalue())
        check_roundtrip(p(name), root)
        return buf.getvalue()

    seg_sd, seg = make_segmenter()
    seg_bytes = save("segmenter.pth", seg)
    write_expected(out, "segmenter", seg_sd, seg, "model", "archive")

    deit_sd, deit, _ = make_deit()
    save("deit.pth", deit)
    write_expected(out, "deit", deit_sd, deit, "model", "archive")

    mm_sd, mm = make_mmseg()
    save("mmseg.pth", mm)
    write_expected(out, "mmseg", mm_sd, mm, "state_dict", "archive")

    p4_sd = vit_like_state_dict(17, "", 3)
    buf = io.BytesIO()
    torch.save(p4_sd, buf, pickle_protocol=4)
    with open(p("protocol4.pth"), "wb") as f:
        f.write(buf.getvalue())
    check_roundtrip(p("protocol4.pth"), p4_sd)
    write_expected(out, "protocol4", p4_sd, p4_sd, None, "archive")

    # repacked: same content as state_dict.pth in another container layout.
    with open(p("state_dict.pth"), "rb") as f:
        sd_bytes = f.read()
    entries = [("my-model.v2/" + n.split("/", 1)[1], d) for n, d in read_zip(sd_bytes)]
    entries.insert(1, ("my-model.v2/byteorder", b"little"))
    write_zip(p("repacked.pth"), entries, compress=lambda n: "/data/" in n, force_zip64=True)
    check_roundtrip(p("repacked.pth"), sd)

    v3_entries, v3_sd, v3_doc = untyped_v3()
    write_zip(p("untyped_v3.pth"), v3_entries)
    floats = collections.OrderedDict((n, t.detach().contiguous()) for n, t in v3_sd.items())
    save_file(floats, p("untyped_v3.expected.safetensors"))
    write_json(p("untyped_v3.expected.json"),
               {"state_dict_key": None, "top": "archive", "tensors": v3_doc, "metadata": {}})

    # ---- refused inputs (never unpickled here)
    version = [("archive/version", b"3\n")]
    write_zip(p("evil_os_system.pth"),
              [("archive/data.pkl", evil_pickle("os", "system", "touch " + MARKER))] + version)
    write_zip(p("evil_eval.pth"),
              [("archive/data.pkl", evil_pickle("builtins", "eval",
                                                f"__import__('os').system('touch {MARKER}')"))]
              + version)

    with open(p("truncated.pth"), "wb") as f:
        f.write(sd_bytes[: len(sd_bytes) * 6 // 10])

    seg_entries = read_zip(seg_bytes)
    write_zip(p("missing_storage.pth"), [(n, d) for n, d in seg_entries if n != "archive/data/1"])
    write_zip(p("short_storage.pth"),
              [(n, d[:5] if n == "archive/data/1" else d) for n, d in seg_entries])
    write_zip(p("big_endian.pth"), seg_entries[:1] + [("archive/byteorder", b"big")] + seg_entries[1:])

    # One storage only: the legacy format lists storages sorted by key, i.e. by address.
    legacy_sd = collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), n=3)
    buf = io.BytesIO()
    torch.save(legacy_sd, buf, _use_new_zipfile_serialization=False)
    legacy = buf.getvalue()
    key = s(str(legacy_sd["w"].storage()._storage._cdata))
    assert legacy.count(key) == 2, "expected the key in the object and in the key list"
    legacy = legacy.replace(key, s("storage0"))
    with open(p("legacy.pth"), "wb") as f:
        f.write(legacy)

    torch.manual_seed(5)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    with open(p("torchscript.pt"), "wb") as f:
        f.write(buf.getvalue())

    total = sum(os.path.getsize(p(n)) for n in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files ({total} bytes) to {out}")


if __name__ == "__main__":
    main()
