"""Read-bandwidth roofline of the machine: how fast two float32 arrays can merely be read.

Streams two float32 arrays of ``n`` elements and reports the best of a few readers (BLAS
``np.dot``; ``np.dot`` over chunks on a thread pool of all usable CPUs; a parallel numba
reduction when numba is installed; ``fastbce._core.read_sum``, which sums ``a + b`` with the
loss's own tasks, threads, loads and prefetches but no loss) as elements/s, one element being
one float32 of each array (8 bytes), which is exactly what a binary-label float32 loss reads.
It is measured at every reported size, because it depends on where the data lives: a few MB sit
in the CPU caches and read much faster than hundreds of MB from DRAM. At small sizes it includes
each reader's call overhead, as the loss's throughput does.

``measure_write`` is the three-stream counterpart for the loss-and-gradient cases: two arrays read and
one written (``out = a + b``).
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


def _threaded_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, pool: ThreadPoolExecutor, parts: int) -> None:
    bounds = np.linspace(0, a.size, parts + 1, dtype=np.int64)
    futures = [pool.submit(np.add, a[lo:hi], b[lo:hi], out=out[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    for f in futures:
        f.result()


def measure_write(n: int, config: TimingConfig | None = None) -> dict:
    """The three-stream roofline: ``out = a + b`` over float32 arrays of ``n`` elements (two read, one
    written: 12 bytes per element, what a float32 loss-and-gradient moves). Measured by
    ``fastbce._core.add_into`` (the kernels' threads) where this fastbce has it, else by NumPy's
    ``np.add(a, b, out=c)``, plain and split over a thread per CPU. Same result keys as ``measure``."""
    config = config or TimingConfig(repeat=5, rounds=1, budget_s=1.0 if n >= 1 << 22 else 0.3)
    a = np.full(n, 1.0, dtype=np.float32)
    b = np.full(n, 2.0, dtype=np.float32)
    out = np.empty(n, dtype=np.float32)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    methods = {}
    with ThreadPoolExecutor(threads) as pool:
        readers = {}
        try:
            from fastbce import _core
        except Exception:  # noqa: BLE001  (peers-only runs)
            _core = None
        if _core is not None and hasattr(_core, "add_into"):
            readers["fastbce add_into"] = lambda: _core.add_into(a, b, out)
        else:
            readers["np.add(a, b, out=c)"] = lambda: np.add(a, b, out=out)
            readers[f"np.add(a, b, out=c) x{threads} threads"] = lambda: _threaded_add(a, b, out, pool, threads * 4)
        for name, fn in readers.items():
            fn()  # warm: page faults of out, thread start
            t = time_one(fn, config)
            methods[name] = n / (t.best_ns * 1e-9)
    if not np.all(out == 3.0):
        raise RuntimeError("three-stream roofline: out != a + b")
    best_method = max(methods, key=methods.get)
    best = methods[best_method]
    return {"n": n, "bytes_per_elem": 12, "elems_per_s": best, "gbytes_per_s": best * 12 / 1e9,
            "best_method": best_method, "methods": methods}
