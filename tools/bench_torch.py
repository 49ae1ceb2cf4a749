#!/usr/bin/env python3
"""Time PyTorch fp32 inference of the benchmark ViT-B/16 at batch 1 (the comparison point
for the Java engine).

    /usr/bin/python3 tools/bench_torch.py [--models-dir bench-out/models] [--threads 1]
                                          [--warmup 3] [--iterations 20]
                                          [--openblas-threads same|keep|K]
                                          [--omp-wait-policy passive|default|active]
    /usr/bin/python3 tools/bench_torch.py --check-threads     # does the thread setting bite?

Loads OUT/vit_base_patch16_224/model.safetensors written by tools/export_onnx.py (or, if it
is missing, rebuilds the same seeded model) and prints one JSON object:
    {"threads", "median_ms", "min_ms", "max_ms", "p10_ms", "p90_ms", "iterations", "warmup",
     "torch_version", "blas": {...}, "max_abs_vs_reference", ...}
"blas" says which BLAS the process actually mapped (from /proc/self/maps), how OpenBLAS
was built (openblas_get_config / openblas_get_parallel) and its thread count.

Threads: torch.set_num_threads(N) sizes PyTorch's OpenMP pool (used by oneDNN convolution and
ATen's element-wise/softmax/LayerNorm kernels), but Debian's torch does its fp32 matmuls in
the system libblas.so.3, which is OpenBLAS; torch does not forward the thread count to
OpenBLAS.  So this script also calls openblas_set_num_threads(N) on the loaded library
(--openblas-threads keep leaves OpenBLAS at its default, which is every core unless
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise).  --check-threads measures CPU time
over wall time for a ViT-B-sized GEMM with and without that pin to show the difference.
The JSON records the 1-minute load average: on a shared machine, a load above the core
count means the timings are contaminated by other work.
"""
import argparse
import ctypes
import json
import os
import re
import resource
import sys
import time

# Thread pools must be configured before torch runs anything parallel, so parse first.
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--models-dir", default=None, help="export_onnx.py output (default bench-out/models)")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--openblas-threads", default="same",
                help="'same' (= --threads, default), 'keep' (leave OpenBLAS alone) or a number")
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--iterations", type=int, default=20)
ap.add_argument("--seed", type=int, default=None, help="rebuild with this seed if no safetensors")
ap.add_argument("--check-threads", action="store_true",
                help="measure whether torch/OpenBLAS honour the thread settings, then exit")
ap.add_argument("--omp-wait-policy", choices=["default", "passive", "active"], default="passive",
                help="OMP_WAIT_POLICY for libgomp (set before torch loads). With both libgomp and "
                     "pthread-OpenBLAS pools on the same cores, spinning OpenMP workers starve the "
                     "OpenBLAS threads (measured 2-4x slower at 2 threads), so the default is "
                     "'passive'; 'default' leaves the environment as it is (stock behaviour)")
args = ap.parse_args()
if args.omp_wait_policy != "default":
    os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_interop_threads(1)
torch.set_num_threads(args.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hourglass_ref import safetensors_io as st  # noqa: E402
from export_onnx import ARCH, VIT_B, DEFAULT_SEED, build_model, reference_input  # noqa: E402
from hourglass_ref.vit import VisionTransformer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mapped_libraries(substr):
    """Paths of the shared objects this process has mapped whose name contains `substr`."""
    found = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and substr in os.path.basename(parts[5]).lower() and parts[5] not in found:
                found.append(parts[5])
    return found


def openblas_handle():
    """ctypes handle on the OpenBLAS the process already loaded (dlopen returns the same
    instance), or None if the BLAS in use is not OpenBLAS."""
    for path in mapped_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_num_threads.restype = ctypes.c_int
            lib.openblas_get_parallel.restype = ctypes.c_int
            return lib, path
        except (OSError, AttributeError):
            continue
    return None, None


def blas_info(lib, path):
    # Make torch touch BLAS so the library is certainly mapped.
    torch.ones(64, 64) @ torch.ones(64, 64)
    build = dict(re.findall(r"\b(BLAS_INFO|LAPACK_INFO|USE_MKL|USE_MKLDNN|USE_OPENMP)=(\w+)",
                            torch.__config__.show()))
    info = {"torch_build": build,
            "loaded": mapped_libraries("blas") + mapped_libraries("lapack"),
            "openmp_runtime": mapped_libraries("gomp") + mapped_libraries("iomp")}
    if lib is not None:
        par = lib.openblas_get_parallel()
        info["openblas"] = {
            "path": path,
            "config": lib.openblas_get_config().decode(),
            "parallel": {0: "sequential", 1: "pthread", 2: "openmp"}.get(par, str(par)),
            "num_threads": lib.openblas_get_num_threads(),
        }
        variant = os.path.basename(os.path.dirname(path))  # Debian: openblas-pthread / openblas-openmp
        info["summary"] = f"OpenBLAS ({variant}, {info['openblas']['parallel']} threading)"
    else:
        info["summary"] = "not OpenBLAS: " + ", ".join(info["loaded"])
    return info


def parallelism(fn, seconds=0.6):
    """Average busy cores while running fn repeatedly: process CPU time / wall time."""
    fn()
    r0, t0, n = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return round(cpu / (t1 - t0), 2), round((t1 - t0) / n * 1e3, 2)


def check_threads(lib):
    """For each thread count: cores busy and ms/call for an fc1-sized GEMM (197x768 @ 768x3072,
    goes to BLAS) and a LayerNorm+GELU (ATen/OpenMP), with only torch.set_num_threads and
    with OpenBLAS pinned too."""
    a, w = torch.randn(197, 768), torch.randn(3072, 768)
    big = torch.randn(8, 197, 3072)
    default_blas = lib.openblas_get_num_threads() if lib else None
    rows = []
    for n in range(1, (os.cpu_count() or 1) + 1):
        torch.set_num_threads(n)
        if lib:
            lib.openblas_set_num_threads(default_blas)
        gemm_torch_only = parallelism(lambda: torch.nn.functional.linear(a, w))
        eltwise = parallelism(lambda: torch.nn.functional.gelu(torch.nn.functional.layer_norm(big, (3072,))))
        row = {"threads": n, "torch.get_num_threads": torch.get_num_threads(),
               "openblas_threads_untouched": default_blas,
               "gemm_cores_busy_torch_setting_only": gemm_torch_only[0],
               "gemm_ms_torch_setting_only": gemm_torch_only[1],
               "layernorm_gelu_cores_busy": eltwise[0], "layernorm_gelu_ms": eltwise[1]}
        if lib:
            lib.openblas_set_num_threads(n)
            pinned = parallelism(lambda: torch.nn.functional.linear(a, w))
            row.update({"openblas_threads_pinned": lib.openblas_get_num_threads(),
                        "gemm_cores_busy_openblas_pinned": pinned[0], "gemm_ms_openblas_pinned": pinned[1]})
        rows.append(row)
    return rows


def load_model(models_dir):
    path = os.path.join(models_dir, ARCH, "model.safetensors")
    if os.path.exists(path) and args.seed is None:
        tensors, meta = st.load_file(path)
        model = VisionTransformer(**VIT_B).eval()
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        return model, path
    seed = DEFAULT_SEED if args.seed is None else args.seed
    return build_model(seed), f"rebuilt with seed {seed}"


def main():
    lib, lib_path = openblas_handle()
    if args.check_threads:
        print(json.dumps({"torch_version": torch.__version__, "blas": blas_info(lib, lib_path),
                          "cpu_count": os.cpu_count(), "rows": check_threads(lib)}, indent=2))
        return

    if lib is not None and args.openblas_threads != "keep":
        lib.openblas_set_num_threads(args.threads if args.openblas_threads == "same" else int(args.openblas_threads))
    models_dir = args.models_dir or os.path.join(REPO, "bench-out", "models")
    model, source = load_model(models_dir)
    ref_in = os.path.join(models_dir, "reference_input.npy")
    ref_out = os.path.join(models_dir, "reference_logits.npy")
    x = torch.from_numpy(np.load(ref_in)) if os.path.exists(ref_in) else reference_input()

    times = []
    with torch.inference_mode():
        first = model(x)
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.iterations):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    t = np.array(times)
    max_abs = None
    if os.path.exists(ref_out):
        max_abs = float(np.abs(first.numpy().astype(np.float64) - np.load(ref_out)).max())
    result = {
        "threads": args.threads,
        "median_ms": round(float(np.median(t)), 3),
        "min_ms": round(float(t.min()), 3),
        "max_ms": round(float(t.max()), 3),
        "p10_ms": round(float(np.percentile(t, 10)), 3),
        "p90_ms": round(float(np.percentile(t, 90)), 3),
        "iterations": args.iterations,
        "warmup": args.warmup,
        "torch_version": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "load_average_1min": os.getloadavg()[0],
        "blas": blas_info(lib, lib_path),
        "model": source,
        "max_abs_vs_reference": max_abs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
