"""Where bench/attack.py sends its requests: a bare `convlens serve`, or the Docker image run in a 1 GiB
container (``../shared/tools/docker-here``); both expose the serving process's CPU time and peak memory,
and whether it is still the same, living process."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.server import ROOT, free_port

TICK = os.sysconf("SC_CLK_TCK")
CONTAINER_ARGS = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--memory", "1g", "--memory-swap", "1g"]
FILES = 1024  # the open-file limit the server runs with (the probe's `ulimit -n 1024`)


@dataclass
class Target:
    name: str
    base: str
    pid: int  # the process that serves (its CPU and memory are measured)
    cgroup: Path | None = None  # the container's memory cgroup (v1), if any
    notes: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def cpu(self) -> float:
        """User + system seconds of the serving process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def _status(self, name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * 1024
        raise KeyError(name)

    def rss(self) -> int:
        return self._status("VmRSS:")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                (self.cgroup / "memory.max_usage_in_bytes").write_text("0")

    def peak(self) -> int:
        """The process's peak resident memory since ``reset_peak``."""
        return self._status("VmHWM:")

    def cgroup_peak(self) -> int | None:
        """The container's peak memory (what its 1 GiB limit counts), if it has one."""
        if self.cgroup is None:
            return None
        return int((self.cgroup / "memory.max_usage_in_bytes").read_text())

    def oom_kills(self) -> int | None:
        if self.cgroup is None:
            return None
        text = (self.cgroup / "memory.oom_control").read_text()
        return int(text.split("oom_kill ")[1].split()[0]) if "oom_kill " in text else 0

    def alive(self) -> bool:
        """The same process is still serving /healthz."""
        if not Path(f"/proc/{self.pid}").exists():
            return False
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=10) as r:
                return r.status == 200
        except OSError:
            return False


def wait_healthy(base: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                raise RuntimeError(f"{base} did not become healthy") from None
            time.sleep(0.3)


def _files_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILES, FILES))


@contextlib.contextmanager
def bare(env: dict[str, str] | None = None) -> Iterator[Target]:
    """`convlens serve` (one worker, the default budgets) with at most 1024 open files."""
    port = free_port()
    cmd = [sys.executable, "-m", "app", "serve", "--port", str(port), "--log-level", "error"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, preexec_fn=_files_limit)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield Target("bare server", base, proc.pid, notes=[f"`convlens serve`, ulimit -n {FILES}"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# What the balancer's image (nginx's official one, compose.yaml) sets around deploy/nginx/convlens.conf,
# with every file nginx writes in one temporary folder, so that it runs unprivileged.
NGINX_MAIN = """worker_processes auto;
pid {folder}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/convlens.conf;
}}
"""


@contextlib.contextmanager
def behind_nginx() -> Iterator[Target]:
    """deploy/nginx/convlens.conf (on a free port, its upstream a bare server's port) in front of a bare
    server, in the http block of a minimal nginx.conf."""
    with bare() as app:
        folder = Path(tempfile.mkdtemp(prefix="convlens-nginx-"))
        port = free_port()
        conf = (ROOT / "deploy" / "nginx" / "convlens.conf").read_text()
        conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
        conf = conf.replace("server app:8000 ", f"server 127.0.0.1:{app.port} ")
        (folder / "convlens.conf").write_text(conf)
        (folder / "nginx.conf").write_text(NGINX_MAIN.format(folder=folder))
        proc = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"])
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc)
            notes = ["deploy/nginx/convlens.conf", *app.notes]
            yield Target("nginx in front of the bare server", base, app.pid, notes=notes)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def docker_here() -> str:
    for candidate in (ROOT.parent / "shared" / "tools" / "docker-here", Path("/work/shared/tools/docker-here")):
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError("docker-here not found (../shared/tools/docker-here)")


def _memory_cgroup(pid: int) -> Path | None:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            return folder if folder.is_dir() else None
    return None


@contextlib.contextmanager
def container(tag: str, build: bool) -> Iterator[Target]:
    """The image ``tag`` (built first with ``build``) run by docker-here with a read-only file system, no
    capabilities, 1 GiB of memory (no swap) and 1024 open files, serving on a free port of this host."""
    dh = docker_here()
    if build:
        subprocess.run(["bash", dh, "build", str(ROOT), tag], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    name = f"convlens-attack-{os.getpid()}"
    args = [*CONTAINER_ARGS, "--ulimit", f"nofile={FILES}:{FILES}", "-e", f"PORT={port}", "-e", "LOG_LEVEL=error"]
    subprocess.run(["bash", dh, "run", "-d", "--name", name, *args, tag], check=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        pid = int(
            subprocess.run(
                ["docker", "inspect", "-f", "{{.State.Pid}}", name], capture_output=True, text=True, check=True
            ).stdout
        )
        notes = [f"`docker-here run {' '.join(args)} {tag}`"]
        yield Target("1 GiB container", base, pid, _memory_cgroup(pid), notes)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
