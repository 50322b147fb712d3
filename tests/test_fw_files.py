"""``fastbce eval`` on Parquet, Feather / Arrow IPC and CSV read by pyarrow (``pip install 'fastbce[files]'``).

The values are checked against the in-memory loss on the columns as pyarrow reads them whole
(``pyarrow.parquet.read_table`` and friends), columns as ``(n, 1)``, with chunks forced tiny.
"""
import json

import numpy as np
import pytest

import fastbce
from fastbce import _files, cli

import reference

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")
pacsv = pytest.importorskip("pyarrow.csv")


def run(capsys, *argv):
    code = cli.main(["eval", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def in_memory(table, y="y", p="p", w=None, **options):
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    weights = None if w is None else cols[w]
    return fastbce.BinaryCrossentropy(**options)(cols[y][:, None], cols[p][:, None], weights)


def make_table(rng, n, pred_type="float32"):
    y = (rng.random(n) < 0.3).astype(np.int64)
    p = rng.random(n).astype(pred_type)
    w = rng.uniform(0.5, 1.5, n)
    return pa.table({"id": np.arange(n), "y": y, "p": p, "w": w.astype(np.float32)})


@pytest.mark.parametrize("chunk", [1, 37, 100000])
@pytest.mark.parametrize("reduction", ["auto", "sum", "mean_with_sample_weight"])
def test_parquet_row_groups_and_chunks(tmp_path, capsys, rng, chunk, reduction):
    table = make_table(rng, 2000 if chunk == 1 else 20000)
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=3001)  # several row groups, unaligned
    got = run_json(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "p", "-w", "w", "--chunk-rows", chunk,
                   "--reduction", reduction)
    want = in_memory(table, w="w", reduction=reduction)
    assert got["dtype"] == "float32" and got["inputs"]["labels"]["dtype"] == "int64"
    np.testing.assert_allclose(got["value"], float(want), rtol=1e-6)
    cols = {n: table.column(n).to_numpy() for n in ("y", "p", "w")}
    ref = reference.loss(cols["y"][:, None], cols["p"][:, None], weight=cols["w"], reduction=reduction,
                         weight_sum=float(np.sum(cols["w"], dtype=np.float64)))
    np.testing.assert_allclose(got["value"], ref, rtol=2e-6)


@pytest.mark.parametrize("compression", ["uncompressed", "lz4", "zstd"])
def test_feather_files(tmp_path, capsys, rng, compression):
    table = make_table(rng, 10000, "float64")
    feather.write_feather(table, tmp_path / "d.feather", compression=compression, chunksize=999)
    got = run_json(capsys, tmp_path / "d.feather", "-y", "y", "-p", "p", "--chunk-rows", 500, "--from-logits")
    assert got["dtype"] == "float64" and got["inputs"]["predictions"]["format"] == "arrow"
    np.testing.assert_allclose(got["value"], float(in_memory(table, from_logits=True)), rtol=1e-12)


def test_arrow_stream(tmp_path, capsys, rng):
    table = make_table(rng, 5000)
    with pa.OSFile(str(tmp_path / "d.arrows"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=700)
    got = run_json(capsys, tmp_path / "d.arrows", "-y", "y", "-p", "p", "-w", "w", "--chunk-rows", 333,
                   "--label-smoothing", "0.1")
    np.testing.assert_allclose(got["value"], float(in_memory(table, w="w", label_smoothing=0.1)), rtol=1e-6)


@pytest.mark.parametrize("chunk", [7, 100000])
def test_csv_through_pyarrow(tmp_path, capsys, rng, monkeypatch, chunk):
    n = 30000
    y = (rng.random(n) < 0.5).astype(int)
    p = rng.random(n)
    np.savetxt(tmp_path / "d.csv", np.stack([y, p], 1), delimiter=",", header="label,score", comments="",
               fmt=["%d", "%.17g"])
    monkeypatch.setattr(_files, "CSV_BLOCK_BYTES", 4096)  # many blocks of the streaming reader
    got = run_json(capsys, tmp_path / "d.csv", "-y", "label", "-p", "score", "--chunk-rows", chunk)
    table = pacsv.read_csv(tmp_path / "d.csv")
    assert got["dtype"] == "float64"
    np.testing.assert_allclose(got["value"], float(in_memory(table.cast(pa.schema(
        [("label", pa.float64()), ("score", pa.float64())])), y="label", p="score")), rtol=1e-12)
    # the NumPy fallback reads the same values: the same chunks give the same bits
    def no_pyarrow(name="pyarrow"):
        raise ImportError(name)
    monkeypatch.setattr(_files, "pyarrow_module", no_pyarrow)
    fallback = run_json(capsys, tmp_path / "d.csv", "-y", "label", "-p", "score", "--chunk-rows", chunk)
    assert fallback["value"] == got["value"]


def test_nulls_are_nan(tmp_path, capsys):
    table = pa.table({"y": pa.array([1, None, 0], pa.int64()), "p": pa.array([0.5, 0.2, 0.3], pa.float32())})
    pq.write_table(table, tmp_path / "d.parquet")
    got = run_json(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "p")
    assert got["value"] == "nan"
    table = pa.table({"y": pa.array([1, 1, 0], pa.int64()), "p": pa.array([0.5, None, 0.3], pa.float32())})
    pq.write_table(table, tmp_path / "e.parquet")
    assert run_json(capsys, tmp_path / "e.parquet", "-y", "y", "-p", "p")["value"] == "nan"
    # a NaN in one chunk of many makes the total NaN
    got = run_json(capsys, tmp_path / "e.parquet", "-y", "y", "-p", "p", "--reduction", "sum", "--chunk-rows", 1)
    assert got["value"] == "nan"


def test_integer_predictions_with_nulls_keep_the_compute_dtype(tmp_path, capsys):
    # int predictions compute in float32; a chunk with a null must not switch to float64
    table = pa.table({"y": pa.array([1, 0, 1, 0]), "p": pa.array([1, 0, None, 0], pa.int32())})
    pq.write_table(table, tmp_path / "d.parquet")
    got = run_json(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "p", "--chunk-rows", 2, "--reduction", "none",
                   "-o", tmp_path / "o.npy")
    out = np.load(tmp_path / "o.npy")
    assert got["dtype"] == "float32" and out.dtype == np.float32
    want = fastbce.BinaryCrossentropy(reduction="none")(np.array([[1], [0], [0]], np.float32),
                                                        np.array([[1], [0], [0]], np.float32))
    np.testing.assert_array_equal(out[[0, 1, 3]], want)
    assert np.isnan(out[2])


def test_arrow_errors(tmp_path, capsys, rng):
    table = pa.table({"y": [1, 0], "p": ["0.5", "0.2"], "q": [0.1, 0.2]})
    pq.write_table(table, tmp_path / "d.parquet")
    code, _, err = run(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "p")
    assert code == 1 and "column 'p' has type string" in err
    code, _, err = run(capsys, tmp_path / "d.parquet", "-y", "y", "-p", "nope")
    assert code == 2 and "no column 'nope'" in err and "'y', 'p', 'q'" in err
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    code, _, err = run(capsys, tmp_path / "bad.parquet", "-y", "y", "-p", "q")
    assert code == 1 and "not a readable Parquet file" in err
    (tmp_path / "bad.feather").write_bytes(b"ARROW1\x00\x00garbage")
    code, _, err = run(capsys, tmp_path / "bad.feather", "-y", "y", "-p", "q")
    assert code == 1 and "not a readable Arrow IPC file" in err
    (tmp_path / "bad.csv").write_text("y,p\n1,0.5\n0,abc\n")
    code, _, err = run(capsys, tmp_path / "bad.csv", "-y", "y", "-p", "p")
    assert code == 1 and "'abc'" in err


def test_lengths_across_formats(tmp_path, capsys, rng):
    pq.write_table(pa.table({"p": rng.random(1000)}), tmp_path / "p.parquet")
    np.save(tmp_path / "y.npy", np.zeros(999, np.float32))
    code, _, err = run(capsys, "-y", tmp_path / "y.npy", "-p", f"{tmp_path / 'p.parquet'}:p")
    assert code == 1 and "999" in err and "1,000" in err  # both known up front
    np.savetxt(tmp_path / "y.csv", np.zeros(1001), header="y", comments="")
    code, _, err = run(capsys, "-y", f"{tmp_path / 'y.csv'}:y", "-p", tmp_path / "p.parquet", "--chunk-rows", 64)
    assert code == 1 and "ends after 1,000 rows" in err  # CSV: found at the end of the Parquet file


def test_mixed_formats_one_column_each(tmp_path, capsys, rng):
    n = 4000
    y = (rng.random(n) < 0.5).astype(np.float32)
    p = rng.random(n).astype(np.float32)
    w = rng.random(n).astype(np.float32)
    pq.write_table(pa.table({"p": p}), tmp_path / "p.parquet", row_group_size=1000)
    feather.write_feather(pa.table({"w": w}), tmp_path / "w.feather", chunksize=300)
    np.save(tmp_path / "y.npy", y)
    got = run_json(capsys, "-y", tmp_path / "y.npy", "-p", tmp_path / "p.parquet", "-w", tmp_path / "w.feather",
                   "--chunk-rows", 123, "--reduction", "sum")
    want = fastbce.BinaryCrossentropy(reduction="sum")(y[:, None], p[:, None], w)
    np.testing.assert_allclose(got["value"], float(want), rtol=1e-6)



@pytest.mark.parametrize("arrow_type", ["int8", "uint16", "int32", "int64", "float16", "float32", "float64", "bool_"])
def test_columns_to_numpy_as_pyarrow_does(tmp_path, rng, arrow_type):
    # Columns become NumPy arrays without Array.to_numpy where they can (a view of the data buffer): whole
    # columns and slices (a non-zero offset) of every type give pyarrow's own values and dtype.
    values = rng.integers(0, 100, 50)
    column = pa.array(values.astype(bool) if arrow_type == "bool_" else values, getattr(pa, arrow_type)())
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"c": column}), path)
    reader = _files.ParquetReader(str(path), ["c"])
    try:
        for part in (column, column.slice(7, 30)):
            got, expected = reader._numpy(part), part.to_numpy(zero_copy_only=False)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
    finally:
        reader.close()
