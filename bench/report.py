"""Reporting: throughput tables, roofline fraction, acceptance summary, JSON and the PNG plot."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bench.cases import BY_NAME, format_size

# Issue 5 acceptance: (label, case, size, minimum ratio fastbce / best peer).
RATIO_TARGETS = (
    ("1M binary labels, probabilities", "f32-prob-binary-mean", 1 << 20, 8.0),
    ("1M binary labels, logits", "f32-logits-binary-mean", 1 << 20, 3.0),
    ("1M soft labels, probabilities", "f32-prob-soft-mean", 1 << 20, 4.0),
    ("16M binary labels, probabilities", "f32-prob-binary-mean", 1 << 24, 20.0),
    ("16M binary labels, logits", "f32-logits-binary-mean", 1 << 24, 12.0),
)
LATENCY_TARGET_US = 2.0
ACCURACY_TARGET = 1e-7


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


def throughput_table(results: Results, width: int) -> str:
    names = [n for n in results.contenders if any(r.contender == n for r in results.records)]
    cols = ["size"] + names + ["best peer", "ratio"]
    widths = [6] + [max(8, len(n)) for n in names] + [11, 7]
    lines = [f"Throughput, Melem/s (higher is better); rows of width {width}; "
             "ratio = fastbce / best correct peer; '!' = wrong result, 'err' = raised, '-' = not run"]
    for case in results.cases():
        lines.append("")
        lines.append(f"== {case}")
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


ROOFLINE_MIN_SIZE = 1 << 24  # 16M elements: 128 MB of float32 inputs, well past the caches


def roofline_fractions(results: Results, roofline: dict | None) -> list[dict]:
    """fastbce's read bandwidth as a fraction of the roofline measured at the same size, at each
    case's sizes >= 16M (smaller inputs live in the caches)."""
    if not roofline:
        return []
    out = []
    for case in results.cases():
        for size in (s for s in results.sizes(case) if s >= ROOFLINE_MIN_SIZE):
            rec = results.get(case, size, results.fastbce)
            if rec is None or rec.status != "ok":
                continue
            gbs = rec.melem_s * 1e6 * BY_NAME[case].bytes_per_elem / 1e9
            roof = roofline.get("by_size", {}).get(str(size), roofline)
            out.append({"case": case, "size": size, "melem_s": rec.melem_s, "gbytes_per_s": gbs,
                        "roofline_size": roof["n"], "fraction": gbs / roof["gbytes_per_s"]})
    return out


def roofline_text(roofline: dict | None, fractions: list[dict]) -> str:
    if not roofline:
        return "Roofline: not measured"
    lines = ["Read-bandwidth roofline (reading two float32 arrays of n elements, the best reader counts):"]
    for roof in sorted(roofline.get("by_size", {}).values(), key=lambda r: r["n"]) or [roofline]:
        methods = ", ".join(f"{k} {v / 1e6:.0f}" for k, v in roof["methods"].items())
        lines.append(f"  n={format_size(roof['n']):>4}: {roof['elems_per_s'] / 1e6:.0f} Melem/s "
                     f"= {roof['gbytes_per_s']:.1f} GB/s  (Melem/s by reader: {methods}"
                     + (f"; GB/s at start and end: {', '.join(f'{g:.1f}' for g in roof['runs_gbytes_per_s'])}"
                        if "runs_gbytes_per_s" in roof else "") + ")")
    for f in fractions:
        lines.append(f"  fastbce {f['case']:<24} {format_size(f['size']):>4}: {f['gbytes_per_s']:6.1f} GB/s"
                     f" = {f['fraction'] * 100:5.1f}% of the "
                     f"{format_size(f.get('roofline_size', roofline['n']))} roofline")
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


# --------------------------------------------------------------------------- acceptance
def acceptance(results: Results, latency: dict | None, accuracy: dict | None) -> list[dict]:
    rows = []
    for label, case, size, need in RATIO_TARGETS:
        rec = results.get(case, size, results.fastbce)
        if rec is None:
            rows.append({"target": label, "need": f">= {need:g}x", "measured": None, "status": "NOT RUN"})
            continue
        ratio = results.ratio(case, size)
        peer, rate = results.best_peer(case, size)
        ok = ratio >= need
        rows.append({"target": label, "need": f">= {need:g}x", "measured": ratio,
                     "measured_text": f"{ratio:.2f}x ({_fmt_rate(rec.melem_s)} vs {peer} {_fmt_rate(rate)})",
                     "status": "PASS" if ok else "FAIL"})
    us = (latency or {}).get("us", {}).get("fastbce")
    rows.append({"target": "1x4 call latency", "need": f"<= {LATENCY_TARGET_US:g} us", "measured": us,
                 "measured_text": None if us is None else f"{us:.2f} us",
                 "status": "NOT RUN" if us is None else "PASS" if us <= LATENCY_TARGET_US else "FAIL"})
    if accuracy:
        err = accuracy["max_rel_err"]
        rows.append({"target": f"mean over {accuracy['n']:.0e} elements vs float64", "need": f"<= {ACCURACY_TARGET:g}",
                     "measured": err, "measured_text": f"{err:.2e} rel",
                     "status": ("PASS" if err <= ACCURACY_TARGET else "FAIL")
                     + ("" if accuracy["n"] >= 1e8 else " (n < 1e8)")})
        same = accuracy["identical"]
        rows.append({"target": f"identical bits, threads {accuracy['threads']}", "need": "identical",
                     "measured": same, "measured_text": "identical" if same else "DIFFERENT",
                     "status": "PASS" if same else "FAIL"})
    else:
        rows.append({"target": "accuracy and thread determinism", "need": "", "measured": None,
                     "status": "NOT RUN"})
    return rows


def acceptance_text(rows: list[dict]) -> str:
    lines = ["Acceptance (issue 5; float32, mean reduction, default threads, this run):"]
    for r in rows:
        lines.append(f"  {r['status']:<15} {r['target']:<38} need {r['need']:<12} "
                     f"measured {r.get('measured_text') or '-'}")
    return "\n".join(lines)


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


def plot(path: str | Path, results: Results, roofline: dict | None, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    cases = results.cases()
    ncols = min(4, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    markers = "osD^v<>px"
    for ax, case in zip(axes.flat, cases):
        for i, name in enumerate(results.contenders):
            pts = [(r.size, r.melem_s) for r in results.records
                   if r.case == case and r.contender == name and r.status == "ok"]
            if not pts:
                continue
            xs, ys = zip(*sorted(pts))
            fb = name == results.fastbce
            ax.plot(xs, ys, marker=markers[i % len(markers)], ms=4 if not fb else 5,
                    lw=2.4 if fb else 1.2, color="black" if fb else None, label=name, zorder=3 if fb else 2)
        if roofline:
            ax.axhline(roofline["gbytes_per_s"] * 1e9 / BY_NAME[case].bytes_per_elem / 1e6,
                       ls="--", color="gray", lw=1, label=f"read roofline ({format_size(roofline['n'])})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        sizes = results.sizes(case)
        ax.set_xticks(sizes, [format_size(n) for n in sizes], fontsize=8)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(case, fontsize=10)
        ax.set_xlabel("elements")
        ax.set_ylabel("Melem/s")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(cases):]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center",
               ncol=min(8, len(handles)), frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
