"""fastbce with dask arrays and dataframe columns, lazily, on a real ``distributed.LocalCluster``.

Two worker processes of one thread each (a module fixture, closed at the end). The references are fastbce's
in-memory results on the same NumPy values (themselves checked against tf_keras and the float64 reference
elsewhere), and for one set of cases ``tests/reference.py``'s float64 formula directly.

Tolerances: a float64 result must equal the in-memory one to rtol 1e-7 (the two differ only by the rounding
of float64 partial sums, ~1e-15); a float32 result is a float32 rounding of such a float64 number, so it is
the in-memory value or one float32 ulp from it (rtol 2**-23). Per-sample losses come from the same kernels on
the same rows, but a block narrower than the whole array may sum a row's elements in another order (``axis=0``
cut along the classes): rtol 1e-13 in float64, two ulps (2**-22) in float32. float32 gradients: the same
per-sample factors, computed alike in float64 and rounded to float32, at most one ulp apart; float64 gradients
carry the global scale's last bits (``1 / sum(sample_weight)`` summed in another order): rtol 1e-13. float16
results are float16 roundings of the same values: one float16 ulp (2**-10).
"""
import doctest
import operator

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastbce  # noqa: E402
import fastbce.dask  # noqa: E402
from fastbce import _inputs  # noqa: E402

from reference import grad as reference_grad, loss as reference_loss  # noqa: E402

REDUCTIONS = ["auto", "sum", "sum_over_batch_size", "none", "mean", "mean_with_sample_weight"]
MODES = ["auto", "sum", "none", "mean_with_sample_weight"]  # one name per mode ("mean" and the rest: aliases)
RTOL = {np.dtype(np.float16): 2.0**-10, np.dtype(np.float32): 2.0**-23, np.dtype(np.float64): 1e-7}
# per-sample values, see above
SAMPLE_RTOL = {np.dtype(np.float16): 2.0**-9, np.dtype(np.float32): 2.0**-22, np.dtype(np.float64): 1e-13}
N = 1 << 20  # elements of each input: 16 chunks of 65536


class TaskLog(distributed.diagnostics.plugin.SchedulerPlugin):
    """Every task result the scheduler learns of: its key's name and its size in bytes."""

    name = "fastbce-task-log"

    def __init__(self):
        self.results = []

    async def start(self, scheduler):
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory":
            ts = self.scheduler.tasks.get(key)
            nbytes = ts.nbytes if ts is not None and ts.nbytes >= 0 else kwargs.get("nbytes", -1)
            self.results.append((key[0] if isinstance(key, tuple) else key, nbytes))


def _log(dask_scheduler):
    return list(dask_scheduler.plugins[TaskLog.name].results)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  memory_limit="2GiB") as cluster, distributed.Client(cluster) as c:
        c.register_plugin(TaskLog())
        yield c


def task_log(client):
    return client.run_on_scheduler(_log)


def make_inputs():
    """The inputs as dask graphs (``da.random``, so the workers generate them), chunked as y_pred is (16
    blocks of whole samples), and y_true and weights chunked otherwise (names ending in "m": along the batch
    axis, and for rank 3 along the other axes too), which a call has to align."""
    rng = da.random.default_rng(20260611)
    f32, f64 = np.float32, np.float64
    inputs = {
        # [n, 1]: one probability (or logit) per sample
        "y1": (rng.random((N, 1), chunks=(N // 16, 1), dtype=f32) < 0.3).astype(f32),
        "p1": rng.random((N, 1), chunks=(N // 16, 1), dtype=f32),
        "x1": rng.normal(0, 3, (N, 1), chunks=(N // 16, 1)).astype(f32),
        "wb1": rng.random(N, chunks=N // 16, dtype=f32),  # [batch]
        # rank 3, the loss [4096, 16] (per-sample weight [4096, 16], [batch] weight [4096]); soft labels
        "y3": rng.random((4096, 16, 16), chunks=(256, 16, 16), dtype=f64),
        "p3": rng.random((4096, 16, 16), chunks=(256, 16, 16), dtype=f64),
        "ws3": rng.random((4096, 16), chunks=(256, 16), dtype=f64),
        "wb3": rng.random(4096, chunks=256, dtype=f64),
        # rows of 4 classes (pos_weight per class)
        "y4": (rng.random((N // 4, 4), chunks=(N // 64, 4), dtype=f32) < 0.5).astype(f32),
        "x4": rng.normal(0, 2, (N // 4, 4), chunks=(N // 64, 4)).astype(f32),
        "wb4": rng.random(N // 4, chunks=N // 64, dtype=f32),
    }
    # the same values, chunked unlike y_pred
    mismatched = {"y1": (50_000, 1), "wb1": 100_000, "y3": (300, 8, 16), "ws3": (1000, 4), "wb3": 700}
    inputs.update({k + "m": inputs[k].rechunk(c) for k, c in mismatched.items()})
    return inputs


@pytest.fixture(scope="module")
def data(client):
    """(NumPy values, the same as dask arrays held by the workers: generated there and persisted once)."""
    graphs = make_inputs()
    lazy = dict(zip(graphs, client.persist(list(graphs.values()))))
    d = dict(zip(lazy, dask.compute(*lazy.values())))
    return d, lazy


def weight_forms(d, lazy, name):
    """(id, NumPy weight, lazy weight) for every sample-weight form of a dataset."""
    forms = [("none", None, None), ("scalar", 0.75, 0.75), ("batch", d["wb" + name], lazy["wb" + name])]
    if name == "3":  # for a loss of rank 1 a per-sample weight is the [batch] one
        forms.append(("per-sample", d["ws3"], lazy["ws3"]))
    return forms


def assert_loss_equal(got, ref):
    """A computed lazy loss against the in-memory one (see the module's docstring for the tolerances)."""
    assert type(got) in (np.float16, np.float32, np.float64) if np.ndim(ref) == 0 else type(got) is np.ndarray
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=(SAMPLE_RTOL if ref.ndim else RTOL)[ref.dtype], atol=0)


def assert_grad_equal(got, ref):
    """float32: the same float64 factor per sample rounded to float32, at most an ulp apart; float64: the
    factor's scale (1 / a weight sum added up in another order) may differ in its last bits."""
    assert got.dtype == ref.dtype and got.shape == ref.shape
    if got.dtype == np.float64:
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
    else:
        np.testing.assert_array_max_ulp(got, ref, maxulp=1)


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("reduction", MODES)
@pytest.mark.parametrize("case", [
    dict(name="1", p="p1"),
    dict(name="3", p="p3"),
    dict(name="4", p="x4", from_logits=True, label_smoothing=0.1, pos_weight=[0.5, 1.0, 2.0, 3.0]),
], ids=["col-probs", "rank3-f64-soft", "classes-logits-smoothed-pos-weight"])
def test_loss_and_gradient_equal_in_memory(client, data, reduction, case):
    """Every weight form (none, scalar, [batch], per-sample) in one computation."""
    d, lazy = data
    name, p = case["name"], case["p"]
    options = {k: v for k, v in case.items() if k not in ("name", "p")}
    bce = fastbce.BinaryCrossentropy(reduction=reduction, **options)
    y = "y" + name
    graphs, refs = [], []
    for _, w, lw in weight_forms(d, lazy, name):
        value = bce(lazy[y], lazy[p], lw)
        assert isinstance(value, da.Array)
        loss, grad = fastbce.dask.value_and_grad(bce, lazy[y], lazy[p], lw)
        assert grad.chunks == lazy[p].chunks
        graphs += [value, loss, grad]
        refs += [bce(d[y], d[p], w), *bce.value_and_grad(d[y], d[p], w)]
    got = dask.compute(*graphs)
    for j in range(0, len(got), 3):
        assert_loss_equal(got[j], refs[j])
        assert_loss_equal(got[j + 1], refs[j + 1])
        assert_grad_equal(got[j + 2], refs[j + 2])


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean"])
def test_reduction_aliases(client, data, reduction):
    d, lazy = data
    bce = fastbce.BinaryCrossentropy(reduction=reduction)
    got = dask.compute(bce(lazy["y1"], lazy["p1"], lazy["wb1"]),
                       *fastbce.dask.value_and_grad(bce, lazy["y1"], lazy["p1"], lazy["wb1"]))
    ref = bce.value_and_grad(d["y1"], d["p1"], d["wb1"])
    assert_loss_equal(got[0], ref[0])
    assert_loss_equal(got[1], ref[0])
    assert_grad_equal(got[2], ref[1])


@pytest.mark.parametrize("reduction", ["none", "mean_with_sample_weight"])
def test_mismatched_chunks_are_aligned(client, data, reduction):
    """y_true and the weights chunked unlike y_pred, along the batch axis and (rank 3) the other axes."""
    d, lazy = data
    bce = fastbce.BinaryCrossentropy(reduction=reduction)
    cases = [("y1m", "p1", "wb1m", "wb1"), ("y3m", "p3", "ws3m", "ws3"), ("y3m", "p3", "wb3m", "wb3")]
    graphs, refs = [], []
    for y, p, lw, w in cases:
        graphs += [bce(lazy[y], lazy[p], lazy[lw]), *fastbce.dask.value_and_grad(bce, lazy[y], lazy[p], lazy[lw])]
        refs += [bce(d[y], d[p], d[w]), *bce.value_and_grad(d[y], d[p], d[w])]
        assert graphs[-1].chunks == lazy[p].chunks
    got = dask.compute(*graphs)
    for j in range(0, len(got), 3):
        assert_loss_equal(got[j], refs[j])
        assert_loss_equal(got[j + 1], refs[j + 1])
        assert_grad_equal(got[j + 2], refs[j + 2])


@pytest.mark.parametrize("reduction", ["sum", "none", "mean_with_sample_weight", "auto"])
def test_float64_reference(client, data, reduction):
    """Independently of the in-memory path: tests/reference.py's float64 formula and gradient."""
    d, lazy = data
    bce = fastbce.BinaryCrossentropy(reduction=reduction)
    loss, grad = fastbce.dask.value_and_grad(bce, lazy["y3"], lazy["p3"], lazy["wb3"])
    loss, grad = dask.compute(loss, grad)
    kw = dict(weight=d["wb3"][:, None], reduction=reduction, dtype=np.float64, weight_sum=float(d["wb3"].sum()))
    np.testing.assert_allclose(loss, reference_loss(d["y3"], d["p3"], **kw), rtol=1e-7)
    g, terms = reference_grad(d["y3"], d["p3"], **kw)
    np.testing.assert_allclose(grad, g, rtol=0, atol=1e-12 * np.max(terms))


@pytest.mark.parametrize("reduction", ["auto", "none", "mean_with_sample_weight"])
def test_one_sample_inputs(client, reduction):
    """1-D inputs are one sample (the mean of every element): pieces of it are summed across chunks, with the
    pos weight of each element's class, and its gradient's scale is the total element count."""
    rng = np.random.default_rng(7)
    n = 4096
    y, x = (rng.random(n) < 0.5).astype(np.float32), rng.normal(0, 2, n).astype(np.float32)
    pw = rng.random(n) * 2 + 0.1
    bce = fastbce.BinaryCrossentropy(from_logits=True, pos_weight=pw, reduction=reduction)
    ly, lx = da.from_array(y, chunks=300), da.from_array(x, chunks=256)
    for w in (None, 2.5):
        value = bce(ly, lx, w)
        assert value.shape == () and isinstance(value, da.Array)
        loss, grad = fastbce.dask.value_and_grad(bce, ly, lx, w, grad_out=0.5)
        got, got_vg, got_grad = dask.compute(value, loss, grad)
        ref_vg, ref_grad = bce.value_and_grad(y, x, w, grad_out=0.5)
        assert_loss_equal(got, bce(y, x, w))
        assert_loss_equal(got_vg, ref_vg)
        assert_grad_equal(got_grad, ref_grad)


def test_functional_call_axis0_and_cotangent(client, data):
    d, lazy = data
    y, p = d["y3"][:, :, 0], d["p3"][:, :, 0]  # [4096, 16]
    ly, lp = lazy["y3"][:, :, 0], lazy["p3"][:, :, 0]
    assert_loss_equal(fastbce.binary_crossentropy(ly, lp, label_smoothing=0.2).compute(),
                      fastbce.binary_crossentropy(y, p, label_smoothing=0.2))
    bce = fastbce.BinaryCrossentropy(axis=0, reduction="none", pos_weight=np.linspace(0.5, 2, 16))
    assert_loss_equal(bce.call(ly, lp).compute(), bce.call(y, p))
    # axis 0: blocks are cut along the classes (axis 1), each with its classes' pos weights
    lp_cols = lazy["p3"][:, :, 0].rechunk((4096, 3))
    cot = np.linspace(-1, 1, 16)
    loss, grad = fastbce.dask.value_and_grad(bce, ly, lp_cols, d["ws3"][0], grad_out=da.from_array(cot, chunks=5))
    ref_loss, ref_grad = bce.value_and_grad(y, p, d["ws3"][0], grad_out=cot)
    assert grad.chunks == lp_cols.chunks
    loss, grad = dask.compute(loss, grad)
    assert_loss_equal(loss, ref_loss)
    assert_grad_equal(grad, ref_grad)


def test_mixed_inputs_and_dtypes(client, data):
    """A NumPy y_true with a dask y_pred (cut to its blocks), integer labels, float16 predictions (a float16
    result and gradient), a forced float64 compute dtype."""
    d, lazy = data
    logits = fastbce.BinaryCrossentropy(from_logits=True)
    cases = [
        (logits, d["y4"], lazy["x4"], d["y4"], d["x4"]),
        (logits, lazy["y4"].astype(np.int8), lazy["x4"], d["y4"].astype(np.int8), d["x4"]),
        (fastbce.BinaryCrossentropy(), lazy["y1"], lazy["p1"].astype(np.float16), d["y1"], d["p1"].astype(np.float16)),
        (fastbce.BinaryCrossentropy(dtype="float64", reduction="none"), lazy["y1"], lazy["p1"], d["y1"], d["p1"]),
    ]
    graphs, refs = [], []
    for bce, lazy_y, lazy_p, y, p in cases:
        graphs += [bce(lazy_y, lazy_p), *fastbce.dask.value_and_grad(bce, lazy_y, lazy_p)]
        refs += [bce(y, p), *bce.value_and_grad(y, p)]
    got = dask.compute(*graphs)
    for j in range(0, len(got), 3):
        assert_loss_equal(got[j], refs[j])
        assert_loss_equal(got[j + 1], refs[j + 1])
        assert_grad_equal(got[j + 2], refs[j + 2])
    assert got[6].dtype == np.float16 and got[8].dtype == np.float16 and got[9].dtype == np.float64


@pytest.mark.parametrize("shape", [(0, 1), (3, 0), (0,)])
def test_empty_inputs(client, shape):
    y, p = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for reduction in ("auto", "none"):
        bce = fastbce.BinaryCrossentropy(reduction=reduction)
        loss, grad = fastbce.dask.value_and_grad(bce, da.from_array(y), da.from_array(p))
        ref_loss, ref_grad = bce.value_and_grad(y, p)
        got = bce(da.from_array(y), da.from_array(p)).compute()
        np.testing.assert_array_equal(np.asarray(got), np.asarray(bce(y, p)))  # NaN where the mean is of nothing
        np.testing.assert_array_equal(np.asarray(loss.compute()), np.asarray(ref_loss))
        assert grad.compute().shape == ref_grad.shape


# --------------------------------------------------------------------------- determinism
def test_same_bits_every_run_and_scheduler(client, data):
    """The partial sums are added in a fixed tree: two cluster runs and a run on the synchronous scheduler
    (in one process, in another task order, from the inputs' own graphs) give the same bits."""
    def graphs(inputs):
        bce = fastbce.BinaryCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
        metric = fastbce.metrics.BinaryCrossentropy(from_logits=True)
        return (bce(inputs["y1m"], inputs["x1"], inputs["wb1m"]),
                *fastbce.dask.value_and_grad(bce, inputs["y1m"], inputs["x1"], inputs["wb1m"]),
                *fastbce.dask.metric_totals(metric, inputs["y3m"], inputs["p3"], inputs["wb3m"]))

    _, lazy = data
    runs = [dask.compute(*graphs(lazy)), dask.compute(*graphs(lazy)),
            dask.compute(*graphs(make_inputs()), scheduler="sync")]
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


# --------------------------------------------------------------------------- dataframes
def test_dataframe_columns(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(11)
    n = 200_003
    frame = pd.DataFrame({"y": (rng.random(n) < 0.4).astype(np.float32), "p": rng.random(n).astype(np.float32),
                          "w": rng.random(n).astype(np.float32)})
    df = dd.from_pandas(frame, npartitions=16).persist()
    y, p, w = frame["y"].to_numpy(), frame["p"].to_numpy(), frame["w"].to_numpy()
    graphs, refs = [], []
    for reduction in ("auto", "none", "mean_with_sample_weight"):
        bce = fastbce.BinaryCrossentropy(reduction=reduction)
        # a series is 1-D: one sample, the mean over every row (tf_keras's rule); its gradient's scale needs
        # the number of rows, which the partitions' unknown lengths only give when computed
        graphs += [bce(df["y"], df["p"]), fastbce.dask.value_and_grad(bce, df["y"], df["p"])[1]]
        refs += [bce(y, p), bce.value_and_grad(y, p)[1]]
        # one-column frames: one sample per row, the weight column per sample
        graphs += [bce(df[["y"]], df[["p"]], df["w"]), *fastbce.dask.value_and_grad(bce, df[["y"]], df[["p"]], df["w"])]
        refs += [bce(y[:, None], p[:, None], w), *bce.value_and_grad(y[:, None], p[:, None], w)]
    got = dask.compute(*graphs)
    for j in range(0, len(got), 5):
        assert_loss_equal(got[j], refs[j])
        assert_grad_equal(got[j + 1], refs[j + 1])
        assert_loss_equal(got[j + 2], refs[j + 2])
        assert_loss_equal(got[j + 3], refs[j + 3])
        assert_grad_equal(got[j + 4], refs[j + 4])
    metric, ref = fastbce.metrics.BinaryCrossentropy(), fastbce.metrics.BinaryCrossentropy()
    fastbce.dask.update_state(metric, df[["y"]], df[["p"]], df["w"])
    ref.update_state(y[:, None], p[:, None], w)
    np.testing.assert_allclose(metric.state, ref.state, rtol=1e-12)
    assert metric.result() == ref.result()


# --------------------------------------------------------------------------- the metric
def test_metric(client, data):
    d, lazy = data
    metric, ref = fastbce.metrics.BinaryCrossentropy(from_logits=True), fastbce.metrics.BinaryCrossentropy(
        from_logits=True)
    for _, w, lw in weight_forms(d, lazy, "4"):
        fastbce.dask.update_state(metric, lazy["y4"], lazy["x4"], lw)
        ref.update_state(d["y4"], d["x4"], w)
    fastbce.dask.update_state(metric, lazy["y3"], lazy["p3"], lazy["ws3"])  # per-sample weights, rank 3
    ref.update_state(d["y3"], d["p3"], d["ws3"])
    np.testing.assert_allclose(metric.state, ref.state, rtol=1e-12)
    np.testing.assert_allclose(metric.result(), ref.result(), rtol=2.0**-23)
    # a batch that raises leaves the state as it was
    before = metric.state
    with pytest.raises(ValueError, match=r"sample_weight of shape \(5,\)"):
        fastbce.dask.update_state(metric, lazy["y4"], lazy["x4"], np.ones(5))
    assert metric.state == before
    # lazy totals of many batches in one computation, merged
    sums = dask.compute(*[fastbce.dask.metric_totals(metric, lazy["y1"], lazy["x1"]),
                          fastbce.dask.metric_totals(metric, lazy["y4"], lazy["x4"], lazy["wb4"])])
    assert all(isinstance(v, np.float64) for pair in sums for v in pair)
    spec = metric._spec  # the metric's options (from_logits, float32)
    expected = [_inputs.metric_totals(d["y1"], d["x1"], None, spec),
                _inputs.metric_totals(d["y4"], d["x4"], d["wb4"], spec)]
    np.testing.assert_allclose(np.asarray(sums, np.float64), np.asarray(expected), rtol=1e-12)


# --------------------------------------------------------------------------- laziness and memory
def test_nothing_runs_until_compute(client, data):
    """Building every graph runs no task (dataframes' partition lengths included), and an input that fails
    when computed fails only at compute()."""
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    d, lazy = data
    poisoned = lazy["p1"].map_blocks(operator.index, dtype=np.float32)  # TypeError for any block
    frame = dd.from_pandas(pd.DataFrame({"y": d["y1"][:1000, 0], "p": d["p1"][:1000, 0]}), npartitions=4)
    bce = fastbce.BinaryCrossentropy(reduction="mean_with_sample_weight")
    metric = fastbce.metrics.BinaryCrossentropy()
    before = len(task_log(client))
    graphs = [bce(lazy["y1"], poisoned, lazy["wb1"]), *fastbce.dask.value_and_grad(bce, lazy["y1"], poisoned,
                                                                                   lazy["wb1"]),
              *fastbce.dask.metric_totals(metric, lazy["y1"], poisoned),
              bce(frame["y"], frame["p"]), bce(frame[["y"]], frame[["p"]], frame["p"]),
              *fastbce.dask.value_and_grad(bce, frame[["y"]], frame[["p"]]),
              fastbce.BinaryCrossentropy(reduction="none")(frame[["y"]], frame[["p"]])]
    assert len(task_log(client)) == before
    assert all(dask.is_dask_collection(g) for g in graphs)
    for g in graphs[:5]:
        with pytest.raises(TypeError):
            g.compute()
    values = dask.compute(*graphs[5:])
    assert all(np.isfinite(v).all() for v in values)


def test_no_task_output_is_full_size(client, data):
    """Every task holds one block: no result on a worker is larger than two input chunks (the data is 16)."""
    d, lazy = data
    bce = fastbce.BinaryCrossentropy(reduction="none")
    start = len(task_log(client))
    dask.compute(bce(lazy["y1m"], lazy["p1"], lazy["wb1m"]),
                 fastbce.BinaryCrossentropy()(lazy["y3m"], lazy["p3"], lazy["ws3m"]),
                 *fastbce.dask.value_and_grad(fastbce.BinaryCrossentropy(), lazy["y1m"], lazy["x1"], lazy["wb1m"]),
                 *fastbce.dask.metric_totals(fastbce.metrics.BinaryCrossentropy(), lazy["y4"], lazy["x4"]))
    # the results as computed on the workers (dask's own "finalize" tasks gather a result to send it)
    results = [(name, nbytes) for name, nbytes in task_log(client)[start:] if not str(name).startswith("finalize")]
    ours = [(name, nbytes) for name, nbytes in results if str(name).startswith("fastbce-")]
    assert len(ours) > 50 and all(nbytes >= 0 for _, nbytes in results)
    chunk = lazy["p3"].nbytes // lazy["p3"].npartitions  # the largest input chunk (float64)
    assert max(nbytes for _, nbytes in results) <= 2 * chunk < d["p3"].nbytes // 4
    # the partial sums and the reductions are a few numbers each
    small = ("fastbce-blocks", "fastbce-tree", "fastbce-loss", "fastbce-total")
    sums = [nbytes for name, nbytes in ours if name.startswith(small)]
    assert sums and max(sums) < 1024


# --------------------------------------------------------------------------- errors
def test_errors_are_clear(client, data):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    d, lazy = data
    bce = fastbce.BinaryCrossentropy()
    with pytest.raises(ValueError, match=r"y_true \(1048576, 1\) vs y_pred \(262144, 4\)"):
        bce(lazy["y1"], lazy["x4"])
    with pytest.raises(ValueError, match=r"sample_weight of shape \(7,\) is incompatible .* \(4096, 16\)"):
        bce(lazy["y3"], lazy["p3"], da.ones(7, chunks=3))
    with pytest.raises(ValueError, match=r"grad_out of shape \(3,\) does not broadcast .* \(1048576,\)"):
        fastbce.dask.value_and_grad(fastbce.BinaryCrossentropy(reduction="none"), lazy["y1"], lazy["p1"],
                                    grad_out=np.ones(3))
    with pytest.raises(ValueError, match="pos_weight has 4 values but y_pred of shape"):
        fastbce.BinaryCrossentropy(pos_weight=[1, 2, 3, 4])(lazy["y1"], lazy["p1"])
    with pytest.raises(TypeError, match="y_pred has unsupported dtype complex64"):
        bce(lazy["y1"], lazy["p1"].astype(np.complex64))
    with pytest.raises(TypeError, match="loss must be a fastbce.BinaryCrossentropy"):
        fastbce.dask.value_and_grad(fastbce.metrics.BinaryCrossentropy(), lazy["y1"], lazy["p1"])
    with pytest.raises(TypeError, match="y_pred is a dask Delayed"):
        bce(lazy["y1"], dask.delayed(d["p1"]))
    # dataframe partitions: paired by position, checked where they are computed
    frame = pd.DataFrame({"y": d["y1"][:1000, 0], "p": d["p1"][:1000, 0]})
    df = dd.from_pandas(frame, npartitions=4)
    shorter = dd.from_pandas(frame.iloc[:990], npartitions=4)
    with pytest.raises(ValueError, match=r"block \d: y_true has shape \(\d+, 1\) and y_pred \(\d+, 1\)"):
        bce(df[["y"]], shorter[["p"]]).compute()
    with pytest.raises(ValueError, match="y_true has 4 blocks along the batch axis and y_pred 3"):
        bce(df[["y"]], dd.from_pandas(frame, npartitions=3)[["p"]])
    with pytest.raises(ValueError, match=r"per-sample loss of shape \(nan,\).*to_dask_array\(lengths=True\)"):
        bce(df[["y"]], df[["p"]], frame["p"].to_numpy())
    with pytest.raises(ValueError, match="axis 0 is unknown"):
        fastbce.BinaryCrossentropy(axis=0)(df[["y", "p"]], df[["p", "y"]])


def test_docstring_examples(client):
    res = doctest.testmod(fastbce.dask, extraglobs={"fastbce": fastbce, "np": np}, report=True, verbose=False)
    assert res.attempted > 0 and res.failed == 0


def test_methods_take_dask_inputs(client, data):
    """BinaryCrossentropy.value_and_grad and metrics.BinaryCrossentropy.update_state dispatch to the lazy path
    themselves: a lazy gradient, and a metric update computed on the cluster."""
    d, lazy = data
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    loss, grad = bce.value_and_grad(lazy["y4"], lazy["x4"], lazy["wb4"])
    assert isinstance(loss, dask.array.Array) and isinstance(grad, dask.array.Array)
    ref_loss, ref_grad = bce.value_and_grad(d["y4"], d["x4"], d["wb4"])
    assert_loss_equal(loss.compute(), ref_loss)
    assert_grad_equal(grad.compute(), ref_grad)
    with pytest.raises(ValueError, match="out= is for NumPy"):
        bce.value_and_grad(lazy["y4"], lazy["x4"], out=np.empty(d["x4"].shape, d["x4"].dtype))
    metric, ref = fastbce.metrics.BinaryCrossentropy(), fastbce.metrics.BinaryCrossentropy()
    metric.update_state(lazy["y1"], lazy["p1"])
    ref.update_state(d["y1"], d["p1"])
    np.testing.assert_allclose(metric.state, ref.state, rtol=1e-12)
