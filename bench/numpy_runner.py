"""numpy side of `bench/compare.ts`: hypercoil's batch_corr formula in float64 and float32.

Reads the batches the comparison wrote (raw little-endian float64 files), times
hypercoil's formula (pairedcorr on X.swapaxes(0, -1).reshape(-1, B), then the
soft threshold) and prints one JSON object: medians in seconds per case and
which BLAS kernel ran. The caller unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
for this process only, so OpenBLAS picks its kernel for this CPU.
"""

import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def batch_corr(X, N, tol=0.0, abs=True):
    """hypercoil.loss.batch_corr with hypercoil's pairedcorr, in numpy."""
    batch_size = X.shape[0]
    x = X.swapaxes(0, -1).reshape(-1, batch_size)
    n = np.atleast_2d(N).reshape(-1, batch_size)
    x0 = x - x.mean(-1, keepdims=True)
    n0 = n - n.mean(-1, keepdims=True)
    cov = x0 @ n0.swapaxes(-1, -2)
    var_x = x.var(-1, keepdims=True)
    var_n = n.var(-1, keepdims=True)
    fact = np.sqrt(var_x @ var_n.swapaxes(-1, -2))
    r = cov / batch_size / fact
    thr = np.maximum(np.abs(r) - tol, 0)
    return thr if abs else np.sign(r) * thr


def blas_kernel():
    """The OpenBLAS core in use (threadpoolctl when installed, else the library's own call)."""
    try:
        import threadpoolctl

        info = threadpoolctl.threadpool_info()
        blas = [i for i in info if i.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            return f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}, {b.get('num_threads')} threads (threadpoolctl)"
    except ImportError:
        pass
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                if core is None:
                    continue
                core.restype = ctypes.c_char_p
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
                config = getattr(lib, f"{prefix}get_config{suffix}")
                config.restype = ctypes.c_char_p
                return f"{config().decode()}; core {core().decode()}, {threads()} threads (OpenBLAS API)"
    return "unknown (see numpy.show_config())"


def median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def main():
    spec = json.loads(sys.argv[1])
    results = []
    for case in spec["cases"]:
        B, F, M = case["B"], case["F"], case["M"]
        X = np.fromfile(case["x"], dtype="<f8").reshape(B, F)
        N = np.fromfile(case["n"], dtype="<f8").reshape(M, B)
        X32, N32 = X.astype(np.float32), N.astype(np.float32)
        row = {"B": B, "F": F, "M": M}
        row["numpy-f64"] = median_seconds(lambda: batch_corr(X, N), spec["repeats"])
        row["numpy-f32"] = median_seconds(lambda: batch_corr(X32, N32), spec["repeats"])
        results.append(row)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(json.dumps({"numpy": np.__version__, "blas": blas_kernel(), "env": env, "results": results}))


if __name__ == "__main__":
    main()
