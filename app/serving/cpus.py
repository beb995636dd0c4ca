"""How many CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota.

A container's ``--cpus`` (Docker, compose's ``cpus:``) or a Kubernetes CPU limit is a CFS quota: so much
CPU time per period, on any of the machine's cores. torch's own default counts the machine's cores, so
in a container limited to 2 CPUs on a 64-core node it would start 64 threads and be throttled. The
quota is read from cgroup v2 (``cpu.max``) or v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), from the
process's own cgroup up to the root (a parent's limit applies too), and rounded down: threads never ask
for more CPU time than the container may use. ``--cpuset-cpus`` shows up as the affinity.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def affinity_cpus() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``; the CPU count where that is missing)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _own_cgroups(text: str) -> dict[str, str]:
    """``/proc/self/cgroup`` -> ``{controller: path}``; cgroup v2's single line is under ``""``."""
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _folders(mount: Path, path: str) -> list[Path]:
    """The cgroup's folder under ``mount`` and its parents up to ``mount``. Inside a container the mount
    often shows the container's own cgroup as its root, and the path (seen from the host) is not there:
    then the mount itself is the cgroup's folder."""
    own = mount / path.lstrip("/")
    if not own.is_dir():
        own = mount
    return [own, *[p for p in own.parents if p.is_relative_to(mount)]]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_quota(folder: Path) -> float | None:
    """``cpu.max`` is ``"<quota> <period>"`` or ``"max <period>"`` (no limit)."""
    text = _read(folder / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return int(quota) / int(period)


def _v1_quota(folder: Path) -> float | None:
    """``cpu.cfs_quota_us`` is -1 when there is no limit."""
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = int(quota or ""), int(period or "")
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> float | None:
    """The smallest CPU quota (in CPUs, may be fractional) on this process's cgroup path, v2 or v1;
    None when there is none (or no cgroup file system)."""
    if proc_cgroup is None:
        proc_cgroup = _read(Path("/proc/self/cgroup")) or ""
    paths = _own_cgroups(proc_cgroup)
    quotas: list[float] = []
    if "" in paths and (root / "cgroup.controllers").is_file():  # cgroup v2, mounted at the root
        quotas += [q for f in _folders(root, paths[""]) if (q := _v2_quota(f)) is not None]
    if "cpu" in paths:  # cgroup v1: the cpu controller's own hierarchy
        mount = next((m for m in (root / "cpu", root / "cpu,cpuacct") if m.is_dir()), None)
        if mount is not None:
            quotas += [q for f in _folders(mount, paths["cpu"]) if (q := _v1_quota(f)) is not None]
    return min(quotas, default=None)


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> int:
    """CPUs this process may use: the affinity, capped by the cgroup quota rounded down; at least 1."""
    cpus = affinity_cpus()
    quota = cgroup_cpu_quota(root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, math.floor(quota))
    return max(1, cpus)
