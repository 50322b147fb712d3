"""Benchmark cases, sizes, input data and the float64 reference.

A case is one point of float32/float64 x probabilities/logits x binary/soft labels x
with/without sample weights x reduction mean/none x row width. Inputs are 2-D, ``(n // width, width)``:
the Keras loss averages over the last axis, then applies the per-sample weight and reduces.
Width 1 (``[n, 1]``, one output per sample) is the plain name; ``-r16`` names rows of 16 outputs.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import zlib
from dataclasses import dataclass

import numpy as np

EPS = 1e-7  # tf.keras backend.epsilon(), cast to the input's dtype

SIZES_DEFAULT = (16, 256, 4096, 1 << 16, 1 << 20, 1 << 24, 1 << 26)
SIZES_QUICK = (16, 4096, 1 << 20, 1 << 24)
# Without --sizes, sizes above this run only the headline cases: at 64M a peer call takes
# seconds (NumPy's temporaries alone are 256 MB each) and the full set would take ten minutes.
DEFAULT_FULL_MAX = 1 << 24
WIDTH_DEFAULT = 1  # [n, 1]: one probability per sample, the usual binary classifier output
ROWS_WIDTH = 16    # the multi-label shape the rows comparison measures: [n / 16, 16]


@dataclass(frozen=True)
class Case:
    dtype: str          # "float32" | "float64"
    kind: str           # "prob" | "logits"
    labels: str         # "binary" | "soft"
    weighted: bool
    reduction: str      # "mean" | "none"
    width: int = WIDTH_DEFAULT  # inputs are (n // width, width); the loss averages over the width

    @property
    def name(self) -> str:
        w = "-w" if self.weighted else ""
        r = "" if self.width == 1 else f"-r{self.width}"
        return f"{self.dtype.replace('float', 'f')}-{self.kind}-{self.labels}{w}-{self.reduction}{r}"

    @property
    def label(self) -> str:
        """The case in words, for tables and the plot."""
        what = ("logits" if self.from_logits else "probabilities") + f", {self.labels} labels"
        parts = [what, "[batch] weight" if self.weighted else "",
                 "per-sample losses" if self.reduction == "none" else "",
                 self.dtype if self.dtype != "float32" else "",
                 f"rows of {self.width}" if self.width != 1 else ""]
        return ", ".join(p for p in parts if p)

    @property
    def from_logits(self) -> bool:
        return self.kind == "logits"

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def bytes_per_elem(self) -> float:
        """Bytes read per element: y_true and y_pred, plus a row's weight shared by its ``width`` elements."""
        return self.np_dtype.itemsize * (2 + (1 / self.width if self.weighted else 0))

    @property
    def data_key(self) -> tuple:
        """Cases with equal keys share input values (rows of 16 are the same values reshaped)."""
        return (self.dtype, self.kind, self.labels)

    def with_width(self, width: int) -> Case:
        return dataclasses.replace(self, width=width)


ALL_CASES = tuple(
    Case(d, k, lab, w, r)
    for d, k, lab, w, r in itertools.product(
        ("float32", "float64"), ("prob", "logits"), ("binary", "soft"), (False, True), ("mean", "none")
    )
)
BY_NAME = {c.name: c for c in ALL_CASES}  # width 1; "-rN" after any of these names gives rows of N

# The float32 mean cases a user meets first; also the ones measured at 64M by default.
HEADLINE_CASES = ("f32-prob-binary-mean", "f32-logits-binary-mean", "f32-prob-soft-mean")
DEFAULT_CASES = HEADLINE_CASES + (
    f"f32-prob-binary-mean-r{ROWS_WIDTH}",
    "f32-logits-soft-mean",
    "f32-prob-binary-w-mean",
    "f32-prob-binary-none",
    "f64-prob-binary-mean",
    "f64-logits-binary-mean",
)
QUICK_CASES = HEADLINE_CASES + ("f64-prob-binary-mean",)
# The three float32 modes, each with and without a [batch] weight: what the rows comparison times.
ROWS_MODES = tuple(f"f32-{m}{w}-mean" for m in ("prob-binary", "prob-soft", "logits-binary") for w in ("", "-w"))
# Summary: the cases whose ratio to the best peer the summary reports (the rows comparison,
# roofline and latency run as sections).
SUMMARY_CASES = ("f32-prob-binary-mean", "f32-logits-binary-mean")
CASE_SETS = {
    "default": DEFAULT_CASES,
    "quick": QUICK_CASES,
    "headline": HEADLINE_CASES,
    "summary": SUMMARY_CASES,
    "rows": tuple(n + r for n in ROWS_MODES for r in ("", f"-r{ROWS_WIDTH}")),
    "all": tuple(BY_NAME),
}
_SET_ALIASES = {"acceptance": "headline"}  # the former name of "headline"
# Sizes a set runs when --sizes is not given (otherwise the default or --quick sizes).
SET_SIZES = {"summary": (1 << 20, 1 << 24), "rows": (1 << 20, 1 << 24)}
# Sections a set leaves out unless asked for (the summary has no use for the 1e8-element accuracy check).
SET_SKIPS = {"summary": ("accuracy",)}


def set_names(spec: str) -> list[str]:
    """The set names (default, quick, ...) in a --cases spec."""
    tokens = (t.strip() for t in spec.split(","))
    return [_SET_ALIASES.get(t, t) for t in tokens if _SET_ALIASES.get(t, t) in CASE_SETS]


def case_by_name(name: str, default_width: int = WIDTH_DEFAULT) -> Case:
    """A case from its name; a name without "-rN" gets ``default_width``."""
    base, width = _split_width(name)
    if base not in BY_NAME:
        raise ValueError(f"unknown case {name!r}")
    return BY_NAME[base].with_width(width or default_width)


def _split_width(token: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"(.*)-r(\d+)", token)
    if not m:
        return token, None
    if int(m.group(2)) < 1:
        raise ValueError(f"row width must be >= 1 in {token!r}")
    return m.group(1), int(m.group(2))


def select_cases(spec: str, default_width: int = WIDTH_DEFAULT) -> list[Case]:
    """Comma-separated case names, set names (default, quick, headline, summary, rows, all) or fnmatch
    patterns; a trailing "-rN" (rows of N) applies to a name or pattern, others get ``default_width``."""
    import fnmatch

    out: list[Case] = []
    for token in filter(None, (t.strip() for t in spec.split(","))):
        token = _SET_ALIASES.get(token, token)
        if token in CASE_SETS:
            found = [case_by_name(n, default_width) for n in CASE_SETS[token]]
        else:
            base, width = _split_width(token)
            found = [BY_NAME[n].with_width(width or default_width) for n in fnmatch.filter(BY_NAME, base)]
        if not found:
            raise ValueError(f"unknown case {token!r}; known: {', '.join(BY_NAME)} (each also with -r16 etc.) "
                             f"and the sets {', '.join(CASE_SETS)}")
        out.extend(c for c in found if c not in out)
    return out


def plan(cases: list[Case], sizes: list[int], sizes_given: bool) -> list[tuple[Case, int]]:
    """(case, size) pairs to measure, size-major."""
    return [(c, n) for n in sizes for c in cases
            if sizes_given or n <= DEFAULT_FULL_MAX or c.name in HEADLINE_CASES]


_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """'16', '4K', '1M', '64M' (binary multiples) or '1e8' (decimal)."""
    text = text.strip()
    m = re.fullmatch(r"(\d+)([KMG]?)", text, re.IGNORECASE)
    if m:
        return int(m.group(1)) * _SUFFIX[m.group(2).upper()]
    return int(float(text))


def parse_sizes(spec: str) -> list[int]:
    return sorted({parse_size(t) for t in spec.split(",") if t.strip()})


def format_size(n: int) -> str:
    for suffix, mult in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


def shape_for(n: int, width: int) -> tuple[int, int]:
    """``(n // width, width)``, or ``(1, n)`` for inputs smaller than one row."""
    if n <= width:
        return (1, n)
    if n % width:
        raise ValueError(f"size {n} is not a multiple of the row width {width}")
    return (n // width, width)


@dataclass
class Data:
    """NumPy inputs of one case at one size; contenders convert them outside the timing."""
    y_true: np.ndarray
    y_pred: np.ndarray
    weight: np.ndarray | None  # shape (batch,), or None

    @property
    def size(self) -> int:
        return self.y_pred.size


class DataStore:
    """Generates inputs once per (dtype, kind, labels, size) and caches the float64 reference.

    Every row width of one (dtype, kind, labels, size) sees the same values: rows of 16 are the
    ``[n, 1]`` arrays reshaped (a view), so the two shapes are compared on identical data.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._arrays: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._weights: dict[tuple, np.ndarray] = {}
        self._reference: dict[tuple, np.ndarray] = {}

    def clear(self) -> None:
        self._arrays.clear()
        self._weights.clear()
        self._reference.clear()

    def data(self, case: Case, n: int) -> Data:
        y_true, y_pred = self._inputs(case, n)
        weight = self._weight(case, y_pred.shape[0]) if case.weighted else None
        return Data(y_true, y_pred, weight)

    def _inputs(self, case: Case, n: int):
        key = case.data_key + (n,)
        if key not in self._arrays:
            self._arrays[key] = make_inputs(case, n, WIDTH_DEFAULT, self.seed)
        shape = shape_for(n, case.width)
        return tuple(a.reshape(shape) for a in self._arrays[key])

    def _weight(self, case: Case, batch: int) -> np.ndarray:
        key = (case.dtype, batch)
        if key not in self._weights:
            rng = np.random.default_rng(self.seed + 7)
            self._weights[key] = (rng.random(batch) + 0.5).astype(case.dtype)
        return self._weights[key]

    def reference(self, case: Case, n: int) -> np.ndarray | float:
        """The Keras result in float64: per-sample losses (``none``) or their weighted mean."""
        key = case.data_key + (case.width, n)
        if key not in self._reference:
            y_true, y_pred = self._inputs(case, n)
            self._reference[key] = per_sample_reference(case, y_true, y_pred)
        per_sample = self._reference[key]
        if case.weighted:
            per_sample = per_sample * self._weight(case, per_sample.shape[0]).astype(np.float64)
        return per_sample if case.reduction == "none" else float(per_sample.sum() / per_sample.size)


def make_inputs(case: Case, n: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    shape = shape_for(n, width)
    rng = np.random.default_rng([seed, n, zlib.crc32(repr(case.data_key).encode())])
    dt = case.np_dtype
    if case.labels == "binary":
        y_true = (rng.random(shape, dtype=np.float32) < 0.5).astype(dt)
    else:
        y_true = rng.random(shape, dtype=dt)
    if case.kind == "prob":
        # Open interval (1e-3, 1 - 1e-3): away from the clip, where peers (torch) use other rules.
        y_pred = rng.random(shape, dtype=dt)
        y_pred *= dt.type(0.998)
        y_pred += dt.type(0.001)
    else:
        y_pred = rng.standard_normal(shape, dtype=dt)
        y_pred *= dt.type(4.0)
    return y_true, y_pred


def per_sample_reference(case: Case, y_true: np.ndarray, y_pred: np.ndarray,
                         chunk_rows: int = 1 << 16) -> np.ndarray:
    """Per-sample loss (mean over the last axis) in float64, computed in chunks to bound memory."""
    eps = float(case.np_dtype.type(EPS))
    out = np.empty(y_pred.shape[0], dtype=np.float64)
    for start in range(0, y_pred.shape[0], chunk_rows):
        sl = slice(start, start + chunk_rows)
        y = y_true[sl].astype(np.float64)
        p = y_pred[sl].astype(np.float64)
        if case.from_logits:
            loss = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
        else:
            p = np.clip(p, eps, 1 - eps)
            loss = -(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        out[sl] = loss.mean(axis=-1)
    return out


def check_result(case: Case, value, reference, strict: bool = False) -> str | None:
    """None when ``value`` matches the float64 reference, else a short description.

    Peers are held to rtol 1e-3: they implement the loss their own way (torch has no inner eps and
    clamps the log at -100), so this only catches a wrong formula, reduction or weighting. fastbce
    (``strict``) claims the Keras formula: rtol 1e-5 for float32, 1e-9 for float64.
    """
    rtol = (1e-5 if case.dtype == "float32" else 1e-9) if strict else 1e-3
    value = np.asarray(value, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if value.shape != ref.shape:
        return f"shape {value.shape} != {ref.shape}"
    if case.reduction == "none":
        atol = rtol * float(np.mean(np.abs(ref))) if ref.size else 0.0
        if not np.allclose(value, ref, rtol=rtol, atol=atol):
            bad = np.max(np.abs(value - ref) / (np.abs(ref) + atol + 1e-300))
            return f"max rel err {bad:.2e} > {rtol:g}"
        return None
    err = abs(float(value) - float(ref)) / max(abs(float(ref)), 1e-300)
    return None if err <= rtol else f"rel err {err:.2e} > {rtol:g}"


# --------------------------------------------------------------------------- gradients
# `--cases grad`: the loss and its gradient with respect to y_pred in one call (fastbce's
# BinaryCrossentropy().value_and_grad; the peers' autodiff). `--cases train-step`: the same inside each
# framework's own compiled step (tf.function, jax.jit, torch eager), fastbce's framework adapter vs the
# framework's own loss. Both on float32 [n, 1] inputs with binary labels, mean reduction; the inputs are
# those of the matching loss case (f32-prob-binary-mean, f32-logits-binary-mean).
GRAD_SIZES = (1 << 10, 1 << 16, 1 << 20, 1 << 24)
TRAIN_SIZES = (1 << 10, 1 << 16, 1 << 20, 1 << 22)
GRAD_SETS = ("grad", "train-step")
# Sections of the loss benchmark that a run of only gradient sets leaves out unless asked for.
GRAD_SKIPS = ("rows", "latency", "accuracy")


@dataclass(frozen=True)
class GradCase:
    """The loss and d loss / d y_pred of one float32 [n, 1] binary-label mode, mean reduction."""
    kind: str       # "prob" | "logits"
    group: str      # "grad" (value_and_grad) | "train-step" (inside a framework's compiled step)

    @property
    def name(self) -> str:
        return f"{'grad' if self.group == 'grad' else 'train'}-f32-{self.kind}-binary"

    @property
    def label(self) -> str:
        what = "logits" if self.kind == "logits" else "probabilities"
        return f"{what}, binary labels, loss and gradient" + ("" if self.group == "grad" else " in a compiled step")

    @property
    def from_logits(self) -> bool:
        return self.kind == "logits"

    @property
    def loss_case(self) -> Case:
        """The loss case whose inputs (and float64 loss reference) this case uses."""
        return BY_NAME[f"f32-{self.kind}-binary-mean"]

    @property
    def bytes_per_elem(self) -> int:
        """Bytes moved per element: y_true and y_pred read, the gradient written (float32 each)."""
        return 12


GRAD_CASES = tuple(GradCase(k, s) for s in GRAD_SETS for k in ("prob", "logits"))
GRAD_BY_NAME = {c.name: c for c in GRAD_CASES}


def split_grad_sets(spec: str) -> tuple[list[str], str]:
    """The gradient sets named in a --cases spec, and the rest of the spec (the loss cases)."""
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    return [t for t in tokens if t in GRAD_SETS], ",".join(t for t in tokens if t not in GRAD_SETS)


def grad_cases(sets: list[str]) -> list[GradCase]:
    return [c for c in GRAD_CASES if c.group in sets]


def label_of(name: str) -> str:
    """A case's words for tables: a loss case or a gradient case."""
    return GRAD_BY_NAME[name].label if name in GRAD_BY_NAME else case_by_name(name).label


def grad_reference(case: GradCase, data: Data) -> np.ndarray:
    """d loss / d y_pred of the mean loss, in float64 (the inputs lie inside the clip range)."""
    y = data.y_true.astype(np.float64)
    x = data.y_pred.astype(np.float64)
    if case.from_logits:
        g = 1.0 / (1.0 + np.exp(-x)) - y
    else:
        eps = float(np.float32(EPS))
        g = -y / (x + eps) + (1.0 - y) / (1.0 - x + eps)
    return g / x.size


def check_grad(case: GradCase, loss, grad, loss_ref: float, grad_ref: np.ndarray, strict: bool = False) -> str | None:
    """None when the loss and the gradient match the float64 references, else a short description.

    As ``check_result``: fastbce (``strict``) at rtol 1e-5, peers at 1e-3 (torch has no inner eps)."""
    bad = check_result(case.loss_case, loss, loss_ref, strict)
    if bad is not None:
        return f"loss: {bad}"
    rtol = 1e-5 if strict else 1e-3
    g = np.asarray(grad, dtype=np.float64)
    if g.shape != grad_ref.shape:
        return f"gradient shape {g.shape} != {grad_ref.shape}"
    atol = rtol * float(np.mean(np.abs(grad_ref)))
    if not np.allclose(g, grad_ref, rtol=rtol, atol=atol):
        err = np.max(np.abs(g - grad_ref) / (np.abs(grad_ref) + atol))
        return f"gradient: max rel err {err:.2e} > {rtol:g}"
    return None
