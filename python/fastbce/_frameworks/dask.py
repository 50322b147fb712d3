"""Dask arrays and dataframe columns: fastbce's loss, its gradient and a metric's totals as lazy dask graphs.

Nothing is computed when a call returns: the result is a dask collection (a 0-d array for the reducing modes
and for one-sample inputs, an array of the per-sample losses for ``reduction="none"``) whose tasks run the
fastbce kernels on one block each. ``.compute()`` (on any scheduler, a ``distributed`` cluster included)
gives the values the in-memory call gives, as plain NumPy values: ``np.float32`` / ``np.float64`` /
``np.float16`` scalars and ndarrays (fastbce's ``LossFloat32`` and the other ``.numpy()``-answering types do
not survive the trip from a worker, so they are not used).

Layout
    Dask dataframes and series become dask arrays (``to_dask_array()``, lazily: their partition lengths stay
    unknown). The inputs are squeezed as fastbce squeezes them, then cut into blocks along one axis, the
    *batch axis* (axis 0, or 1 when the loss reduces axis 0): ``y_pred`` is rechunked so that each block holds
    whole samples (every other axis in one chunk, the batch axis in its own chunks, or dask's "auto" size when
    other axes had to be joined), and ``y_true``, a per-sample weight and a per-sample cotangent are rechunked
    to ``y_pred``'s blocks (NumPy ones are cut to them). Inputs whose lengths are unknown (dataframe
    partitions) are paired block by block and must have as many blocks; each task checks that its blocks hold
    the same number of samples, so misaligned partitions are an error, never a silent mismatch.

    1-D inputs are one sample (fastbce's and tf_keras's rule: the loss is the mean of all elements): there
    the blocks are pieces of that one sample, whose float64 sums of element losses are added up, so a
    1-D input needs no block larger than its chunks either.

Sums
    Every block returns float64 partial sums (the weighted per-sample losses and their count, for the metric
    the weights'), added in a fixed tree: ``SPLIT_EVERY`` blocks per node, in block order, each node adding
    its parts sequentially. The result depends only on the chunking, not on which worker finished first,
    and differs from the in-memory result only by the rounding of the float64 partial sums. The reduction
    itself (``_core.reduce``) runs once, on the totals. A task's memory is that of its blocks.

Gradients
    ``value_and_grad`` computes each block's losses and gradient in one kernel pass (``_core.value_grad``).
    The reduction's scale (``1 / samples`` for ``sum_over_batch_size``, ``1 / sum(sample_weight)`` for
    ``mean_with_sample_weight``, ``1 / n`` for one sample of ``n`` elements) is global: it is known when the
    graph is built unless it needs a dask weight's sum or lengths that are unknown; then a small reduction
    (of the weights, or of the block lengths) runs first and every gradient block waits for it, which keeps
    the blocks it read in the workers' memory until it is done.
"""
from __future__ import annotations

import functools
import importlib
import math
import operator
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core, _inputs
from .._spec import _OPTIONS, LossSpec, ReductionMode

dask: Any = importlib.import_module("dask")
da: Any = importlib.import_module("dask.array")
_HighLevelGraph: Any = importlib.import_module("dask.highlevelgraph").HighLevelGraph
_tokenize: Any = importlib.import_module("dask.base").tokenize

__all__ = ["SPLIT_EVERY", "loss", "metric_totals", "value_and_grad"]

#: blocks (or nodes) added by one node of the partial-sum tree
SPLIT_EVERY = 8
#: how inputs are rechunked: by tasks, each output block reading the few input blocks it overlaps (the
#: alignments here join neighbouring blocks; dask's all-to-all "p2p" shuffle would stage them through disk)
_RECHUNK = "tasks"

_NONE = ReductionMode.NONE
_SOBS = ReductionMode.SUM_OVER_BATCH_SIZE
_MWSW = ReductionMode.MEAN_WITH_SAMPLE_WEIGHT
_F64 = np.dtype(np.float64)
_NAN = float("nan")
#: stands for an unknown length where fastbce's shape rules need a number (an unlikely size, shown as nan)
_UNKNOWN = (1 << 40) + 15
_LENGTHS_HINT = (". The lengths of the batch axis are unknown (dask dataframe partitions): give every input that "
                 "varies along it as a dask collection with the same partitions, or give them known chunk sizes "
                 "(e.g. .to_dask_array(lengths=True))")

_SpecKey = Tuple[Any, ...]


# --------------------------------------------------------------------------- the public entry points
def loss(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Any:
    """The loss ``spec`` describes as a lazy dask array (0-d for the reducing modes and one-sample inputs)."""
    plan = _Plan(y_true, y_pred, sample_weight, None, spec)
    return plan.loss()


def value_and_grad(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec,
                   grad_out: object = None) -> Tuple[Any, Any]:
    """``(loss, d loss / d y_pred)`` as lazy dask arrays: the loss as ``loss`` gives it, the gradient with
    ``y_pred``'s shape, dtype and chunks (fastbce's ``value_and_grad`` rules, ``grad_out`` included: a number
    or a size-1 array for the reducing modes, an array that broadcasts to the per-sample loss for ``none``;
    either may be a dask array)."""
    plan = _Plan(y_true, y_pred, sample_weight, grad_out, spec)
    return plan.value_and_grad()


def metric_totals(y_true: object, y_pred: object, sample_weight: object, spec: LossSpec) -> Tuple[Any, Any]:
    """A streaming mean's update as two lazy 0-d float64 dask arrays (``fastbce._inputs.metric_totals``): the
    sum of the weighted per-sample losses and the sum of the weights broadcast to them (their number without
    weights). ``spec``'s reduction is not used."""
    plan = _Plan(y_true, y_pred, sample_weight, None, spec.replace(reduction=None))
    return plan.metric_totals()


# --------------------------------------------------------------------------- inputs
def _nan(d: object) -> bool:
    return isinstance(d, float) and math.isnan(d)


def _known(shape: Sequence[Any]) -> Tuple[int, ...]:
    return tuple(_UNKNOWN if _nan(d) else int(d) for d in shape)


def _shown(error: Exception, unknown: bool = False) -> ValueError:
    """``error``'s message with the unknown-length stand-in shown as nan (and the hint when lengths are
    unknown)."""
    text = str(error).replace(str(_UNKNOWN), "nan")
    return ValueError(text + (_LENGTHS_HINT if unknown and str(_UNKNOWN) in str(error) else ""))


def _placeholder(shape: Sequence[Any], dtype: Any) -> Any:
    """A zero-stride array of ``shape`` (unknown lengths as ``_UNKNOWN``): fastbce's rules read shapes only."""
    return np.broadcast_to(np.zeros((), dtype), _known(shape))


def _is_dask(x: object) -> bool:
    return bool(dask.is_dask_collection(x))


def _as_array(x: object, name: str) -> Any:
    """A dask array for a dask array, dataframe or series (the latter lazily, lengths unknown); anything else
    an ndarray by fastbce's rules (Python floats are float32)."""
    if isinstance(x, da.Array):
        return x
    if _is_dask(x):
        if not hasattr(type(x), "to_dask_array"):  # the type's: a Delayed answers any attribute
            raise TypeError(f"{name} is a dask {type(x).__name__}: expected a dask array, dataframe or series")
        return x.to_dask_array()  # type: ignore[attr-defined]
    return _inputs._to_array(x, name)


def _fit(w: Any, shape: Tuple[int, ...]) -> Any:
    """``w`` (NumPy or dask) reshaped to ``shape`` by removing and inserting axes of length 1 only (what
    fastbce's weight rules do); works with unknown lengths, where ``reshape`` does not."""
    w = w.squeeze(axis=tuple(i for i, d in enumerate(w.shape) if d == 1))
    return w[tuple(None if d == 1 else slice(None) for d in shape)]


def _key(arr: Any, i: int, axis: int) -> Tuple[Any, ...]:
    """The key of ``arr``'s block ``i`` along ``axis`` (every other axis is one block)."""
    return (arr.name,) + tuple(i if ax == axis else 0 for ax in range(arr.ndim))


def _spec_key(spec: LossSpec, **changes: Any) -> _SpecKey:
    """``spec``'s options as a picklable tuple (``LossSpec`` itself is not picklable)."""
    options = {k: getattr(spec, k) for k in _OPTIONS}
    options["dtype"] = None if spec.dtype is None else spec.dtype.name
    options.update(changes)
    return tuple(options[k] for k in _OPTIONS)


@functools.lru_cache(maxsize=64)
def _spec_of(key: _SpecKey) -> LossSpec:
    return LossSpec.build(**dict(zip(_OPTIONS, key)))


def _block_spec(key: _SpecKey, start: Optional[int], stop: int) -> LossSpec:
    """The spec of a block whose elements (or last-axis entries) are the classes ``start .. stop - 1``."""
    spec = _spec_of(key)
    return spec if start is None else spec.pos_weight_window(start, stop)


class _Plan:
    """One call's inputs, checked by fastbce's rules on their shapes and aligned on ``y_pred``'s blocks."""

    def __init__(self, y_true: object, y_pred: object, sample_weight: object, grad_out: object,
                 spec: LossSpec) -> None:
        yp = _as_array(y_pred, "y_pred")
        _inputs._check_real(yp, "y_pred")
        yt = _as_array(y_true, "y_true")
        _inputs._check_real(yt, "y_true")
        self.spec, self.mode = spec, spec.reduction_mode
        self.cdt, self.rdt = _inputs._compute_dtype(yp.dtype, spec.dtype)
        self.grad_dtype = _inputs._grad_dtype(yp.dtype, self.cdt)
        t_shape, p_shape = tuple(yt.shape), tuple(yp.shape)
        unknown = any(_nan(d) for d in t_shape + p_shape)
        self.p_shape, self.p_chunks = p_shape, getattr(yp, "chunks", None)
        try:
            if spec.pos_weight is not None and p_shape:
                if _nan(p_shape[-1]) and len(spec.pos_weight) > 1:
                    raise ValueError(f"pos_weight has {len(spec.pos_weight)} values, one per class, but the length "
                                     f"of y_pred's last axis is unknown (shape {p_shape})")
                spec.check_classes(_known(p_shape)[-1], _known(p_shape))
            _, sq = _inputs._squeeze_pair(_placeholder(t_shape, yt.dtype), _placeholder(p_shape, yp.dtype),
                                          spec.from_logits)
            ndim = sq.ndim
            a = _inputs.normalize_axis(spec.axis, ndim, sq.shape)
        except ValueError as e:
            raise _shown(e, unknown) from None
        self.squeezed = len(p_shape) > ndim  # y_pred lost a trailing axis of length 1
        if len(t_shape) > ndim:
            yt = yt[..., 0]
        if self.squeezed:
            yp = yp[..., 0]
        shape = tuple(yp.shape)
        self.a, self.ndim, self.scalar_loss = a, ndim, ndim == 1
        self.b = b = 0 if ndim == 1 or a != 0 else 1  # the batch axis: blocks hold whole samples along it
        self.loss_shape = shape[:a] + shape[a + 1:]
        self.reduced = shape[a]
        for ax, d in enumerate(shape):
            if _nan(d) and ax != b:
                raise ValueError(f"y_pred of shape {p_shape}: the length of axis {ax} is unknown, and only the batch "
                                 f"axis ({b}) may be (the loss reduces axis {a}); give the inputs known chunk sizes "
                                 "(e.g. .to_dask_array(lengths=True))")

        # y_pred's blocks: whole samples (the batch axis alone is cut); y_true cut to them
        if not isinstance(yp, da.Array):
            yp = self._first_dask_as_reference(yp, yt)
        if not self.scalar_loss:
            joined: Dict[int, Any] = {ax: -1 for ax in range(ndim) if ax != b}
            if any(len(yp.chunks[ax]) > 1 for ax in joined) and not _nan(shape[b]):
                joined[b] = "auto"
            yp = yp.rechunk(joined, method=_RECHUNK)
        self.yp = yp
        self.nblocks = len(yp.chunks[b])
        self.batch_chunks = yp.chunks[b]
        self.known = not any(_nan(c) for c in self.batch_chunks)
        self.yt = self._align(yt, ndim, b, "y_true")
        self.offsets: Optional[List[int]] = None  # first class of each block, when blocks cut the classes
        if spec.pos_weight_buffers is not None and spec.pos_weight_buffers[0] > 1 and b == ndim - 1:
            self.offsets = [0] + [int(c) for c in np.cumsum(self.batch_chunks)[:-1]]

        # sample weight: (shape as fastbce's rules make it, loss rank) -> a NumPy value, or a dask array
        # cut along the loss's axis 0 (the batch axis) when it varies along it, else one block
        self.w: Any = None
        self.w_batch = False
        self.wsum_static: Optional[float] = None
        if sample_weight is not None:
            self._weight(sample_weight, t_shape, p_shape, unknown)
        self.cot: Any = None
        self.cot_batch = False
        if grad_out is not None:
            self._cotangent(grad_out)

    # -- alignment ---------------------------------------------------------------------------------------
    def _first_dask_as_reference(self, yp: Any, yt: Any) -> Any:
        """``y_pred`` (an ndarray, when only another input is a dask collection) as a dask array: cut like
        ``y_true`` along the batch axis when that is a dask array of known chunks, else one block."""
        b = self.b
        if isinstance(yt, da.Array) and not any(_nan(c) for c in yt.chunks[b]):
            return da.from_array(yp, chunks=tuple(yt.chunks[b] if ax == b else -1 for ax in range(yp.ndim)))
        return da.from_array(yp, chunks=-1)

    def _align(self, x: Any, ndim: int, axis: int, name: str) -> Any:
        """``x`` cut into ``y_pred``'s blocks along ``axis`` (of ``x``), one block along every other axis."""
        batch = self.batch_chunks
        if not isinstance(x, da.Array):
            if not self.known:
                raise ValueError(f"{name} is a NumPy array of shape {x.shape} but y_pred's lengths along the batch "
                                 f"axis are unknown (dask dataframe partitions), so it cannot be cut to them"
                                 + _LENGTHS_HINT)
            return da.from_array(x, chunks=tuple(batch if ax == axis else -1 for ax in range(ndim)))
        own = x.chunks[axis]
        if self.known and not any(_nan(c) for c in own):
            return x.rechunk(tuple(batch if ax == axis else -1 for ax in range(ndim)), method=_RECHUNK)
        if len(own) != len(batch):
            raise ValueError(f"{name} has {len(own)} blocks along the batch axis and y_pred {len(batch)}, and their "
                             f"lengths are not all known, so they cannot be aligned: repartition them alike, or give "
                             f"them known chunk sizes (e.g. .to_dask_array(lengths=True))")
        return x.rechunk({ax: -1 for ax in range(ndim) if ax != axis}, method=_RECHUNK)

    def _weight(self, sample_weight: object, t_shape: Tuple[Any, ...], p_shape: Tuple[Any, ...],
                unknown: bool) -> None:
        if _is_dask(sample_weight):
            w = _as_array(sample_weight, "sample_weight")
        else:
            w = _inputs._to_array(sample_weight, "sample_weight")
            if _inputs._is_plain_python(sample_weight) and w.dtype.kind == "f":
                w = w.astype(np.float32)  # as fastbce's rules read a Python float weight
        _inputs._check_real(w, "sample_weight")
        hint = _inputs._one_sample_hint(t_shape, p_shape, self.reduced) if self.scalar_loss else ""
        unknown = unknown or any(_nan(d) for d in w.shape)
        try:
            kind, _, given = _inputs._prepare_weight(_placeholder(w.shape, w.dtype), _known(self.loss_shape),
                                                     self.cdt, hint)
        except ValueError as e:
            raise _shown(e, unknown) from None
        lr = len(self.loss_shape)
        if kind == "one":
            ws: Tuple[int, ...] = ()
        elif given.ndim == 1 and lr >= 1:  # the [batch] weight of any rank of the loss
            ws = (given.shape[0],) + (1,) * (lr - 1)
        else:
            ws = tuple(given.shape)
        w = _fit(w, ws)
        self.w_batch = bool(ws) and ws[0] != 1
        if not isinstance(w, da.Array):
            if self.mode == _MWSW:
                self.wsum_static = _inputs._weight_sum(w, self.cdt)
            if self.w_batch:
                w = self._align(w, lr, 0, "sample_weight")
            elif w.ndim:
                w = da.from_array(w, chunks=-1)  # one block, read by every task
        elif self.w_batch:
            w = self._align(w, lr, 0, "sample_weight")
        else:
            w = w.rechunk(-1, method=_RECHUNK)
        self.w = w

    def _cotangent(self, grad_out: object) -> None:
        g = _as_array(grad_out, "grad_out")
        _inputs._check_real(g, "grad_out")
        if self.mode != _NONE or not self.loss_shape:
            if _known(g.shape) and math.prod(_known(g.shape)) != 1:
                raise ValueError(f"grad_out of shape {g.shape}: the loss is a scalar, so its cotangent is one number")
            self.cot = g.reshape(()) if isinstance(g, da.Array) else float(g.reshape(-1)[0])
            return
        ls = _known(self.loss_shape)
        gs = (1,) * (len(ls) - g.ndim) + _known(g.shape)
        if len(gs) != len(ls) or any(d != 1 and d != e for d, e in zip(gs, ls)):
            raise _shown(ValueError(f"grad_out of shape {_known(g.shape)} does not broadcast to the per-sample loss "
                                    f"of shape {ls}"), True)
        g = _fit(g, gs)
        self.cot_batch = gs[0] != 1
        if self.cot_batch:
            g = self._align(g, len(ls), 0, "grad_out")
        elif not isinstance(g, da.Array):
            g = da.from_array(g, chunks=-1)
        else:
            g = g.rechunk(-1, method=_RECHUNK)
        self.cot = g

    # -- graph pieces ------------------------------------------------------------------------------------
    def _token(self, *parts: Any) -> str:
        return str(_tokenize(self.yt.name, self.yp.name, getattr(self.w, "name", self.w),
                             getattr(self.cot, "name", self.cot), _spec_key(self.spec), *parts))

    def _deps(self) -> List[Any]:
        return [x for x in (self.yt, self.yp, self.w, self.cot) if isinstance(x, da.Array)]

    def _w_arg(self, i: int) -> Any:
        """Block ``i``'s weight: a key, a NumPy value, or None."""
        if isinstance(self.w, da.Array):
            return _key(self.w, i if self.w_batch else 0, 0)
        return self.w

    def _cot_arg(self, i: int) -> Any:
        if isinstance(self.cot, da.Array):
            return _key(self.cot, i if self.cot_batch else 0, 0)
        return self.cot

    def _block_range(self, i: int) -> Tuple[Optional[int], int]:
        """(first class, next) of block ``i`` when blocks cut the classes, else (None, 0)."""
        if self.offsets is None:
            return None, 0
        return self.offsets[i], self.offsets[i] + int(self.batch_chunks[i])

    def _common(self) -> Dict[str, Any]:
        return {"b": self.b, "squeezed": self.squeezed}

    def _tree(self, layer: Dict[Any, Any], keys: List[Any], token: str) -> Any:
        """Adds to ``layer`` the fixed tree that sums the tuples of ``keys`` (in order); returns its root."""
        level = 0
        while len(keys) > 1:
            name = f"fastbce-tree-{level}-{token}"
            keys_next = []
            for j in range(0, len(keys), SPLIT_EVERY):
                layer[(name, j // SPLIT_EVERY)] = (_add_parts, list(keys[j:j + SPLIT_EVERY]))
                keys_next.append((name, j // SPLIT_EVERY))
            keys = keys_next
            level += 1
        return keys[0]

    def _weight_sum_key(self, layer: Dict[Any, Any], token: str) -> Any:
        """The key of the float64 sum of a dask weight as given (``mean_with_sample_weight``'s divisor)."""
        w = self.w
        name = f"fastbce-wsum-{token}"
        blocks = self.nblocks if self.w_batch else 1
        for i in range(blocks):
            layer[(name, i)] = (functools.partial(_weight_sum_part, cdt=self.cdt.name), _key(w, i, 0))
        return self._tree(layer, [(name, i) for i in range(blocks)], token + "-w")

    def _graph(self, name: str, layer: Dict[Any, Any], deps: List[Any]) -> Any:
        return _HighLevelGraph.from_collections(name, layer, dependencies=deps)

    def _scalar(self, graph: Any, name: str, dtype: np.dtype[Any]) -> Any:
        return da.Array(graph, name, chunks=(), dtype=dtype, meta=np.empty((), dtype))

    def _loss_chunks(self) -> Tuple[Tuple[Any, ...], ...]:
        return (self.batch_chunks,) + tuple((int(d),) for d in self.loss_shape[1:])

    def _static_samples(self) -> Optional[int]:
        return math.prod(int(d) for d in self.loss_shape) if self.known else None

    # -- the loss ----------------------------------------------------------------------------------------
    def loss(self) -> Any:
        token = self._token("loss")
        layer: Dict[Any, Any] = {}
        deps = self._deps()
        if self.scalar_loss:
            root = self._pieces(layer, token)
            name = f"fastbce-loss-{token}"
            layer[(name,)] = (functools.partial(_finish_one_sample, mode=int(self.mode), cdt=self.cdt.name,
                                                rdt=self.rdt.name, metric=False), root, self._w_arg(0))
            return self._scalar(self._graph(name, layer, deps), name, self.rdt)
        kind = "none" if self.mode == _NONE else "sum"
        name = f"fastbce-{'none' if kind == 'none' else 'blocks'}-{token}"
        key = _spec_key(self.spec, reduction=None if kind == "none" else "sum")
        # none: the blocks of the per-sample losses (loss axis 0 is the batch axis); else partial sums
        tail = (0,) * (len(self.loss_shape) - 1) if kind == "none" else ()
        for i in range(self.nblocks):
            start, stop = self._block_range(i)
            fn = functools.partial(_rows_loss, spec_key=key, start=start, stop=stop, block=i, kind=kind,
                                   **self._common())
            layer[(name, i) + tail] = (fn, _key(self.yt, i, self.b), _key(self.yp, i, self.b), self._w_arg(i))
        if kind == "none":
            return da.Array(self._graph(name, layer, deps), name, chunks=self._loss_chunks(), dtype=self.rdt,
                            meta=np.empty((0,) * len(self.loss_shape), self.rdt))
        root = self._tree(layer, [(name, i) for i in range(self.nblocks)], token)
        wsum = self._weight_sum_key(layer, token) if self._needs_dask_wsum() else self.wsum_static
        final = f"fastbce-loss-{token}"
        layer[(final,)] = (functools.partial(_finish_rows, mode=int(self.mode), rdt=self.rdt.name,
                                             weighted=self.w is not None), root, wsum)
        return self._scalar(self._graph(final, layer, deps), final, self.rdt)

    def _needs_dask_wsum(self) -> bool:
        return self.mode == _MWSW and isinstance(self.w, da.Array) and self.wsum_static is None

    def _pieces(self, layer: Dict[Any, Any], token: str) -> Any:
        """The tree of (float64 sum of element losses, elements) of a one-sample input's pieces."""
        name = f"fastbce-pieces-{token}"
        key = _spec_key(self.spec, reduction="sum")
        starts = [0] + [int(c) for c in np.cumsum(self.batch_chunks)[:-1]] if self.known else None
        for i in range(self.nblocks):
            fn = functools.partial(_piece_loss, spec_key=key, start=None if starts is None else starts[i], block=i)
            layer[(name, i)] = (fn, _key(self.yt, i, 0), _key(self.yp, i, 0))
        return self._tree(layer, [(name, i) for i in range(self.nblocks)], token)

    # -- the metric --------------------------------------------------------------------------------------
    def metric_totals(self) -> Tuple[Any, Any]:
        token = self._token("metric")
        layer: Dict[Any, Any] = {}
        if self.scalar_loss:
            root = self._pieces(layer, token)
            both: Tuple[Any, ...] = (functools.partial(_finish_one_sample, mode=int(self.mode), cdt=self.cdt.name,
                                      rdt=self.rdt.name, metric=True), root, self._w_arg(0))
        else:
            name = f"fastbce-metric-{token}"
            key = _spec_key(self.spec)
            for i in range(self.nblocks):
                start, stop = self._block_range(i)
                fn = functools.partial(_rows_metric, spec_key=key, start=start, stop=stop, block=i, **self._common())
                layer[(name, i)] = (fn, _key(self.yt, i, self.b), _key(self.yp, i, self.b), self._w_arg(i))
            both = (tuple, self._tree(layer, [(name, i) for i in range(self.nblocks)], token))
        pair = f"fastbce-totals-{token}"
        layer[(pair,)] = both
        results = []
        for j, part in enumerate(("total", "count")):
            out = f"fastbce-{part}-{token}"
            layer[(out,)] = (_float64_item, (pair,), j)
            results.append(self._scalar(self._graph(out, dict(layer), self._deps()), out, _F64))
        return results[0], results[1]

    # -- the gradient ------------------------------------------------------------------------------------
    def value_and_grad(self) -> Tuple[Any, Any]:
        token = self._token("grad")
        layer: Dict[Any, Any] = {}
        deps = self._deps()
        scale = self._scale(layer, token)
        name = f"fastbce-vg-{token}"
        if self.scalar_loss:
            key = _spec_key(self.spec, reduction="sum")
            starts = [0] + [int(c) for c in np.cumsum(self.batch_chunks)[:-1]] if self.known else None
            for i in range(self.nblocks):
                fn = functools.partial(_piece_vg, spec_key=key, start=None if starts is None else starts[i],
                                       block=i, squeezed=self.squeezed, grad_dtype=self.grad_dtype.name)
                layer[(name, i)] = (fn, _key(self.yt, i, 0), _key(self.yp, i, 0), self._w_arg(0),
                                    self._cot_arg(0), scale)
        else:
            key = _spec_key(self.spec)
            for i in range(self.nblocks):
                start, stop = self._block_range(i)
                fn_rows = functools.partial(_rows_vg, spec_key=key, start=start, stop=stop, block=i, **self._common())
                layer[(name, i)] = (fn_rows, _key(self.yt, i, self.b), _key(self.yp, i, self.b), self._w_arg(i),
                                    self._cot_arg(i), scale)
        # the gradient, block by block
        grad_name = f"fastbce-grad-{token}"
        gb = self.b
        grad_ndim = len(self.p_shape)
        for i in range(self.nblocks):
            layer[(grad_name,) + tuple(i if ax == gb else 0 for ax in range(grad_ndim))] = (operator.getitem,
                                                                                           (name, i), 1)
        grad_chunks = tuple(self.yp.chunks) + (((1,),) if self.squeezed else ())
        grad = da.Array(self._graph(grad_name, dict(layer), deps), grad_name, chunks=grad_chunks,
                        dtype=self.grad_dtype, meta=np.empty((0,) * grad_ndim, self.grad_dtype))
        if self.p_chunks is not None and self.known and tuple(self.p_chunks) != grad_chunks:
            grad = grad.rechunk(self.p_chunks, method=_RECHUNK)  # back to y_pred's own chunks
        # the loss, from the same tasks
        parts = f"fastbce-vgparts-{token}"
        for i in range(self.nblocks):
            layer[(parts, i)] = (operator.getitem, (name, i), 0)
        if self.mode == _NONE and not self.scalar_loss:
            out = f"fastbce-vgnone-{token}"
            for i in range(self.nblocks):
                layer[(out, i) + (0,) * (len(self.loss_shape) - 1)] = (operator.getitem, (name, i), 2)
            value = da.Array(self._graph(out, layer, deps), out, chunks=self._loss_chunks(), dtype=self.rdt,
                             meta=np.empty((0,) * len(self.loss_shape), self.rdt))
            return value, grad
        root = self._tree(layer, [(parts, i) for i in range(self.nblocks)], token)
        final = f"fastbce-vgloss-{token}"
        if self.scalar_loss:
            layer[(final,)] = (functools.partial(_finish_one_sample, mode=int(self.mode), cdt=self.cdt.name,
                                                 rdt=self.rdt.name, metric=False), root, self._w_arg(0))
        else:
            wsum = self._wsum_for_loss(layer, token)
            layer[(final,)] = (functools.partial(_finish_rows, mode=int(self.mode), rdt=self.rdt.name,
                                                 weighted=self.w is not None), root, wsum)
        return self._scalar(self._graph(final, layer, deps), final, self.rdt), grad

    def _wsum_for_loss(self, layer: Dict[Any, Any], token: str) -> Any:
        if self._needs_dask_wsum():
            name = f"fastbce-wsum-{token}-root"
            if not any(k[0] == name for k in layer):
                layer[(name,)] = (_identity, self._weight_sum_key(layer, token))
            return (name,)
        return self.wsum_static

    def _scale(self, layer: Dict[Any, Any], token: str) -> Any:
        """The reduction's global scale of the gradient (one sample: its number of elements), as a number
        when the graph can know it, else the key of the small reduction that computes it."""
        if self.scalar_loss:
            if self.known:
                return int(sum(self.batch_chunks))
            return self._count_key(layer, token)
        if self.mode == _SOBS or (self.mode == _MWSW and self.w is None):
            n = self._static_samples()
            if n is not None:
                return 1.0 / n if n else 0.0
            return (_reciprocal, self._count_key(layer, token))
        if self.mode == _MWSW:
            if self.wsum_static is not None:
                return 0.0 if self.wsum_static == 0.0 else 1.0 / self.wsum_static
            return (_reciprocal, self._wsum_for_loss(layer, token))
        return 1.0

    def _count_key(self, layer: Dict[Any, Any], token: str) -> Any:
        """The key of the number of samples (one sample: of elements) when lengths are unknown."""
        name = f"fastbce-count-{token}"
        for i in range(self.nblocks):
            layer[(name, i)] = (functools.partial(_count, a=self.a, one_sample=self.scalar_loss),
                                _key(self.yp, i, self.b))
        root = self._tree(layer, [(name, i) for i in range(self.nblocks)], token + "-n")
        return (operator.getitem, root, 0)


# --------------------------------------------------------------------------- tasks (run on the workers)
def _add_parts(parts: Sequence[Tuple[float, ...]]) -> Tuple[float, ...]:
    """The elementwise sum of tuples of partial sums, added in the order given."""
    acc = list(parts[0])
    for p in parts[1:]:
        for j, v in enumerate(p):
            acc[j] += v
    return tuple(acc)


def _identity(x: Any) -> Any:
    return x


def _reciprocal(x: Any) -> float:
    x = float(x[0] if isinstance(x, tuple) else x)
    return 0.0 if x == 0.0 else 1.0 / x


def _float64_item(pair: Tuple[float, float], j: int) -> Any:
    return np.float64(pair[j])


def _count(yp: Any, a: int, one_sample: bool) -> Tuple[int]:
    return (int(yp.shape[0]) if one_sample else math.prod(yp.shape[:a] + yp.shape[a + 1:]),)


def _weight_sum_part(w: Any, cdt: str) -> Tuple[float]:
    return (_inputs._weight_sum(np.asarray(w), np.dtype(cdt)),)


def _check_block(yt: Any, yp: Any, w: Any, b: int, block: int) -> None:
    """Blocks paired by position (unknown lengths) must hold the same samples."""
    if yt.shape != yp.shape:
        raise ValueError(f"block {block}: y_true has shape {yt.shape} and y_pred {yp.shape}: their chunks "
                         f"(dataframe partitions) do not hold the same samples")
    if w is not None and np.ndim(w) and w.shape[0] not in (1, yp.shape[b]):
        raise ValueError(f"block {block}: sample_weight has {w.shape[0]} samples and y_pred {yp.shape[b]}: their "
                         f"chunks (dataframe partitions) do not hold the same samples")


def _rows_loss(yt: Any, yp: Any, w: Any, *, spec_key: _SpecKey, start: Optional[int], stop: int, block: int,
               kind: str, b: int, squeezed: bool) -> Any:
    """A block of whole samples: its per-sample losses (``none``), or (float64 sum of the weighted
    per-sample losses, samples)."""
    _check_block(yt, yp, w, b, block)
    spec = _block_spec(spec_key, start, stop)
    if kind == "none":
        return np.asarray(_inputs.compute(yt, yp, w, spec))
    total, result, _, _ = _inputs._general_total(yt, yp, w, spec)
    return total, result.nsamples


def _rows_metric(yt: Any, yp: Any, w: Any, *, spec_key: _SpecKey, start: Optional[int], stop: int, block: int,
                 b: int, squeezed: bool) -> Tuple[float, float]:
    _check_block(yt, yp, w, b, block)
    return _inputs.metric_totals(yt, yp, w, _block_spec(spec_key, start, stop))


def _rows_vg(yt: Any, yp: Any, w: Any, cot: Any, scale: Any, *, spec_key: _SpecKey, start: Optional[int],
             stop: int, block: int, b: int, squeezed: bool) -> Tuple[Tuple[float, int], Any, Any]:
    """A block of whole samples: ((float64 sum of its weighted per-sample losses, samples), its gradient,
    its per-sample losses for ``none``), in one kernel pass. The factor of each sample is that of
    ``fastbce._inputs.prepare_grad``, with the global ``scale``."""
    _check_block(yt, yp, w, b, block)
    spec = _block_spec(spec_key, start, stop)
    g = _inputs.prepare_grad(yt, yp, w, spec, None)
    outer, reduced, inner = g.layout
    nsamples = outer * inner
    cdt = g.y_pred.dtype
    if cot is None:
        cotangent: Any = 1.0
    elif spec.reduction_mode == _NONE:
        cotangent = np.broadcast_to(np.asarray(cot).astype(np.float64, copy=False), g.loss_shape)
    else:
        cotangent = float(np.asarray(cot).reshape(-1)[0])
    weight: Any = 1.0
    if g.weight is not None:
        weight = float(g.weight[0]) if g.weight.size == 1 else g.weight.reshape(g.loss_shape)
    with np.errstate(all="ignore"):  # inf / NaN weights give inf / NaN gradients, quietly
        factor = np.multiply(weight, cotangent, dtype=np.float64) * (float(scale) / max(reduced, 1))
    factor = _inputs._buffer(np.asarray(factor), cdt)
    grad = np.empty(g.y_pred.shape, cdt)
    if nsamples == 0 or reduced == 0:
        total = _NAN if nsamples else 0.0
        out = None if g.out is None else np.full(g.loss_shape, total, cdt)
    else:
        total = _core.value_grad(g.y_true, g.y_pred, g.weight, factor if factor.size == 1 else factor.reshape(-1),
                                 grad, g.out, outer, reduced, inner, spec)
        out = g.out
    values = None if out is None else np.asarray(g.result.finish(total, out))
    grad_block = g.finish_grad(grad)
    return (total, nsamples), (grad_block[..., None] if squeezed else grad_block), values


def _piece_arrays(yt: Any, yp: Any, spec: LossSpec, block: int) -> Tuple[Any, Any, np.dtype[Any]]:
    if yt.shape != yp.shape:
        raise ValueError(f"block {block}: y_true has shape {yt.shape} and y_pred {yp.shape}: their chunks "
                         f"(dataframe partitions) do not hold the same elements")
    cdt, _ = _inputs._compute_dtype(yp.dtype, spec.dtype)
    return _inputs._buffer(yt, cdt), _inputs._buffer(yp, cdt), cdt


def _piece_loss(yt: Any, yp: Any, *, spec_key: _SpecKey, start: Optional[int], block: int) -> Tuple[float, int]:
    """A piece of one sample (1-D inputs): (float64 sum of its element losses, elements)."""
    n = int(yp.shape[0])
    spec = _block_spec(spec_key, start, (start or 0) + n)
    tb, pb, _ = _piece_arrays(yt, yp, spec, block)
    return (_core.bce(tb, pb, None, None, n, 1, 1, 1, spec) if n else 0.0), n


def _piece_vg(yt: Any, yp: Any, w: Any, cot: Any, elements: Any, *, spec_key: _SpecKey, start: Optional[int],
              block: int, squeezed: bool, grad_dtype: str) -> Tuple[Tuple[float, int], Any]:
    """A piece of one sample: ((float64 sum of its element losses, elements), its gradient). Each element's
    factor is that of ``prepare_grad`` for the whole sample: weight x cotangent / (elements of the sample)."""
    n = int(yp.shape[0])
    spec = _block_spec(spec_key, start, (start or 0) + n)
    tb, pb, cdt = _piece_arrays(yt, yp, spec, block)
    weight = 1.0 if w is None else float(np.asarray(w, cdt).reshape(-1)[0])
    cotangent = 1.0 if cot is None else float(np.asarray(cot).reshape(-1)[0])
    elements = int(elements[0] if isinstance(elements, tuple) else elements)
    with np.errstate(all="ignore"):
        factor = np.multiply(weight, cotangent, dtype=np.float64) * (1.0 / max(elements, 1))
    grad = np.empty(n, cdt)
    total = _core.value_grad(tb, pb, None, _inputs._buffer(np.asarray(factor), cdt), grad, None, n, 1, 1,
                             spec) if n else 0.0
    out = grad.astype(grad_dtype, copy=False)
    return (total, n), (out[:, None] if squeezed else out)


def _finish_rows(parts: Tuple[float, int], wsum: Any, *, mode: int, rdt: str, weighted: bool) -> Any:
    """The reduction of the summed parts of blocks of whole samples, as fastbce returns it."""
    total, nsamples = parts
    if weighted and mode == _MWSW:
        weight_sum = float(wsum[0] if isinstance(wsum, tuple) else wsum)
    else:
        weight_sum = float(nsamples)
    return np.dtype(rdt).type(_core.reduce(mode, total, int(nsamples), weight_sum, False))


def _finish_one_sample(parts: Tuple[float, int], w: Any, *, mode: int, cdt: str, rdt: str, metric: bool) -> Any:
    """One sample (1-D inputs) from its pieces: the mean of its element losses times its weight, then the
    reduction (``none`` and the metric: that value in the compute dtype, as fastbce's per-sample losses are);
    for the metric, (that value, its weight) in float64."""
    acc, n = parts
    c = np.dtype(cdt)
    weight = None if w is None else c.type(np.asarray(w, c).reshape(-1)[0])
    with np.errstate(all="ignore"):  # NaN in, NaN out, quietly, as the kernels do
        mean = acc / n if n else _NAN
        if mode == _NONE or metric:
            value = c.type(mean) if weight is None else c.type(c.type(mean) * weight)
            if metric:
                return float(value), 1.0 if weight is None else float(weight)
            return np.dtype(rdt).type(value)
        total = mean if weight is None else mean * float(weight)
    return np.dtype(rdt).type(_core.reduce(mode, total, 1, 1.0 if weight is None else float(weight), True))
