"""Readers of labels, predictions and weights from files, in chunks of rows (for ``fastbce eval``).

A reader opens one file and some of its columns (``None`` for the one array of a ``.npy``); ``read(n)``
returns the next ``n`` rows of each of them as NumPy arrays (fewer only at the end of the file), so the
memory used stays a few chunks whatever the size of the file:

* ``.npy``: each chunk is a memory map of just its rows (``numpy.memmap`` at the chunk's offset), unmapped
  when the chunk is dropped, so the pages read do not pile up in the process. Fortran-ordered arrays of rank
  >= 2 (whose rows are not contiguous) are read through one map of the whole file instead.
* ``.npz``: each member is read as a stream (stored or deflated), a chunk at a time.
* ``.parquet``, ``.feather`` / ``.arrow`` / ``.ipc`` (Arrow IPC files), ``.arrows`` (IPC streams): pyarrow's
  batch readers (``ParquetFile.iter_batches``, ``RecordBatchFileReader.get_batch``), reading from the file
  rather than a memory map; nulls become NaN. Memory is bounded by the file's own batches: an IPC batch is
  read whole.
* ``.csv``: pyarrow's streaming CSV reader when pyarrow is installed, else NumPy's ``loadtxt`` on blocks of
  lines. The first line names the columns; the values are read as float64 (text has no dtype).
"""
from __future__ import annotations

import csv
import importlib
import io
import math
import os
from collections.abc import Iterator
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

_Array = npt.NDArray[Any]
_Chunk = Dict[Optional[str], _Array]

#: file name endings and the format each is read as
FORMATS: Dict[str, str] = {
    ".npy": "npy",
    ".npz": "npz",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "arrow",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".arrows": "arrow",
    ".csv": "csv",
}

#: bytes of CSV text per block
CSV_BLOCK_BYTES = 4 << 20

_F64 = np.dtype(np.float64)


class UsageError(Exception):
    """The command cannot run as given: a missing file or column, an unsupported format, a missing optional
    package, a bad option value (exit code 2)."""


class InputError(Exception):
    """The data is not what the loss takes: non-numeric values, mismatched lengths or shapes (exit code 1)."""


def pyarrow_module(name: str = "pyarrow") -> Any:
    """pyarrow (or one of its modules); ImportError when it is not installed."""
    return importlib.import_module(name)


def _need_pyarrow(path: str, fmt: str) -> Any:
    try:
        return pyarrow_module()
    except ImportError:
        raise UsageError(f"{path}: reading {fmt} files needs pyarrow: pip install 'fastbce[files]'") from None


def file_format(path: str) -> str:
    """The format a file is read as, from its name."""
    lower = path.lower()
    for ending, fmt in FORMATS.items():
        if lower.endswith(ending):
            return fmt
    raise UsageError(f"{path}: unknown file type; expected a name ending in "
                     f"{', '.join(sorted(FORMATS))}")


class ColumnInfo:
    """What a column holds: its NumPy dtype and the shape of one row (``()`` for a column of numbers)."""

    __slots__ = ("dtype", "row_shape")

    def __init__(self, dtype: np.dtype[Any], row_shape: Tuple[int, ...]) -> None:
        self.dtype, self.row_shape = dtype, row_shape

    @property
    def row_bytes(self) -> int:
        return self.dtype.itemsize * math.prod(self.row_shape)


class Reader:
    """One open file and the columns read from it, a chunk of rows at a time."""

    #: the format's name, e.g. "npy"
    format: str = ""
    #: the number of rows, when the file says so up front (None for CSV and Arrow IPC streams)
    rows: Optional[int] = None
    #: the dtype integer and boolean columns with nulls are converted to (NaN for the nulls): the loss's
    #: compute dtype, which such columns are cast to anyway
    null_dtype: np.dtype[Any] = np.dtype(np.float32)
    #: rows per batch asked of batch-based readers (the chunk size, so that chunks need no concatenation)
    batch_rows: int = 1 << 16

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        self.path = path
        self.columns = list(dict.fromkeys(columns))  # unique, in order

    def names(self) -> List[str]:
        """The columns the file has (empty for a ``.npy``)."""
        return []

    def info(self, column: Optional[str]) -> ColumnInfo:
        raise NotImplementedError

    def column_rows(self, column: Optional[str]) -> Optional[int]:
        """The number of rows of a column, when the file says so up front."""
        return self.rows

    def read(self, n: int) -> _Chunk:
        """The next ``n`` rows of every column (fewer only at the end; zero rows after it)."""
        raise NotImplementedError

    def fraction(self) -> Optional[float]:
        """How much of the file has been read (0 to 1), when ``rows`` is unknown and the reader can tell."""
        return None

    def close(self) -> None:
        """Release the file."""

    def _missing(self, column: Optional[str]) -> UsageError:
        names = self.names()
        have = ", ".join(repr(n) for n in names) if names else "none"
        what = "member" if self.format == "npz" else "column"
        return UsageError(f"{self.path}: no {what} {column!r}; the file has: {have}")

    def _check_columns(self) -> None:
        names = set(self.names())
        for c in self.columns:
            if c is None:
                if len(names) != 1:
                    what = "members" if self.format == "npz" else "columns"
                    raise UsageError(f"{self.path}: the file has {len(names)} {what} "
                                     f"({', '.join(repr(n) for n in self.names())}): say which, as {self.path}:NAME")
            elif c not in names:
                raise self._missing(c)

    def _resolve(self, column: Optional[str]) -> str:
        """A column's name (the only column when ``column`` is None)."""
        return self.names()[0] if column is None else column


def open_reader(path: str, columns: Sequence[Optional[str]]) -> Reader:
    """A reader of ``columns`` of the file at ``path`` (its format from its name)."""
    fmt = file_format(path)
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a file")
    if fmt == "npy":
        return NpyReader(path, columns)
    if fmt == "npz":
        return NpzReader(path, columns)
    if fmt == "csv":
        try:
            pyarrow_module()
        except ImportError:
            return NumpyCsvReader(path, columns)
        return ArrowCsvReader(path, columns)
    if fmt == "parquet":
        return ParquetReader(path, columns)
    return IpcReader(path, columns)


# --------------------------------------------------------------------------- NumPy files
def _check_numeric(dtype: np.dtype[Any], where: str) -> None:
    if dtype.kind in "fiub" and dtype.fields is None:
        return
    raise InputError(f"{where} holds {dtype!s} values: expected numbers (floating point, integer or boolean)")


class NpyReader(Reader):
    """A ``.npy`` array; its rows are the slices along axis 0."""

    format = "npy"

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        super().__init__(path, columns)
        for c in self.columns:
            if c is not None:
                raise UsageError(f"{path}: a .npy file holds one array, not columns (drop ':{c}')")
        try:
            full = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as e:  # object arrays cannot be mapped; not a .npy at all
            if "Python objects" in str(e):
                raise InputError(f"{path} holds Python objects: expected numbers") from None
            raise InputError(f"{path}: not a readable .npy file: {e}") from None
        if not isinstance(full, np.memmap):
            if hasattr(full, "close"):  # an NpzFile
                full.close()
            raise InputError(f"{path}: not a .npy file (numpy.load gave a {type(full).__name__})")
        _check_numeric(full.dtype, path)
        if full.ndim == 0:
            raise InputError(f"{path} holds a scalar: expected an array with one row per sample")
        self._dtype: np.dtype[Any] = full.dtype
        self._shape: Tuple[int, ...] = tuple(full.shape)
        self.rows = self._shape[0]
        self._offset = full.offset
        self._row_bytes = self._dtype.itemsize * math.prod(self._shape[1:])
        # rows of a Fortran-ordered array are not contiguous: read them through the whole map
        self._full: Optional[_Array] = full if (full.ndim > 1 and not full.flags.c_contiguous) else None
        del full
        self._file = open(path, "rb")  # noqa: SIM115  # held for the chunks' maps, closed by close()
        self._pos = 0

    def info(self, column: Optional[str]) -> ColumnInfo:
        return ColumnInfo(self._dtype, self._shape[1:])

    def read(self, n: int) -> _Chunk:
        assert self.rows is not None
        k = max(0, min(n, self.rows - self._pos))
        shape = (k,) + self._shape[1:]
        if self._full is not None:
            arr: _Array = self._full[self._pos:self._pos + k].view(np.ndarray)
        elif k == 0 or self._row_bytes == 0:
            arr = np.empty(shape, self._dtype)
        else:
            # a map of just these rows: unmapped when the chunk is dropped
            arr = np.memmap(self._file, self._dtype, "r", self._offset + self._pos * self._row_bytes,
                            shape).view(np.ndarray)
        self._pos += k
        return {None: arr}

    def close(self) -> None:
        self._full = None
        self._file.close()


class NpzReader(Reader):
    """Arrays of a ``.npz`` (``numpy.savez`` / ``savez_compressed``), each read as a stream."""

    format = "npz"

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        super().__init__(path, columns)
        import zipfile

        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise InputError(f"{path}: not a readable .npz file: {e}") from None
        self._streams: Dict[Optional[str], Any] = {}
        self._infos: Dict[Optional[str], ColumnInfo] = {}
        self._lengths: Dict[Optional[str], int] = {}
        self._members = [m[:-4] for m in self._zip.namelist() if m.endswith(".npy")]
        try:
            self._check_columns()
            for c in self.columns:
                self._open_member(c)
        except BaseException:
            self.close()
            raise
        self.rows = next(iter(self._lengths.values()), 0) if len(set(self._lengths.values())) == 1 else None
        self._pos = 0

    def _open_member(self, c: Optional[str]) -> None:
        path, name = self.path, self._resolve(c)
        f = self._zip.open(name + ".npy")
        self._streams[c] = f
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:  # 3.0 is only written for structured dtypes with non-latin1 field names
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as e:
            raise InputError(f"{path}: member {name!r} is not a readable array: {e}") from None
        _check_numeric(dtype, f"{path}: member {name!r}")
        if len(shape) == 0:
            raise InputError(f"{path}: member {name!r} is a scalar: expected an array with one row per sample")
        if fortran and len(shape) > 1:
            raise InputError(f"{path}: member {name!r} is Fortran-ordered, so its rows are not contiguous and "
                             "cannot be streamed: save it with numpy.ascontiguousarray(...)")
        self._infos[c] = ColumnInfo(dtype, tuple(shape[1:]))
        self._lengths[c] = int(shape[0])

    def column_rows(self, column: Optional[str]) -> Optional[int]:
        return self._lengths[column]

    def names(self) -> List[str]:
        return self._members

    def info(self, column: Optional[str]) -> ColumnInfo:
        return self._infos[column]

    def read(self, n: int) -> _Chunk:
        out: _Chunk = {}
        for c, f in self._streams.items():
            k = max(0, min(n, self._lengths[c] - self._pos))
            info = self._infos[c]
            nbytes = k * info.row_bytes
            data = f.read(nbytes)
            if len(data) != nbytes:
                raise InputError(f"{self.path}: member {self._resolve(c)!r} ends early (truncated file)")
            out[c] = np.frombuffer(data, info.dtype).reshape((k,) + info.row_shape)
        self._pos += n
        return out

    def close(self) -> None:
        for f in self._streams.values():
            f.close()
        self._zip.close()


# --------------------------------------------------------------------------- batches of any size
class _Rows:
    """Chunks of exactly ``n`` rows out of batches of any number of rows (views when a chunk lies in one
    batch, a concatenation when it spans several)."""

    def __init__(self, batches: Iterator[_Chunk]) -> None:
        self._batches = batches
        self._pending: List[_Chunk] = []
        self._have = 0
        self._ended = False

    def read(self, n: int, columns: Sequence[Optional[str]], empty: _Chunk) -> _Chunk:
        while self._have < n and not self._ended:
            try:
                batch = next(self._batches)
            except StopIteration:
                self._ended = True
                break
            rows = len(next(iter(batch.values()))) if batch else 0
            if rows:
                self._pending.append(batch)
                self._have += rows
        k = min(n, self._have)
        if k == 0:
            return dict(empty)
        parts: List[_Chunk] = []
        need = k
        while need:
            batch = self._pending[0]
            rows = len(next(iter(batch.values())))
            if rows <= need:
                parts.append(self._pending.pop(0))
                need -= rows
            else:
                parts.append({c: a[:need] for c, a in batch.items()})
                self._pending[0] = {c: a[need:] for c, a in batch.items()}
                need = 0
        self._have -= k
        if len(parts) == 1:
            return parts[0]
        return {c: np.concatenate([p[c] for p in parts]) for c in columns}


# --------------------------------------------------------------------------- Arrow formats
def _arrow_names(schema: Any) -> List[str]:
    return [str(n) for n in schema.names]


class _ArrowReader(Reader):
    """Columns of an Arrow schema, read as record batches."""

    def _setup(self, schema: Any) -> None:
        self._schema = schema
        self._check_columns()
        pa = pyarrow_module()
        types = pa.types
        for c in self.columns:
            name = self._resolve(c)
            t = schema.field(name).type
            if not (types.is_integer(t) or types.is_floating(t) or types.is_boolean(t)):
                raise InputError(f"{self.path}: column {name!r} has type {t}: expected numbers (floating point, "
                                 "integer or boolean)")
        self._rows_reader: Optional[_Rows] = None
        self._pa = pa

    def names(self) -> List[str]:
        return _arrow_names(self._schema)

    def info(self, column: Optional[str]) -> ColumnInfo:
        t = self._schema.field(self._resolve(column)).type
        return ColumnInfo(np.dtype(t.to_pandas_dtype()), ())

    def _batches(self) -> Iterator[Any]:
        raise NotImplementedError

    def _convert(self, batch: Any) -> _Chunk:
        out: _Chunk = {}
        for c in self.columns:
            col = batch.column(self._resolve(c))
            if col.null_count and not self._pa.types.is_floating(col.type):
                # NaN for the nulls, in the dtype the loss casts such a column to anyway
                col = col.cast(self._pa.from_numpy_dtype(self.null_dtype), safe=False)
            out[c] = self._numpy(col)
        return out

    def _numpy(self, col: Any) -> np.ndarray[Any, Any]:
        """The column as a NumPy array: a view of its data buffer when it has no nulls and fixed-width
        numbers. ``Array.to_numpy`` would do the same but imports pandas on its first call (half a second,
        a third of the time of a 1.6 GB Parquet file)."""
        types = self._pa.types
        if not col.null_count and (types.is_integer(col.type) or types.is_floating(col.type)):
            dtype = np.dtype(col.type.to_pandas_dtype())
            return np.frombuffer(col.buffers()[1], dtype=dtype, count=len(col), offset=col.offset * dtype.itemsize)
        return col.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]

    def _converted(self) -> Iterator[_Chunk]:
        try:
            for batch in self._batches():
                yield self._convert(batch)
        except (ValueError, OSError) as e:  # pyarrow's ArrowInvalid / ArrowIOError
            raise InputError(f"{self.path}: {e}") from None

    def read(self, n: int) -> _Chunk:
        if self._rows_reader is None:
            self._rows_reader = _Rows(self._converted())
        empty = {c: np.empty(0, self.info(c).dtype) for c in self.columns}
        return self._rows_reader.read(n, self.columns, empty)


class ParquetReader(_ArrowReader):
    """A Parquet file, read with ``ParquetFile.iter_batches`` (only the columns asked for, a row group's pages at
    a time)."""

    format = "parquet"

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        super().__init__(path, columns)
        _need_pyarrow(path, "Parquet")
        pq = pyarrow_module("pyarrow.parquet")
        try:
            # pre_buffer keeps the row groups it has read cached until the file is closed: memory would grow
            # with the file (pyarrow 26)
            self._file = pq.ParquetFile(path, pre_buffer=False)
        except (ValueError, OSError) as e:
            raise InputError(f"{path}: not a readable Parquet file: {e}") from None
        try:
            self._setup(self._file.schema_arrow)
        except BaseException:
            self._file.close()
            raise
        self.rows = int(self._file.metadata.num_rows)

    def _batches(self) -> Iterator[Any]:
        names = list(dict.fromkeys(self._resolve(c) for c in self.columns))
        return iter(self._file.iter_batches(batch_size=self.batch_rows, columns=names))

    def close(self) -> None:
        self._file.close()


class IpcReader(_ArrowReader):
    """An Arrow IPC file (Feather v2: ``.feather``, ``.arrow``, ``.ipc``) or stream (``.arrows``), read from
    the file (not a memory map), a record batch at a time."""

    format = "arrow"

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        super().__init__(path, columns)
        pa = _need_pyarrow(path, "Arrow IPC / Feather")
        ipc = pyarrow_module("pyarrow.ipc")
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic[:4] == b"FEA1":
            raise InputError(f"{path} is a Feather version 1 file: rewrite it as version 2 "
                             "(pyarrow.feather.write_feather(pyarrow.feather.read_table(path), path))")
        self._source = pa.OSFile(path)
        self._stream = magic != b"ARROW1"
        self._size = os.path.getsize(path)
        try:
            self._open(ipc)
        except BaseException:
            self._source.close()
            raise

    def _open(self, ipc: Any) -> None:
        try:
            if self._stream:
                schema = ipc.open_stream(self._source).schema
                self._source.seek(0)
            else:
                schema = ipc.open_file(self._source).schema
        except (ValueError, OSError) as e:
            raise InputError(f"{self.path}: not a readable Arrow IPC file: {e}") from None
        self._setup(schema)
        names = _arrow_names(schema)
        self._options = ipc.IpcReadOptions(
            included_fields=sorted({names.index(self._resolve(c)) for c in self.columns}))
        self._ipc = ipc
        self._done_batches = 0
        if not self._stream:
            self._reader = ipc.open_file(self._source, options=self._options)
            count = getattr(self._reader, "count_rows", None)  # not in older pyarrow: rows then unknown
            self.rows = int(count()) if count is not None else None

    def _batches(self) -> Iterator[Any]:
        if self._stream:
            yield from self._ipc.open_stream(self._source, options=self._options)
            return
        for i in range(self._reader.num_record_batches):
            yield self._reader.get_batch(i)
            self._done_batches = i + 1

    def fraction(self) -> Optional[float]:
        if self._stream:
            return min(1.0, self._source.tell() / self._size) if self._size else None
        total = self._reader.num_record_batches
        return self._done_batches / total if total else None

    def close(self) -> None:
        self._source.close()


# --------------------------------------------------------------------------- CSV
def _csv_header(path: str) -> Tuple[List[str], int]:
    """The column names on the first line and the number of bytes that line takes."""
    with open(path, "rb") as f:
        first = f.readline()
    text = first.decode("utf-8-sig").rstrip("\r\n")
    names = next(csv.reader([text]), [])
    if not names or names == [""]:
        raise InputError(f"{path}: the first line names no columns (a CSV file needs a header line)")
    return names, len(first)


class _CsvReader(Reader):
    format = "csv"

    def __init__(self, path: str, columns: Sequence[Optional[str]]) -> None:
        super().__init__(path, columns)
        self._names, self._header_bytes = _csv_header(path)
        self._check_columns()
        self._size = os.path.getsize(path)
        self._file = open(path, "rb")  # noqa: SIM115  # read by the batches, closed by close()
        self._rows_reader: Optional[_Rows] = None

    def names(self) -> List[str]:
        return self._names

    def info(self, column: Optional[str]) -> ColumnInfo:
        return ColumnInfo(_F64, ())

    def fraction(self) -> Optional[float]:
        try:
            return min(1.0, self._file.tell() / self._size) if self._size else None
        except (OSError, ValueError):  # closed
            return None

    def _batches(self) -> Iterator[_Chunk]:
        raise NotImplementedError

    def read(self, n: int) -> _Chunk:
        if self._rows_reader is None:
            self._rows_reader = _Rows(self._batches())
        return self._rows_reader.read(n, self.columns, {c: np.empty(0, _F64) for c in self.columns})

    def close(self) -> None:
        self._file.close()


class ArrowCsvReader(_CsvReader):
    """CSV read by pyarrow's streaming reader (``pyarrow.csv.open_csv``); empty fields and "NA"-like values
    (pyarrow's null values) are NaN."""

    def _batches(self) -> Iterator[_Chunk]:
        pa = pyarrow_module()
        pacsv = pyarrow_module("pyarrow.csv")
        names = list(dict.fromkeys(self._resolve(c) for c in self.columns))
        try:
            reader = pacsv.open_csv(
                self._file,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                convert_options=pacsv.ConvertOptions(include_columns=names,
                                                     column_types={n: pa.float64() for n in names}))
            for batch in reader:
                yield {c: batch.column(self._resolve(c)).to_numpy(zero_copy_only=False) for c in self.columns}
        except (ValueError, OSError) as e:  # ArrowInvalid: a value that is no number
            raise InputError(f"{self.path}: {e}") from None


class NumpyCsvReader(_CsvReader):
    """CSV read without pyarrow: ``numpy.loadtxt`` on blocks of whole lines (every field a number; "nan" and
    "inf" are read as such, an empty field is an error)."""

    def _batches(self) -> Iterator[_Chunk]:
        names = self._names
        wanted = list(dict.fromkeys(self._resolve(c) for c in self.columns))
        usecols = [names.index(n) for n in wanted]
        self._file.seek(self._header_bytes)
        line = 2  # the first line of the block, counting the header as line 1
        while True:
            lines = self._file.readlines(CSV_BLOCK_BYTES)
            if not lines:
                return
            text = b"".join(lines).decode("utf-8")
            try:
                block = np.loadtxt(io.StringIO(text), dtype=_F64, delimiter=",", usecols=usecols, ndmin=2,
                                   comments=None, quotechar='"')
            except ValueError as e:
                raise InputError(f"{self.path}, lines {line} to {line + len(lines) - 1}: {e}") from None
            line += len(lines)
            yield {c: block[:, wanted.index(self._resolve(c))] for c in self.columns}
