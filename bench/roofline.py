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


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Roofline:
    """A roofline's callables over float32 arrays of ``n`` elements, ``fns = {name: callable}`` (arrays and
    thread pool held until ``close``). ``measure`` / ``measure_write`` time them alone; the bench also times
    them in the same interleaved rounds as fastbce at each point it reports a share for (``best``), so that
    the share compares two numbers measured under the same conditions on a shared machine, whose memory
    bandwidth drifts by tens of percent within seconds."""

    bytes_per_elem = 0
    fns: dict

    def __init__(self, n: int):
        self.n = n
        self.a = np.full(n, 1.0, dtype=np.float32)
        self.b = np.full(n, 2.0, dtype=np.float32)
        self.pool = ThreadPoolExecutor(_threads())

    def _warm(self) -> None:
        for fn in self.fns.values():
            fn()  # page faults, thread start, compilation

    def check(self) -> None:
        """Raises if the callables computed something wrong."""

    def best(self, best_ns: dict[str, float]) -> dict:
        """The roofline record from each callable's best time per call (ns)."""
        methods = {name: self.n / (ns * 1e-9) for name, ns in best_ns.items() if 0 < ns < float("inf")}
        best_method = max(methods, key=methods.get)
        best = methods[best_method]
        return {"n": self.n, "bytes_per_elem": self.bytes_per_elem, "elems_per_s": best,
                "gbytes_per_s": best * self.bytes_per_elem / 1e9, "best_method": best_method, "methods": methods}

    def close(self) -> None:
        self.pool.shutdown()
        self.check()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Readers(_Roofline):
    """The read roofline: two float32 arrays merely read (8 bytes per element)."""

    bytes_per_elem = 8

    def __init__(self, n: int):
        super().__init__(n)
        threads, a, b, pool = _threads(), self.a, self.b, self.pool
        self.fns = {
            "np.dot": lambda: np.dot(a, b),
            f"np.dot x{threads} threads": lambda: _threaded_dot(a, b, pool, threads * 4),
        }
        read2 = _numba_reader()
        if read2 is not None:
            self.fns["numba prange"] = lambda: read2(a, b)
        try:
            from fastbce import _core
            self.fns["fastbce read_sum"] = lambda: _core.read_sum(a, b)
        except Exception:  # noqa: BLE001  (peers-only runs)
            pass
        self._warm()


def _measured(readers: _Roofline, config: TimingConfig | None) -> dict:
    # A cached size needs far less time than 1 s per reader for a stable best sample.
    config = config or TimingConfig(repeat=5, rounds=1, budget_s=1.0 if readers.n >= 1 << 22 else 0.3)
    with readers:
        return readers.best({name: time_one(fn, config).best_ns for name, fn in readers.fns.items()})


def measure(n: int = 1 << 26, config: TimingConfig | None = None) -> dict:
    """Return ``{"elems_per_s", "gbytes_per_s", "n", "best_method", "methods": {name: elems_per_s}}``."""
    return _measured(Readers(n), config)


def _threaded_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, pool: ThreadPoolExecutor, parts: int) -> None:
    bounds = np.linspace(0, a.size, parts + 1, dtype=np.int64)
    futures = [pool.submit(np.add, a[lo:hi], b[lo:hi], out=out[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    for f in futures:
        f.result()


class Writers(_Roofline):
    """The three-stream roofline, ``out = a + b`` (two read, one written: 12 bytes per element, what a float32
    loss-and-gradient moves): ``fastbce._core.add_into`` (the kernels' threads) where this fastbce has it, else
    NumPy's ``np.add(a, b, out=c)``, plain and split over a thread per CPU."""

    bytes_per_elem = 12

    def __init__(self, n: int):
        super().__init__(n)
        self.out = np.empty(n, dtype=np.float32)
        threads, a, b, out, pool = _threads(), self.a, self.b, self.out, self.pool
        try:
            from fastbce import _core
        except Exception:  # noqa: BLE001  (peers-only runs)
            _core = None
        if _core is not None and hasattr(_core, "add_into"):
            self.fns = {"fastbce add_into": lambda: _core.add_into(a, b, out)}
        else:
            self.fns = {"np.add(a, b, out=c)": lambda: np.add(a, b, out=out),
                        f"np.add(a, b, out=c) x{threads} threads":
                            lambda: _threaded_add(a, b, out, pool, threads * 4)}
        self._warm()

    def check(self) -> None:
        if not np.all(self.out == 3.0):
            raise RuntimeError("three-stream roofline: out != a + b")


def measure_write(n: int, config: TimingConfig | None = None) -> dict:
    """The three-stream roofline (see ``Writers``). Same result keys as ``measure``."""
    return _measured(Writers(n), config)


# --------------------------------------------------------------------------- timed with the contenders
ROOFLINE_PREFIX = "roofline/"


class PerSize:
    """One roofline of type ``cls`` at a time for points visited in size order: made when a point of a new size
    wants one, closed when the size moves on (or at ``close``)."""

    def __init__(self, cls: type[_Roofline]):
        self.cls, self.roof = cls, None

    def at(self, n: int, wanted: bool) -> _Roofline | None:
        """The roofline to time beside a point of size ``n`` (None when the point does not want one)."""
        if self.roof is not None and self.roof.n != n:
            self.close()
        if wanted and self.roof is None:
            self.roof = self.cls(n)
        return self.roof if wanted else None

    def close(self) -> None:
        if self.roof is not None:
            self.roof.close()
            self.roof = None


def with_roofline(fns: dict, roof: _Roofline | None) -> dict:
    """``fns`` plus the roofline's callables (names prefixed), to be timed in the same interleaved rounds."""
    if roof is None:
        return fns
    return {**fns, **{ROOFLINE_PREFIX + name: fn for name, fn in roof.fns.items()}}


def split_roofline(timed: dict, roof: _Roofline | None) -> tuple[dict, dict | None]:
    """``measure_group``'s timings of ``with_roofline(fns, roof)`` as (the contenders' timings, the roofline
    record from its callables' best samples, or None)."""
    if roof is None:
        return timed, None
    ours = {name[len(ROOFLINE_PREFIX):]: t.best_ns for name, t in timed.items()
            if name.startswith(ROOFLINE_PREFIX)}
    roof.check()
    return {name: t for name, t in timed.items() if not name.startswith(ROOFLINE_PREFIX)}, roof.best(ours)
