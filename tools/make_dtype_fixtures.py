#!/usr/bin/env python3
"""Golden bit patterns for float32 -> float16 / bfloat16 rounding, as PyTorch rounds on CPU.

    /usr/bin/python3 tools/make_dtype_fixtures.py [--out engine/src/test/resources/golden/dtype]
    /usr/bin/python3 tools/make_dtype_fixtures.py --exhaustive    # also check all 2^32 floats (~12 min)

Writes to <out>/ (all raw little-endian, no header; numpy reads them with np.fromfile):
    input_f32.bin      N float32 bit patterns ('<u4' or '<f4'), the inputs
    expected_f16.bin   N uint16 ('<u2'): torch.from_numpy(input).to(torch.float16), bits
    expected_bf16.bin  N uint16 ('<u2'): the same with torch.bfloat16
    cases.json         N, the torch version, the groups of inputs (name, first index, count,
                       what they test) and the NaN behaviour found (see below)

The inputs: signed zeros and infinities, NaNs of both signs with quiet/signalling payloads,
the largest finite float16/bfloat16 values and what overflows them, values at, just below and
just above the half-way points between neighbouring float16 and bfloat16 values (even and odd
neighbours, normal and subnormal), every float16 subnormal and the smallest one's half,
float32 denormals (1e-40, ...), random values across many binades and random bit patterns.

NaN: PyTorch does not treat NaN alike in every kernel.  float16 is: sign kept, payload
canonical (0x7E00 | sign), from c10::Half everywhere.  bfloat16 is not: c10::BFloat16's
round_to_nearest_even gives 0x7FC0 for every NaN (sign dropped), and so do the scalar CPU
copy loop, tensor construction and 0-d tensors; but the AVX2/AVX-512 vectorised copy kernel
(contiguous tensors on such CPUs, PyTorch 1.13) writes 0xFFFF for every NaN.  The expected
files hold c10::BFloat16's 0x7FC0 (computed through a strided input, which takes the scalar
loop whatever the CPU); cases.json records what the vectorised kernel gave on the machine
that generated the files.  Apart from NaN, both paths agree bit for bit (checked here).

The script checks PyTorch against independent numpy statements of both roundings (numpy's
own float16 cast for float16; bfloat16 as 'keep the upper 16 bits, add one if the dropped
16 bits exceed 0x8000 or equal it with an odd upper half'), on the fixture inputs and, with
--exhaustive, on every float32 bit pattern.  Deterministic: a rerun reproduces every byte
(same torch build; cases.json also records the CPU capability and the vectorised NaN seen).
"""
import argparse
import json
import os

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "dtype")
SEED = 20240901


def f32(bits):
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def bits32(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def torch_bits(x, dtype, scalar_loop):
    """PyTorch's conversion of float32 array x to dtype, as uint16 bit patterns.
    scalar_loop: give the kernel a strided (non-contiguous) input, so that TensorIterator
    runs its element-by-element loop (c10::Half / c10::BFloat16 conversions) rather than
    the vectorised one."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if scalar_loop:
        t = torch.stack([t, torch.zeros_like(t)], dim=1)[:, 0]
        assert not t.is_contiguous()
    return t.to(dtype).contiguous().view(torch.int16).numpy().view(np.uint16).copy()


def ref_f16(x):
    """numpy's float16 cast (round to nearest even, overflow to inf) with PyTorch's NaN:
    sign kept, payload 0x200 (c10 fp16_ieee_from_fp32_value)."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        h = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    sign = ((bits32(x) >> 16) & 0x8000).astype(np.uint16)
    return np.where(nan, sign | np.uint16(0x7E00), h).astype(np.uint16)


def ref_bf16(x):
    """Round to nearest even on the upper 16 bits, written without c10's bias trick."""
    b = bits32(x).astype(np.uint64)
    hi = b >> 16
    lo = b & 0xFFFF
    up = (lo > 0x8000) | ((lo == 0x8000) & ((hi & 1) == 1))
    r = (hi + up).astype(np.uint16)
    return np.where(np.isnan(np.asarray(x, dtype=np.float32)), np.uint16(0x7FC0), r).astype(np.uint16)


def f16_values(h_bits):
    return np.asarray(h_bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def around(values):
    """Each float32 value with its float32 neighbours: nextDown(v), v, nextUp(v)."""
    v = np.asarray(values, dtype=np.float32)
    down = np.nextafter(v, np.float32(-np.inf))
    up = np.nextafter(v, np.float32(np.inf))
    return np.stack([down, v, up], axis=1).reshape(-1)


def build_inputs(rng):
    groups = []

    def add(name, what, values):
        groups.append((name, what, np.asarray(values, dtype=np.float32)))

    add("zeros_infinities", "+0, -0, +inf, -inf",
        f32([0x00000000, 0x80000000, 0x7F800000, 0xFF800000]))
    add("nans", "NaNs of both signs: quiet, signalling, payloads in high and low mantissa bits",
        f32([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FA00000, 0xFFA00000,
             0x7FC12345, 0xFFD00001, 0x7FFFFFFF, 0xFFFFFFFF, 0x7F802000, 0xFF802000,
             0x7FBFE000, 0x7F80E000, 0xFF801000, 0x7F8FFFFF, 0x7FC0FFFF, 0xFFBFFFFF]))
    add("f16_overflow", "largest finite float16 (65504) and the edge to infinity: 65520 is the half-way"
        " point to 2^16 and rounds to even, i.e. to inf; 65519.99 stays 65504",
        np.concatenate([around([65504, -65504, 65520, -65520, 65536, -65536, 65519.99, 65488, 65512]),
                        f32([0x477FEFFF, 0x477FF000, 0x477FF001, 0xC77FEFFF, 0xC77FF000, 0xC77FF001]),
                        np.array([1e5, -1e5, 3.0e38, -3.0e38, np.finfo(np.float32).max,
                                  -np.finfo(np.float32).max], dtype=np.float32)]))
    add("bf16_overflow", "largest finite bfloat16 (0x7F7F) and the edge to infinity (0x7F7F8000 is a tie"
        " with an odd neighbour, so it rounds to inf)",
        f32([0x7F7F0000, 0x7F7F7FFF, 0x7F7F8000, 0x7F7F8001, 0x7F7FFFFF,
             0xFF7F0000, 0xFF7F7FFF, 0xFF7F8000, 0xFF7F8001, 0xFF7FFFFF,
             0x7F7E8000, 0x7F7E8001, 0xFF7E8000]))

    # float16 half-way points.  The midpoint of two neighbouring halves needs 12 significant
    # bits, so it is exact in float32; around() adds its float32 neighbours.
    h_normal = np.concatenate([np.arange(0x0400, 0x7BFF, 97, dtype=np.uint16),     # odd and even
                               np.array([0x3C00, 0x3BFF, 0x3C01, 0x7BFE, 0x0400, 0x0401, 0x07FF,
                                         0x4000, 0x47FF, 0x5800], dtype=np.uint16)])
    h_sub = np.concatenate([np.arange(0x0000, 0x03FF, 13, dtype=np.uint16),
                            np.array([0x0000, 0x0001, 0x0002, 0x0003, 0x03FE, 0x03FF], dtype=np.uint16)])
    for name, hs in (("f16_halfway_normal", h_normal), ("f16_halfway_subnormal", h_sub)):
        lo = f16_values(hs).astype(np.float64)
        hi = f16_values(hs + 1).astype(np.float64)
        mid = ((lo + hi) / 2).astype(np.float32)
        assert np.all(mid.astype(np.float64) == (lo + hi) / 2)
        vals = around(mid)
        add(name, "float16 " + name.split("_")[-1] + " pairs (h, h+1): the midpoint and its float32"
            " neighbours, both signs, even and odd h", np.concatenate([vals, -vals]))
    sub = f16_values(np.arange(0, 0x0400, dtype=np.uint16))
    add("f16_subnormals", "every float16 subnormal (exact), both signs", np.concatenate([sub, -sub]))
    tiny = np.float32(2.0 ** -24)
    add("f16_smallest_subnormal", "around 2^-24 (smallest float16 subnormal), 2^-25 (its half: a tie that"
        " rounds to 0), 1.5 * 2^-24 (a tie that rounds to 2^-23), the subnormal/normal boundary 2^-14",
        np.concatenate([around([tiny, tiny / 2, tiny * np.float32(1.5), tiny / 4, 2.0 ** -14,
                                2.0 ** -14 - 2.0 ** -25]),
                        -around([tiny, tiny / 2, tiny * np.float32(1.5)])]))

    # bfloat16 half-way points: bf16 value b (upper half), lower half 0x8000 = the tie,
    # 0x7FFF / 0x8001 its float32 neighbours; also 0x0000 (exact) and 0xFFFF.
    b_hi = np.concatenate([np.arange(0x0000, 0x7F80, 251, dtype=np.uint32),
                           np.array([0x3F80, 0x3F81, 0x0001, 0x0080, 0x007F, 0x7F7E], dtype=np.uint32)])
    b_hi = np.concatenate([b_hi, b_hi | 0x8000])
    lows = np.array([0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF], dtype=np.uint32)
    add("bf16_halfway", "bfloat16 values b (even and odd, both signs) with the dropped 16 bits 0x0000, 0x7FFF,"
        " 0x8000 (tie), 0x8001, 0xFFFF", f32(((b_hi[:, None] << 16) | lows[None, :]).reshape(-1)))
    add("f32_denormals", "float32 denormals: 1e-40, the smallest and largest denormal, bfloat16 ties among"
        " them (0x8000 rounds to 0, 0x18000 to 0x0002)",
        np.concatenate([np.array([1e-40, -1e-40, 1e-45, -1e-45, 5e-39, 1.1754942e-38], dtype=np.float32),
                        f32([0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00008000, 0x00018000,
                             0x00007FFF, 0x00008001, 0x80008000, 0x00400000])]))

    n = 1500
    sign = rng.choice([-1.0, 1.0], size=n)
    mant = 1.0 + rng.random(n)
    exp = rng.integers(-30, 20, size=n)                     # float16's range and beyond
    add("random_f16_range", "random values in binades 2^-30 .. 2^19 (float16 subnormals to overflow)",
        (sign * mant * np.exp2(exp)).astype(np.float32))
    exp = rng.integers(-149, 128, size=n)
    add("random_f32_range", "random values across the whole float32 range",
        np.clip(sign * mant * np.exp2(exp.astype(np.float64)), -3.4e38, 3.4e38).astype(np.float32))
    add("random_normal", "standard normal samples * 10^k, k in -8..5 (weights-like values)",
        (rng.standard_normal(n) * 10.0 ** rng.integers(-8, 6, size=n)).astype(np.float32))
    add("random_bits", "uniformly random 32-bit patterns (includes some NaNs)",
        f32(rng.integers(0, 2 ** 32, size=2000, dtype=np.uint64).astype(np.uint32)))
    return groups


def check_all_floats():
    """PyTorch (both loops) against the numpy statements for every float32 bit pattern."""
    chunk = 1 << 24
    for start in range(0, 1 << 32, chunk):
        x = f32(np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32))
        nan = np.isnan(x)
        for dtype, ref in ((torch.float16, ref_f16), (torch.bfloat16, ref_bf16)):
            want = ref(x)
            for scalar in (True, False):
                got = torch_bits(x, dtype, scalar)
                bad = (got != want) & ~(nan & (dtype == torch.bfloat16) & (not scalar))
                if bad.any():
                    i = int(np.argmax(bad))
                    raise SystemExit(f"{dtype} scalar_loop={scalar}: input 0x{int(bits32(x[i])):08X} gave "
                                     f"0x{int(got[i]):04X}, reference 0x{int(want[i]):04X}")
        if start % (1 << 28) == 0:
            print(f"     exhaustive: 0x{start:08X} ...", flush=True)
    print("ok   every float32 bit pattern: PyTorch == numpy reference (float16 exactly; bfloat16 exactly apart"
          " from the vectorised kernel's NaN)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--exhaustive", action="store_true", help="also compare all 2^32 float32 patterns")
    args = ap.parse_args()
    torch.set_num_threads(1)

    groups = build_inputs(np.random.default_rng(SEED))
    x = np.concatenate([g[2] for g in groups]).astype(np.float32)
    nan = np.isnan(x)

    f16 = torch_bits(x, torch.float16, scalar_loop=True)
    bf16 = torch_bits(x, torch.bfloat16, scalar_loop=True)
    f16_vec = torch_bits(x, torch.float16, scalar_loop=False)
    bf16_vec = torch_bits(x, torch.bfloat16, scalar_loop=False)
    assert np.array_equal(f16, f16_vec), "float16: scalar and vectorised loops differ"
    assert np.array_equal(bf16[~nan], bf16_vec[~nan]), "bfloat16: scalar and vectorised loops differ on non-NaN"
    assert np.array_equal(f16, ref_f16(x)), "float16: PyTorch differs from the numpy reference"
    assert np.array_equal(bf16, ref_bf16(x)), "bfloat16: PyTorch differs from the numpy reference"
    # c10::BFloat16 through the Python scalar path too (tensor construction, 0-d tensors).
    for v in x[nan][:4]:
        assert int(torch.tensor(float(v)).to(torch.bfloat16).view(torch.int16).item()) & 0xFFFF == 0x7FC0
    print(f"ok   {len(x)} inputs: scalar == vectorised loop (float16 all, bfloat16 non-NaN), == numpy references")
    if args.exhaustive:
        check_all_floats()

    os.makedirs(args.out, exist_ok=True)
    x.view(np.uint32).astype("<u4").tofile(os.path.join(args.out, "input_f32.bin"))
    f16.astype("<u2").tofile(os.path.join(args.out, "expected_f16.bin"))
    bf16.astype("<u2").tofile(os.path.join(args.out, "expected_bf16.bin"))

    first = 0
    listed = []
    for name, what, values in groups:
        listed.append({"name": name, "first": first, "count": int(len(values)), "what": what})
        first += len(values)
    vec_nan = sorted({f"0x{int(b):04X}" for b in bf16_vec[nan]})
    cases = {
        "generator": "tools/make_dtype_fixtures.py",
        "torch_version": torch.__version__,
        "count": int(len(x)),
        "files": {
            "input_f32.bin": "count float32 values, raw little-endian bit patterns",
            "expected_f16.bin": "count uint16 little-endian: input.to(torch.float16)",
            "expected_bf16.bin": "count uint16 little-endian: input.to(torch.bfloat16), c10::BFloat16 (scalar loop)",
        },
        "nan": {
            "float16": "sign | 0x7E00 for every NaN (payload not kept), in every kernel",
            "bfloat16": "0x7FC0 for every NaN, either sign (c10::BFloat16::round_to_nearest_even; the scalar loop,"
                        " tensor construction, 0-d tensors)",
            "bfloat16_vectorised_kernel_here": vec_nan,
            "bfloat16_vectorised_note": "PyTorch 1.13's AVX2/AVX-512 copy kernel for contiguous tensors writes 0xFFFF"
                                        " for every NaN; with ATEN_CPU_CAPABILITY=default it writes 0x7FC0",
            "cpu_capability": torch.__config__.show().split("CPU capability usage:")[-1].split("\n")[0].strip(),
        },
        "groups": listed,
    }
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"wrote {len(x)} cases to {args.out}")


if __name__ == "__main__":
    main()
