"""The ``fastbce`` command: ``fastbce eval`` computes the loss of labels and predictions stored in files.

::

    fastbce eval data.parquet --labels y --predictions p [--weights w]     # columns of one file
    fastbce eval --labels y.npy --predictions p.npy [--weights w.npy]      # one file per input
    fastbce eval --labels labels.csv:y --predictions preds.parquet:p       # a column of each file

The files are read a chunk of rows at a time (``fastbce._files``), so memory stays bounded whatever their size,
and the loss is accumulated as float64 partial sums: the float64 sum of the weighted per-sample losses, the
number of per-sample losses and the sum of the weights, combined at the end by the reduction exactly as the
in-memory ``fastbce.BinaryCrossentropy(...)(y_true, y_pred, sample_weight)`` combines them. The result equals the
in-memory one to float64 rounding of the partial sums.

A column (or a 1-D array) holds one value per row: one prediction per sample, i.e. the inputs are ``(n, 1)`` in
fastbce's terms, so ``--weights`` gives one weight per row and ``sum`` adds the rows' losses. A ``.npy`` /
``.npz`` array of rank >= 2 is used as it is (rows = slices along axis 0), its loss averaged over ``--axis``.

Without the ``eval`` subcommand, ``fastbce`` (and ``python -m fastbce``) runs the demo (``fastbce._demo``).
Exit codes: 0 success, 1 bad data (non-numeric values, mismatched lengths or shapes), 2 a command that cannot run
as given (bad options, a missing file or column, an unsupported format).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np
import numpy.typing as npt

from . import _core, _inputs
from ._files import ColumnInfo, InputError, Reader, UsageError, file_format, open_reader
from ._results import SCALAR_TYPES
from ._spec import LossSpec, Reduction, ReductionMode

__all__ = ["eval_main", "main"]

_Array = npt.NDArray[Any]

PROG = "fastbce eval"
#: bytes per chunk of the widest input (the chunk's rows follow from it)
CHUNK_BYTES = 4 << 20
#: the inputs, as the command names them, and their names in the loss
ROLES = ("labels", "predictions", "weights")
_LOSS_NAMES = {"labels": "y_true", "predictions": "y_pred", "weights": "sample_weight"}
#: column names used when a FILE is given without --labels / --predictions
DEFAULT_COLUMNS = {"labels": "y_true", "predictions": "y_pred"}

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``fastbce`` / ``python -m fastbce``: ``eval ...`` evaluates files; anything else runs the demo."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "eval":
        return eval_main(args[1:])
    from ._demo import main as demo

    return demo(args)


# --------------------------------------------------------------------------- arguments
def _pos_weight(text: str) -> Tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or a comma-separated list of numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"pos weights must be finite, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fastbce eval``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The binary cross-entropy (tf_keras's BinaryCrossentropy) of labels and predictions in files "
                    "of any size, read in chunks of rows: .npy (memory-mapped), .npz, .parquet, .feather / .arrow "
                    "(Arrow IPC), .csv. Parquet and Arrow need pyarrow (pip install 'fastbce[files]'); CSV uses it "
                    "when installed.",
        epilog="examples:\n"
               "  fastbce eval data.parquet --labels y --predictions p --weights w\n"
               "  fastbce eval --labels y.npy --predictions p.npy --from-logits\n"
               "  fastbce eval --labels labels.csv:y --predictions preds.feather:p --json\n"
               "  fastbce eval scores.npz --reduction none --output losses.npy\n\n"
               "A column (or 1-D array) holds one prediction per row: each row is a sample. Arrays of rank >= 2\n"
               "are averaged over --axis (not 0: the rows are streamed). CSV values are read as float64.\n"
               "exit codes: 0 success, 1 bad data (non-numeric, mismatched lengths or shapes), 2 bad command\n"
               "(options, missing files or columns).",
    )
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="one file holding the inputs as columns (.npz members, Parquet / Arrow / CSV columns); "
                             "without it, --labels and --predictions name files")
    parser.add_argument("--labels", "-y", metavar="NAME",
                        help="the labels: a column of FILE (default y_true), or a file, FILE[:COLUMN]")
    parser.add_argument("--predictions", "-p", metavar="NAME",
                        help="the predictions (probabilities, or logits with --from-logits): a column of FILE "
                             "(default y_pred), or a file, FILE[:COLUMN]")
    parser.add_argument("--weights", "-w", metavar="NAME",
                        help="optional sample weights, one per row (or the shape of the per-sample loss): a column "
                             "of FILE, or a file, FILE[:COLUMN]")
    loss = parser.add_argument_group("the loss (as fastbce.BinaryCrossentropy's arguments)")
    loss.add_argument("--from-logits", action="store_true", help="the predictions are logits")
    loss.add_argument("--label-smoothing", type=float, default=0.0, metavar="X", help="in [0, 1] (default 0)")
    loss.add_argument("--pos-weight", type=_pos_weight, metavar="W[,W...]",
                      help="weight of the positive term: one number, or one per class of the predictions' last axis")
    loss.add_argument("--reduction", choices=Reduction.all(), default=Reduction.AUTO,
                      help="default auto; none writes the per-sample losses to --output")
    loss.add_argument("--axis", type=int, default=-1,
                      help="the axis averaged over, for arrays of rank >= 2 (default -1; not 0, the rows)")
    loss.add_argument("--dtype", choices=("float16", "float32", "float64"),
                      help="compute dtype (default: follow the predictions' dtype)")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="FILE.npy",
                     help="with --reduction none: write the per-sample losses here (streamed)")
    out.add_argument("--json", action="store_true", help="print one JSON object instead of a line")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="a progress bar on stderr (default: when stderr is a terminal)")
    out.add_argument("--chunk-rows", type=_positive_int, metavar="N",
                     help=f"rows per chunk (default: about {CHUNK_BYTES >> 20} MiB of the widest input)")
    return parser


# --------------------------------------------------------------------------- inputs
class _Input:
    """One of the loss's inputs: which file and column it comes from, and what it holds."""

    __slots__ = ("role", "path", "column", "reader", "info", "rows")

    def __init__(self, role: str, path: str, column: Optional[str]) -> None:
        self.role, self.path, self.column = role, path, column
        self.reader: Reader
        self.info: ColumnInfo
        self.rows: Optional[int] = None

    @property
    def label(self) -> str:
        where = self.path if self.column is None else f"{self.path}:{self.column}"
        return f"{self.role} ({where})"

    @property
    def shape(self) -> Tuple[Optional[int], ...]:
        return (self.rows,) + self.info.row_shape


def _split(value: str) -> Tuple[str, Optional[str]]:
    """``FILE`` or ``FILE:COLUMN`` (a name that exists as a file is a file, colons and all)."""
    if os.path.exists(value) or ":" not in value:
        return value, None
    path, column = value.rsplit(":", 1)
    try:
        file_format(path)
    except UsageError:
        return value, None
    return path, column


def _inputs_from(args: argparse.Namespace) -> List[_Input]:
    given = {role: getattr(args, role) for role in ROLES}
    inputs: List[_Input] = []
    if args.file is not None:
        if file_format(args.file) == "npy":
            raise UsageError(f"{args.file}: a .npy file holds one array; give the labels and the predictions as "
                             "files of their own: --labels LABELS.npy --predictions PREDICTIONS.npy")
        for role in ROLES:
            name = given[role] if given[role] is not None else DEFAULT_COLUMNS.get(role)
            if name is not None:
                inputs.append(_Input(role, args.file, name))
        return inputs
    missing = [f"--{role}" for role in ("labels", "predictions") if given[role] is None]
    if missing:
        raise UsageError(f"{' and '.join(missing)} missing: give one file with the inputs as columns "
                         "(fastbce eval FILE --labels COLUMN --predictions COLUMN) or a file per input "
                         "(--labels FILE[:COLUMN] --predictions FILE[:COLUMN])")
    for role in ROLES:
        if given[role] is not None:
            inputs.append(_Input(role, *_split(given[role])))
    return inputs


def _open(inputs: List[_Input]) -> List[Reader]:
    """One reader per file, for all the columns asked of it."""
    by_file: Dict[str, List[_Input]] = {}
    for inp in inputs:
        by_file.setdefault(os.path.realpath(inp.path), []).append(inp)
    readers: List[Reader] = []
    try:
        for group in by_file.values():
            reader = open_reader(group[0].path, [inp.column for inp in group])
            readers.append(reader)
            for inp in group:
                inp.reader = reader
                inp.info = reader.info(inp.column)
                inp.rows = reader.column_rows(inp.column)
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    return readers


def _as_rows(arr: _Array) -> _Array:
    """A column (one value per row) as ``(rows, 1)``: one prediction per sample."""
    return arr.reshape(arr.shape[0], 1) if arr.ndim == 1 else arr


def _loss_shapes(y: _Input, p: _Input) -> Tuple[int, ...]:
    """The shape the loss sees (labels and predictions after the trailing-1 squeeze), rows first (0 if unknown)."""
    ts = (y.rows or 0,) + (y.info.row_shape or (1,))
    ps = (p.rows or 0,) + (p.info.row_shape or (1,))
    if len(ts) == len(ps) + 1 and ts[-1] == 1:
        return ps
    if len(ps) == len(ts) + 1 and ps[-1] == 1:
        return ts
    if ts[1:] != ps[1:]:
        raise InputError(f"{y.label} has {_rows_text(y)} but {p.label} has {_rows_text(p)}: the rows must have one "
                         "shape, or shapes that differ only by a trailing axis of size 1")
    return ps


def _rows_text(inp: _Input) -> str:
    shape = inp.info.row_shape
    return f"rows of shape {shape}" if shape else "one value per row"


def _check(inputs: Dict[str, _Input], spec: LossSpec) -> Any:
    """Every check that can be made before reading: lengths, shapes, dtypes, axis, pos weights. Returns the
    loss's ``_Result`` of zero rows (its compute and result dtypes, and for ``none`` the per-sample shape)."""
    known = [inp for inp in inputs.values() if inp.rows is not None]
    if len({inp.rows for inp in known}) > 1:
        detail = ", ".join(f"{inp.label} has {inp.rows:,}" for inp in known)
        raise InputError(f"the inputs have different numbers of rows: {detail}")
    y, p = inputs["labels"], inputs["predictions"]
    shape = _loss_shapes(y, p)
    rank = len(shape)
    if not -rank <= spec.axis < rank:
        raise UsageError(f"--axis {spec.axis} is out of range for inputs of rank {rank} (rows of shape "
                         f"{shape[1:]}; a column is rank 2, one value per row)")
    if spec.axis % rank == 0:
        raise UsageError(f"--axis {spec.axis} is the axis of the rows, which are read a chunk at a time; a mean over "
                         "it would need every row at once. Use an axis >= 1 (or save the arrays transposed)")
    classes = (p.info.row_shape or (1,))[-1]
    try:
        spec.check_classes(classes, shape)
    except ValueError as e:
        raise UsageError(f"--pos-weight: {e}") from None
    # the loss itself on zero rows: its dtype and shape rules, before any data is read
    zeros = {role: np.empty((0,) + inp.info.row_shape, inp.info.dtype) for role, inp in inputs.items()}
    try:
        _, result = _inputs.totals(_as_rows(zeros["labels"]), _as_rows(zeros["predictions"]), zeros.get("weights"),
                                   spec)
    except (TypeError, ValueError) as e:
        shapes = ", ".join(f"{inp.label} {_shape_text(inp.shape)}" for inp in inputs.values())
        raise InputError(f"{e} (checked on 0 rows; the inputs: {shapes})") from None
    return result


def _shape_text(shape: Tuple[Optional[int], ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# --------------------------------------------------------------------------- output
def _npy_header(dtype: np.dtype[Any], shape: Tuple[int, ...], size: int = 0) -> bytes:
    """A .npy version 1.0 header for a C-ordered array, padded to ``size`` bytes (or to a multiple of 64)."""
    text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)})
    body = text.encode("latin1")
    used = 10 + len(body) + 1  # magic, version, length, header, newline
    total = size or -(-used // 64) * 64
    if used > total:
        raise ValueError("npy header does not fit")
    body += b" " * (total - used) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


class _NpyWriter:
    """Per-sample losses streamed to a .npy file: written to ``PATH.partial-PID``, renamed when complete."""

    def __init__(self, path: str, dtype: np.dtype[Any], row_shape: Tuple[int, ...]) -> None:
        self.path, self.dtype, self.row_shape = path, dtype, row_shape
        self._tmp = f"{path}.partial-{os.getpid()}"
        # room for any number of rows: the header is rewritten with the real count at the end
        self._size = len(_npy_header(dtype, (10**20,) + row_shape))
        try:
            self._file = open(self._tmp, "wb")  # noqa: SIM115  # closed by finish() or abort()
        except OSError as e:
            raise UsageError(f"--output {path}: cannot write: {e.strerror}") from None
        self._file.write(_npy_header(dtype, (0,) + row_shape, self._size))
        self.rows = 0

    def write(self, losses: _Array) -> None:
        block = np.ascontiguousarray(losses, self.dtype)
        self._file.write(block.data.cast("B"))
        self.rows += block.shape[0]

    def finish(self) -> None:
        self._file.seek(0)
        self._file.write(_npy_header(self.dtype, (self.rows,) + self.row_shape, self._size))
        self._file.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._file.close()
        try:
            os.unlink(self._tmp)
        except OSError:
            pass


def _count(n: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def _rate(bytes_per_s: float) -> str:
    return f"{bytes_per_s / 1e9:.2f} GB/s" if bytes_per_s >= 1e9 else f"{bytes_per_s / 1e6:.1f} MB/s"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """A one-line progress bar on a stream: rows done / total, throughput and ETA, redrawn at most 10 times a
    second; the final state stays on its line."""

    WIDTH = 24

    def __init__(self, stream: TextIO, total_rows: Optional[int], start: float) -> None:
        self.stream, self.total_rows, self.start = stream, total_rows, start
        self._last = start
        self._shown = 0

    def update(self, rows: int, nbytes: int, fraction: Optional[float], final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        if self.total_rows:
            fraction = rows / self.total_rows
        elif final:
            fraction = 1.0
        parts = []
        if fraction is not None:
            filled = int(fraction * self.WIDTH)
            parts.append(f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {100 * fraction:5.1f}%")
        total = f"/{_count(self.total_rows)}" if self.total_rows else ""
        parts.append(f"{_count(rows)}{total} rows")
        parts.append(f"{_rate(nbytes / elapsed)}, {_count(rows / elapsed)} rows/s")
        if final:
            parts.append(f"done in {elapsed:.1f} s")
        elif fraction:
            parts.append(f"ETA {_duration(elapsed * (1 - fraction) / fraction)}")
        line = "  ".join(parts)
        self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
        if final:
            self.stream.write("\n")
        self.stream.flush()
        self._shown = len(line)


def _number(value: np.floating[Any]) -> Any:
    """A result as JSON: its shortest decimal form (as NumPy prints it), or "nan" / "inf" / "-inf"."""
    x = float(value)
    if math.isfinite(x):
        return float(str(value))
    return str(x)


# --------------------------------------------------------------------------- the command
def eval_main(argv: Optional[Sequence[str]] = None) -> int:
    """``fastbce eval``: parse ``argv`` and run; returns the exit code (argparse exits 2 on bad syntax)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _evaluate(args)
    except UsageError as e:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_DATA


def _evaluate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        spec = LossSpec.build(from_logits=args.from_logits, label_smoothing=args.label_smoothing,
                              pos_weight=args.pos_weight, axis=args.axis, reduction=args.reduction, dtype=args.dtype)
    except (TypeError, ValueError) as e:
        raise UsageError(str(e)) from None
    per_sample = spec.reduction_mode == ReductionMode.NONE
    if per_sample and args.output is None:
        raise UsageError("--reduction none gives one loss per sample: write them with --output FILE.npy")
    if args.output is not None and not per_sample:
        raise UsageError("--output takes the per-sample losses of --reduction none; other reductions give one number")
    if args.output is not None and not args.output.endswith(".npy"):
        raise UsageError(f"--output {args.output}: the per-sample losses are written as .npy; name the file *.npy")

    inputs = {inp.role: inp for inp in _inputs_from(args)}
    readers = _open(list(inputs.values()))
    writer: Optional[_NpyWriter] = None
    try:
        result0 = _check(inputs, spec)
        cdt, rdt = result0.cdt, result0.rdt
        for reader in readers:
            reader.null_dtype = cdt
        widest = max(inp.info.row_bytes for inp in inputs.values())
        chunk = args.chunk_rows or max(1, CHUNK_BYTES // max(1, widest))
        for reader in readers:
            reader.batch_rows = chunk
        known = {inp.rows for inp in inputs.values()}
        total_rows = known.pop() if len(known) == 1 and None not in known else None
        if per_sample:
            y0 = np.empty((0,) + inputs["labels"].info.row_shape, inputs["labels"].info.dtype)
            p0 = np.empty((0,) + inputs["predictions"].info.row_shape, inputs["predictions"].info.dtype)
            w_in = inputs.get("weights")
            w0 = None if w_in is None else np.empty((0,) + w_in.info.row_shape, w_in.info.dtype)
            loss_row_shape = _inputs.compute(_as_rows(y0), _as_rows(p0), w0, spec).shape[1:]
            writer = _NpyWriter(args.output, rdt, tuple(loss_row_shape))
        show = args.progress if args.progress is not None else sys.stderr.isatty()
        progress = Progress(sys.stderr, total_rows, start) if show else None
        totals = _stream(inputs, readers, spec, chunk, writer, progress)
        if writer is not None:
            writer.finish()
            writer = None
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if writer is not None:
            writer.abort()
        for reader in readers:
            reader.close()
    elapsed = time.perf_counter() - start
    rows, nbytes, total, samples, weight_sum = totals
    value = None
    if not per_sample:
        value = SCALAR_TYPES[rdt](_core.reduce(spec.reduction_mode, total, samples, weight_sum, False))
    reduction = spec.reduction if spec.reduction is not None else "none"
    if args.json:
        report: Dict[str, Any] = {
            "loss": "binary_crossentropy",
            "value": None if value is None else _number(value),
            "dtype": rdt.name,
            "reduction": reduction,
            "options": {"from_logits": spec.from_logits, "label_smoothing": spec.label_smoothing,
                        "pos_weight": None if spec.pos_weight is None else list(spec.pos_weight),
                        "axis": spec.axis, "dtype": args.dtype},
            "inputs": {inp.role: {"path": inp.path, "column": inp.column, "format": inp.reader.format,
                                  "dtype": inp.info.dtype.name, "shape": [rows] + list(inp.info.row_shape)}
                       for inp in inputs.values()},
            "rows": rows,
            "samples": samples,
            "weight_sum": weight_sum if spec.reduction_mode == ReductionMode.MEAN_WITH_SAMPLE_WEIGHT else None,
            "output": args.output,
            "bytes": nbytes,
            "elapsed_seconds": elapsed,
            "throughput": {"rows_per_second": rows / elapsed if elapsed else None,
                           "megabytes_per_second": nbytes / elapsed / 1e6 if elapsed else None},
        }
        print(json.dumps(report))
    elif value is None:
        print(f"binary_crossentropy: {samples} per-sample losses ({rdt.name}) written to {args.output} "
              f"(reduction none, {rows} rows)")
    else:
        print(f"binary_crossentropy {value!s} (reduction {reduction}, {samples} samples)")
    return EXIT_OK


def _stream(inputs: Dict[str, _Input], readers: List[Reader], spec: LossSpec, chunk: int,
            writer: Optional[_NpyWriter], progress: Optional[Progress]) -> Tuple[int, int, float, int, float]:
    """Read every chunk and accumulate: ``(rows, bytes read, float64 total of the weighted per-sample losses,
    number of per-sample losses, sum of the weights as given)``."""
    rows = nbytes = samples = 0
    total = weight_sum = 0.0
    while True:
        got = {id(reader): reader.read(chunk) for reader in readers}
        arrays = {role: got[id(inp.reader)][inp.column] for role, inp in inputs.items()}
        counts = {role: len(a) for role, a in arrays.items()}
        k = max(counts.values())
        if min(counts.values()) != k:
            short = [f"{inputs[r].label} ends after {rows + n:,} rows" for r, n in counts.items() if n < k]
            longer = [inputs[r].label for r, n in counts.items() if n == k]
            raise InputError(f"the inputs have different numbers of rows: {'; '.join(short)}, but "
                             f"{' and '.join(longer)} {'have' if len(longer) > 1 else 'has'} more")
        if k == 0:
            break
        y, p, w = _as_rows(arrays["labels"]), _as_rows(arrays["predictions"]), arrays.get("weights")
        try:
            if writer is not None:
                losses = _inputs.compute(y, p, w, spec)
                writer.write(np.asarray(losses))
                samples += int(np.size(losses))
            else:
                part, result = _inputs.totals(y, p, w, spec)
                total += part
                samples += result.nsamples
                weight_sum += result.weight_sum
        except (TypeError, ValueError) as e:
            raise InputError(f"rows {rows:,} to {rows + k - 1:,}: {e}") from None
        rows += k
        nbytes += sum(a.nbytes for a in arrays.values())
        if progress is not None:
            progress.update(rows, nbytes, _fraction(readers))
    if progress is not None:
        progress.update(rows, nbytes, 1.0, final=True)
    return rows, nbytes, total, samples, weight_sum


def _fraction(readers: List[Reader]) -> Optional[float]:
    known = [f for f in (reader.fraction() for reader in readers) if f is not None]
    return min(known) if known else None
