"""``fastbce eval`` (issue 11, point 2): the loss of labels and predictions in files, streamed in chunks of rows.

Every value is checked against the in-memory ``fastbce.BinaryCrossentropy(...)(y, p, w)`` on the whole arrays
(columns as ``(n, 1)``: one prediction per row) and against the float64 NumPy reference (``reference``), with
chunks forced tiny (``--chunk-rows``) so that many chunks run. The formats here need only NumPy (.npy, .npz, CSV
through the NumPy fallback); Parquet / Feather / pyarrow's CSV are in test_fw_files.py.
"""
import json
import os
import pty
import select
import subprocess
import sys

import numpy as np
import pytest

import fastbce
from fastbce import _files, cli

import reference

REDUCTIONS = ("auto", "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")


def run(capsys, *argv):
    """``fastbce eval ARGV`` in this process: (exit code, stdout, stderr)."""
    code = cli.main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def run_process(*argv, **kw):
    return subprocess.run([sys.executable, "-m", "fastbce", *map(str, argv)], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300, **kw)


@pytest.fixture
def no_pyarrow(monkeypatch):
    """The environment without pyarrow: CSV through NumPy, Parquet / Arrow refused."""
    def missing(name="pyarrow"):
        raise ImportError(f"No module named {name!r}")

    def arrow_csv(*args):
        raise AssertionError("pyarrow's CSV reader used without pyarrow")
    monkeypatch.setattr(_files, "pyarrow_module", missing)
    monkeypatch.setattr(_files, "ArrowCsvReader", arrow_csv)


def binary_data(rng, n, logits=False, dtype=np.float32):
    y = (rng.random(n) < 0.4).astype(dtype)
    p = (rng.standard_normal(n) * 3).astype(dtype) if logits else rng.random(n).astype(dtype)
    w = rng.uniform(0.0, 2.0, n).astype(dtype)
    return y, p, w


def in_memory(y, p, w=None, **options):
    """The loss on the whole arrays, columns as (n, 1), as the command defines it."""
    col = (lambda a: a[:, None]) if y.ndim == 1 else (lambda a: a)
    return fastbce.BinaryCrossentropy(**options)(col(y), col(p), w)


def save_npy(tmp_path, **arrays):
    paths = {}
    for name, a in arrays.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], a)
    return paths


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("reduction", [r for r in REDUCTIONS if r != "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_npy_pair_equals_the_in_memory_loss(tmp_path, capsys, rng, reduction, weighted, chunk):
    n = 1500 if chunk == 1 else 5000
    y, p, w = binary_data(rng, n)
    f = save_npy(tmp_path, y=y, p=p, w=w)
    argv = ["--labels", f["y"], "--predictions", f["p"], "--reduction", reduction, "--chunk-rows", chunk]
    if weighted:
        argv += ["--weights", f["w"]]
    got = run_json(capsys, *argv)
    want = in_memory(y, p, w if weighted else None, reduction=reduction)
    assert got["dtype"] == "float32" == want.dtype.name
    assert got["rows"] == n and got["samples"] == n
    # float64 partial sums: the float32 results are equal or one ulp apart
    np.testing.assert_allclose(got["value"], float(want), rtol=2.0**-23)
    # and the float64 reference of the formula
    weight_sum = float(np.sum(w, dtype=np.float64)) if weighted else None
    ref = reference.loss(y[:, None], p[:, None], weight=w if weighted else None, reduction=reduction,
                         weight_sum=weight_sum)
    np.testing.assert_allclose(got["value"], ref, rtol=2e-6)


@pytest.mark.parametrize("options,argv", [
    ({"from_logits": True}, ["--from-logits"]),
    ({"label_smoothing": 0.2}, ["--label-smoothing", "0.2"]),
    ({"from_logits": True, "label_smoothing": 0.1, "pos_weight": 3.5},
     ["--from-logits", "--label-smoothing", "0.1", "--pos-weight", "3.5"]),
    ({"pos_weight": 0.25}, ["--pos-weight", "0.25"]),
])
def test_loss_options(tmp_path, capsys, rng, options, argv):
    y, p, w = binary_data(rng, 3000, logits=options.get("from_logits", False))
    f = save_npy(tmp_path, y=y, p=p, w=w)
    for reduction in ("auto", "sum"):
        got = run_json(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"], "--chunk-rows", 64, "--reduction",
                       reduction, *argv)
        want = in_memory(y, p, w, reduction=reduction, **options)
        np.testing.assert_allclose(got["value"], float(want), rtol=1e-6)
        assert got["options"]["from_logits"] == options.get("from_logits", False)
        assert got["options"]["label_smoothing"] == options.get("label_smoothing", 0.0)


def test_float64_inputs_compute_in_float64(tmp_path, capsys, rng):
    y, p, w = binary_data(rng, 4000, dtype=np.float64)
    f = save_npy(tmp_path, y=y, p=p, w=w)
    got = run_json(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"], "--chunk-rows", 333)
    want = in_memory(y, p, w)
    assert got["dtype"] == "float64"
    np.testing.assert_allclose(got["value"], float(want), rtol=1e-13)


def test_integer_and_boolean_labels_and_dtype_option(tmp_path, capsys, rng):
    y, p, _ = binary_data(rng, 2000)
    f = save_npy(tmp_path, yb=y.astype(bool), yi=y.astype(np.int8), p=p)
    for key in ("yb", "yi"):
        got = run_json(capsys, "-y", f[key], "-p", f["p"], "--chunk-rows", 99)
        np.testing.assert_allclose(got["value"], float(in_memory(y, p)), rtol=1e-6)
    got = run_json(capsys, "-y", f["yi"], "-p", f["p"], "--dtype", "float64", "--chunk-rows", 99)
    assert got["dtype"] == "float64"
    np.testing.assert_allclose(got["value"], float(in_memory(y, p, dtype="float64")), rtol=1e-13)


@pytest.mark.parametrize("axis", [-1, 1, 2])
@pytest.mark.parametrize("weights", [None, "rows", "per_sample"])
def test_rank3_arrays_average_over_axis(tmp_path, capsys, rng, axis, weights):
    n, t, c = 301, 5, 3
    y = (rng.random((n, t, c)) < 0.5).astype(np.float32)
    p = rng.random((n, t, c)).astype(np.float32)
    loss_shape = (n, c) if axis == 1 else (n, t)
    w = {None: None, "rows": rng.random(n).astype(np.float32),
         "per_sample": rng.random(loss_shape).astype(np.float32)}[weights]
    f = save_npy(tmp_path, y=y, p=p)
    extra = []
    if w is not None:
        np.save(tmp_path / "w.npy", w)
        extra = ["-w", tmp_path / "w.npy"]
    pos = [0.5, 2.0, 4.0]
    for reduction in ("auto", "sum", "mean_with_sample_weight"):
        got = run_json(capsys, "-y", f["y"], "-p", f["p"], *extra, "--axis", axis, "--pos-weight",
                       ",".join(map(str, pos)), "--reduction", reduction, "--chunk-rows", 17)
        want = fastbce.BinaryCrossentropy(axis=axis, pos_weight=pos, reduction=reduction)(y, p, w)
        np.testing.assert_allclose(got["value"], float(want), rtol=1e-6)
        assert got["samples"] == loss_shape[0] * loss_shape[1]


def test_reduction_none_streams_the_per_sample_losses(tmp_path, capsys, rng):
    y, p, w = binary_data(rng, 4321)
    f = save_npy(tmp_path, y=y, p=p, w=w)
    out = tmp_path / "losses.npy"
    code, stdout, err = run(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"], "--reduction", "none", "-o", out,
                            "--chunk-rows", 100)
    assert code == 0, err
    assert "4321 per-sample losses" in stdout and str(out) in stdout
    got = np.load(out)
    want = in_memory(y, p, w, reduction="none")
    assert got.shape == (4321,) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)  # each sample's value does not depend on the chunks
    np.testing.assert_allclose(got, reference.loss(y[:, None], p[:, None], weight=w, reduction="none"), rtol=1e-6)
    assert [x.name for x in tmp_path.iterdir() if "partial" in x.name] == []


def test_reduction_none_of_rank3_and_float16(tmp_path, capsys, rng):
    y = (rng.random((50, 4, 6)) < 0.5).astype(np.float16)
    p = rng.random((50, 4, 6)).astype(np.float16)
    f = save_npy(tmp_path, y=y, p=p)
    out = tmp_path / "o.npy"
    got = run_json(capsys, "-y", f["y"], "-p", f["p"], "--reduction", "none", "-o", out, "--axis", 1,
                   "--chunk-rows", 3)
    assert got["value"] is None and got["output"] == str(out) and got["dtype"] == "float16"
    arr = np.load(out)
    want = fastbce.BinaryCrossentropy(axis=1, reduction="none")(y, p)
    assert arr.shape == (50, 6) and arr.dtype == np.float16
    np.testing.assert_array_equal(arr, want)


def test_reduction_none_needs_output_and_output_needs_none(tmp_path, capsys, rng):
    y, p, _ = binary_data(rng, 10)
    f = save_npy(tmp_path, y=y, p=p)
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"], "--reduction", "none")
    assert code == 2 and "--output" in err
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"], "-o", tmp_path / "o.npy")
    assert code == 2 and "--reduction none" in err
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"], "--reduction", "none", "-o", tmp_path / "o.txt")
    assert code == 2 and ".npy" in err
    assert not (tmp_path / "o.npy").exists()


def test_a_failed_run_leaves_no_output(tmp_path, capsys, rng):
    # the labels end early: found while streaming (CSV has no row count up front), after some output was written
    np.savetxt(tmp_path / "y.csv", np.arange(10) % 2, header="y", comments="", fmt="%d")
    np.savetxt(tmp_path / "p.csv", rng.random(12), header="p", comments="", fmt="%.6f")
    out = tmp_path / "o.npy"
    code, _, err = run(capsys, "-y", tmp_path / "y.csv", "-p", tmp_path / "p.csv", "--reduction", "none", "-o",
                       out, "--chunk-rows", 4)
    assert code == 1 and "ends after 10 rows" in err
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.csv", "y.csv"]


def test_nan_in_nan_out(tmp_path, capsys, rng):
    y, p, _ = binary_data(rng, 1000)
    p[567] = np.nan
    f = save_npy(tmp_path, y=y, p=p)
    got = run_json(capsys, "-y", f["y"], "-p", f["p"], "--chunk-rows", 10)
    assert np.isnan(float(in_memory(y, p)))
    assert got["value"] == "nan"
    code, out, _ = run(capsys, "-y", f["y"], "-p", f["p"])
    assert code == 0 and out.startswith("binary_crossentropy nan ")


def test_empty_inputs_give_the_empty_batch_value(tmp_path, capsys):
    f = save_npy(tmp_path, y=np.zeros(0, np.float32), p=np.zeros(0, np.float32))
    got = run_json(capsys, "-y", f["y"], "-p", f["p"])
    assert got["value"] == float(in_memory(np.zeros(0, np.float32), np.zeros(0, np.float32))) == 0.0
    assert got["rows"] == 0


def test_fortran_ordered_npy(tmp_path, capsys, rng):
    y = np.asfortranarray((rng.random((400, 7)) < 0.5).astype(np.float32))
    p = np.asfortranarray(rng.random((400, 7)).astype(np.float32))
    f = save_npy(tmp_path, y=y, p=p)
    got = run_json(capsys, "-y", f["y"], "-p", f["p"], "--chunk-rows", 9)
    np.testing.assert_allclose(got["value"], float(fastbce.BinaryCrossentropy()(y, p)), rtol=1e-6)


def test_npy_chunks_map_only_their_rows(tmp_path):
    # each chunk is its own small memory map (what keeps the resident set bounded), not a view of the whole file
    n = 1 << 16
    np.save(tmp_path / "p.npy", np.arange(n, dtype=np.float32))
    reader = _files.open_reader(str(tmp_path / "p.npy"), [None])
    try:
        reader.read(1000)
        chunk = reader.read(1000)[None]
        np.testing.assert_array_equal(chunk, np.arange(1000, 2000, dtype=np.float32))
        base = chunk
        while not isinstance(base, np.memmap):
            base = base.base
        assert base.nbytes == 4000 and len(base._mmap) < 4000 + 2 * 65536  # the chunk, from a page boundary
    finally:
        reader.close()


# ----------------------------------------------------------------------------- npz and CSV
@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_one_file_with_named_members(tmp_path, capsys, rng, save):
    y, p, w = binary_data(rng, 2500)
    save(tmp_path / "d.npz", y_true=y, y_pred=p, weight=w, other=np.arange(3))
    got = run_json(capsys, tmp_path / "d.npz", "--weights", "weight", "--chunk-rows", 101)  # default names
    np.testing.assert_allclose(got["value"], float(in_memory(y, p, w)), rtol=1e-6)
    assert got["inputs"]["labels"] == {"path": str(tmp_path / "d.npz"), "column": "y_true", "format": "npz",
                                       "dtype": "float32", "shape": [2500]}
    # separate files and members, FILE:MEMBER
    save(tmp_path / "a.npz", labels=y)
    got = run_json(capsys, "-y", f"{tmp_path / 'a.npz'}", "-p", f"{tmp_path / 'd.npz'}:y_pred", "-w",
                   f"{tmp_path / 'd.npz'}:weight", "--reduction", "sum", "--chunk-rows", 64)
    np.testing.assert_allclose(got["value"], float(in_memory(y, p, w, reduction="sum")), rtol=1e-6)


@pytest.mark.parametrize("chunk", [1, 13, 100000])
def test_csv_numpy_fallback(tmp_path, capsys, rng, no_pyarrow, chunk):
    y, p, w = binary_data(rng, 3000)
    data = np.stack([np.arange(3000), y, p, w], axis=1)
    np.savetxt(tmp_path / "d.csv", data, delimiter=",", header="id,label,prob,weight", comments="",
               fmt=["%d", "%d", "%.9g", "%.9g"])
    monkey_block = _files.CSV_BLOCK_BYTES
    try:
        _files.CSV_BLOCK_BYTES = 1000  # many blocks of lines, not aligned with the chunks
        got = run_json(capsys, tmp_path / "d.csv", "-y", "label", "-p", "prob", "-w", "weight",
                       "--chunk-rows", chunk, "--reduction", "mean_with_sample_weight")
    finally:
        _files.CSV_BLOCK_BYTES = monkey_block
    assert got["inputs"]["predictions"]["format"] == "csv" and got["dtype"] == "float64"
    table = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)  # CSV is read as float64
    want = in_memory(table[:, 1], table[:, 2], table[:, 3], reduction="mean_with_sample_weight")
    np.testing.assert_allclose(got["value"], float(want), rtol=1e-12)
    assert got["rows"] == 3000


def test_csv_fallback_errors(tmp_path, capsys, no_pyarrow):
    (tmp_path / "d.csv").write_text("y,p\n1,0.5\n0,abc\n")
    code, _, err = run(capsys, tmp_path / "d.csv", "-y", "y", "-p", "p")
    assert code == 1 and "'abc'" in err and "lines 2 to 3" in err
    (tmp_path / "e.csv").write_text("y,p\n1,0.5\n")
    code, _, err = run(capsys, tmp_path / "e.csv", "-y", "y", "-p", "q")
    assert code == 2 and "no column 'q'" in err and "'y', 'p'" in err


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, capsys, no_pyarrow):
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    code, _, err = run(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "p")
    assert code == 2 and "pip install 'fastbce[files]'" in err


# ----------------------------------------------------------------------------- errors
def test_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, "-y", tmp_path / "nope.npy", "-p", tmp_path / "nope2.npy")
    assert code == 2 and "nope.npy: no such file" in err


def test_missing_column_lists_the_available_ones(tmp_path, capsys, rng):
    y, p, _ = binary_data(rng, 10)
    np.savez(tmp_path / "d.npz", labels=y, scores=p)
    code, _, err = run(capsys, tmp_path / "d.npz", "-y", "labels")  # predictions default: y_pred
    assert code == 2 and "no member 'y_pred'" in err and "'labels', 'scores'" in err
    code, _, err = run(capsys, "-y", tmp_path / "d.npz", "-p", f"{tmp_path / 'd.npz'}:scores")
    assert code == 2 and "has 2 members" in err and ":NAME" in err


@pytest.mark.parametrize("lengths", [(100, 99, None), (100, 100, 101)])
def test_mismatched_lengths(tmp_path, capsys, rng, lengths):
    ny, np_, nw = lengths
    f = save_npy(tmp_path, y=np.zeros(ny, np.float32), p=np.full(np_, 0.5, np.float32))
    argv = ["-y", f["y"], "-p", f["p"]]
    if nw is not None:
        np.save(tmp_path / "w.npy", np.ones(nw, np.float32))
        argv += ["-w", tmp_path / "w.npy"]
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert "different numbers of rows" in err and f"has {max(lengths[:2]) if nw is None else nw}" in err


def test_mismatched_row_shapes(tmp_path, capsys):
    f = save_npy(tmp_path, y=np.zeros((10, 3), np.float32), p=np.zeros((10, 4), np.float32))
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"])
    assert code == 1 and "rows of shape (3,)" in err and "rows of shape (4,)" in err
    f = save_npy(tmp_path, y=np.zeros(10, np.float32), p=np.zeros((10, 2), np.float32))
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"])
    assert code == 1 and "one value per row" in err and "rows of shape (2,)" in err
    np.savez(tmp_path / "z.npy.npz", a=np.zeros(3))
    os.replace(tmp_path / "z.npy.npz", tmp_path / "z.npy")  # a .npz named .npy
    code, _, err = run(capsys, "-y", tmp_path / "z.npy", "-p", f["p"])
    assert code == 1 and "not a .npy file" in err
    f = save_npy(tmp_path, y=np.zeros((10, 3), np.float32), p=np.zeros((10, 3), np.float32),
                 w=np.zeros((10, 5), np.float32))
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"])
    assert code == 1 and "sample_weight" in err and "(10, 5)" in err


def test_non_numeric_data(tmp_path, capsys):
    f = save_npy(tmp_path, y=np.array(["a", "b"]), p=np.zeros(2, np.float32))
    code, _, err = run(capsys, "-y", f["y"], "-p", f["p"])
    assert code == 1 and "<U1" in err and "expected numbers" in err
    np.save(tmp_path / "o.npy", np.array([1, "x"], dtype=object), allow_pickle=True)
    code, _, err = run(capsys, "-y", tmp_path / "o.npy", "-p", f["p"])
    assert code == 1 and "Python objects" in err
    f = save_npy(tmp_path, c=np.zeros(2, np.complex64))
    code, _, err = run(capsys, "-y", f["c"], "-p", tmp_path / "p.npy")
    assert code == 1 and "complex64" in err


@pytest.mark.parametrize("argv,message", [
    (["--label-smoothing", "2"], "label_smoothing must be in [0, 1]"),
    (["--label-smoothing", "x"], "invalid float value"),
    (["--reduction", "average"], "invalid choice: 'average'"),
    (["--pos-weight", "1,x"], "comma-separated list"),
    (["--pos-weight", "1,2"], "pos_weight has 2 values"),
    (["--pos-weight", "inf"], "finite"),
    (["--axis", "0"], "--axis 0 is the axis of the rows"),
    (["--axis", "2"], "--axis 2 is out of range"),
    (["--axis", "x"], "invalid int value"),
    (["--chunk-rows", "0"], "positive integer"),
    (["--dtype", "int8"], "invalid choice"),
])
def test_bad_option_values_exit_2(tmp_path, capsys, argv, message):
    f = save_npy(tmp_path, y=np.zeros(10, np.float32), p=np.zeros(10, np.float32))
    try:
        code, _, err = run(capsys, "-y", f["y"], "-p", f["p"], *argv)
    except SystemExit as e:  # argparse's own checks
        code, err = e.code, capsys.readouterr().err
    assert code == 2 and message in err, err


@pytest.mark.parametrize("argv,message", [
    (["-y", "a.npy"], "--predictions missing"),
    ([], "--labels and --predictions missing"),
    (["data.npy"], "a .npy file holds one array"),
    (["-y", "a.txt", "-p", "b.npy"], "unknown file type"),
])
def test_usage_errors_exit_2(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err, err
    assert err.startswith("usage: fastbce eval")


# ----------------------------------------------------------------------------- output
def test_plain_line_and_json(tmp_path, capsys, rng):
    y, p, w = binary_data(rng, 1000)
    f = save_npy(tmp_path, y=y, p=p, w=w)
    want = in_memory(y, p, w)
    code, out, err = run(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"])
    assert code == 0 and err == ""  # no progress bar: stderr is not a terminal
    assert out == f"binary_crossentropy {want!s} (reduction auto, 1000 samples)\n"
    got = run_json(capsys, "-y", f["y"], "-p", f["p"], "-w", f["w"], "--reduction", "mean_with_sample_weight")
    assert got["value"] == float(str(in_memory(y, p, w, reduction="mean_with_sample_weight")))
    assert got["weight_sum"] == pytest.approx(float(np.sum(w, dtype=np.float64)), rel=1e-12)
    assert got["loss"] == "binary_crossentropy" and got["reduction"] == "mean_with_sample_weight"
    assert got["bytes"] == 3 * 4000 and got["rows"] == 1000
    assert got["elapsed_seconds"] > 0 and got["throughput"]["megabytes_per_second"] > 0
    assert got["inputs"]["weights"]["path"] == str(f["w"]) and got["inputs"]["weights"]["column"] is None


def _pty_stderr(argv, timeout=120):
    """Run ``python -m fastbce ARGV`` with stderr on a pseudo-terminal: (exit code, stdout, stderr bytes)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "fastbce", *map(str, argv)], stdout=subprocess.PIPE,
                                stderr=slave, env=dict(os.environ))
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            assert ready, "no output from the child"
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        out = proc.stdout.read().decode()
        proc.stdout.close()
        return proc.wait(timeout), out, b"".join(chunks).decode()
    finally:
        os.close(master)


def test_progress_bar_on_a_terminal_not_in_a_pipe(tmp_path, rng):
    y, p, _ = binary_data(rng, 20000)
    f = save_npy(tmp_path, y=y, p=p)
    argv = ["eval", "-y", f["y"], "-p", f["p"], "--chunk-rows", 100]
    want = f"binary_crossentropy {in_memory(y, p)!s} (reduction auto, 20000 samples)\n"
    code, out, err = _pty_stderr(argv)
    assert code == 0 and out == want
    assert "\r[########################] 100.0%  20.0k/20.0k rows" in err and "rows/s" in err and "done in" in err
    code, out, err = _pty_stderr(argv + ["--no-progress"])
    assert code == 0 and out == want and err == ""
    r = run_process(*argv)
    assert r.returncode == 0 and r.stdout == want and r.stderr == ""
    r = run_process(*argv, "--progress")
    assert r.returncode == 0 and "100.0%" in r.stderr


def test_progress_line_shows_eta_while_running():
    import io
    stream = io.StringIO()
    bar = cli.Progress(stream, 1000, start=0.0)  # started long ago
    bar.update(250, 10_000_000, None)
    line = stream.getvalue()
    assert line.startswith("\r[######------------------]  25.0%  250/1.0k rows") and "ETA" in line


def test_progress_line_without_a_row_count():
    # CSV and Arrow streams: the fraction of the file read, no total
    import io
    stream = io.StringIO()
    bar = cli.Progress(stream, None, start=0.0)
    bar.update(1500, 10_000_000, 0.5)
    line = stream.getvalue()
    assert line.startswith("\r[############------------]  50.0%  1.5k rows  ") and "ETA" in line
    bar.update(3000, 20_000_000, None, final=True)
    assert stream.getvalue().endswith("\n") and "100.0%  3.0k rows" in stream.getvalue()


# ----------------------------------------------------------------------------- entry points
def test_python_m_fastbce_eval_and_the_demo(tmp_path, rng):
    y, p, _ = binary_data(rng, 100)
    f = save_npy(tmp_path, y=y, p=p)
    r = run_process("eval", "-y", f["y"], "-p", f["p"], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["value"] == float(str(in_memory(y, p)))
    r = run_process("eval", "--help")
    assert r.returncode == 0 and "--labels" in r.stdout and "exit codes" in r.stdout
    r = run_process("--sizes", "4096")  # the demo, as before
    assert r.returncode == 0 and "Loss:  11.522857" in r.stdout
    r = run_process(f["p"])  # issue 11: was a bare "unrecognized arguments"
    assert r.returncode == 2 and "python -m fastbce eval" in r.stderr


def test_console_script(tmp_path, rng):
    script = os.path.join(os.path.dirname(sys.executable), "fastbce")
    if not os.path.exists(script):
        pytest.skip("the fastbce console script is not installed next to this Python")
    y, p, _ = binary_data(rng, 100)
    f = save_npy(tmp_path, y=y, p=p)
    r = subprocess.run([script, "eval", "-y", f["y"], "-p", f["p"]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"binary_crossentropy {in_memory(y, p)!s} (reduction auto, 100 samples)\n"
