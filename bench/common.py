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
