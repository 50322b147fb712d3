"""fastbce's loss on a dask ``distributed.LocalCluster`` next to the same loss in this process.

    python -m bench.dask_cluster                 # 1e8 float32 elements in 16 chunks, two workers (~1 minute)
    python -m bench.dask_cluster --n 2e7 --json ''

The labels and probabilities (``[n, 1]``, one prediction per sample; binary labels) are generated on the
workers by ``dask.array.random`` with a seed and kept there (``persist``), so nothing is shipped from the
client and each timed ``.compute()`` (after an untimed first one, which imports fastbce on the workers) is
the loss alone: 16 per-chunk kernel tasks, the fixed tree of their float64 partial sums and the reduction,
the result (one number) sent back. The same values are then fetched
into NumPy arrays here and the in-process loss is timed on them (fastbce's own threads, this process's
CPUs). The lazy result must equal the in-memory one (rtol 1e-7) and two cluster runs must give the same bits;
the command exits 1 otherwise.

Workers: ``--workers`` processes of ``--threads`` dask threads each, fastbce inside them limited to one
native thread per dask thread (``FASTBCE_NUM_THREADS``), so the cluster uses as many cores as it has threads.
Throughput is elements (label and prediction pairs) per second of wall time, best and median of
``--repeat`` runs. The machine is shared: the load average is printed at the start and the end.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import machine


def _timed(fn, repeat: int) -> tuple[list[float], object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return times, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dask_cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=float, default=1e8, help="elements (default 1e8)")
    parser.add_argument("--chunks", type=int, default=16, help="chunks of the inputs (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="dask threads per worker (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--reduction", default="auto", help="the loss's reduction (default auto: the mean)")
    parser.add_argument("--json", default="bench/results/dask_cluster.json",
                        help="where to write the numbers ('' skips)")
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed

    import fastbce

    n, chunks = int(args.n), args.chunks
    load_start = os.getloadavg()
    print(f"fastbce {fastbce.__version__} ({fastbce.isa()}), dask {dask.__version__}, distributed "
          f"{distributed.__version__}; {machine.cpu_model()}, {os.cpu_count()} CPUs; load average "
          f"{load_start[0]:.2f} at the start", flush=True)
    bce = fastbce.BinaryCrossentropy(reduction=args.reduction)
    results: dict = {"n": n, "chunks": chunks, "workers": args.workers, "threads_per_worker": args.threads,
                     "reduction": args.reduction, "dtype": "float32", "load_start": load_start[0]}
    env = {"FASTBCE_NUM_THREADS": str(args.threads)}
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                                  dashboard_address=":0", env=env) as cluster, distributed.Client(cluster) as client:
        rng = da.random.default_rng(20261201)
        rows = -(-n // chunks)
        y = (rng.random((n, 1), chunks=(rows, 1), dtype=np.float32) < 0.5).astype(np.float32)
        p = rng.random((n, 1), chunks=(rows, 1), dtype=np.float32)
        start = time.perf_counter()
        y, p = client.persist([y, p])
        distributed.wait([y, p])
        print(f"generated {n:.3g} labels and probabilities in {p.npartitions} chunks on {args.workers} workers "
              f"in {time.perf_counter() - start:.1f} s", flush=True)

        lazy = bce(y, p)  # the graph; nothing runs until compute()
        start = time.perf_counter()
        lazy.compute()  # untimed: the workers' first fastbce call imports it and starts its kernels
        results["cluster_first_s"] = time.perf_counter() - start
        times, value = _timed(lazy.compute, args.repeat)
        again = lazy.compute()
        same_bits = np.asarray(value).tobytes() == np.asarray(again).tobytes()
        results["cluster_s"] = times

        start = time.perf_counter()
        y_np, p_np = dask.compute(y, p)
        print(f"fetched the inputs ({(y_np.nbytes + p_np.nbytes) / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - start:.1f} s", flush=True)

    del y, p
    local_times, local_value = _timed(lambda: bce(y_np, p_np), args.repeat)
    results["local_s"] = local_times
    results["local_threads"] = fastbce.get_num_threads()
    rel = abs(float(value) - float(local_value)) / abs(float(local_value))
    equal = bool(np.isclose(float(value), float(local_value), rtol=1e-7, atol=0))
    results.update(cluster_value=float(value), local_value=float(local_value), rel_diff=rel, equal=equal,
                   same_bits=same_bits, load_end=os.getloadavg()[0])

    def row(name: str, ts: list[float], note: str) -> str:
        return (f"{name:<34} {n / min(ts) / 1e6:>10.1f} {n / statistics.median(ts) / 1e6:>12.1f}  "
                f"{min(ts) * 1e3:>9.1f} ms  {note}")

    print()
    print(f"{'':<34} {'Melem/s':>10} {'(median)':>12}  {'best':>12}")
    print(row(f"dask cluster ({args.workers}x{args.threads} threads)", times,
              f"{chunks} chunks, .compute() of the persisted inputs"))
    print(row(f"in process ({results['local_threads']} threads)", local_times, "NumPy arrays of the same values"))
    print()
    print(f"loss: cluster {float(value)!r}, in process {float(local_value)!r} (relative difference {rel:.2e}: "
          f"{'equal' if equal else 'NOT equal'} at rtol 1e-7); two cluster runs: "
          f"{'the same bits' if same_bits else 'DIFFERENT bits'}")
    print(f"load average {load_start[0]:.2f} at the start, {results['load_end']:.2f} at the end "
          f"({os.cpu_count()} CPUs; other processes share them)")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        results["machine"] = machine.describe()
        path.write_text(json.dumps(results, indent=1))
        print(f"wrote {path}")
    return 0 if equal and same_bits else 1


if __name__ == "__main__":
    sys.exit(main())
