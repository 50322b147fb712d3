"""Description of the machine and software a run was measured on."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith(("model name", "Model name", "Hardware")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            wanted = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "asimd", "sve")
            have = set(line.split(":", 1)[1].split())
            return [f for f in wanted if f in have]
    return []


def affinity() -> list[int] | None:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None


def cgroup_cpu_quota() -> float | None:
    """CPUs allowed by a cgroup v2 quota (cpu.max), or None when unlimited/unknown."""
    text = _read("/sys/fs/cgroup/cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    try:
        return int(quota) / int(period or 100000)
    except ValueError:
        return None


def memory_gib() -> float | None:
    text = _read("/proc/meminfo") or ""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def caches() -> dict[str, str]:
    """Data/unified cache sizes of CPU 0 by level, e.g. {"L1d": "32K", "L2": "1024K", "L3": "32768K"}."""
    out = {}
    for d in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        level, kind, size = (_read(str(d / f)) for f in ("level", "type", "size"))
        if level and size and kind in ("Data", "Unified"):
            out[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return out


def format_cache(size: str) -> str:
    """'32768K' -> '32 MiB', '1024K' -> '1 MiB', '48K' -> '48 KiB'."""
    if size.endswith("K") and size[:-1].isdigit():
        kib = int(size[:-1])
        return f"{kib // 1024} MiB" if kib % 1024 == 0 else f"{kib} KiB"
    return size


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def describe() -> dict:
    aff = affinity()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "machine": platform.machine(),
        "os_cpu_count": os.cpu_count(),
        "affinity": aff,
        "usable_cpus": len(aff) if aff is not None else os.cpu_count(),
        "cgroup_cpu_quota": cgroup_cpu_quota(),
        "memory_gib": memory_gib(),
        "caches": caches(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "git_commit": git_commit(),
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("FASTBCE_", "OMP_", "MKL_", "OPENBLAS_", "NUMBA_", "XLA_", "TF_NUM"))},
    }


def one_line(info: dict) -> str:
    load = info.get("loadavg")
    return (f"{info['cpu_model']} | {info['usable_cpus']} usable of {info['os_cpu_count']} CPUs"
            f" | {info['memory_gib']} GiB | {info['platform']} | Python {info['python']}"
            + (f" | load {load[0]:.2f} at start" if load else ""))


def busy_warning(info: dict, at_end: bool = False) -> str | None:
    """A warning when other processes keep the CPUs busy: multi-threaded contenders (fastbce,
    torch, numba, XLA) then stall on descheduled workers and the numbers mean little."""
    load = info.get("loadavg_at_end" if at_end else "loadavg")
    if not load:
        return None
    # At the end the bench itself accounts for up to one runnable thread per usable CPU.
    limit = info["usable_cpus"] + 0.5 if at_end else 0.5
    if load[0] > limit:
        when = "when the bench ended" if at_end else "before the bench started"
        return (f"warning: load average {load[0]:.2f} {when}; other processes compete for the "
                f"{info['usable_cpus']} CPUs and multi-threaded timings will be noisy")
    return None
