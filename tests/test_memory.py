"""Bounded memory (issue 4, points 1 and 4): hostile layouts are converted chunk by chunk, never by a
full-size copy; 3e9-element zero-stride broadcasts evaluate with < 100 MB of extra memory; inputs of more
than 2^31 elements give the right value (64-bit indexing, through the core and through the chunked
path); and the extension leaks nothing over 1e6 calls (RSS flat).

The big cases run in a subprocess and measure the peak resident set (VmHWM) there, so that nothing the
rest of the suite allocated hides or inflates the growth. Expected values always come from
``reference`` (float64), applied to the few distinct rows / elements the big inputs are made of.
"""
import json
import mmap
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import fastbce
from fastbce import _core, _inputs

import layouts
import reference

HERE = os.path.dirname(os.path.abspath(__file__))


def _run_child(code: str, timeout=900) -> dict:
    """Run ``code`` in a fresh interpreter (same FASTBCE_* environment); it prints one JSON line last."""
    prelude = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {HERE!r})
        def status(key):
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) * 1024
    """)
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=timeout, env=os.environ.copy())
    assert r.returncode == 0, r.stderr[-4000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    print(result)  # measured numbers, visible with pytest -s
    return result


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc/self/status")


# ----------------------------------------------------------------------------- O(chunk) per layout
@pytest.mark.parametrize("kind,label_dtype,pred_dtype", [
    ("fortran", np.float32, np.float32), ("strided", np.int8, np.float64), ("negative", np.bool_, np.float32),
    ("memmap", np.float32, np.float16), ("memmap_misaligned", np.float64, np.float64),
    ("bcast_lead", np.uint64, np.float32), ("readonly", np.float16, np.float16), ("c", np.int32, np.float32),
    ("c", np.float32, np.uint8), ("c", np.float64, np.float32),
])
def test_hostile_layouts_use_chunk_sized_memory(kind, label_dtype, pred_dtype, tmp_path):
    # 2M elements: a full-size float32 conversion of either input would be 8 MB, of both 16 MB
    shape = (1024, 2048)
    rng = np.random.default_rng(11)
    y = (rng.random(shape) < 0.5).astype(label_dtype)
    if np.dtype(pred_dtype).kind == "f":
        x = rng.random(shape).astype(pred_dtype)
    else:
        x = rng.integers(0, 2, shape).astype(pred_dtype)
    yt, _ = layouts.make(y, kind, tmp_path, "yt")
    yp, _ = layouts.make(x, kind, tmp_path, "yp")
    del y, x
    w, _ = layouts.make(rng.random(shape[0]), kind, tmp_path, "w")
    cdt = np.float64 if np.dtype(pred_dtype) == np.float64 else np.float32
    bce = fastbce.BinaryCrossentropy(reduction="sum")
    bce(yt[:2], yp[:2], sample_weight=w[:2])  # warm up (imports, first-use allocations)
    tracemalloc.start()
    try:
        got = bce(yt, yp, sample_weight=w)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        none = fastbce.BinaryCrossentropy(axis=0, reduction="none")(yt, yp)
        _, peak_none = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    budget = 4 * _inputs.CHUNK * 8 + (1 << 20)  # two input blocks, a weight and an output block, + slack
    assert peak < budget, (peak, budget)
    assert peak_none < budget + 2 * shape[1] * 8, (peak_none, budget)
    exp = reference.loss(yt, yp, weight=np.asarray(w), reduction="sum", dtype=cdt)
    f16 = np.dtype(pred_dtype) == np.float16  # float16 results: the float32 values rounded to float16
    np.testing.assert_allclose(float(got), exp, rtol=1e-3 if f16 else 1e-5 if cdt == np.float32 else 1e-12)
    exp_none = reference.loss(yt, yp, axis=0, reduction="none", dtype=cdt)
    np.testing.assert_allclose(np.asarray(none, np.float64), exp_none, rtol=1e-3 if f16 else 1e-5)


# ----------------------------------------------------------------------------- 3e9 broadcast
@pytest.mark.slow
@needs_proc
def test_3e9_element_zero_stride_broadcasts_use_under_100mb():
    res = _run_child("""
        import time
        import numpy as np
        import fastbce, reference
        B = fastbce.BinaryCrossentropy
        N = 3_000_000_000
        out = {}
        base = status("VmHWM")
        t0 = time.perf_counter()
        # 1-D: one sample of 3e9 elements (the reduced axis is the broadcast one)
        yt = np.broadcast_to(np.float32(1.0), (N,))
        yp = np.broadcast_to(np.float32(0.3), (N,))
        out["mean_1d"] = float(B()(yt, yp))
        out["ref_1d"] = float(reference.loss(np.ones((1, 1), np.float32), np.full((1, 1), 0.3, np.float32)))
        # 2-D (30000 x 100000): labels constant per row, predictions one row of distinct values
        rng = np.random.default_rng(5)
        n, m = 30_000, 100_000
        prow = rng.random(m).astype(np.float32)
        ycol = (rng.random(n) < 0.5).astype(np.float32)
        w = (rng.random(n) + 0.5).astype(np.float32)
        yt = np.broadcast_to(ycol[:, None], (n, m))
        yp = np.broadcast_to(prow[None, :], (n, m))
        none = B(reduction="none")(yt, yp)
        total = float(B(reduction="sum")(yt, yp, sample_weight=w))
        r0 = reference.per_sample(np.zeros(m, np.float32), prow)
        r1 = reference.per_sample(np.ones(m, np.float32), prow)
        exp_none = np.where(ycol == 1, r1, r0)
        out["none_max_rel"] = float(np.max(np.abs(none.astype(np.float64) - exp_none) / exp_none))
        out["sum"], out["ref_sum"] = total, float(np.sum(exp_none * w.astype(np.float64)))
        out["seconds"] = time.perf_counter() - t0
        out["hwm_growth_mb"] = (status("VmHWM") - base) / 2**20
        print(json.dumps(out))
    """)
    assert res["hwm_growth_mb"] < 100
    np.testing.assert_allclose(res["mean_1d"], res["ref_1d"], rtol=1e-6)
    assert res["none_max_rel"] < 1e-5
    np.testing.assert_allclose(res["sum"], res["ref_sum"], rtol=1e-5)


# ----------------------------------------------------------------------------- > 2^31 elements
def _sparse(n, dtype):
    """A zero-filled array of ``n`` elements backed by a private anonymous mapping: untouched pages read as
    the kernel's shared zero page, so only the pages written to cost memory (a sparse file without a file)."""
    m = mmap.mmap(-1, n * np.dtype(dtype).itemsize, flags=mmap.MAP_PRIVATE)
    return np.frombuffer(m, dtype=dtype, count=n), m


@pytest.mark.slow
@pytest.mark.skipif(sys.maxsize < 2**40 or not hasattr(mmap, "MAP_PRIVATE"), reason="needs a 64-bit POSIX system")
def test_over_2_31_elements_through_the_core(each_isa):
    # (2^21 + 9) rows of 1024: 2^31 + 9216 contiguous float32 elements, read in place by the core. Rows next
    # to the 2^31 boundary and the last row hold distinctive values; a 32-bit index would read row 0's.
    rows, red = (1 << 21) + 9, 1024
    n = rows * red
    assert n > 2**31
    yt_flat, m1 = _sparse(n, np.float32)
    yp_flat, m2 = _sparse(n, np.float32)
    try:
        yt, yp = yt_flat.reshape(rows, red), yp_flat.reshape(rows, red)
        rng = np.random.default_rng(7)
        special = [0, 1, (1 << 21) - 1, 1 << 21, (1 << 21) + 1, rows - 1]  # row 1 << 21 starts at element 2^31
        for i, r in enumerate(special):
            yt[r] = rng.random(red) < 0.5
            yp[r] = rng.normal(0, 2 + i, red)
        # a single distinctive element in an otherwise zero row past 2^31
        yp[rows - 4, 5] = 30.0
        special.append(rows - 4)
        assert len(set(special)) == len(special)
        # every ISA's kernel loops: per-sample losses over rows on both sides of element 2^31; the rest
        # (probabilities, the sum, one sample longer than 2^31) on the best level only, to bound the runtime
        best = each_isa == _core.available_isas()[0]
        for from_logits in ((True, False) if best else (True,)):
            bce = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction="none")
            got = bce(yt, yp)
            zero_row = reference.per_sample(np.zeros((1, red), np.float32), np.zeros((1, red), np.float32),
                                            from_logits=from_logits)[0]
            exp = np.full(rows, zero_row)
            for r in special:
                exp[r] = reference.per_sample(yt[r], yp[r], from_logits=from_logits)
            np.testing.assert_allclose(got.astype(np.float64), exp, rtol=2e-6, atol=1e-7)
            total = fastbce.BinaryCrossentropy(from_logits=from_logits, reduction="sum")(yt, yp)
            np.testing.assert_allclose(float(total), exp.sum(), rtol=1e-6)
        if not best:
            return
        # one sample of 2^31 + 9216 elements: the mean over a reduced axis longer than 2^31
        mean = fastbce.BinaryCrossentropy(from_logits=True)(yt_flat, yp_flat)
        exp_sum = (n - len(special) * red) * reference.elementwise(0.0, 0.0, from_logits=True)
        for r in special:
            exp_sum += reference.elementwise(yt[r], yp[r], from_logits=True).sum()
        np.testing.assert_allclose(float(mean), exp_sum / n, rtol=1e-6)
    finally:
        del yt_flat, yp_flat, yt, yp
        m1.close()
        m2.close()


@pytest.mark.slow
def test_over_2_31_elements_through_the_chunked_path():
    # zero-stride inputs of more than 2^31 elements: whole-row blocks (rows of 7) and one sample whose reduced
    # axis is longer than 2^31 (partial means); float64 labels with float32 predictions, so nothing is direct
    rows = (1 << 31) // 7 + 4
    prow = np.array([0.1, 0.9, 0.5, 1e-9, 1.0, 0.25, 0.75], np.float32)
    trow = np.array([1.0, 0.0, 0.5, 1.0, 1.0, 0.0, 0.3], np.float64)
    yp = np.broadcast_to(prow, (rows, 7))
    yt = np.broadcast_to(trow, (rows, 7))
    assert yp.size > 2**31
    got = float(fastbce.BinaryCrossentropy(reduction="sum")(yt, yp))
    np.testing.assert_allclose(got, rows * reference.per_sample(trow, prow)[()], rtol=1e-6)
    n = (1 << 31) + 5
    mean = fastbce.BinaryCrossentropy(from_logits=True)(np.broadcast_to(np.float64(1.0), (n,)),
                                                      np.broadcast_to(np.float32(-0.5), (n,)))
    np.testing.assert_allclose(float(mean), reference.elementwise(1.0, np.float32(-0.5), from_logits=True), rtol=1e-6)


# ----------------------------------------------------------------------------- leaks
@pytest.mark.slow
@needs_proc
def test_no_leak_over_a_million_calls():
    res = _run_child("""
        import gc, time
        import numpy as np
        import fastbce
        from fastbce import _core
        B = fastbce.BinaryCrossentropy
        rng = np.random.default_rng(1)
        yt = (rng.random((8, 16)) < 0.5).astype(np.float32)
        yp = rng.random((8, 16)).astype(np.float32)
        yp64 = yp.astype(np.float64)
        strided = np.repeat(yp64, 2, axis=1)[:, ::2]
        w = rng.random(8).astype(np.float32)
        wfull = rng.random((8,))[None].T  # (8, 1), float64: one rank more
        big_t = (rng.random((512, 1024)) < 0.5).astype(np.float32)
        big_p = rng.random((512, 1024)).astype(np.float32)
        auto, none, s = B(), B(reduction="none"), B(reduction="sum", from_logits=True, label_smoothing=0.1)
        cplx = yp.astype(np.complex64)

        def errors():
            for f in (lambda: auto(yt, yp[:, :3]), lambda: auto(yt, cplx), lambda: auto(yt, yp, sample_weight=w[:3]),
                      lambda: B(axis=5)(yt, yp), lambda: B(label_smoothing=2.0)):
                try:
                    f()
                except (TypeError, ValueError):
                    pass
                else:
                    raise AssertionError("no error")

        calls = [
            lambda: auto(yt, yp),                                  # fast path, reducing
            lambda: none(yt, yp),                                  # fast path, per-sample array
            lambda: s(yt, yp, sample_weight=w),                    # direct path with a batch weight
            lambda: none(yt, yp64, sample_weight=wfull),           # float64 + float32 labels, (8, 1) weight
            lambda: auto(yt, strided),                             # chunked path
            lambda: none(yt.astype(bool), yp),                     # bool labels: converted
            lambda: fastbce.binary_crossentropy([[0., 1.]], [[0.3, 0.6]]),  # Python lists
            lambda: B(axis=0, reduction="none")(yt, yp).numpy(),  # axis 0: inner > 1
            errors,                                                # error-raising calls
        ]
        big = lambda: auto(big_t, big_p)                           # parallel: the thread pool runs

        def run(n):
            for i in range(n):
                calls[i % len(calls)]()
                if i % 5000 == 0:
                    big()

        run(50_000)  # warm up: caches, pools, first-use allocations
        gc.collect()
        before = status("VmRSS")
        t0 = time.perf_counter()
        N = 1_000_000
        run(N)
        gc.collect()
        after = status("VmRSS")
        print(json.dumps({"calls": N, "seconds": time.perf_counter() - t0, "rss_before_mb": before / 2**20,
                          "rss_growth_mb": (after - before) / 2**20}))
    """)
    assert res["rss_growth_mb"] < 4, res
