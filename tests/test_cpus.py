"""The CPUs a process may use (app/serving/cpus.py), read from cgroup file systems laid out in a temporary
folder the way cgroup v2 and v1 show them inside and outside a container, and the torch threads the
settings derive from them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import config
from app.config import Settings
from app.serving import cpus

CONTAINER = "/docker/0123abcd"  # the process's cgroup as /proc/self/cgroup names it


def v2_tree(root: Path, limits: dict[str, str]) -> Path:
    """A cgroup v2 mount: ``limits`` maps a cgroup path ("" for the root) to its cpu.max line."""
    (root / "cgroup.controllers").parent.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for path, line in limits.items():
        folder = root / path.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cpu.max").write_text(line + "\n")
    return root


def v1_tree(root: Path, limits: dict[str, tuple[int, int]], mount: str = "cpu") -> Path:
    """A cgroup v1 cpu hierarchy: ``limits`` maps a cgroup path to (cfs_quota_us, cfs_period_us)."""
    for path, (quota, period) in limits.items():
        folder = root / mount / path.lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (folder / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


V2_SELF = f"0::{CONTAINER}\n"
V1_SELF = f"12:memory:{CONTAINER}\n4:cpu,cpuacct:{CONTAINER}\n0::{CONTAINER}\n"


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: set(range(8)))


@pytest.mark.parametrize(
    ("line", "quota", "available"),
    [
        ("200000 100000", 2.0, 2),  # docker --cpus 2, a Kubernetes limit of 2
        ("150000 100000", 1.5, 1),  # rounded down: never more threads than CPU time
        ("50000 100000", 0.5, 1),  # at least one
        ("max 100000", None, 8),  # no limit: the affinity
    ],
)
def test_cgroup_v2_quota_inside_a_container(
    tmp_path: Path, eight_cores: None, line: str, quota: float | None, available: int
) -> None:
    """Inside a container the mount shows the container's own cgroup as the root."""
    root = v2_tree(tmp_path, {"": line})
    assert cpus.cgroup_cpu_quota(root, "0::/\n") == quota
    assert cpus.available_cpus(root, "0::/\n") == available


def test_cgroup_v2_the_smallest_limit_on_the_path_counts(tmp_path: Path, eight_cores: None) -> None:
    """Seen from the host: the process's cgroup and its parents (a pod's limit, a slice's) all apply."""
    root = v2_tree(tmp_path, {"": "max 100000", "/docker": "300000 100000", CONTAINER: "max 100000"})
    assert cpus.cgroup_cpu_quota(root, V2_SELF) == 3.0
    assert cpus.available_cpus(root, V2_SELF) == 3


def test_cgroup_v2_path_not_visible_falls_back_to_the_mount(tmp_path: Path, eight_cores: None) -> None:
    """/proc/self/cgroup names the host's path, but the container's mount shows only its own cgroup."""
    root = v2_tree(tmp_path, {"": "100000 100000"})
    assert cpus.available_cpus(root, V2_SELF) == 1


@pytest.mark.parametrize("mount", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_quota(tmp_path: Path, eight_cores: None, mount: str) -> None:
    root = v1_tree(tmp_path, {"/": (-1, 100000), CONTAINER: (400000, 100000)}, mount)
    assert cpus.cgroup_cpu_quota(root, V1_SELF) == 4.0
    assert cpus.available_cpus(root, V1_SELF) == 4


def test_cgroup_v1_no_limit(tmp_path: Path, eight_cores: None) -> None:
    root = v1_tree(tmp_path, {"/": (-1, 100000)})
    assert cpus.cgroup_cpu_quota(root, "4:cpu,cpuacct:/\n") is None
    assert cpus.available_cpus(root, "4:cpu,cpuacct:/\n") == 8


def test_the_affinity_caps_a_larger_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docker --cpuset-cpus 0,1 with --cpus 4: two CPUs."""
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {0, 1})
    root = v2_tree(tmp_path, {"": "400000 100000"})
    assert cpus.available_cpus(root, "0::/\n") == 2


def test_no_cgroup_file_system(tmp_path: Path, eight_cores: None) -> None:
    assert cpus.cgroup_cpu_quota(tmp_path / "missing", "") is None
    assert cpus.available_cpus(tmp_path / "missing", "") == 8


def test_garbage_in_the_files_is_no_limit(tmp_path: Path, eight_cores: None) -> None:
    root = v2_tree(tmp_path, {"": "lots 100000"})
    assert cpus.available_cpus(root, "0::/\n") == 8


# --- the settings ------------------------------------------------------------------------------------------


@pytest.fixture
def three_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "available_cpus", lambda: 3)
    monkeypatch.delenv("CONVLENS_TORCH_THREADS", raising=False)
    monkeypatch.delenv("WORKERS", raising=False)


def test_torch_threads_default_to_the_available_cpus(three_cpus: None) -> None:
    assert Settings.from_env().torch_threads == 3


def test_torch_threads_are_shared_among_the_workers(three_cpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS", "2")
    assert Settings.from_env().torch_threads == 1
    monkeypatch.setenv("WORKERS", "4")
    assert Settings.from_env().torch_threads == 1  # never 0


def test_the_environment_fixes_the_torch_threads(three_cpus: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_TORCH_THREADS", "5")
    assert Settings.from_env().torch_threads == 5
    monkeypatch.setenv("CONVLENS_TORCH_THREADS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        Settings.from_env()


@pytest.mark.parametrize(("given", "seen"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_threads_sleep_while_they_wait_unless_told_otherwise(given: str | None, seen: str) -> None:
    """A process that runs the app has OMP_WAIT_POLICY set before torch loads (app/__init__.py)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = "import app.main, os; print(os.environ['OMP_WAIT_POLICY'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == seen
