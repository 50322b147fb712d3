"""Best-of-N timing with ``time.perf_counter_ns`` and adaptive repeat counts.

One sample = ``inner`` back-to-back calls timed together, divided by ``inner``; ``inner`` is
chosen so a sample lasts at least ``min_sample_ns`` (so a 1 us call is not lost in timer
noise). Contenders of one measurement are timed in interleaved rounds, so a burst of noise on
this shared machine hits them all rather than one; the result is the best sample over all rounds.
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, field
from typing import Callable

perf_counter_ns = time.perf_counter_ns


@dataclass(frozen=True)
class TimingConfig:
    repeat: int = 3                  # at least this many samples per contender
    rounds: int = 3                  # interleaved passes over the contenders
    budget_s: float = 0.2            # time a contender may spend on samples, all rounds together
    min_sample_ns: int = 200_000     # one sample lasts at least this long
    max_samples_per_round: int = 200
    slow_call_ns: int = 1_000_000_000  # a call slower than this gets a single sample


@dataclass
class Timing:
    best_ns: float                   # best time of one call, ns
    samples: int
    inner: int
    all_ns: list = field(default_factory=list, repr=False)  # per-call time of every sample

    @property
    def median_ns(self) -> float:
        s = sorted(self.all_ns)
        return s[len(s) // 2] if s else math.nan


def _sample(fn: Callable[[], object], inner: int) -> int:
    if inner == 1:
        t0 = perf_counter_ns()
        fn()
        return perf_counter_ns() - t0
    t0 = perf_counter_ns()
    for _ in range(inner):
        fn()
    return perf_counter_ns() - t0


def calibrate(fn: Callable[[], object], min_sample_ns: int) -> tuple[int, float]:
    """Return ``(inner, estimated ns per call)``. ``fn`` must already be warm (compiled, traced)."""
    inner = 1
    while True:
        t = _sample(fn, inner)
        if t >= min_sample_ns or inner >= 1 << 20:
            return inner, t / inner
        # Grow towards the target in one or two steps, not by doubling from 1.
        inner = max(inner * 2, min(inner * 100, math.ceil(inner * min_sample_ns / max(t, 1) * 1.2)))


def measure_group(fns: dict[str, Callable[[], object]], config: TimingConfig,
                  first_call_ns: dict[str, int] | None = None) -> dict[str, Timing]:
    """Time every callable in ``fns`` (already warm) and return the best per-call time of each.

    ``first_call_ns`` (optional) is how long each warm-up call took: a call that took longer than
    ten samples' worth needs no calibration (one call per sample), which saves a call of every
    slow contender at the largest sizes. A call slower than ``slow_call_ns`` is sampled once: it is
    far behind the best peer, and best-of-N would only cost minutes.
    """
    first_call_ns = first_call_ns or {}
    plan: dict[str, tuple[int, int]] = {}
    for name, fn in fns.items():
        first = first_call_ns.get(name, 0)
        if first >= 10 * config.min_sample_ns:
            inner, est = 1, float(first)
        else:
            inner, est = calibrate(fn, config.min_sample_ns)
        if est >= config.slow_call_ns:
            plan[name] = (1, 0)  # one sample, taken in the first round
            continue
        per_round_budget = config.budget_s * 1e9 / config.rounds
        n = int(per_round_budget // max(inner * est, 1))
        n = max(math.ceil(config.repeat / config.rounds), min(n, config.max_samples_per_round))
        plan[name] = (inner, n)

    results = {name: Timing(math.inf, 0, plan[name][0]) for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rnd in range(config.rounds):
            for name, fn in fns.items():
                inner, n = plan[name]
                if n == 0:  # a slow call: one sample in the first round only
                    n = 1 if rnd == 0 else 0
                res = results[name]
                for _ in range(n):
                    per_call = _sample(fn, inner) / inner
                    res.all_ns.append(per_call)
                    res.best_ns = min(res.best_ns, per_call)
                    res.samples += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return results


def time_one(fn: Callable[[], object], config: TimingConfig) -> Timing:
    """Best-of-N for a single warm callable."""
    return measure_group({"fn": fn}, config)["fn"]
