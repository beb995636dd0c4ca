"""``convlens serve`` in a subprocess on 127.0.0.1 and a free port, and a process tree's memory."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_ATTEMPTS = 3  # another process may take the free port between choosing it and binding it
START_GUARD_SECONDS = 180  # only against a server that hangs while starting; a slow start is fine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket listening on 127.0.0.1:``port`` (not another server that
    took the same port)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # an fd closed while we look
            links.append(os.readlink(fd))
    return bool(inodes.intersection(links))


def _start(
    workers: int, env: dict[str, str] | None, factory: str | None, root: Path = ROOT
) -> tuple[str, subprocess.Popen] | None:
    """Start a server from the checkout ``root``; (base URL, process) once it answers, or None if it exited
    first (port taken)."""
    port = free_port()
    if factory is None:
        cmd = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)]
    else:  # an app built by a function (uvicorn --factory), e.g. one serving a network defined in the tests
        cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], cwd=root, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    guard = time.monotonic() + START_GUARD_SECONDS
    while proc.poll() is None:
        if _healthy(base) and _listens(proc.pid, port):
            return base, proc
        if time.monotonic() > guard:
            proc.terminate()
            proc.wait()
            raise RuntimeError(f"the server did not answer within {START_GUARD_SECONDS} s")
        time.sleep(0.1)
    proc.wait()
    return None


@contextlib.contextmanager
def server(
    workers: int = 1, env: dict[str, str] | None = None, factory: str | None = None, root: Path = ROOT
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``convlens serve`` (or the app ``factory``, "module:function", builds) on 127.0.0.1 and a free port;
    yields (base URL, process), stops it after. ``root``: the checkout to serve (``python -m app`` there, so
    its own ``app`` package and models; a benchmark's copy of an earlier commit), by default this one."""
    for _ in range(START_ATTEMPTS):
        started = _start(workers, env, factory, root)
        if started is not None:
            break
    else:
        raise RuntimeError(f"the server exited before answering, {START_ATTEMPTS} times")
    base, proc = started
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def rss_kib(pid: int) -> int:
    """Resident set size of a process and its children, in KiB."""
    total = 0
    pids = [pid] + [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total
