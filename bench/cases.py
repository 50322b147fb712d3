"""Benchmark cases, sizes, input data and the float64 reference.

A case is one point of float32/float64 x probabilities/logits x binary/soft labels x
with/without sample weights x reduction mean/none. Inputs are 2-D, ``(n // width, width)``:
the Keras loss averages over the last axis, then applies the per-sample weight and reduces.
"""
from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass

import numpy as np

EPS = 1e-7  # tf.keras backend.epsilon(), cast to the input's dtype

SIZES_DEFAULT = (16, 256, 4096, 1 << 16, 1 << 20, 1 << 24, 1 << 26)
SIZES_QUICK = (16, 4096, 1 << 20, 1 << 24)
# Without --sizes, sizes above this run only the acceptance cases: at 64M a peer call takes
# seconds (NumPy's temporaries alone are 256 MB each) and the full set would take ten minutes.
DEFAULT_FULL_MAX = 1 << 24
WIDTH_DEFAULT = 1  # [n, 1]: one probability per sample, the usual binary classifier output


@dataclass(frozen=True)
class Case:
    dtype: str          # "float32" | "float64"
    kind: str           # "prob" | "logits"
    labels: str         # "binary" | "soft"
    weighted: bool
    reduction: str      # "mean" | "none"

    @property
    def name(self) -> str:
        w = "-w" if self.weighted else ""
        return f"{self.dtype.replace('float', 'f')}-{self.kind}-{self.labels}{w}-{self.reduction}"

    @property
    def from_logits(self) -> bool:
        return self.kind == "logits"

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def bytes_per_elem(self) -> int:
        """Bytes read per element (y_true and y_pred); weights are per sample, ignored."""
        return 2 * self.np_dtype.itemsize

    @property
    def data_key(self) -> tuple:
        """Cases with equal keys share input arrays and the per-sample reference."""
        return (self.dtype, self.kind, self.labels)


ALL_CASES = tuple(
    Case(d, k, lab, w, r)
    for d, k, lab, w, r in itertools.product(
        ("float32", "float64"), ("prob", "logits"), ("binary", "soft"), (False, True), ("mean", "none")
    )
)
BY_NAME = {c.name: c for c in ALL_CASES}

# The acceptance criteria of issue 5 (float32, mean reduction).
ACCEPTANCE_CASES = ("f32-prob-binary-mean", "f32-logits-binary-mean", "f32-prob-soft-mean")
DEFAULT_CASES = ACCEPTANCE_CASES + (
    "f32-logits-soft-mean",
    "f32-prob-binary-w-mean",
    "f32-prob-binary-none",
    "f64-prob-binary-mean",
    "f64-logits-binary-mean",
)
QUICK_CASES = ACCEPTANCE_CASES + ("f64-prob-binary-mean",)
CASE_SETS = {"default": DEFAULT_CASES, "quick": QUICK_CASES, "acceptance": ACCEPTANCE_CASES,
             "all": tuple(BY_NAME)}


def select_cases(spec: str) -> list[Case]:
    """Comma-separated case names, set names (default, quick, acceptance, all) or fnmatch patterns."""
    import fnmatch

    out: list[Case] = []
    for token in filter(None, (t.strip() for t in spec.split(","))):
        names = CASE_SETS.get(token) or fnmatch.filter(BY_NAME, token)
        if not names:
            raise ValueError(f"unknown case {token!r}; known: {', '.join(BY_NAME)}")
        out.extend(BY_NAME[n] for n in names if BY_NAME[n] not in out)
    return out


def plan(cases: list[Case], sizes: list[int], sizes_given: bool) -> list[tuple[Case, int]]:
    """(case, size) pairs to measure, size-major."""
    return [(c, n) for n in sizes for c in cases
            if sizes_given or n <= DEFAULT_FULL_MAX or c.name in ACCEPTANCE_CASES]


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
    """Generates inputs once per (dtype, kind, labels, size) and caches the float64 reference."""

    def __init__(self, seed: int = 0, width: int = WIDTH_DEFAULT):
        self.seed = seed
        self.width = width
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
            self._arrays[key] = make_inputs(case, n, self.width, self.seed)
        return self._arrays[key]

    def _weight(self, case: Case, batch: int) -> np.ndarray:
        key = (case.dtype, batch)
        if key not in self._weights:
            rng = np.random.default_rng(self.seed + 7)
            self._weights[key] = (rng.random(batch) + 0.5).astype(case.dtype)
        return self._weights[key]

    def reference(self, case: Case, n: int) -> np.ndarray | float:
        """The Keras result in float64: per-sample losses (``none``) or their weighted mean."""
        key = case.data_key + (n,)
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
