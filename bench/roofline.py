"""Read-bandwidth roofline of the machine: how fast two float32 arrays can merely be read.

Streams two float32 arrays of ``n`` elements and reports the best of a few readers (BLAS
``np.dot``; ``np.dot`` over chunks on a thread pool of all usable CPUs; a parallel numba
reduction when numba is installed; ``fastbce._core.read_sum``, which sums ``a + b`` with the
loss's own tasks, threads, loads and prefetches but no loss) as elements/s, one element being
one float32 of each array (8 bytes), which is exactly what a binary-label float32 loss reads.
It is measured at every reported size, because it depends on where the data lives: a few MB sit
in the CPU caches and read much faster than hundreds of MB from DRAM. At small sizes it includes
each reader's call overhead, as the loss's throughput does.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bench.timing import TimingConfig, time_one


def _threaded_dot(a: np.ndarray, b: np.ndarray, pool: ThreadPoolExecutor, parts: int):
    bounds = np.linspace(0, a.size, parts + 1, dtype=np.int64)
    futures = [pool.submit(np.dot, a[lo:hi], b[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return sum(f.result() for f in futures)


def _numba_reader():
    try:
        import numba
    except Exception:  # noqa: BLE001
        return None

    @numba.njit(parallel=True, fastmath=True)
    def read2(a, b):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i] + b[i]
        return s

    return read2


def measure(n: int = 1 << 26, config: TimingConfig | None = None) -> dict:
    """Return ``{"elems_per_s", "gbytes_per_s", "n", "best_method", "methods": {name: elems_per_s}}``."""
    # A cached size needs far less time than 1 s per reader for a stable best sample.
    config = config or TimingConfig(repeat=5, rounds=1, budget_s=1.0 if n >= 1 << 22 else 0.3)
    a = np.full(n, 1.0, dtype=np.float32)
    b = np.full(n, 2.0, dtype=np.float32)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    methods = {}
    with ThreadPoolExecutor(threads) as pool:
        readers = {
            "np.dot": lambda: np.dot(a, b),
            f"np.dot x{threads} threads": lambda: _threaded_dot(a, b, pool, threads * 4),
        }
        read2 = _numba_reader()
        if read2 is not None:
            readers["numba prange"] = lambda: read2(a, b)
        try:
            from fastbce import _core
            readers["fastbce read_sum"] = lambda: _core.read_sum(a, b)
        except Exception:  # noqa: BLE001  (peers-only runs)
            pass
        for name, fn in readers.items():
            fn()  # warm: page faults, thread start, compilation
            t = time_one(fn, config)
            methods[name] = n / (t.best_ns * 1e-9)
    best_method = max(methods, key=methods.get)
    best = methods[best_method]
    return {"n": n, "bytes_per_elem": 8, "elems_per_s": best, "gbytes_per_s": best * 8 / 1e9,
            "best_method": best_method, "methods": methods}
