"""Helpers for the benchmarks: wrk runs parsed into numbers. The server, Chromium and multipart bodies
come from ``harness`` (shared with the tests)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path


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


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, connections: int, seconds: int, script: str | None = None, threads: int = 1) -> dict[str, float]:
    """Run wrk; returns requests/s, p50/p99 in ms, and error counts."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out).groups()
        result[f"p{pct}_ms"] = float(value) * UNITS[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    result["socket_errors"] = float(sum(int(g) for g in socket_errors.groups())) if socket_errors else 0.0
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))
    return result
