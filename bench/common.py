"""Helpers for the benchmarks: a uvicorn server on a free port, wrk runs parsed into numbers."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Debian's Chromium and the launch arguments every browser run here uses (tests and benchmarks)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(workers: int = 1, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``convlens serve`` on 127.0.0.1 and a free port; yields (base URL, process)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "app",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def multipart(fields: dict[str, tuple[str, bytes, str] | str]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = "convlensbenchboundary"
    chunks = []
    for name, value in fields.items():
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            filename, data, ctype = value
            chunks.append(
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n".encode()
                + data
                + b"\r\n"
            )
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def lua_post(body: bytes, content_type: str) -> str:
    """A wrk script that POSTs ``body``; written to a temporary file, returns its path."""
    folder = Path(tempfile.mkdtemp(prefix="convlens-bench-"))
    (folder / "body.bin").write_bytes(body)
    script = folder / "post.lua"
    script.write_text(
        f'local f = io.open("{folder / "body.bin"}", "rb")\n'
        "wrk.body = f:read('*all')\nf:close()\n"
        'wrk.method = "POST"\n'
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
    )
    return str(script)


COUNT_STATUSES = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %d %d\\n", status, n))
    end
  end
end
"""


def lua_post_counting(body: bytes, content_type: str) -> str:
    """``lua_post``'s script that also prints how many answers had each status (``STATUS code n``)."""
    script = Path(lua_post(body, content_type))
    script.write_text(script.read_text() + COUNT_STATUSES)
    return str(script)


def statuses(out: str) -> dict[int, int]:
    """The ``STATUS code n`` lines of a counting script's output, summed per code."""
    counts: dict[int, int] = {}
    for code, n in re.findall(r"STATUS (\d+) (\d+)", out):
        counts[int(code)] = counts.get(int(code), 0) + int(n)
    return counts


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_command(
    url: str, connections: int, seconds: int, script: str | None = None, threads: int = 1, timeout: int = 2
) -> list[str]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s", "--latency"]
    return [*cmd, *(["-s", script] if script else []), url]


def wrk_result(out: str) -> dict[str, float]:
    """wrk's report: requests/s, p50/p99 in ms, error counts and the number of requests."""
    result: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        found = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        result[f"p{pct}_ms"] = float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    result["socket_errors"] = float(sum(int(g) for g in socket_errors.groups())) if socket_errors else 0.0
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))
    return result


def wrk(
    url: str, connections: int, seconds: int, script: str | None = None, threads: int = 1, timeout: int = 2
) -> dict[str, float]:
    """Run wrk; returns requests/s, p50/p99 in ms, and error counts."""
    cmd = wrk_command(url, connections, seconds, script, threads, timeout)
    return wrk_result(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


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
