"""Threads (issue 4, point 3), the races test_threads.py does not cover: the dispatch level and the pool size
changed while other threads compute, concurrent callers on the chunked path (per-call buffers), and a fork
while another thread is inside a parallel kernel."""
import os
import select
import threading
import warnings

import numpy as np
import pytest

import fastbce
from fastbce import _core

import reference

ISAS = _core.available_isas()


@pytest.fixture
def restore_state():
    isa, threads = _core.isa(), fastbce.get_num_threads()
    yield
    _core.set_isa(isa)
    fastbce.set_num_threads(threads)


def _cases():
    rng = np.random.default_rng(42)
    out = []
    for i, (shape, axis) in enumerate([((1 << 19,), -1), ((2048, 128), -1), ((64, 300, 16), 1), ((300, 7), 0)]):
        yt = (rng.random(shape) < 0.5).astype(np.float32)
        yp = rng.random(shape).astype(np.float32)
        if i % 2:  # chunked path: strided float64 predictions, bool labels, a batch weight
            yp = np.repeat(yp.astype(np.float64), 2, axis=-1)[..., ::2]
            yt = yt.astype(bool)
        w = rng.random(np.delete(np.array(shape), axis)[0]) if len(shape) > 1 else None
        loss = fastbce.BinaryCrossentropy(axis=axis, from_logits=bool(i % 3 == 2),
                                          reduction="none" if i % 2 else "sum")
        out.append((loss, yt, yp, w))
    return out


def _bits(loss, yt, yp, w):
    return np.asarray(loss(yt, yp, sample_weight=w)).tobytes()


def test_switching_isa_and_pool_size_while_threads_compute(restore_state):
    cases = _cases()
    # the bits each level gives serially (the same for any pool size)
    expected = {}
    for isa in ISAS:
        _core.set_isa(isa)
        expected[isa] = [_bits(*c) for c in cases]
    stop = threading.Event()
    errors, seen = [], []

    def switcher():
        k = 0
        while not stop.is_set():
            _core.set_isa(ISAS[k % len(ISAS)])
            fastbce.set_num_threads(1 + k % 4)
            k += 1

    def worker(j):
        try:
            for it in range(30):
                for c, case in enumerate(cases):
                    got = _bits(*case)
                    # one call runs on one level from start to end: its bits are one level's serial bits
                    ok = [isa for isa in ISAS if got == expected[isa][c]]
                    if not ok:
                        errors.append((j, it, c))
                    seen.extend(ok)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    sw = threading.Thread(target=switcher)
    workers = [threading.Thread(target=worker, args=(j,)) for j in range(4)]
    sw.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    sw.join()
    assert not errors, errors[:5]
    assert seen


def test_concurrent_chunked_callers_match_serial(restore_state, monkeypatch):
    from fastbce import _inputs
    monkeypatch.setattr(_inputs, "CHUNK", 1000)  # many blocks per call: buffers reused across blocks
    fastbce.set_num_threads(2)
    cases = _cases()
    serial = [_bits(*c) for c in cases]
    results = {}
    barrier = threading.Barrier(8)

    def work(k):
        barrier.wait()
        results[k] = [[_bits(*c) for c in cases] for _ in range(4)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        assert results[k] == [serial] * 4
    # and the serial bits are right
    loss, yt, yp, w = cases[1]
    exp = reference.loss(yt, yp, axis=loss.axis, reduction=loss.reduction, weight=w, dtype=np.float64)
    np.testing.assert_allclose(np.frombuffer(serial[1], np.float64).reshape(exp.shape), exp, rtol=1e-12)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_another_thread_computes(restore_state):
    fastbce.set_num_threads(2)
    rng = np.random.default_rng(6)
    yt = (rng.random(1 << 21) < 0.5).astype(np.float32)
    yp = rng.random(1 << 21).astype(np.float32)
    loss = fastbce.BinaryCrossentropy()
    expected = np.asarray(loss(yt, yp)).tobytes()
    stop = threading.Event()
    bad = []

    def busy():
        while not stop.is_set():
            if np.asarray(loss(yt, yp)).tobytes() != expected:
                bad.append(1)

    t = threading.Thread(target=busy)
    t.start()
    try:
        for _ in range(5):  # fork at different moments of the other thread's calls
            r, wfd = os.pipe()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # "fork() with threads" on 3.12+
                # JAX's at-fork hook warns whenever it was imported earlier in this process (a dev venv with the
                # framework tests): fastbce's fork safety is what this test checks, not JAX's.
                warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
                pid = os.fork()
            if pid == 0:
                try:
                    os.close(r)
                    ok = all(np.asarray(loss(yt, yp)).tobytes() == expected for _ in range(2))
                    fastbce.set_num_threads(3)  # the child's pool can be resized and still gives the same bits
                    ok = ok and np.asarray(loss(yt, yp)).tobytes() == expected
                    os.write(wfd, b"ok" if ok else b"bad")
                finally:
                    os._exit(0)
            os.close(wfd)
            ready, _, _ = select.select([r], [], [], 120)
            if not ready:  # a deadlocked child: kill it and fail
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                os.close(r)
                pytest.fail("the forked child hung")
            with os.fdopen(r, "rb") as f:
                answer = f.read()
            _, status = os.waitpid(pid, 0)
            assert answer == b"ok" and status == 0
    finally:
        stop.set()
        t.join()
    assert not bad
