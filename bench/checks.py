"""Checks that are not throughput tables: call latency, rows of 16 vs [n, 1], large-sum accuracy,
thread determinism."""
from __future__ import annotations

import gc
import time

import numpy as np

from bench.cases import BY_NAME, ROWS_MODES, ROWS_WIDTH, DataStore, case_by_name, check_result, format_size, shape_for
from bench.contenders import Contender
from bench.timing import TimingConfig, measure_group

LATENCY_CASE = "f32-prob-binary-mean"
LATENCY_SHAPE = (1, 4)
LATENCY_TIMING = TimingConfig(repeat=30, rounds=3, budget_s=0.3, min_sample_ns=200_000)
ROWS_SIZES = (1 << 20, 1 << 24)
# Two contenders only, so more rounds and samples than a throughput point for the same time.
ROWS_TIMING = TimingConfig(repeat=5, rounds=5, budget_s=0.5)


def latency(contenders: list[Contender], store: DataStore, config: TimingConfig = LATENCY_TIMING) -> dict:
    """Best-of-many time of one 1x4 float32 call (mean reduction), in microseconds.

    For fastbce also the functional form and the raw extension call, which together show how much
    of the call is spent in the Python layer.
    """
    case = BY_NAME[LATENCY_CASE]
    data = store.data(case, LATENCY_SHAPE[0] * LATENCY_SHAPE[1])
    fns, errors = {}, {}
    for c in contenders:
        try:
            fn = c.prepare(case, data)
            fn()
            fns[c.name] = fn
        except Exception as e:  # noqa: BLE001
            errors[c.name] = f"{type(e).__name__}: {e}"[:160]
        if c.is_fastbce:
            fns.update(_fastbce_variants(c.mod, data, errors))
    timings = measure_group(fns, config)
    return {"shape": list(LATENCY_SHAPE), "case": LATENCY_CASE,
            "us": {name: t.best_ns / 1e3 for name, t in timings.items()},
            "median_us": {name: t.median_ns / 1e3 for name, t in timings.items()},
            "errors": errors}


def rows_vs_flat(fast: Contender, store: DataStore, sizes=ROWS_SIZES, modes=ROWS_MODES,
                 width: int = ROWS_WIDTH, config: TimingConfig = ROWS_TIMING, progress=None) -> dict:
    """fastbce on rows of ``width`` outputs (``[n / width, width]``) vs ``[n, 1]``, same values.

    For each mode (a width-1 case name; ``-w`` ones with a ``[batch]`` weight, one per row) and
    size, the two shapes are timed in one interleaved group, so their ratio is not skewed by the
    machine's load drifting between two measurements. Both results are checked against the
    float64 reference first. ``progress`` (optional) is called with a line per point.
    """
    out = {"width": width, "sizes": list(sizes), "points": []}
    for n in sizes:
        for mode in modes:
            flat = case_by_name(mode, 1)
            rows = flat.with_width(width)
            fns, checks_ = {}, {}
            for label, case in (("flat", flat), ("rows", rows)):
                data = store.data(case, n)
                fn = fast.prepare(case, data)
                checks_[label] = check_result(case, fast.to_numpy(fn()), store.reference(case, n), strict=True)
                fns[label] = fn
            t = measure_group(fns, config)
            flat_rate = n / t["flat"].best_ns * 1e3
            rows_rate = n / t["rows"].best_ns * 1e3
            out["points"].append({
                "case": flat.name, "rows_case": rows.name, "label": flat.label, "size": n,
                "shape_flat": list(shape_for(n, 1)), "shape_rows": list(shape_for(n, width)),
                "flat_melem_s": flat_rate, "rows_melem_s": rows_rate, "ratio": rows_rate / flat_rate,
                "samples": t["flat"].samples + t["rows"].samples,
                "check": checks_["flat"] or checks_["rows"],
            })
            if progress:
                pt = out["points"][-1]
                progress(f"  {flat.name:<28} {format_size(n):>4}  [n, 1] {flat_rate:.0f}  {rows.name} "
                         f"{rows_rate:.0f}  ratio {pt['ratio']:.2f}x" + (f"  {pt['check']}" if pt["check"] else ""))
        store.clear()
        gc.collect()
    return out


def _fastbce_variants(mod, data, errors: dict) -> dict:
    out = {}
    yt, yp = data.y_true, data.y_pred
    out["fastbce.binary_crossentropy"] = lambda: mod.binary_crossentropy(yt, yp)
    try:
        from fastbce import _core

        rows, width = yp.shape
        spec = mod.BinaryCrossentropy().spec

        def raw():
            return _core.bce(yt, yp, None, None, rows, width, 1, 1, spec)

        raw()
        out["fastbce._core.bce (no Python layer)"] = raw
    except Exception as e:  # noqa: BLE001 - the raw entry point is internal and may change
        errors["fastbce._core.bce"] = f"{type(e).__name__}: {e}"[:160]
    return out


def accuracy_and_determinism(fastbce_mod, n: int, store: DataStore, threads=(1, 2, 8)) -> dict:
    """Relative error of the float32 mean over ``n`` elements vs float64, and whether the result
    bits are identical for each thread count (mean scalar and the per-sample ``none`` vector)."""
    out = {"n": n, "threads": list(threads), "cases": {}}
    before = fastbce_mod.get_num_threads()
    try:
        for name in ("f32-prob-binary-mean", "f32-logits-binary-mean"):
            case = BY_NAME[name]
            data = store.data(case, n)
            ref = store.reference(case, n)
            mean_loss = fastbce_mod.BinaryCrossentropy(from_logits=case.from_logits)
            none_loss = fastbce_mod.BinaryCrossentropy(from_logits=case.from_logits, reduction="none")
            bits, none_bits, seconds = {}, {}, {}
            value = None
            for t in threads:
                fastbce_mod.set_num_threads(t)
                t0 = time.perf_counter()
                value = mean_loss(data.y_true, data.y_pred)
                seconds[t] = time.perf_counter() - t0
                bits[t] = np.asarray(value).tobytes().hex()
                none_bits[t] = hash(np.asarray(none_loss(data.y_true, data.y_pred)).tobytes())
            rel_err = abs(float(value) - ref) / abs(ref)
            out["cases"][name] = {
                "value": float(value), "reference_f64": ref, "rel_err": rel_err,
                "check": check_result(case, value, ref, strict=True),
                "bits": bits, "identical_mean": len(set(bits.values())) == 1,
                "identical_none": len(set(none_bits.values())) == 1,
                "seconds_per_call": seconds,
            }
            store.clear()
    finally:
        fastbce_mod.set_num_threads(before)
    cases = out["cases"].values()
    out["max_rel_err"] = max(c["rel_err"] for c in cases)
    out["identical"] = all(c["identical_mean"] and c["identical_none"] for c in cases)
    return out
