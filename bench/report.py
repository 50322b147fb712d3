"""Reporting: throughput tables, the read roofline and fastbce's share of it, rows of 16 vs [n, 1],
the summary, JSON and the PNG plot."""
from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

from bench.cases import HEADLINE_CASES, ROWS_WIDTH, case_by_name, format_size


@dataclass
class Record:
    case: str
    size: int
    contender: str
    status: str                  # ok | wrong | failed | unsupported
    ns: float = math.nan         # best time of one call
    samples: int = 0
    inner: int = 0
    note: str | None = None

    @property
    def melem_s(self) -> float:
        return self.size / self.ns * 1e3 if self.status in ("ok", "wrong") and self.ns > 0 else math.nan


class Results:
    def __init__(self, contenders: list[str], case_order: list[str] = (), fastbce_name: str = "fastbce"):
        self.contenders = contenders
        self.case_order = list(case_order)
        self.fastbce = fastbce_name
        self.records: list[Record] = []
        self._index: dict[tuple, Record] = {}
        # (case, size) -> the roofline timed in the same interleaved rounds as the contenders there
        self.rooflines: dict[tuple[str, int], dict] = {}

    def add(self, rec: Record) -> None:
        self.records.append(rec)
        self._index[(rec.case, rec.size, rec.contender)] = rec

    def get(self, case: str, size: int, contender: str) -> Record | None:
        return self._index.get((case, size, contender))

    def cases(self) -> list[str]:
        present = dict.fromkeys(r.case for r in self.records)
        return [c for c in self.case_order if c in present] + [c for c in present if c not in self.case_order]

    def sizes(self, case: str) -> list[int]:
        return sorted({r.size for r in self.records if r.case == case})

    def best_peer(self, case: str, size: int) -> tuple[str | None, float]:
        best, rate = None, math.nan
        for name in self.contenders:
            rec = self.get(case, size, name)
            if name == self.fastbce or rec is None or rec.status != "ok":
                continue
            if best is None or rec.melem_s > rate:
                best, rate = name, rec.melem_s
        return best, rate

    def ratio(self, case: str, size: int) -> float:
        rec = self.get(case, size, self.fastbce)
        _, peer = self.best_peer(case, size)
        if rec is None or rec.status != "ok" or not peer > 0:
            return math.nan
        return rec.melem_s / peer


# --------------------------------------------------------------------------- text
def _fmt_rate(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def cell(rec: Record | None) -> str:
    if rec is None or rec.status == "unsupported":
        return "-"
    if rec.status == "failed":
        return "err"
    return _fmt_rate(rec.melem_s) + ("!" if rec.status == "wrong" else "")


def shape_text(width: int) -> str:
    return "[n, 1]" if width == 1 else f"[n/{width}, {width}]"


def throughput_table(results: Results) -> str:
    names = [n for n in results.contenders if any(r.contender == n for r in results.records)]
    cols = ["size"] + names + ["best peer", "ratio"]
    widths = [6] + [max(8, len(n)) for n in names] + [11, 7]
    lines = ["Throughput, Melem/s (million elements per second, one element = one label and one prediction; "
             "higher is better)",
             "ratio = fastbce / the fastest peer with a correct result; '!' = wrong result, 'err' = raised, "
             "'-' = not run"]
    for case in results.cases():
        c = case_by_name(case)
        lines.append("")
        lines.append(f"== {case}: {c.label}, {shape_text(c.width)}")
        lines.append("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
        for size in results.sizes(case):
            peer, _ = results.best_peer(case, size)
            ratio = results.ratio(case, size)
            row = [format_size(size)] + [cell(results.get(case, size, n)) for n in names]
            row += [peer or "-", "-" if math.isnan(ratio) else f"{ratio:.1f}x"]
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    notes = [r for r in results.records if r.status in ("wrong", "failed") and r.note]
    if notes:
        lines.append("")
        lines.extend(f"  {r.contender} {r.case} {format_size(r.size)}: {r.status}: {r.note}" for r in notes)
    return "\n".join(lines)


ROOFLINE_MIN_SIZE = 1 << 12  # below 4K elements a call is all overhead; no roofline is measured there


def roofline_fractions(results: Results, roofline: dict | None) -> list[dict]:
    """fastbce's bandwidth as a fraction of the roofline: the one timed in the same rounds as fastbce at that
    case and size where there is one (``results.rooflines``), else the one measured at that size before and
    after the cases (``roofline``). Only float32 cases (float64 reads twice the bytes of the float32 roofline
    of the same n, so no share is given for it)."""
    out = []
    for case in results.cases():
        c = case_by_name(case)
        if c.dtype != "float32":
            continue
        for size in results.sizes(case):
            rec = results.get(case, size, results.fastbce)
            roof = results.rooflines.get((case, size)) or (roofline or {}).get(size)
            if rec is None or rec.status != "ok" or roof is None:
                continue
            gbs = rec.melem_s * 1e6 * c.bytes_per_elem / 1e9
            out.append({"case": case, "size": size, "melem_s": rec.melem_s, "gbytes_per_s": gbs,
                        "roofline_gbytes_per_s": roof["gbytes_per_s"], "fraction": gbs / roof["gbytes_per_s"],
                        "roofline_interleaved": (case, size) in results.rooflines})
    return out


def roofline_text(roofline: dict | None, fractions: list[dict], caches: dict | None = None) -> str:
    if not roofline:
        return "Read roofline: not measured"
    readers = ", ".join(next(iter(roofline.values()))["methods"])
    cache_text = f" ({', '.join(f'{k} {_cache(v)}' for k, v in caches.items())})" if caches else ""
    lines = ["Read roofline: how fast two float32 arrays of n elements can merely be read (8 bytes per element,",
             f"what a float32 loss reads); the fastest of {readers},",
             "measured at each size at the start and at the end of this run (the better counts). Small inputs",
             f"are read from the CPU caches{cache_text}, large ones from DRAM.",
             f"  {'size':>5}  {'Melem/s':>8}  {'GB/s':>6}  fastest reader"]
    for n in sorted(roofline):
        r = roofline[n]
        lines.append(f"  {format_size(n):>5}  {r['elems_per_s'] / 1e6:8.0f}  {r['gbytes_per_s']:6.1f}  "
                     f"{r['best_method']}")
    if fractions:
        sizes = sorted({f["size"] for f in fractions})
        cases = list(dict.fromkeys(f["case"] for f in fractions))
        by = {(f["case"], f["size"]): f["fraction"] for f in fractions}
        w = max(len(c) for c in cases)
        lines += ["", "fastbce's share of the read roofline (the bytes it reads per second, weights included, over",
                  "the roofline's), timed in the same interleaved rounds as fastbce at that case and size (where it",
                  "was not, the one above at that size):",
                  "  " + "case".ljust(w) + "".join(f"{format_size(n):>7}" for n in sizes)]
        for case in cases:
            lines.append("  " + case.ljust(w) + "".join(
                f"{by[case, n] * 100:6.0f}%" if (case, n) in by else f"{'-':>7}" for n in sizes))
    return "\n".join(lines)


def _cache(size: str) -> str:
    from bench.machine import format_cache

    return format_cache(size)


def rows_text(rows: dict | None) -> str:
    if not rows:
        return "Rows of 16 vs [n, 1]: not measured"
    width = rows["width"]
    lines = [f"Rows of {width} vs [n, 1]: fastbce's Melem/s on the same values shaped {shape_text(width)} "
             "and [n, 1],",
             "both shapes timed in one interleaved group per line; ratio = rows / [n, 1]:",
             f"  {'case':<24} {'':<44} {'size':>5} {'[n, 1]':>8} {shape_text(width):>10} {'ratio':>7}"]
    for pt in rows["points"]:
        lines.append(f"  {pt['case']:<24} {pt['label']:<44} {format_size(pt['size']):>5} "
                     f"{_fmt_rate(pt['flat_melem_s']):>8} {_fmt_rate(pt['rows_melem_s']):>10} {pt['ratio']:6.2f}x"
                     + (f"  WRONG RESULT: {pt['check']}" if pt.get("check") else ""))
    return "\n".join(lines)


def latency_text(lat: dict | None) -> str:
    if not lat:
        return "Latency: not measured"
    shape = "x".join(map(str, lat["shape"]))
    lines = [f"Call latency, {shape} float32, {lat['case']} (best / median of many, us):"]
    for name, us in sorted(lat["us"].items(), key=lambda kv: kv[1]):
        lines.append(f"  {name:<38} {us:8.2f}  {lat['median_us'][name]:8.2f}")
    lines.extend(f"  {name}: {err}" for name, err in lat.get("errors", {}).items())
    return "\n".join(lines)


def accuracy_text(acc: dict | None) -> str:
    if not acc:
        return "Accuracy / determinism: not measured"
    lines = [f"Accuracy over {acc['n']:.0e} float32 elements (mean vs float64) and bits for threads {acc['threads']}:"]
    for name, c in acc["cases"].items():
        secs = ", ".join(f"{t}T {s * 1e3:.0f} ms" for t, s in c["seconds_per_call"].items())
        lines.append(f"  {name:<24} rel err {c['rel_err']:.2e}  identical mean/none: "
                     f"{c['identical_mean']}/{c['identical_none']}  ({secs})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- summary
METRICS = {  # metric -> (what it is, unit)
    "peer_ratio": ("fastbce / best peer", "x"),
    "roofline_peer_ratio": ("the read roofline timed beside the peers / best peer: the most a loss that reads its "
                            "inputs can reach", "x"),
    "roofline_share": ("share of the read roofline at the same size", "%"),
    "rows_ratio": (f"rows of {ROWS_WIDTH} / [n, 1], fastbce", "x"),
    "melem_s": ("fastbce Melem/s", ""),
    "latency_us": ("1x4 call latency, us", "us"),
    "rel_err": ("float32 mean vs float64, relative error", ""),
    "identical_bits": ("identical bits for every thread count", ""),
    "grad_peer_ratio": ("loss and gradient: fastbce / best peer", "x"),
    "grad_roofline_share": ("loss and gradient: share of the three-stream roofline at the same size", "%"),
}


def throughput_metrics(results: Results, fractions: list[dict], prefix: str = "") -> list[dict]:
    """fastbce's Melem/s, its ratio to the best peer (``{prefix}peer_ratio``) and its roofline shares
    (``{prefix}roofline_share``), per case and size."""
    out = []
    for case in results.cases():
        for size in results.sizes(case):
            rec = results.get(case, size, results.fastbce)
            if rec is not None and rec.status == "ok":
                out.append({"metric": "melem_s", "case": case, "size": size, "value": rec.melem_s})
            ratio = results.ratio(case, size)
            if not math.isnan(ratio):
                out.append({"metric": f"{prefix}peer_ratio", "case": case, "size": size, "value": ratio,
                            "best_peer": results.best_peer(case, size)[0]})
            ceiling = roofline_peer_ratio(results, case, size) if not prefix else math.nan
            if not math.isnan(ceiling):
                out.append({"metric": "roofline_peer_ratio", "case": case, "size": size, "value": ceiling,
                            "best_peer": results.best_peer(case, size)[0]})
    out += [{"metric": f"{prefix}roofline_share", "case": f["case"], "size": f["size"], "value": f["fraction"]}
            for f in fractions]
    return out


def roofline_peer_ratio(results: Results, case: str, size: int) -> float:
    """The read roofline timed in the same rounds as the peers at (case, size), in elements of that case per
    second, over the best peer's rate: what fastbce / best peer would be if the loss cost nothing but reading
    its inputs (NaN without an interleaved roofline or a peer)."""
    roof = results.rooflines.get((case, size))
    _, peer = results.best_peer(case, size)
    if roof is None or not peer > 0:
        return math.nan
    return roof["gbytes_per_s"] * 1e9 / case_by_name(case).bytes_per_elem / 1e6 / peer


def progress_line(results: Results, case: str, size: int, recs: dict, seconds: float, width: int = 28) -> str:
    """The line a measured point prints: every contender's cell, fastbce's ratio, the time it took."""
    ratio = results.ratio(case, size)
    return (f"  {case:<{width}} {format_size(size):>4}  "
            + "  ".join(f"{name} {cell(rec)}" for name, rec in recs.items())
            + ("" if math.isnan(ratio) else f"  ratio {ratio:.1f}x")
            + f"  [{seconds:.1f}s]")


def metrics(results: Results, fractions: list[dict], rows: dict | None, lat: dict | None,
            acc: dict | None) -> list[dict]:
    """Every number of this run a summary or a target can refer to: ``{metric, case, size, value, ...}``."""
    out = throughput_metrics(results, fractions)
    for pt in (rows or {}).get("points", []):
        if not pt.get("check"):
            out.append({"metric": "rows_ratio", "case": pt["case"], "size": pt["size"], "value": pt["ratio"]})
    us = (lat or {}).get("us", {}).get("fastbce")
    if us is not None:
        out.append({"metric": "latency_us", "case": None, "size": None, "value": us})
    if acc:
        out.append({"metric": "rel_err", "case": None, "size": acc["n"], "value": acc["max_rel_err"]})
        out.append({"metric": "identical_bits", "case": None, "size": acc["n"], "value": acc["identical"]})
    return out


def find_metric(ms: list[dict], metric: str, case: str | None = None, size: int | None = None) -> dict | None:
    return next((m for m in ms if m["metric"] == metric and (case is None or m["case"] == case)
                 and (size is None or m["size"] == size)), None)


# What the summary shows: (metric, case, sizes). Cases missing from the run are left out.
SUMMARY_SIZES = (1 << 20, 1 << 24)
SUMMARY = (
    *(("rows_ratio", f"f32-{m}{w}-mean", SUMMARY_SIZES)
      for m in ("prob-binary", "prob-soft", "logits-binary") for w in ("", "-w")),
    ("roofline_share", "f32-prob-binary-mean", (1 << 24,)),
    ("roofline_share", "f32-logits-binary-mean", (1 << 24,)),
    ("peer_ratio", "f32-prob-binary-mean", SUMMARY_SIZES),
    ("peer_ratio", "f32-logits-binary-mean", (1 << 20,)),
    ("roofline_peer_ratio", "f32-prob-binary-mean", SUMMARY_SIZES),
)
_SUMMARY_HEADINGS = {
    "rows_ratio": f"rows of {ROWS_WIDTH} ({shape_text(ROWS_WIDTH)}) / [n, 1], fastbce's Melem/s:",
    "roofline_share": "[n, 1]: fastbce's share of the read roofline measured at the same size:",
    "peer_ratio": "[n, 1]: fastbce / the fastest peer (named):",
    "roofline_peer_ratio": "[n, 1]: the read roofline (same rounds) / that peer, the most reading alone reaches:",
}


def summary_text(ms: list[dict], threads, extra_lines: list[str] = ()) -> str:
    """The summary; ``extra_lines`` (the gradient cases' lines) go after the loss's."""
    sizes = list(SUMMARY_SIZES)
    label_w = 50
    lines = [f"Summary (float32, mean reduction, fastbce with {threads} threads; every number from this run)",
             "  " + " " * label_w + "".join(f"{format_size(n):>22}" for n in sizes)]
    heading = None
    for metric, case, want in SUMMARY:
        cells = {n: find_metric(ms, metric, case, n) for n in want}
        if not any(cells.values()):
            continue
        if metric != heading:
            lines.append("  " + _SUMMARY_HEADINGS[metric])
            heading = metric
        row = ""
        for n in sizes:
            m = cells.get(n)
            if m is None:
                text = ""
            elif metric == "roofline_share":
                text = f"{m['value'] * 100:.0f}%"
            elif metric in ("peer_ratio", "roofline_peer_ratio"):
                text = f"{m['value']:.1f}x ({m['best_peer']})"
            else:
                text = f"{m['value']:.2f}x"
            row += f"{text:>22}"
        lines.append(("    " + case_by_name(case).label.ljust(label_w - 2) + row).rstrip())
    lat = find_metric(ms, "latency_us")
    if lat:
        lines.append(f"  1x4 call latency (fastbce.BinaryCrossentropy()(y_true, y_pred), best of many): "
                     f"{lat['value']:.2f} us")
    lines += extra_lines
    return "\n".join(lines) if len(lines) > 2 else "Summary: none of its numbers were measured in this run"


# --------------------------------------------------------------------------- files
def _jsonable(o):
    """Plain JSON: NaN/inf become null, NumPy scalars become Python numbers."""
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if hasattr(o, "item") and callable(o.item):  # NumPy scalar
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is None or isinstance(o, (bool, int, float, str)):
        return o
    return str(o)


def write_json(path: str | Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(payload), indent=1, allow_nan=False) + "\n")


def records_as_dicts(results: Results) -> list[dict]:
    out = []
    for r in results.records:
        d = {"case": r.case, "size": r.size, "contender": r.contender, "status": r.status,
             "ns_per_call": None if math.isnan(r.ns) else r.ns,
             "melem_s": None if math.isnan(r.melem_s) else r.melem_s,
             "samples": r.samples, "inner": r.inner}
        if r.note:
            d["note"] = r.note
        out.append(d)
    return out




def plot_cases(results: Results) -> list[str]:
    """The panels of the figure: one per float32 mode (binary-label probabilities, logits,
    soft-label probabilities; mean, no weight), each row width its own panel; every measured case
    when none of those was measured. The other cases are in the table and the JSON."""
    cases = results.cases()
    main = [c for c in cases if case_by_name(c).with_width(1).name in HEADLINE_CASES]
    return main or cases


def plot_sizes(sizes: list[int]) -> list[int]:
    """Sizes from 4K up: smaller calls measure call overhead, which the latency section covers."""
    big = [n for n in sizes if n >= ROOFLINE_MIN_SIZE]
    return big if len(big) >= 2 else sizes


PEER_COLORS = {"numpy": "#1f77b4", "tf-eager": "#bcbd22", "tf-function": "#ff7f0e", "torch": "#d62728",
               "jax": "#9467bd", "numba": "#2ca02c"}


def plot(path: str | Path, results: Results, roofline: dict | None, title: str, subtitle: str,
         caption: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    cases = plot_cases(results)
    ncols = 1 if len(cases) == 1 else 2 if len(cases) <= 4 else 3
    nrows = math.ceil(len(cases) / ncols)
    top_in, bottom_in = 1.4, 1.3  # title, subtitle and legend above the panels; the caption below
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.6 * ncols, 4.6 * nrows + top_in + bottom_in), squeeze=False)
    height = fig.get_figheight()
    markers = "osD^v<>px"
    for ax, case in zip(axes.flat, cases):
        c = case_by_name(case)
        sizes = plot_sizes(results.sizes(case))
        if roofline:
            pts = [(n, roofline[n]["gbytes_per_s"] * 1e9 / c.bytes_per_elem / 1e6) for n in sizes if n in roofline]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, ls="--", color="0.45", lw=1.6, marker="_", ms=14, zorder=1,
                        label="read roofline (measured at each size)")
        for i, name in enumerate(results.contenders):
            pts = sorted((r.size, r.melem_s) for r in results.records
                         if r.case == case and r.contender == name and r.status == "ok" and r.size in sizes)
            if not pts:
                continue
            xs, ys = zip(*pts)
            fb = name == results.fastbce
            ax.plot(xs, ys, marker=markers[i % len(markers)], ms=7 if fb else 5, lw=3 if fb else 1.4,
                    color="black" if fb else PEER_COLORS.get(name), label=name, zorder=4 if fb else 2,
                    alpha=1 if fb else 0.85)
            if fb:
                for x, y in pts:
                    ratio = results.ratio(case, x)
                    if not math.isnan(ratio):
                        ax.annotate(f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x", (x, y),
                                    textcoords="offset points", xytext=(0, 9), ha="center", fontsize=10,
                                    fontweight="bold", zorder=5,
                                    bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.85))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [format_size(n) for n in sizes], fontsize=11)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_locator(LogLocator(base=10))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="y", labelsize=11)
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 2.2)  # room for the ratio labels above the fastbce line
        ax.set_title(f"{c.label} — {shape_text(c.width)}", fontsize=13)
        ax.set_xlabel("elements per call (n)", fontsize=11)
        ax.set_ylabel("Melem/s (log scale)", fontsize=11)
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
    for ax in list(axes.flat)[len(cases):]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    order = [results.fastbce] + [n for n in results.contenders if n != results.fastbce]
    labels = [n for n in order if n in handles] + [n for n in handles if n not in order]
    fig.suptitle(title, fontsize=15, y=1 - 0.12 / height, va="top")
    fig.text(0.5, 1 - 0.5 / height, subtitle, fontsize=11, va="top", ha="center", linespacing=1.5)
    fig.legend([handles[n] for n in labels], labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 1.02 / height),
               ncol=len(labels), frameon=False, fontsize=12)
    chars = int(fig.get_figwidth() * 100 / 8.4)  # characters of 10.5 pt text per line at 100 dpi
    caption = "\n".join(textwrap.fill(par, chars) for par in caption.split("\n"))
    fig.text(0.01, 0.12 / height, caption, fontsize=10.5, va="bottom", ha="left", linespacing=1.4)
    fig.tight_layout(rect=(0, bottom_in / height, 1, 1 - top_in / height))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
