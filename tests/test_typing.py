"""Static types (issue 12, point 1): typical user code is clean under ``mypy --strict`` and ``pyright`` (strict),
misuses of the constructor and the functional form are flagged, results are not ``Any``, the stub of the
compiled core matches it, and the package itself is ``mypy --strict`` clean.

The checkers run in subprocesses on scripts written to a temporary directory (so they see the installed
fastbce, through its ``py.typed``). mypy is in the ``test`` extra; these tests skip when it is not installed.
pyright (the PyPI package) runs only when installed and able to start: it needs Node.js, which it downloads
on first use when there is none, and that fails offline.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastbce import _core

HAVE_MYPY = importlib.util.find_spec("mypy") is not None
needs_mypy = pytest.mark.skipif(not HAVE_MYPY, reason="mypy is not installed (pip install 'fastbce[test]')")
SOURCE = Path(__file__).resolve().parents[1] / "python" / "fastbce"

USER_CODE = '''\
"""Typical fastbce user code."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

import fastbce
from fastbce import BinaryCrossentropy, Reduction

y_true: npt.NDArray[np.float32] = np.array([[0.0], [1.0], [1.0]], dtype=np.float32)
y_pred: npt.NDArray[np.float32] = np.array([[0.1], [0.8], [0.6]], dtype=np.float32)

bce = BinaryCrossentropy()
loss: fastbce.LossResult = bce(y_true, y_pred)
value: float = float(loss)
print("Loss: ", loss.numpy(), value)

# every way of giving a reduction, with a [batch] sample weight
for reduction in (Reduction.AUTO, Reduction.SUM, Reduction.NONE, Reduction.SUM_OVER_BATCH_SIZE, Reduction.MEAN,
                  Reduction.MEAN_WITH_SAMPLE_WEIGHT, "sum", "mean", None):
    r = BinaryCrossentropy(reduction=reduction)(y_true, y_pred, sample_weight=[1.0, 2.0, 0.5])
    print(r.numpy())
logits = BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=-1, reduction="none",
                            name="bce", dtype="float64", pos_weight=2.0)
per_sample = logits.call([[0, 1], [1, 1]], [[-1.5, 2.0], [0.3, 0.1]])
print(per_sample.numpy(), logits.from_logits, logits.label_smoothing, logits.axis, logits.name)
BinaryCrossentropy(pos_weight=[1.0, 3.0], dtype=np.float32)
BinaryCrossentropy(pos_weight=np.array([1.0, 3.0]), label_smoothing=np.float32(0.2), axis=np.int64(-1))
BinaryCrossentropy(dtype={"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}})
red: fastbce.ReductionName | None = logits.reduction
logits.reduction = Reduction.SUM
pw: float | tuple[float, ...] | None = logits.pos_weight
dt: str | None = logits.dtype

# configs both ways
config: dict[str, Any] = bce.get_config()
clone: BinaryCrossentropy = BinaryCrossentropy.from_config(config)

# the functional form; lists as inputs
f = fastbce.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], from_logits=False)
print(f.numpy(), clone, red, pw, dt)
names: tuple[fastbce.ReductionName, ...] = Reduction.all()
isa: str = fastbce.isa()
levels: list[str] = fastbce.available_isas()
fastbce.set_num_threads(fastbce.get_num_threads())
version: str = fastbce.__version__
'''

# One misuse a line, with a pattern the checker's message for that line must match (each names the argument).
MISUSES = [
    ('BinaryCrossentropy(label_smoothing="x")', r"label_smoothing"),
    ("BinaryCrossentropy(reduction=3)", r"reduction"),
    ('BinaryCrossentropy(reduction="average")', r"reduction"),
    ('BinaryCrossentropy(from_logits="yes")', r"from_logits"),
    ("binary_crossentropy([[1.0]], [[0.5]], from_logits=1)", r"from_logits"),
    ('BinaryCrossentropy(dtype="float8")', r"dtype"),
    ('BinaryCrossentropy(pos_weight="2")', r"pos_weight"),
    ("BinaryCrossentropy()(None, [[0.5]])", r'y_true|Argument 1 to "__call__"'),
    ('BinaryCrossentropy().reduction = "average"', r"reduction|assignment"),
]
MISUSE_CODE = "from fastbce import BinaryCrossentropy, binary_crossentropy\n" + "".join(
    code + "\n" for code, _ in MISUSES)
FIRST_MISUSE_LINE = 2  # 1-based

REVEAL_CODE = '''\
import fastbce
reveal_type(fastbce.BinaryCrossentropy()([[0.0]], [[0.5]]))
reveal_type(fastbce.binary_crossentropy([[0.0]], [[0.5]]))
reveal_type(fastbce.Reduction.SUM)
reveal_type(fastbce.BinaryCrossentropy.from_config({}))
'''


def _write(directory: Path) -> None:
    (directory / "user_ok.py").write_text(USER_CODE)
    (directory / "misuse.py").write_text(MISUSE_CODE)
    (directory / "reveal.py").write_text(REVEAL_CODE)


def test_user_code_runs(tmp_path, capsys):
    """The script the checkers must pass is real, working code."""
    _write(tmp_path)
    runpy.run_path(str(tmp_path / "user_ok.py"), run_name="__main__")
    assert "Loss: " in capsys.readouterr().out


def test_misuses_are_runtime_errors_too():
    """What the checkers flag also fails when run (the messages: test_error_hints, test_spec_contract)."""
    from fastbce import BinaryCrossentropy, binary_crossentropy
    for code, _ in MISUSES:
        with pytest.raises((TypeError, ValueError)):
            exec(code, {"BinaryCrossentropy": BinaryCrossentropy, "binary_crossentropy": binary_crossentropy})


# --------------------------------------------------------------------------- mypy
@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    if not HAVE_MYPY:
        pytest.skip("mypy is not installed (pip install 'fastbce[test]')")
    d = tmp_path_factory.mktemp("mypy")
    _write(d)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(d / ".mypy_cache"),
         "user_ok.py", "misuse.py", "reveal.py"],
        cwd=d, capture_output=True, text=True, timeout=600, env={**os.environ, "MYPYPATH": ""})
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 1: the misuses; 2 would be a mypy failure
    by_file = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"(\w+)\.py:(\d+): (error|note): (.*)", line)
        assert m, f"unexpected mypy output line: {line!r}\n{proc.stdout}{proc.stderr}"
        by_file.setdefault(m.group(1), []).append((int(m.group(2)), m.group(3), m.group(4)))
    return by_file, proc.stdout


@needs_mypy
def test_mypy_strict_user_code_is_clean(mypy_output):
    by_file, out = mypy_output
    assert by_file.get("user_ok", []) == [], out


@needs_mypy
def test_mypy_strict_flags_each_misuse(mypy_output):
    by_file, out = mypy_output
    errors = {}
    for line, kind, msg in by_file.get("misuse", []):
        if kind == "error":
            errors.setdefault(line, []).append(msg)
    assert sorted(errors) == list(range(FIRST_MISUSE_LINE, FIRST_MISUSE_LINE + len(MISUSES))), out
    for i, (code, pattern) in enumerate(MISUSES):
        msgs = errors[FIRST_MISUSE_LINE + i]
        assert any(re.search(pattern, m) for m in msgs), (code, msgs)


@needs_mypy
def test_mypy_reveals_precise_result_types(mypy_output):
    by_file, out = mypy_output
    notes = [msg for _, kind, msg in by_file.get("reveal", []) if kind == "note"]
    assert len(notes) == 4 and all(m.startswith("Revealed type is") for m in notes), out
    for result in notes[:2]:
        for t in ("LossFloat32", "LossFloat64", "LossFloat16", "LossArray"):
            assert t in result, result
        assert "Any" not in result, result
    assert "Literal['sum']" in notes[2], notes[2]
    assert "BinaryCrossentropy" in notes[3], notes[3]


@needs_mypy
@pytest.mark.skipif(not SOURCE.is_dir(), reason="needs the source tree (python/fastbce)")
def test_mypy_strict_package_is_clean(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), str(SOURCE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, "MYPYPATH": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- pyright
def _pyright_command():
    if importlib.util.find_spec("pyright") is not None:
        return [sys.executable, "-m", "pyright"]
    exe = shutil.which("pyright")
    return [exe] if exe else None


@pytest.fixture(scope="module")
def pyright(tmp_path_factory):
    """Run pyright (strict) from the test's interpreter environment, or skip saying why it cannot run."""
    cmd = _pyright_command()
    if cmd is None:
        pytest.skip("pyright is not installed (optional: pip install pyright)")
    # verifytypes finds packages through the `python` on PATH: put this interpreter's first
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    try:
        probe = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("pyright did not start within 300 s (it fetches Node.js on first use when there is none)")
    if probe.returncode != 0 or "pyright" not in probe.stdout.lower():
        tail = (probe.stdout + probe.stderr).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"pyright could not start (it needs Node.js, which pyright-python downloads on first use; "
                    f"offline that fails): {tail[0]}")
    d = tmp_path_factory.mktemp("pyright")
    _write(d)
    (d / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))

    def run(*args):
        proc = subprocess.run(cmd + ["--outputjson", "--pythonpath", sys.executable, *args], cwd=d,
                              capture_output=True, text=True, timeout=600, env=env)
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"pyright gave no JSON (exit {proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    return run


def _diagnostics(report, filename):
    return [dgn for dgn in report["generalDiagnostics"] if Path(dgn["file"]).name == filename]


def test_pyright_strict_user_code_is_clean(pyright):
    report = pyright("user_ok.py")
    diags = _diagnostics(report, "user_ok.py")
    assert [dgn for dgn in diags if dgn["severity"] in ("error", "warning")] == [], diags


def test_pyright_strict_flags_each_misuse(pyright):
    report = pyright("misuse.py")
    errors = {}
    for dgn in _diagnostics(report, "misuse.py"):
        assert dgn["severity"] == "error", dgn
        errors.setdefault(dgn["range"]["start"]["line"] + 1, []).append(dgn["message"])
    assert sorted(errors) == list(range(FIRST_MISUSE_LINE, FIRST_MISUSE_LINE + len(MISUSES))), errors
    for i, (code, pattern) in enumerate(MISUSES):
        msgs = errors[FIRST_MISUSE_LINE + i]
        assert any(re.search(pattern, m) for m in msgs), (code, msgs)


def test_pyright_reveals_precise_result_types(pyright):
    report = pyright("reveal.py")
    notes = [dgn["message"] for dgn in _diagnostics(report, "reveal.py") if dgn["severity"] == "information"]
    assert len(notes) == 4, report
    for result in notes[:2]:
        for t in ("LossFloat32", "LossFloat64", "LossFloat16", "LossArray"):
            assert t in result, result
        assert "Any" not in result and "Unknown" not in result, result
    assert "Literal['sum']" in notes[2], notes[2]


def test_pyright_public_api_is_fully_typed(pyright):
    """``pyright --verifytypes``: every symbol fastbce exports has a known type (types from NumPy and the
    standard library, which fastbce cannot change, are left out with --ignoreexternal)."""
    report = pyright("--verifytypes", "fastbce", "--ignoreexternal")
    tc = report["typeCompleteness"]
    assert tc["packageRootDirectory"], report["generalDiagnostics"]  # found the installed package
    assert tc["exportedSymbolCounts"]["withUnknownType"] == 0, report["generalDiagnostics"]
    assert tc["exportedSymbolCounts"]["withAmbiguousType"] == 0, report["generalDiagnostics"]
    assert tc["completenessScore"] == 1, report["generalDiagnostics"]


# --------------------------------------------------------------------------- the core's stub
def test_core_stub_matches_the_compiled_core():
    """python/fastbce/_core.pyi declares exactly the functions cpp/module.cpp defines, with their parameters."""
    stub = Path(_core.__file__).with_name("_core.pyi")
    if not stub.exists():
        stub = SOURCE / "_core.pyi"
    tree = ast.parse(stub.read_text())
    declared = {f.name: [a.arg for a in f.args.args] for f in tree.body if isinstance(f, ast.FunctionDef)}
    compiled = {name for name in dir(_core) if not name.startswith("_") and callable(getattr(_core, name))}
    assert set(declared) == compiled
    for name, params in declared.items():
        # pybind11's docstring starts with the signature: name(a: type, b: type = default) -> result
        first = getattr(_core, name).__doc__.splitlines()[0]
        sig = first[len(name) + 1:first.rindex(") ->")]
        names = [p.split(":")[0].strip() for p in re.split(r",\s*(?=\w+:)", sig) if p.strip()]
        assert names == params, (name, first, params)
