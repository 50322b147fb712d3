"""FASTBCE_ISA is honoured in a fresh process; unknown or unsupported levels are a clear error."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastbce
from fastbce import _core

ALL_LEVELS = _core.known_isas()  # cpp/levels.def
SEED = ("import fastbce\n"
        "bce = fastbce.BinaryCrossentropy()\n"
        "loss = bce([0., 0., 1., 1.], [1., 1., 1., 0.])\n"
        "print('Loss: ', loss.numpy())\n")


def run(code, isa=None):
    env = dict(os.environ)
    env.pop("FASTBCE_ISA", None)
    if isa is not None:
        env["FASTBCE_ISA"] = isa
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("isa", _core.available_isas())
def test_forced_level_is_reported_and_used(isa):
    r = run("import fastbce; print(fastbce.isa()); print(fastbce.available_isas())\n" + SEED, isa)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == isa
    assert lines[2] == "Loss:  11.522857"


def test_seed_snippet_prints_exactly():
    # the seed's snippet with only the import swapped
    r = run(SEED)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Loss:  11.522857\n"


def test_default_is_the_best_available():
    r = run("import fastbce; print(fastbce.isa())")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == _core.available_isas()[0]


@pytest.mark.parametrize("value", ["bogus", "AVX9"] + [lv for lv in ALL_LEVELS if lv not in _core.available_isas()])
def test_unknown_or_unsupported_level_is_a_clear_error(value):
    r = run("import fastbce\nprint(fastbce.isa())\nprint(fastbce.BinaryCrossentropy()([0.], [0.5]))", value)
    assert r.returncode != 0
    assert "FASTBCE_ISA" in r.stderr and value in r.stderr
    assert "scalar" in r.stderr  # the message lists what can be chosen


def test_set_isa_rejects_unknown_levels():
    with pytest.raises(ValueError, match="bogus"):
        _core.set_isa("bogus")
    assert fastbce.isa() in _core.available_isas()


def test_threads_give_bitwise_identical_results():
    rng = np.random.default_rng(3)
    yt = (rng.random((1000, 997)) < 0.5).astype(np.float32)
    yp = rng.random((1000, 997)).astype(np.float32)
    before = fastbce.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 8):
            fastbce.set_num_threads(n)
            assert fastbce.get_num_threads() == n
            results.append((float(fastbce.BinaryCrossentropy(reduction="sum")(yt, yp)),
                            fastbce.BinaryCrossentropy(reduction="none")(yt, yp).tobytes()))
    finally:
        fastbce.set_num_threads(before)
    assert all(r == results[0] for r in results)
