"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

File layout (all little-endian):
    u64  N                     length of the JSON header in bytes
    N    bytes UTF-8 JSON      {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
    ...  tensor data           offsets are relative to the first byte after the header

The writer pads the header with trailing spaces so that the data section starts at a
multiple of 8 bytes from the start of the file, and lays the tensors out contiguously in
header order with no holes.  The reader checks those same invariants (contiguous, no holes,
no overlap, sizes consistent with dtype and shape) so that a malformed fixture fails loudly.

Supported dtypes: F32, F16, BF16.  BF16 has no numpy dtype, so it is read back either as a
torch.bfloat16 tensor or widened exactly to float32.
"""
import json
import struct

import numpy as np
import torch

# Itemsize per safetensors dtype string.
_ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}

_TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def _tensor_bytes(t, dtype):
    """Little-endian bytes of `t` converted (round-to-nearest-even) to safetensors `dtype`."""
    t = t.detach().to("cpu").contiguous()
    if dtype == "F32":
        return t.to(torch.float32).numpy().astype("<f4", copy=False).tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2", copy=False).tobytes()
    if dtype == "BF16":
        # numpy has no bfloat16: reinterpret the 16-bit patterns as int16 to get at the bytes.
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2", copy=False).tobytes()
    raise ValueError(f"unsupported dtype {dtype!r}")


def save_file(tensors, path, dtype=None, metadata=None):
    """Write `tensors` (an ordered mapping name -> torch.Tensor or np.ndarray) to `path`.

    dtype: None keeps each tensor's own float dtype (float32/float16/bfloat16); "F32", "F16"
           or "BF16" converts every tensor to that dtype.
    metadata: optional {str: str}, stored under "__metadata__".
    Returns the number of bytes written.
    """
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("__metadata__ must map str to str")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        if isinstance(t, np.ndarray):
            t = torch.from_numpy(np.ascontiguousarray(t))
        st_dtype = dtype or _TORCH_TO_ST.get(t.dtype)
        if st_dtype is None:
            raise ValueError(f"{name}: unsupported tensor dtype {t.dtype}")
        data = _tensor_bytes(t, st_dtype)
        assert len(data) == t.numel() * _ITEMSIZE[st_dtype]
        header[name] = {"dtype": st_dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)

    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad so that 8 (length prefix) + header length is a multiple of 8.
    hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)
    return 8 + len(hbytes) + offset


def read_header(path):
    """Return (header dict without __metadata__, metadata dict, data start offset in file)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        raw = f.read(n)
    if len(raw) != n:
        raise ValueError("truncated header")
    header = json.loads(raw.decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    return header, metadata, 8 + n


def load_file(path, as_torch=True):
    """Read a safetensors file.

    Returns (tensors, metadata) where tensors is a dict name -> tensor in file order.
    as_torch=True gives torch tensors in their stored dtype (BF16 -> torch.bfloat16);
    as_torch=False gives numpy arrays, with BF16 widened exactly to float32.
    """
    header, metadata, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    # Validate layout: sorted by begin offset, the entries must tile [0, len(data)) exactly.
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    expect = 0
    for name, info in entries:
        b, e = info["data_offsets"]
        if b != expect:
            raise ValueError(f"{name}: hole or overlap at offset {expect} (begins at {b})")
        size = int(np.prod(info["shape"], dtype=np.int64)) * _ITEMSIZE[info["dtype"]]
        if e - b != size:
            raise ValueError(f"{name}: {e - b} bytes but shape {info['shape']} x {info['dtype']} needs {size}")
        expect = e
    if expect != len(data):
        raise ValueError(f"data section has {len(data)} bytes, tensors cover {expect}")

    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        shape = info["shape"]
        buf = data[b:e]
        if info["dtype"] == "F32":
            arr = np.frombuffer(buf, dtype="<f4").reshape(shape).astype(np.float32)
            out[name] = torch.from_numpy(arr) if as_torch else arr
        elif info["dtype"] == "F16":
            arr = np.frombuffer(buf, dtype="<f2").reshape(shape).astype(np.float16)
            out[name] = torch.from_numpy(arr) if as_torch else arr
        elif info["dtype"] == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").reshape(shape).astype(np.uint32)
            # bf16 is the top half of an IEEE float32, so widening is a 16-bit shift.
            f32 = (bits << 16).view(np.float32)
            out[name] = torch.from_numpy(f32).to(torch.bfloat16) if as_torch else f32
        else:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
    return out, metadata
