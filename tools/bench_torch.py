#!/usr/bin/env python3
"""Time PyTorch fp32 inference of the benchmark ViT-B/16 at batch 1 (the comparison point
for the Java engine), or of DPT-Large / DPT-Hybrid at 384 (--model dpt-large|dpt-hybrid).

    /usr/bin/python3 tools/bench_torch.py [--models-dir bench-out/models] [--threads 1]
                                          [--warmup 3] [--iterations 20]
                                          [--blas openmp|system]
                                          [--openblas-threads auto|same|keep|K]
                                          [--omp-wait-policy auto|default|passive|active]
    /usr/bin/python3 tools/bench_torch.py --check-threads     # does the thread setting bite?

Loads OUT/vit_base_patch16_224/model.safetensors written by tools/export_onnx.py (or, if it
is missing, rebuilds the same seeded model) and prints one JSON object:
    {"threads", "median_ms", "min_ms", "max_ms", "p10_ms", "p90_ms", "iterations", "warmup",
     "torch_version", "blas": {...}, "max_abs_vs_reference", ...}
"blas" says which BLAS the process actually mapped (from /proc/self/maps), how OpenBLAS
was built (openblas_get_config / openblas_get_parallel), its thread count, and which one was
pinned.

BLAS: Debian's torch does its fp32 matmuls in whatever libblas.so.3 the system alternatives
select (normally the pthread OpenBLAS).  The project pins the OpenMP build of OpenBLAS
(libopenblas0-openmp, /usr/lib/x86_64-linux-gnu/openblas-openmp/): by default (--blas openmp)
the script re-executes itself, before torch is imported, with LD_LIBRARY_PATH prefixed by that
folder (unless it is already first there), then checks in /proc/self/maps that the OpenBLAS
actually mapped is the one from that folder and fails otherwise.  If the folder does not exist
the system choice is used and reported.  --blas system keeps the system choice.

Threads: with the OpenMP OpenBLAS there is a single OpenMP runtime (libgomp) and a single
pool: OpenBLAS sizes each call by omp_get_max_threads(), which torch.set_num_threads(N)
sets, so N governs ATen, oneDNN and BLAS alike (--check-threads measures it) and no
OpenBLAS call is needed (--openblas-threads auto).  With the pthread OpenBLAS (--blas system)
torch's setting does not reach OpenBLAS, so auto then also calls openblas_set_num_threads(N).
OMP_WAIT_POLICY (--omp-wait-policy auto): with the pinned OpenMP OpenBLAS the environment is
left alone, i.e. libgomp's default spin-then-sleep, which measured faster than PASSIVE (2
threads: 227 vs 240 ms median; 1 thread: no difference, see tools/README.md); with the pthread
OpenBLAS the script sets PASSIVE, because spinning libgomp workers starve the OpenBLAS threads
(2 threads: 755 vs 242 ms median).
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

OPENMP_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"  # Debian's libopenblas0-openmp
REEXEC_MARK = "HOURGLASS_BENCH_TORCH_REEXEC"  # set in the re-executed process (loop guard)
# OMP_WAIT_POLICY used by --omp-wait-policy auto, per loaded OpenBLAS threading model.
# pthread: PASSIVE (spinning libgomp workers starve OpenBLAS's own threads; 2 threads measured
# 755 ms median with the default policy vs 242 ms passive). openmp: one libgomp pool serves
# ATen and BLAS, so there is nothing to starve, and spinning workers pick up the next parallel
# region sooner: 227 ms default vs 240 ms passive at 2 threads, equal at 1 (tools/README.md).
AUTO_WAIT_POLICY = {"pthread": "passive", "openmp": "default"}

# Thread pools must be configured before torch runs anything parallel, and the BLAS must be
# chosen before torch is even loaded, so parse first.
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--models-dir", default=None, help="export_onnx.py output (default bench-out/models)")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--blas", choices=["openmp", "system"], default="openmp",
                help="'openmp' (default): pin the OpenMP build of OpenBLAS from " + OPENMP_BLAS_DIR +
                     " by re-executing with LD_LIBRARY_PATH prefixed by it (system choice if the folder "
                     "does not exist); 'system': whatever libblas.so.3 the alternatives select")
ap.add_argument("--openblas-threads", default="auto",
                help="'auto' (default: call openblas_set_num_threads(--threads) only when the loaded "
                     "OpenBLAS is not the OpenMP build, whose threads follow torch.set_num_threads), "
                     "'same' (always call it with --threads), 'keep' (never) or a number")
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--iterations", type=int, default=20)
ap.add_argument("--seed", type=int, default=None, help="rebuild with this seed if no safetensors")
ap.add_argument("--model", choices=["vit-b", "dpt-large", "dpt-hybrid"], default="vit-b",
                help="vit-b: the benchmark ViT-B/16 at 224; dpt-large / dpt-hybrid: isl-org/DPT's DPT-Large (ViT-L/16)"
                     " or DPT-Hybrid (ResNet-50 + ViT-B/16) at --size, random weights (tools/hourglass_ref/dpt.py),"
                     " for bench/run-depth.sh's Java numbers")
ap.add_argument("--size", type=int, default=384, help="DPT input side (default 384)")
ap.add_argument("--check-threads", action="store_true",
                help="measure whether torch/OpenBLAS honour the thread settings, then exit")
ap.add_argument("--omp-wait-policy", choices=["auto", "default", "passive", "active"], default="auto",
                help="OMP_WAIT_POLICY for libgomp (set before torch loads). 'auto' (default): PASSIVE "
                     "with the pthread OpenBLAS (spinning OpenMP workers starve its threads), untouched "
                     "with the OpenMP OpenBLAS; 'default' leaves the environment as it is")
args = ap.parse_args()


def _ld_entries():
    return [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]


def _same_dir(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


# Pin the OpenMP OpenBLAS: the dynamic loader reads LD_LIBRARY_PATH only at process start, so
# prefix it and re-execute this script before torch (and with it libblas.so.3) is loaded.
PINNED = "system"
if args.blas == "openmp" and os.path.isdir(OPENMP_BLAS_DIR):
    entries = _ld_entries()
    if not (entries and _same_dir(entries[0], OPENMP_BLAS_DIR)):
        if os.environ.get(REEXEC_MARK):
            sys.exit(f"bench_torch: re-executed with LD_LIBRARY_PATH={os.environ.get('LD_LIBRARY_PATH')!r} "
                     f"but {OPENMP_BLAS_DIR} is still not first")
        os.environ["LD_LIBRARY_PATH"] = ":".join([OPENMP_BLAS_DIR] + entries)
        os.environ[REEXEC_MARK] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    PINNED = "openblas-openmp"
os.environ.pop(REEXEC_MARK, None)

if args.omp_wait_policy == "auto":
    # What will be loaded: the pinned OpenMP build, or (system) the pthread one on Debian. The
    # loaded library is checked after import; this only picks the environment beforehand.
    # (--blas system: guess from where the libblas.so.3 alternative points.)
    _system_blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    EXPECTED_PARALLEL = "openmp" if PINNED == "openblas-openmp" or "openmp" in _system_blas else "pthread"
    WAIT_POLICY = AUTO_WAIT_POLICY[EXPECTED_PARALLEL]
else:
    EXPECTED_PARALLEL = None
    WAIT_POLICY = args.omp_wait_policy
if WAIT_POLICY != "default":
    os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY.upper()

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
    info["pinned"] = PINNED
    info["requested"] = args.blas
    info["ld_library_path"] = os.environ.get("LD_LIBRARY_PATH", "")
    return info


def verify_pinned(lib):
    """With the OpenMP OpenBLAS pinned, every BLAS/LAPACK/OpenBLAS library mapped must come
    from OPENMP_BLAS_DIR and OpenBLAS must report OpenMP threading; exit otherwise."""
    if PINNED != "openblas-openmp":
        return
    torch.ones(64, 64) @ torch.ones(64, 64)  # make sure BLAS is mapped
    libs = mapped_libraries("blas") + mapped_libraries("lapack")
    wrong = [p for p in libs if not _same_dir(os.path.dirname(p), OPENMP_BLAS_DIR)]
    if not any("openblas" in os.path.basename(p) for p in libs) or wrong:
        sys.exit(f"bench_torch: pinned {OPENMP_BLAS_DIR} but the process mapped {libs}")
    if lib is None or lib.openblas_get_parallel() != 2:
        sys.exit("bench_torch: the mapped OpenBLAS does not report OpenMP threading")


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
    with openblas_set_num_threads(N) as well.  Trust the cores-busy figures: the OpenMP build
    sizes each call by omp_get_max_threads(), and openblas_get_num_threads() can lag behind it
    (it still says 2 while torch is at 1 thread and the GEMM keeps exactly 1 core busy)."""
    a, w = torch.randn(197, 768), torch.randn(3072, 768)
    big = torch.randn(8, 197, 3072)
    default_blas = lib.openblas_get_num_threads() if lib else None
    rows = []
    for n in range(1, (os.cpu_count() or 1) + 1):
        if lib:
            # Undo the previous row's explicit setting first. In the OpenMP build this also calls
            # omp_set_num_threads, so torch.set_num_threads must come after it.
            lib.openblas_set_num_threads(default_blas)
        torch.set_num_threads(n)
        gemm_torch_only = parallelism(lambda: torch.nn.functional.linear(a, w))
        eltwise = parallelism(lambda: torch.nn.functional.gelu(torch.nn.functional.layer_norm(big, (3072,))))
        row = {"threads": n, "torch.get_num_threads": torch.get_num_threads(),
               "openblas_threads_at_start": default_blas,
               "gemm_cores_busy_torch_setting_only": gemm_torch_only[0],
               "gemm_ms_torch_setting_only": gemm_torch_only[1],
               "layernorm_gelu_cores_busy": eltwise[0], "layernorm_gelu_ms": eltwise[1]}
        if lib:
            # What OpenBLAS itself believes after running GEMMs under torch's setting only
            # (the OpenMP build re-reads omp_get_max_threads() on every call).
            row["openblas_get_num_threads_torch_setting_only"] = lib.openblas_get_num_threads()
            lib.openblas_set_num_threads(n)
            pinned = parallelism(lambda: torch.nn.functional.linear(a, w))
            row.update({"openblas_threads_explicit": lib.openblas_get_num_threads(),
                        "gemm_cores_busy_openblas_explicit": pinned[0], "gemm_ms_openblas_explicit": pinned[1]})
        rows.append(row)
    return rows


def dpt_model():
    """DPT-Large or DPT-Hybrid at eval with random weights (timing only) and a random normalised input."""
    from hourglass_ref import dpt as R
    large = args.model == "dpt-large"
    vit = VisionTransformer(img_size=384, patch_size=16, embed_dim=1024 if large else 768, depth=24 if large else 12,
                            num_heads=16 if large else 12, mlp_ratio=4.0, qkv_bias=True, num_classes=1)
    vit.head = torch.nn.Identity()  # DPT never uses the classifier
    model = R.DPTModel(vit, [5, 11, 17, 23] if large else [0, 1, 8, 11],
                       [256, 512, 1024, 1024] if large else [256, 512, 768, 768], 256, readout="project",
                       hybrid_backbone=None if large else R.ResNetV2())
    R.init_random_dpt(model, DEFAULT_SEED if args.seed is None else args.seed)
    g = torch.Generator().manual_seed(7)
    return model.eval(), f"{args.model} random weights at {args.size}", torch.randn(1, 3, args.size, args.size,
                                                                                    generator=g)


def load_model(models_dir):
    path = os.path.join(models_dir, ARCH, "model.safetensors")
    if os.path.exists(path) and args.seed is None:
        tensors, meta = st.load_file(path)
        model = VisionTransformer(**VIT_B).eval()
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        return model, path
    seed = DEFAULT_SEED if args.seed is None else args.seed
    return build_model(seed), f"rebuilt with seed {seed}"


def openblas_threads_to_set(lib):
    """The explicit openblas_set_num_threads argument --openblas-threads asks for, or None."""
    if lib is None or args.openblas_threads == "keep":
        return None
    if args.openblas_threads == "auto":
        # OpenMP build: OpenBLAS follows omp_get_max_threads(), i.e. torch.set_num_threads.
        return None if lib.openblas_get_parallel() == 2 else args.threads
    return args.threads if args.openblas_threads == "same" else int(args.openblas_threads)


def main():
    torch.ones(64, 64) @ torch.ones(64, 64)  # map the BLAS before looking for it
    lib, lib_path = openblas_handle()
    verify_pinned(lib)
    if args.check_threads:
        print(json.dumps({"torch_version": torch.__version__, "blas": blas_info(lib, lib_path),
                          "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
                          "load_average_1min": os.getloadavg()[0],
                          "cpu_count": os.cpu_count(), "rows": check_threads(lib)}, indent=2))
        return

    explicit = openblas_threads_to_set(lib)
    if explicit is not None:
        lib.openblas_set_num_threads(explicit)
    models_dir = args.models_dir or os.path.join(REPO, "bench-out", "models")
    ref_out = os.path.join(models_dir, "reference_logits.npy")
    if args.model == "vit-b":
        model, source = load_model(models_dir)
        ref_in = os.path.join(models_dir, "reference_input.npy")
        x = torch.from_numpy(np.load(ref_in)) if os.path.exists(ref_in) else reference_input()
    else:
        model, source, x = dpt_model()
        ref_out = ""

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
        "omp_wait_policy_source": (f"auto for {EXPECTED_PARALLEL} OpenBLAS" if EXPECTED_PARALLEL
                                   else "--omp-wait-policy " + args.omp_wait_policy),
        "openblas_set_num_threads": explicit,
        "load_average_1min": os.getloadavg()[0],
        "blas": blas_info(lib, lib_path),
        "model": source,
        "max_abs_vs_reference": max_abs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
