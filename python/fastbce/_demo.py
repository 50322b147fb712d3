"""The demo of ``python -m fastbce`` (and ``fastbce``): the seed example and a small throughput table.

Compares fastbce with a plain NumPy implementation of the tf.keras formula
(the same arithmetic tf_keras does, one NumPy operation at a time) on float32
probabilities and logits of a few sizes, and prints Melem/s (input elements per
second, best of a few runs) together with the relative difference of the results.
"""
from __future__ import annotations

import argparse
import functools
import time
from typing import Any, Callable, List, Optional

import numpy as np
import numpy.typing as npt

import fastbce

SEED_CODE = """\
bce = fastbce.BinaryCrossentropy()
loss = bce([0., 0., 1., 1.], [1., 1., 1., 0.])
print('Loss: ', loss.numpy())"""


def numpy_bce(y_true: npt.NDArray[np.float32], y_pred: npt.NDArray[np.float32], from_logits: bool) -> np.float32:
    """tf.keras's formula in plain NumPy (float32 throughout, mean over the last axis, then the mean)."""
    if from_logits:
        x = y_pred
        per = np.maximum(x, 0) - x * y_true + np.log1p(np.exp(-np.abs(x)))
    else:
        eps = np.float32(1e-7)
        p = np.clip(y_pred, eps, np.float32(1) - eps)
        per = -(y_true * np.log(p + eps) + (np.float32(1) - y_true) * np.log(np.float32(1) - p + eps))
    return np.float32(per.mean(axis=-1).mean())


def best_time(fn: Callable[[], Any], budget: float = 0.25, max_runs: int = 20) -> float:
    """Best wall time of ``fn()`` over a few runs (at least 2, within about ``budget`` seconds)."""
    best = float("inf")
    start = time.perf_counter()
    runs = 0
    while runs < 2 or (runs < max_runs and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastbce",
                                     description="fastbce demo: the seed example and a small throughput table. "
                                                 "To compute the loss of labels and predictions in files, run "
                                                 "`python -m fastbce eval` (or `fastbce eval`; see its --help).")
    parser.add_argument("--sizes", type=lambda s: [int(float(v)) for v in s.split(",")],
                        default=[4_096, 262_144, 4_194_304, 16_777_216],
                        help="comma-separated element counts (default: 4096,262144,4194304,16777216)")
    parser.add_argument("--features", type=int, default=64, help="length of the averaged (last) axis")
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}; to evaluate files, run "
                     "`python -m fastbce eval` (see `python -m fastbce eval --help`)")

    print(f"fastbce {fastbce.__version__}: ISA {fastbce.isa()} "
          f"(available: {', '.join(fastbce.available_isas())}), {fastbce.get_num_threads()} thread(s)")
    print()
    print("The seed example (tf.keras.losses.BinaryCrossentropy docs):")
    for line in SEED_CODE.splitlines():
        print("  >>> " + line)
    exec(SEED_CODE, {"fastbce": fastbce})  # prints: Loss:  11.522857
    print()

    rng = np.random.default_rng(0)
    feats = args.features
    header = (f"{'elements':>12}  {'y_pred':<13}  {'fastbce Melem/s':>15}  {'NumPy Melem/s':>13}  {'speedup':>7}  "
              f"{'rel diff':>8}")
    print("Throughput, float32, reduction 'auto' (mean over the last axis of length "
          f"{feats}, then over the batch):")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        rows = max(1, n // feats)
        n = rows * feats
        y = (rng.random((rows, feats), dtype=np.float32) < 0.5).astype(np.float32)
        for from_logits in (False, True):
            if from_logits:
                x = rng.standard_normal((rows, feats), dtype=np.float32) * np.float32(4)
            else:
                x = rng.random((rows, feats), dtype=np.float32)
            bce = fastbce.BinaryCrossentropy(from_logits=from_logits)
            ours = float(bce(y, x))
            ref = float(numpy_bce(y, x, from_logits))
            t_ours = best_time(functools.partial(bce, y, x))
            t_np = best_time(functools.partial(numpy_bce, y, x, from_logits), max_runs=5)
            diff = abs(ours - ref) / max(abs(ref), 1e-30)
            kind = "logits" if from_logits else "probabilities"
            print(f"{n:>12,}  {kind:<13}  {n / t_ours / 1e6:>15,.1f}  {n / t_np / 1e6:>13,.1f}  "
                  f"{t_np / t_ours:>6.1f}x  {diff:>8.1e}")
    return 0

