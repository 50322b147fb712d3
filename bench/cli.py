"""Command line and orchestration of ``python -m bench``."""
from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import time
from pathlib import Path

from bench import cases as C, checks, contenders, grad, machine, report, roofline, targets
from bench.timing import TimingConfig, measure_group

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark fastbce against every installed peer (NumPy, tf_keras eager and tf.function, "
                    "torch, jax/optax, numba) in one process; report Melem/s, the ratio to the best peer, "
                    "the read roofline and fastbce's share of it, rows of 16 vs [n, 1], call latency and "
                    "accuracy, then a summary of the main numbers. --cases grad: the loss and its gradient "
                    "(value_and_grad vs torch, jax and tf.function autodiff) and a three-stream roofline; "
                    "--cases train-step: loss and gradient inside tf.function / jax.jit / torch, fastbce vs "
                    "each framework's own loss.")
    p.add_argument("--quick", action="store_true",
                   help="CI-friendly subset: headline cases + f64, sizes 16,4K,1M,16M, short timing budget, "
                        "accuracy over 1e7 elements")
    p.add_argument("--sizes", help="comma list, e.g. 16,4K,1M,16M,64M or 1e6 (default: 16,256,4K,64K,1M,16M for "
                                   "every case, and 64M for the headline cases; the summary set: 1M,16M; "
                                   "grad: 1K,64K,1M,16M; train-step: 1K,64K,1M,4M)")
    p.add_argument("--cases", help="comma list of case names (a trailing -r16 = rows of 16), fnmatch patterns "
                                   f"(f32-*) or sets ({', '.join(C.CASE_SETS)}, and the gradient sets "
                                   f"{', '.join(C.GRAD_SETS)}); default: 'default'. "
                                   "'summary' measures only what the summary table needs, in a few minutes")
    p.add_argument("--peers", default="all",
                   help=f"comma list of contenders to run ({', '.join(contenders.REGISTRY)}; gradient sets: "
                        f"{', '.join(grad.GRAD_REGISTRY)}); default all")
    p.add_argument("--repeat", type=int, help="minimum timed samples per measurement (best-of-N; default 3)")
    p.add_argument("--rounds", type=int, help="interleaved rounds over the contenders (default 3)")
    p.add_argument("--budget", type=float, help="seconds per contender per measurement (default 0.2)")
    p.add_argument("--width", type=int, default=C.WIDTH_DEFAULT,
                   help=f"row width of the case names without -rN: inputs are (n // width, width) "
                        f"(default {C.WIDTH_DEFAULT})")
    p.add_argument("--threads", type=int, help="fastbce.set_num_threads(N) before timing (default: fastbce's)")
    p.add_argument("--accuracy-size", type=C.parse_size, help="elements for the accuracy check (default 1e8)")
    p.add_argument("--skip", default=None,
                   help="comma list of sections to skip: roofline,rows,latency,accuracy,plot "
                        "(default: none; accuracy for the summary set)")
    p.add_argument("--json", default=str(RESULTS_DIR / "bench.json"), help="results JSON path ('' to skip)")
    p.add_argument("--plot", default=str(RESULTS_DIR / "bench.png"), help="PNG plot path ('' to skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--targets", metavar="TOML",
                   help="also print whether this run meets the targets of this file (e.g. bench/targets.toml)")
    p.add_argument("--strict", action="store_true", help="with --targets: exit 1 when a target is missed")
    p.add_argument("--list", action="store_true", help="list cases and contenders (with availability) and exit")
    args = p.parse_args(argv)

    q = args.quick
    sizes_given = bool(args.sizes)
    spec = args.cases or ("quick" if q else "default")
    args.grad_sets, spec = C.split_grad_sets(spec)
    sets = C.set_names(spec)
    try:
        if sizes_given:
            args.sizes = C.parse_sizes(args.sizes)
        elif sets and all(s in C.SET_SIZES for s in sets):  # e.g. summary: its own sizes
            args.sizes, sizes_given = sorted({n for s in sets for n in C.SET_SIZES[s]}), True
        else:
            args.sizes = list(C.SIZES_QUICK if q else C.SIZES_DEFAULT)
        args.grad_sizes = args.sizes if sizes_given else list(C.GRAD_SIZES)
        args.train_sizes = args.sizes if sizes_given else list(C.TRAIN_SIZES)
        args.cases = C.select_cases(spec, args.width) if spec else []
        for n in args.sizes + [args.accuracy_size or 0]:
            for w in {c.width for c in args.cases}:
                if n > w:
                    C.shape_for(n, w)
        args.peers = contenders.select(args.peers, extra=grad.GRAD_REGISTRY)
        if args.targets:
            args.target_list = targets.load(args.targets)
    except ValueError as e:
        p.error(str(e))
    if args.strict and not args.targets:
        p.error("--strict needs --targets")
    args.plan = C.plan(args.cases, args.sizes, sizes_given)
    args.timing = TimingConfig(
        repeat=args.repeat or 3,
        rounds=args.rounds or (2 if q else 3),
        budget_s=args.budget if args.budget is not None else (0.08 if q else 0.2),
    )
    args.accuracy_size = args.accuracy_size or (10**7 if q else 10**8)
    if args.skip is None:  # a set may leave sections out by default; --skip '' runs them all
        args.skip = ",".join(x for s in sets for x in C.SET_SKIPS.get(s, ()))
        if not args.cases:  # only gradient sets: the loss sections have nothing to add
            args.skip = ",".join(C.GRAD_SKIPS)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure_point(case: C.Case, size: int, loaded: list[contenders.Contender], store: C.DataStore,
                  timing: TimingConfig,
                  roof: roofline.Readers | None = None) -> tuple[dict[str, report.Record], dict | None]:
    """Prepare, warm up, check and time every contender on one (case, size), and ``roof``'s readers in the
    same rounds: (the records, that roofline or None)."""
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
    timed = measure_group(roofline.with_roofline(fns, roof), timing, first_ns)
    timed, point_roof = roofline.split_roofline(timed, roof)
    for name, t in timed.items():
        recs[name].ns, recs[name].samples, recs[name].inner = t.best_ns, t.samples, t.inner
    return recs, point_roof


def run_throughput(args, loaded: list[contenders.Contender], store: C.DataStore) -> report.Results:
    results = report.Results([c.name for c in loaded], [c.name for c in args.cases])
    # Size-major, and each size's cases grouped by the inputs they share, so only one input set
    # (and its float64 reference) is in memory at a time.
    key_order = [c.data_key for c in args.cases]
    # The read roofline's readers are timed with the contenders at every float32 point a share is given for.
    interleave = "roofline" not in args.skip and any(c.name == results.fastbce for c in loaded)
    current, roofs = None, roofline.PerSize(roofline.Readers)
    for case, size in sorted(args.plan, key=lambda cn: (cn[1], key_order.index(cn[0].data_key))):
        if (case.data_key, size) != current:
            store.clear()
            gc.collect()
            current = (case.data_key, size)
        roof = roofs.at(size, interleave and case.dtype == "float32" and size >= report.ROOFLINE_MIN_SIZE)
        t0 = time.perf_counter()
        recs, point_roof = measure_point(case, size, loaded, store, args.timing, roof)
        for rec in recs.values():
            results.add(rec)
        if point_roof is not None:
            results.rooflines[(case.name, size)] = point_roof
        log(report.progress_line(results, case.name, size, recs, time.perf_counter() - t0))
    roofs.close()
    store.clear()
    gc.collect()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Only gradient sets: of the loss contenders just fastbce (its versions, the summary).
    loss_peers = [n for n in args.peers if n in contenders.REGISTRY and (args.cases or args.list or n == "fastbce")]
    loaded, skipped = contenders.load(loss_peers)
    for name, why in skipped.items():
        log(f"skipping {name}: not available ({why})")
    grad_loaded, grad_skipped = [], {}
    if "grad" in args.grad_sets or args.list:
        grad_loaded, grad_skipped = grad.load(args.peers, grad.GRAD_REGISTRY)
        for name, why in grad_skipped.items():
            log(f"skipping {name} (gradient): not available ({why})")
    steps = []
    if "train-step" in args.grad_sets:
        steps, train_skipped = grad.load(list(grad.FRAMEWORKS), {f: (lambda f=f: grad.TrainStep(f))
                                                                 for f in grad.FRAMEWORKS})
        for name, why in train_skipped.items():
            log(f"skipping the {name} step: not available ({why})")
            grad_skipped[f"{name} step"] = why
    if args.list:
        for case in C.ALL_CASES:
            print(f"case {case.name}" + ("  [default]" if case.name in C.DEFAULT_CASES else ""))
        for name in C.DEFAULT_CASES:
            if name not in C.BY_NAME:
                print(f"case {name}  [default]")
        for name, members in C.CASE_SETS.items():
            print(f"set {name}: {len(members)} cases" + (f", sizes {', '.join(map(C.format_size, C.SET_SIZES[name]))}"
                                                         if name in C.SET_SIZES else ""))
        for group, sizes in (("grad", C.GRAD_SIZES), ("train-step", C.TRAIN_SIZES)):
            names = [c.name for c in C.grad_cases([group])]
            print(f"set {group}: {', '.join(names)}, sizes {', '.join(map(C.format_size, sizes))}")
        for name in contenders.REGISTRY:
            print(f"contender {name}: " + ("available" if any(c.name == name for c in loaded)
                                           else f"skipped ({skipped.get(name, 'not selected')})"))
        for name in grad.GRAD_REGISTRY:
            print(f"gradient contender {name}: " + ("available" if any(c.name == name for c in grad_loaded)
                                                    else f"skipped ({grad_skipped.get(name, 'not selected')})"))
        for f in grad.FRAMEWORKS:
            print(f"fastbce adapter for {f}: " + ("present" if grad.has_adapter(f) else "absent"))
        return 0

    fast = next((c for c in loaded if c.is_fastbce), None)
    if fast is not None and args.threads:
        fast.mod.set_num_threads(args.threads)
    info = machine.describe()
    versions = {}
    for c in [*loaded, *grad_loaded, *steps]:
        try:
            versions.update(c.versions())
        except Exception as e:  # noqa: BLE001
            versions[c.name] = f"? ({e})"
    log(f"machine: {machine.one_line(info)}")
    if machine.busy_warning(info):
        log(machine.busy_warning(info))
    log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if args.cases:
        log(f"cases: {len(args.cases)}, sizes: {', '.join(map(C.format_size, args.sizes))}, points: {len(args.plan)}, "
            f"contenders: {', '.join(c.name for c in loaded)}")

    started = time.perf_counter()
    rows_on = fast is not None and "rows" not in args.skip
    # The roofline at every size a throughput or a share is reported for (from 4K up; below, a call is
    # all overhead), at the start and at the end of the run: the better one counts.
    roof_sizes = sorted({n for _, n in args.plan if n >= report.ROOFLINE_MIN_SIZE})
    roofs = {n: [] for n in roof_sizes}
    if "roofline" not in args.skip and roof_sizes:
        log("measuring the read roofline at " + ", ".join(map(C.format_size, roof_sizes))
            + " (again at the end; the better one counts) ...")
        for n in roof_sizes:
            roofs[n].append(roofline.measure(n))
    store = C.DataStore(seed=args.seed)
    results = run_throughput(args, loaded, store)
    rows = None
    if rows_on:
        log(f"timing fastbce on rows of {C.ROWS_WIDTH} vs [n, 1] at "
            f"{', '.join(map(C.format_size, checks.ROWS_SIZES))} ...")
        rows = checks.rows_vs_flat(fast, store, config=args.timing if args.quick else checks.ROWS_TIMING, progress=log)
    roof = None
    if "roofline" not in args.skip and roof_sizes:
        for n in roof_sizes:
            roofs[n].append(roofline.measure(n))
        roof = {n: dict(max(r, key=lambda x: x["elems_per_s"]), runs_gbytes_per_s=[x["gbytes_per_s"] for x in r])
                for n, r in roofs.items()}
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
    grad_results = grad_roof = train_results = adapters = None
    grad_fractions: list[dict] = []
    if "grad" in args.grad_sets:
        cases = C.grad_cases(["grad"])
        roof_on = "roofline" not in args.skip
        log("loss and gradient: " + ", ".join(c.name for c in cases) + " at "
            + ", ".join(map(C.format_size, args.grad_sizes)) + "; contenders: "
            + ", ".join(c.name for c in grad_loaded)
            + (" (three-stream roofline before and after)" if roof_on else ""))
        first = grad.measure_roofline(args.grad_sizes) if roof_on else None
        grad_results = grad.run_grad(cases, args.grad_sizes, grad_loaded, store, args.timing, progress=log,
                                     roofline_on=roof_on)
        grad_roof = grad.better_roofline(first, grad.measure_roofline(args.grad_sizes) if roof_on else None)
        grad_fractions = grad.roofline_fractions(grad_results, grad_roof)
    if "train-step" in args.grad_sets:
        cases = C.grad_cases(["train-step"])
        log("loss and gradient in each framework's step: " + ", ".join(c.name for c in cases) + " at "
            + ", ".join(map(C.format_size, args.train_sizes)) + "; frameworks: "
            + ", ".join(s.framework for s in steps))
        train_results, adapters = grad.run_train(cases, args.train_sizes, steps, store, args.timing, progress=log)
        for f, present in adapters.items():
            if not present:
                log(f"fastbce has no {f} adapter (fastbce._frameworks.{f}) here: {f} runs with its own loss only")
    elapsed = time.perf_counter() - started
    info["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    fractions = report.roofline_fractions(results, roof)
    ms = report.metrics(results, fractions, rows, lat, acc) + grad.metrics(grad_results, grad_fractions)
    threads = versions.get("fastbce.get_num_threads", "?")
    title = (f"fastbce {versions.get('fastbce', '(not installed)')} "
             f"[{versions.get('fastbce.isa', '?')}, {threads} threads] "
             f"- {info['cpu_model']}, {info['usable_cpus']} CPUs")
    command = ["python", "-m", "bench"] + list(sys.argv[1:] if argv is None else argv)
    header = [f"# {title}", f"# {machine.one_line(info)}", f"# command: {' '.join(command)}"]
    header += [f"# {w}" for w in (machine.busy_warning(info), machine.busy_warning(info, at_end=True)) if w]
    sections = ["\n".join(header)]
    if args.cases:
        sections += [report.throughput_table(results), report.roofline_text(roof, fractions, info.get("caches"))]
    if rows_on:
        sections.append(report.rows_text(rows))
    if "latency" not in args.skip or args.cases:
        sections.append(report.latency_text(lat))
    if "accuracy" not in args.skip or args.cases:
        sections.append(report.accuracy_text(acc))
    if "grad" in args.grad_sets:
        sections.append(grad.grad_text(grad_results, grad_roof, grad_fractions))
    if "train-step" in args.grad_sets:
        sections.append(grad.train_text(train_results, adapters, steps))
    if fast is None:
        sections.append("fastbce is not importable here (pip install .): only peers were measured.")
    else:
        sections.append(report.summary_text(ms, threads, extra_lines=grad.summary_lines(ms)))
    checked = None
    if args.targets:
        checked = targets.check(args.target_list, ms)
        sections.append(targets.text(checked, args.targets))
    if skipped or grad_skipped:
        sections.append("Skipped:\n" + "\n".join(f"  {k}: {v}" for k, v in {**skipped, **grad_skipped}.items()))
    sections.append(f"(measured in {elapsed:.0f} s)")
    print("\n\n".join(sections), flush=True)

    if args.json:
        report.write_json(args.json, {
            "schema": 2, "command": command, "machine": info, "versions": versions, "skipped": skipped,
            "settings": {"sizes": args.sizes, "cases": [c.name for c in args.cases], "width": args.width,
                         "timing": dataclasses.asdict(args.timing), "seed": args.seed, "threads": args.threads},
            "results": report.records_as_dicts(results),
            "ratios": [{"case": c, "size": s, "best_peer": results.best_peer(c, s)[0],
                        "ratio": results.ratio(c, s)} for c in results.cases() for s in results.sizes(c)],
            "roofline": None if roof is None else [roof[n] for n in sorted(roof)],
            "roofline_fractions": fractions, "rows": rows, "latency": lat, "accuracy": acc,
            "grad": None if grad_results is None else {
                "sizes": args.grad_sizes, "results": report.records_as_dicts(grad_results),
                "roofline": None if grad_roof is None else [grad_roof[n] for n in sorted(grad_roof)],
                "roofline_fractions": grad_fractions},
            "train_step": None if train_results is None else {
                "sizes": args.train_sizes, "adapters": adapters, "own_loss": grad.OWN_LOSS,
                "results": report.records_as_dicts(train_results)},
            "metrics": ms, "elapsed_s": elapsed,
            **({"targets": {"file": args.targets, "checked": checked}} if checked is not None else {}),
        })
        log(f"wrote {args.json}")
    if args.plot and "plot" not in args.skip and args.cases:  # the figure shows the loss cases
        try:
            report.plot(args.plot, results, roof, *plot_texts(info, versions, args))
            log(f"wrote {args.plot}")
        except ImportError as e:
            log(f"no plot: {e}")
    if args.strict and targets.missed(checked):
        return 1
    return 0


def plot_texts(info: dict, versions: dict, args) -> tuple[str, str, str]:
    """Title, subtitle and caption of the figure: what was measured, where, and how to read it."""
    cases = [C.case_by_name(c.name) for c in args.cases]
    dtypes = sorted({c.dtype for c in cases})
    title = ("Binary cross-entropy throughput: fastbce vs peers, "
             + ("float32, mean reduction" if "float32" in dtypes else ", ".join(dtypes)))
    caches = info.get("caches") or {}
    cache_text = ", ".join(f"{k} {machine.format_cache(v)}" for k, v in caches.items() if k in ("L2", "L3"))
    load = info.get("loadavg")
    subtitle = (f"{info['cpu_model']}, {info['usable_cpus']} usable CPUs" + (f" ({cache_text})" if cache_text else "")
                + f", {info['memory_gib']} GiB, Python {info['python']}, {info['date'][:10]}"
                + (f", load average {load[0]:.1f} at start" if load else "")
                + f"\nfastbce {versions.get('fastbce', '?')} on {versions.get('fastbce.isa', '?')} with "
                f"{versions.get('fastbce.get_num_threads', '?')} threads; peers with their default threads")
    peers = [v for k, v in (("numpy", "numpy (the tf.keras formula)"), ("tf_keras", "tf_keras eager and tf.function"),
                            ("torch", "torch"), ("jax", "jax jit"), ("numba", "numba parallel"))
             if k in versions]
    caption = (
        "Melem/s = million elements (one label + one prediction) per second, best of interleaved samples, "
        "every contender in one process on the same inputs" + (f" (peers: {', '.join(peers)})" if peers else "")
        + ". Bold labels: fastbce / the fastest peer at that size. Sizes below 4K (call overhead) and the other "
        "cases are in the printed tables.\n"
        "Gray dashed line: the read roofline, the fastest plain read of the two input arrays (np.dot, threaded "
        "np.dot, numba, fastbce's own reader), measured at each size in this run: inputs of a few MB are read "
        "from the CPU caches, much faster than the hundreds of MB at 16M and 64M, which come from DRAM.")
    return title, subtitle, caption
