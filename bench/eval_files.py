"""``fastbce eval`` on files larger than its memory: peak RSS and GB/s (issue 11, point 2).

Run from the repository root::

    python -m bench.eval_files                    # 2e8 float32 elements per array (1.6 GB .npy pair)
    python -m bench.eval_files --elements 2e7     # smaller (the default drops to this without the disk space)

Writes, under ``--dir`` (default /tmp), a ``.npy`` pair (labels in {0, 1} and probabilities, float32, one value
per row) and, when pyarrow is installed, a Parquet file with the same two columns; runs ``python -m fastbce eval``
on each twice (the second run reads from the page cache) in a child process; and reports, per run, the child's
peak resident set (``ru_maxrss`` from ``os.wait4``, forked from a
small interpreter), the wall time, the command's own elapsed time (without the
interpreter's start) and the bytes read per second (labels + predictions as float32). The value is checked
against the in-memory ``fastbce.BinaryCrossentropy()`` on the memory-mapped arrays. The files are deleted at the
end (``--keep`` keeps them). Targets (.npy pair): peak RSS < 300 MB and >= 1 GB/s from the page cache.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FULL = 200_000_000
SMALL = 20_000_000
BLOCK = 1 << 22  # rows generated and written at a time


def _write_npy_pair(directory: Path, n: int, seed: int) -> tuple[Path, Path]:
    """labels.npy and predictions.npy of n float32 values each, written a block at a time."""
    paths = (directory / "fastbce-eval-labels.npy", directory / "fastbce-eval-predictions.npy")
    rng = np.random.default_rng(seed)
    header = {"descr": "<f4", "fortran_order": False, "shape": (n,)}
    with open(paths[0], "wb") as fy, open(paths[1], "wb") as fp:
        for f in (fy, fp):
            np.lib.format.write_array_header_1_0(f, header)
        for start in range(0, n, BLOCK):
            k = min(BLOCK, n - start)
            fy.write((rng.random(k, dtype=np.float32) < 0.5).astype(np.float32).tobytes())
            fp.write(rng.random(k, dtype=np.float32).tobytes())
    return paths


def _write_parquet(directory: Path, labels: Path, predictions: Path) -> Path | None:
    """The pair as the two float32 columns y and p of one Parquet file (row groups of BLOCK rows)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    path = directory / "fastbce-eval.parquet"
    y = np.load(labels, mmap_mode="r")
    p = np.load(predictions, mmap_mode="r")
    schema = pa.schema([("y", pa.float32()), ("p", pa.float32())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(y), BLOCK):
            stop = min(start + BLOCK, len(y))
            writer.write_table(pa.table({"y": np.array(y[start:stop]), "p": np.array(p[start:stop])},
                                        schema=schema))
    return path


# Runs the command in a grandchild and reports its rusage. The grandchild is forked from this small
# interpreter, not from the benchmark: on Linux a process's peak RSS starts at that of the process it was
# forked from (exec keeps the old address space's high-water mark), and the benchmark itself has touched
# the whole .npy pair to compute the in-memory value.
_SPAWN = """
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "fastbce", "eval", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "wall_seconds": time.perf_counter() - t0,
                  "maxrss": usage.ru_maxrss}), file=sys.stderr)
"""


def _run(argv: list[str]) -> dict:
    """One ``python -m fastbce eval ARGV --json`` in a child process: its report, wall time and peak RSS."""
    r = subprocess.run([sys.executable, "-c", _SPAWN, *argv, "--json", "--no-progress"], capture_output=True,
                       text=True)
    measured = json.loads(r.stderr.strip().splitlines()[-1])
    if measured["status"] != 0:
        raise SystemExit(f"fastbce eval {' '.join(argv)} failed ({measured['status']}):\n{r.stderr}")
    rss = measured["maxrss"] * (1 if sys.platform == "darwin" else 1024)  # bytes (kB on Linux)
    return {"report": json.loads(r.stdout), "wall_seconds": measured["wall_seconds"], "peak_rss_bytes": rss}


def _describe(name: str, run: dict, attempt: int) -> str:
    rep = run["report"]
    nbytes = rep["bytes"]
    return (f"{name:<8} run {attempt}  value {rep['value']}  peak RSS {run['peak_rss_bytes'] / 1e6:6.1f} MB  "
            f"wall {run['wall_seconds']:6.2f} s ({nbytes / run['wall_seconds'] / 1e9:5.2f} GB/s)  "
            f"command {rep['elapsed_seconds']:6.2f} s ({nbytes / rep['elapsed_seconds'] / 1e9:5.2f} GB/s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_files", description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=lambda s: int(float(s)), default=FULL,
                        help=f"values per array (default {FULL:.0e}; {SMALL:.0e} when the disk lacks the space)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp"), help="where the files go (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)

    import fastbce

    n = args.elements
    need = 2 * 4 * n * 2.2  # the pair, the Parquet copy, and room to spare
    free = shutil.disk_usage(args.dir).free
    if free < need and n > SMALL:
        print(f"only {free / 1e9:.1f} GB free in {args.dir} ({need / 1e9:.1f} GB wanted): using {SMALL:.0e}")
        n = SMALL
    load = os.getloadavg()
    print(f"fastbce {fastbce.__version__}, ISA {fastbce.isa()}, {fastbce.get_num_threads()} thread(s), "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{n:,} float32 per array ({2 * 4 * n / 1e9:.2f} GB of inputs), free in {args.dir}: {free / 1e9:.0f} GB")

    paths: list[Path] = []
    results: dict = {"elements": n, "load_before": load, "runs": {}}
    try:
        t0 = time.perf_counter()
        labels, predictions = _write_npy_pair(args.dir, n, seed=11)
        paths += [labels, predictions]
        print(f"wrote the .npy pair in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        parquet = _write_parquet(args.dir, labels, predictions)
        if parquet is not None:
            paths.append(parquet)
            print(f"wrote {parquet.name} ({parquet.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f} s")
        else:
            print("pyarrow is not installed: no Parquet file (pip install 'fastbce[files]')")

        y = np.load(labels, mmap_mode="r")
        p = np.load(predictions, mmap_mode="r")
        want = float(fastbce.BinaryCrossentropy()(y.reshape(-1, 1), p.reshape(-1, 1)))
        del y, p
        print(f"in-memory value {want!r}")
        results["in_memory_value"] = want

        cases = {"npy": ["--labels", str(labels), "--predictions", str(predictions)]}
        if parquet is not None:
            cases["parquet"] = [str(parquet), "--labels", "y", "--predictions", "p"]
        for name, case in cases.items():
            runs = []
            for attempt in (1, 2):
                run = _run(case)
                runs.append(run)
                print(_describe(name, run, attempt))
                got = run["report"]["value"]
                rel = abs(got - want) / abs(want)
                run["relative_difference"] = rel
                assert rel <= 1e-6, (got, want)
            results["runs"][name] = runs
        results["load_after"] = os.getloadavg()
        print(f"relative difference to the in-memory value: "
              f"{max(r['relative_difference'] for rs in results['runs'].values() for r in rs):.1e}; "
              f"load average after: {results['load_after'][0]:.2f}")
        for name, second in ((n, rs[1]) for n, rs in results["runs"].items()):
            gbps = second["report"]["bytes"] / second["report"]["elapsed_seconds"] / 1e9
            rss = second["peak_rss_bytes"]
            print(f"target ({name}, second run): peak RSS {rss / 1e6:.0f} MB < 300 MB: "
                  f"{'met' if rss < 300e6 else 'MISSED'}; {gbps:.2f} GB/s >= 1 GB/s: "
                  f"{'met' if gbps >= 1 else 'MISSED'}")
    finally:
        if not args.keep:
            for path in paths:
                path.unlink(missing_ok=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
