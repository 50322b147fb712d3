"""Threads: bitwise-identical results for any pool size, concurrent Python callers, fork after first use."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastbce

# Large enough to be split over the pool (the core goes parallel above 2^17 elements).
SHAPES = [(1 << 20,), (1 << 18, 1), (4096, 64), (64, 300, 16)]


def _inputs(shape, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) < 0.5).astype(dtype), rng.random(shape).astype(dtype)


@pytest.fixture
def restore_threads():
    before = fastbce.get_num_threads()
    yield
    fastbce.set_num_threads(before)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
def test_same_bits_for_any_thread_count(each_isa, restore_threads, shape, reduction):
    y, p = _inputs(shape, 1)
    axis = 1 if len(shape) == 3 else -1
    bce = fastbce.BinaryCrossentropy(reduction=reduction, axis=axis)
    results = []
    for n in (1, 2, 3, 8):
        fastbce.set_num_threads(n)
        assert fastbce.get_num_threads() == n
        results.append(np.asarray(bce(y, p)).tobytes())
    assert all(r == results[0] for r in results)


def test_set_num_threads_rejects_nonsense(restore_threads):
    for bad in (0, -1):
        with pytest.raises(ValueError, match="set_num_threads"):
            fastbce.set_num_threads(bad)


def test_many_python_threads_match_serial(restore_threads):
    fastbce.set_num_threads(2)
    cases = []
    for i, shape in enumerate(SHAPES * 2):
        axis = 1 if len(shape) == 3 else -1
        loss = fastbce.BinaryCrossentropy(from_logits=bool(i % 2), axis=axis,
                                          reduction="none" if i % 3 == 0 else "sum")
        cases.append((loss, *_inputs(shape, 100 + i)))
    cases.append((fastbce.BinaryCrossentropy(), *_inputs((3, 5), 7)))  # small: stays on the caller
    serial = [np.asarray(loss(y, p)).tobytes() for loss, y, p in cases]

    results = {}
    barrier = threading.Barrier(len(cases))

    def work(k):
        loss, y, p = cases[k]
        barrier.wait()
        results[k] = [np.asarray(loss(y, p)).tobytes() for _ in range(5)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, expected in enumerate(serial):
        assert results[k] == [expected] * 5, f"case {k} differs under concurrency"


def test_shared_loss_object_across_threads():
    loss = fastbce.BinaryCrossentropy(label_smoothing=0.1)
    y, p = _inputs((1 << 19,), 3)
    expected = np.asarray(loss(y, p)).tobytes()
    got = []

    def work():
        for _ in range(10):
            got.append(np.asarray(loss(y, p)).tobytes())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [expected] * 60


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_first_use_leaves_child_working():
    y, p = _inputs((1 << 20,), 5)
    loss = fastbce.BinaryCrossentropy()
    expected = np.asarray(loss(y, p)).tobytes()  # the pool's workers exist now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only the forking thread survives; the pool must rebuild itself
        try:
            os.close(read_end)
            ok = all(np.asarray(loss(y, p)).tobytes() == expected for _ in range(3))
            os.write(write_end, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        answer = f.read()
    os.waitpid(pid, 0)
    assert answer == b"ok"
    assert np.asarray(loss(y, p)).tobytes() == expected  # the parent's pool still works too


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_env_num_threads():
    r = _run("import fastbce; print(fastbce.get_num_threads())", FASTBCE_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_env_num_threads_invalid_is_clear_error():
    r = _run("import fastbce", FASTBCE_NUM_THREADS="lots")
    assert r.returncode != 0
    assert "FASTBCE_NUM_THREADS='lots'" in r.stderr


def test_default_threads_follow_affinity():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no sched_setaffinity")
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "import fastbce; print(fastbce.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != "FASTBCE_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
