"""``python -m fastbce`` runs the demo: the seed example and a throughput table."""
import os
import subprocess
import sys

import fastbce


def test_demo_prints_seed_and_table():
    # the demo runs with this process's environment (FASTBCE_ISA included), so it reports the same level
    r = subprocess.run([sys.executable, "-m", "fastbce", "--sizes", "4096,65536"], capture_output=True,
                       text=True, env=dict(os.environ), timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Loss:  11.522857" in lines
    assert f"ISA {fastbce.isa()}" in lines[0] and "thread" in lines[0]
    rows = [ln.split() for ln in lines if ln.strip().split(" ")[0].replace(",", "").isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("4,096", "probabilities"), ("4,096", "logits"),
                                            ("65,536", "probabilities"), ("65,536", "logits")]
    for row in rows:
        assert float(row[2].replace(",", "")) > 0 and float(row[3].replace(",", "")) > 0
        assert float(row[5]) < 1e-5  # fastbce and the NumPy formula agree


def test_numpy_formula_of_the_demo_matches_the_package():
    import numpy as np

    from fastbce.__main__ import numpy_bce
    rng = np.random.default_rng(0)
    y = (rng.random((50, 8)) < 0.5).astype(np.float32)
    for from_logits, x in ((False, rng.random((50, 8), dtype=np.float32)),
                           (True, rng.standard_normal((50, 8), dtype=np.float32))):
        got = fastbce.BinaryCrossentropy(from_logits=from_logits)(y, x)
        np.testing.assert_allclose(float(numpy_bce(y, x, from_logits)), float(got), rtol=1e-6)
