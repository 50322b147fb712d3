"""Opt-in performance targets: ``python -m bench --targets bench/targets.toml``.

The project tracks a few internal targets (minimum ratios to the best peer, a latency bound, an
accuracy bound). They are not part of the benchmark's output unless asked for: a user reads the
measured numbers, and a target file says which of them a maintainer wants to stay above or below.

A target file is TOML with one ``[[target]]`` table per target::

    [[target]]
    metric = "peer_ratio"            # a metric of bench.report.METRICS
    case = "f32-prob-binary-mean"    # the case, for per-case metrics
    size = "1M"                      # the size, for per-size metrics
    min = 8.0                        # and/or max = ...; identical_bits takes neither

The metrics are the numbers of ``bench.report.metrics``: ``peer_ratio`` (fastbce / best peer),
``roofline_peer_ratio`` (the read roofline timed beside the peers / best peer: the most any loss that reads its
inputs could reach there),
``roofline_share`` (fraction of the same-size read roofline, 0..1), ``rows_ratio`` (rows of 16 /
``[n, 1]``, case = the ``[n, 1]`` name), ``melem_s``, ``latency_us`` (the 1x4 call),
``rel_err`` (1e8-element float32 mean vs float64), ``identical_bits``, and for ``--cases grad``
``grad_peer_ratio`` and ``grad_roofline_share`` (of the three-stream roofline; case =
``grad-f32-prob-binary`` or ``grad-f32-logits-binary``).
"""
from __future__ import annotations

from pathlib import Path

from bench.cases import format_size, label_of, parse_size
from bench.report import METRICS, find_metric


def load(path: str | Path) -> list[dict]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ImportError as e:
            raise SystemExit("--targets reads TOML: needs Python 3.11+ or `pip install tomli`") from e
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    targets = doc.get("target", [])
    for t in targets:
        if t.get("metric") not in METRICS:
            raise SystemExit(f"{path}: unknown metric {t.get('metric')!r}; known: {', '.join(METRICS)}")
        if "case" in t:
            label_of(t["case"])  # ValueError for a name that does not exist
        if "size" in t:
            t["size"] = parse_size(str(t["size"]))
        if t["metric"] != "identical_bits" and "min" not in t and "max" not in t:
            raise SystemExit(f"{path}: target {t} has neither min nor max")
    return targets


def check(targets: list[dict], ms: list[dict]) -> list[dict]:
    """One row per target: ``{target, measured, status}``, status "meets target", "below target"
    (or "above target" for a maximum) or "not measured"."""
    rows = []
    for t in targets:
        m = find_metric(ms, t["metric"], t.get("case"), t.get("size"))
        row = {"target": t, "measured": None if m is None else m["value"]}
        if m is None:
            row["status"] = "not measured"
        elif t["metric"] == "identical_bits":
            row["status"] = "meets target" if m["value"] else "below target"
        elif "min" in t and m["value"] < t["min"]:
            row["status"] = "below target"
        elif "max" in t and m["value"] > t["max"]:
            row["status"] = "above target"
        else:
            row["status"] = "meets target"
        rows.append(row)
    return rows


def _value(metric: str, v) -> str:
    if v is None:
        return "-"
    if metric in ("roofline_share", "grad_roofline_share"):
        return f"{v * 100:.0f}%"
    if metric in ("peer_ratio", "roofline_peer_ratio", "rows_ratio", "grad_peer_ratio"):
        return f"{v:.2f}x"
    if metric == "rel_err":
        return f"{v:.2e}"
    if metric == "identical_bits":
        return "identical" if v else "different"
    return f"{v:.3g}"


def _size(n: int) -> str:
    text = format_size(n)
    return text if not text.isdigit() or n < 10**6 else f"{n:.0e}".replace("e+0", "e").replace("e+", "e")


def text(rows: list[dict], path: str) -> str:
    lines = [f"Targets from {path} (this run):"]
    for r in rows:
        t = r["target"]
        what = METRICS[t["metric"]][0]
        where = ", ".join(x for x in (label_of(t["case"]) if "case" in t else "",
                                      _size(t["size"]) if "size" in t else "") if x)
        bound = " and ".join(f"{'>=' if k == 'min' else '<='} {_value(t['metric'], t[k])}"
                             for k in ("min", "max") if k in t)
        lines.append(f"  {r['status']:<13} {what}{' (' + where + ')' if where else ''}: "
                     f"{_value(t['metric'], r['measured'])}" + (f"  (target {bound})" if bound else ""))
    return "\n".join(lines)


def missed(rows: list[dict]) -> bool:
    return any(r["status"] in ("below target", "above target") for r in rows)
