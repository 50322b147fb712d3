"""Command line and orchestration of ``python -m bench``."""
from __future__ import annotations

import argparse
import dataclasses
import gc
import math
import os
import sys
import time
from pathlib import Path

from bench import cases as C, checks, contenders, machine, report, roofline
from bench.timing import TimingConfig, measure_group

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark fastbce against every installed peer (NumPy, tf_keras eager and tf.function, "
                    "torch, jax/optax, numba) in one process; report Melem/s, the ratio to the best peer, "
                    "the read-bandwidth roofline, call latency, accuracy and the issue-5 acceptance summary.")
    p.add_argument("--quick", action="store_true",
                   help="CI-friendly subset: acceptance cases + f64, sizes 16,4K,1M,16M, short timing budget, "
                        "accuracy over 1e7 elements")
    p.add_argument("--sizes", help="comma list, e.g. 16,4K,1M,16M,64M or 1e6 (default: 16,256,4K,64K,1M,16M for "
                                   "every case, and 64M for the acceptance cases)")
    p.add_argument("--cases", help="comma list of case names, fnmatch patterns (f32-*) or sets "
                                   f"({', '.join(C.CASE_SETS)}); default: 'default'")
    p.add_argument("--peers", default="all",
                   help=f"comma list of contenders to run ({', '.join(contenders.REGISTRY)}); default all")
    p.add_argument("--repeat", type=int, help="minimum timed samples per measurement (best-of-N; default 3)")
    p.add_argument("--rounds", type=int, help="interleaved rounds over the contenders (default 3)")
    p.add_argument("--budget", type=float, help="seconds per contender per measurement (default 0.2)")
    p.add_argument("--width", type=int, default=C.WIDTH_DEFAULT,
                   help=f"row width: inputs are (n // width, width) (default {C.WIDTH_DEFAULT})")
    p.add_argument("--threads", type=int, help="fastbce.set_num_threads(N) before timing (default: fastbce's)")
    p.add_argument("--accuracy-size", type=C.parse_size, help="elements for the accuracy check (default 1e8)")
    p.add_argument("--roofline-size", type=C.parse_size, help="elements per array for the roofline (default 64M)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: roofline,latency,accuracy,plot")
    p.add_argument("--json", default=str(RESULTS_DIR / "bench.json"), help="results JSON path ('' to skip)")
    p.add_argument("--plot", default=str(RESULTS_DIR / "bench.png"), help="PNG plot path ('' to skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="exit 1 when an acceptance target FAILs")
    p.add_argument("--list", action="store_true", help="list cases and contenders (with availability) and exit")
    args = p.parse_args(argv)

    q = args.quick
    sizes_given = bool(args.sizes)
    try:
        args.sizes = C.parse_sizes(args.sizes) if sizes_given else list(C.SIZES_QUICK if q else C.SIZES_DEFAULT)
        for n in args.sizes + [args.accuracy_size or 0]:
            if n > args.width:
                C.shape_for(n, args.width)
        args.cases = C.select_cases(args.cases or ("quick" if q else "default"))
        args.peers = contenders.select(args.peers)
    except ValueError as e:
        p.error(str(e))
    args.plan = C.plan(args.cases, args.sizes, sizes_given)
    args.timing = TimingConfig(
        repeat=args.repeat or 3,
        rounds=args.rounds or (2 if q else 3),
        budget_s=args.budget if args.budget is not None else (0.08 if q else 0.2),
    )
    args.accuracy_size = args.accuracy_size or (10**7 if q else 10**8)
    args.roofline_size = args.roofline_size or (1 << 25 if q else 1 << 26)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure_point(case: C.Case, size: int, loaded: list[contenders.Contender], store: C.DataStore,
                  timing: TimingConfig) -> dict[str, report.Record]:
    """Prepare, warm up, check and time every contender on one (case, size)."""
    data = store.data(case, size)
    ref = store.reference(case, size)
    fns, recs, first_ns = {}, {}, {}
    for c in loaded:
        rec = recs[c.name] = report.Record(case.name, size, c.name, "unsupported")
        try:
            fn = c.prepare(case, data)
            if fn is None:
                continue
            t0 = time.perf_counter_ns()
            out = fn()  # warm-up (compile / trace) and correctness check
            first_ns[c.name] = time.perf_counter_ns() - t0
            rec.note = C.check_result(case, c.to_numpy(out), ref, strict=c.is_fastbce)
            rec.status = "ok" if rec.note is None else "wrong"
            fns[c.name] = fn
        except Exception as e:  # noqa: BLE001 - a peer failing must not stop the bench
            rec.status, rec.note = "failed", f"{type(e).__name__}: {e}".splitlines()[0][:160]
    for name, t in measure_group(fns, timing, first_ns).items():
        recs[name].ns, recs[name].samples, recs[name].inner = t.best_ns, t.samples, t.inner
    return recs


def run_throughput(args, loaded: list[contenders.Contender], store: C.DataStore) -> report.Results:
    results = report.Results([c.name for c in loaded], [c.name for c in args.cases])
    # Size-major, and each size's cases grouped by the inputs they share, so only one input set
    # (and its float64 reference) is in memory at a time.
    key_order = [c.data_key for c in args.cases]
    current = None
    for case, size in sorted(args.plan, key=lambda cn: (cn[1], key_order.index(cn[0].data_key))):
        if (case.data_key, size) != current:
            store.clear()
            gc.collect()
            current = (case.data_key, size)
        t0 = time.perf_counter()
        recs = measure_point(case, size, loaded, store, args.timing)
        for rec in recs.values():
            results.add(rec)
        ratio = results.ratio(case.name, size)
        log(f"  {case.name:<24} {C.format_size(size):>4}  "
            + "  ".join(f"{name} {report.cell(rec)}" for name, rec in recs.items())
            + ("" if math.isnan(ratio) else f"  ratio {ratio:.1f}x")
            + f"  [{time.perf_counter() - t0:.1f}s]")
    store.clear()
    gc.collect()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    loaded, skipped = contenders.load(args.peers)
    for name, why in skipped.items():
        log(f"skipping {name}: not available ({why})")
    if args.list:
        for case in C.ALL_CASES:
            print(f"case {case.name}" + ("  [default]" if case.name in C.DEFAULT_CASES else ""))
        for name in contenders.REGISTRY:
            print(f"contender {name}: " + ("available" if any(c.name == name for c in loaded)
                                           else f"skipped ({skipped.get(name, 'not selected')})"))
        return 0

    fast = next((c for c in loaded if c.is_fastbce), None)
    if fast is not None and args.threads:
        fast.mod.set_num_threads(args.threads)
    info = machine.describe()
    versions = {}
    for c in loaded:
        try:
            versions.update(c.versions())
        except Exception as e:  # noqa: BLE001
            versions[c.name] = f"? ({e})"
    log(f"machine: {machine.one_line(info)}")
    if machine.busy_warning(info):
        log(machine.busy_warning(info))
    log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    log(f"cases: {len(args.cases)}, sizes: {', '.join(map(C.format_size, args.sizes))}, points: {len(args.plan)}, "
        f"contenders: {', '.join(c.name for c in loaded)}")

    started = time.perf_counter()
    # The roofline at --roofline-size (the headline) and at every measured size the fractions are reported for.
    roof_sizes = sorted({args.roofline_size} | {n for _, n in args.plan if n >= report.ROOFLINE_MIN_SIZE})
    roofs = {n: [] for n in roof_sizes}
    if "roofline" not in args.skip:
        log("measuring the read-bandwidth roofline at " + ", ".join(map(C.format_size, roof_sizes))
            + " (again at the end; the better one counts) ...")
        for n in roof_sizes:
            roofs[n].append(roofline.measure(n))
    store = C.DataStore(seed=args.seed, width=args.width)
    results = run_throughput(args, loaded, store)
    roof = None
    if "roofline" not in args.skip:
        for n in roof_sizes:
            roofs[n].append(roofline.measure(n))
        best = {n: dict(max(r, key=lambda x: x["elems_per_s"]), runs_gbytes_per_s=[x["gbytes_per_s"] for x in r])
                for n, r in roofs.items()}
        roof = dict(best[args.roofline_size], by_size={str(n): b for n, b in best.items()})
    lat = None
    if "latency" not in args.skip:
        log("measuring 1x4 call latency ...")
        lat = checks.latency(loaded, store)
    acc = None
    if fast is not None and "accuracy" not in args.skip:
        log(f"checking accuracy and thread determinism over {args.accuracy_size:.0e} elements ...")
        try:
            acc = checks.accuracy_and_determinism(fast.mod, args.accuracy_size, store)
        except Exception as e:  # noqa: BLE001
            log(f"accuracy check failed: {type(e).__name__}: {e}")
    elapsed = time.perf_counter() - started
    info["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    fractions = report.roofline_fractions(results, roof)
    accept = report.acceptance(results, lat, acc) if fast is not None else []
    title = (f"fastbce {versions.get('fastbce', '(not installed)')} "
             f"[{versions.get('fastbce.isa', '?')}, {versions.get('fastbce.get_num_threads', '?')} threads] "
             f"- {info['cpu_model']}, {info['usable_cpus']} CPUs")
    command = ["python", "-m", "bench"] + list(sys.argv[1:] if argv is None else argv)
    header = [f"# {title}", f"# {machine.one_line(info)}", f"# command: {' '.join(command)}"]
    header += [f"# {w}" for w in (machine.busy_warning(info), machine.busy_warning(info, at_end=True)) if w]
    sections = [
        "\n".join(header),
        report.throughput_table(results, args.width),
        report.roofline_text(roof, fractions),
        report.latency_text(lat),
        report.accuracy_text(acc),
        report.acceptance_text(accept) if fast is not None
        else "Acceptance: fastbce is not importable here (pip install .), only peers were measured.",
    ]
    if skipped:
        sections.append("Skipped:\n" + "\n".join(f"  {k}: {v}" for k, v in skipped.items()))
    sections.append(f"(measured in {elapsed:.0f} s)")
    print("\n\n".join(sections), flush=True)

    if args.json:
        report.write_json(args.json, {
            "schema": 1, "command": command, "machine": info, "versions": versions, "skipped": skipped,
            "settings": {"sizes": args.sizes, "cases": [c.name for c in args.cases], "width": args.width,
                         "timing": dataclasses.asdict(args.timing), "seed": args.seed, "threads": args.threads},
            "results": report.records_as_dicts(results),
            "ratios": [{"case": c, "size": s, "best_peer": results.best_peer(c, s)[0],
                        "ratio": results.ratio(c, s)} for c in results.cases() for s in results.sizes(c)],
            "roofline": roof, "roofline_fractions": fractions, "latency": lat, "accuracy": acc,
            "acceptance": accept, "elapsed_s": elapsed,
        })
        log(f"wrote {args.json}")
    if args.plot and "plot" not in args.skip:
        try:
            report.plot(args.plot, results, roof, title)
            log(f"wrote {args.plot}")
        except ImportError as e:
            log(f"no plot: {e}")
    if args.strict and any(r["status"].startswith("FAIL") for r in accept):
        return 1
    return 0
