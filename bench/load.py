"""Sustained load: a mix of real requests at concurrency 32 for 60 s against `convlens serve`, with one
worker and then two; errors, throughput, latency and the server's memory before and after.

    .venv/bin/python bench/load.py [--seconds 60] [--connections 32] [--warmup 10] [--workers 1 2] [--rounds 1]

The mix, in rotation on every wrk connection: POST /api/activations (a 28x28 PNG upload, all layers),
POST /api/convolve (a 5x5 kernel on sample 0, the default answer: data + png), GET
/api/layers/conv2/weights and GET / (the explorer page). Memory is the resident set size (VmRSS) of the
worker processes: measured after start-up ("cold"), after a warm-up run of the same mix ("before") and
after the timed run ("after"); growth is after vs before. ``--rounds N`` repeats the timed run N times on
the same server to show whether the memory levels off. Prints a markdown table for docs/benchmarks.md.
Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.datasets import mnist
from bench.common import wrk
from harness.multipart import multipart
from harness.server import server

KERNEL_5X5 = [[1, 4, 6, 4, 1], [4, 16, 24, 16, 4], [6, 24, -476, 24, 6], [4, 16, 24, 16, 4], [1, 4, 6, 4, 1]]


def digit_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mnist.load("test").images[0]).save(buf, format="PNG")
    return buf.getvalue()


def mix_script() -> str:
    """A wrk Lua script sending the four requests in turn; returns its path."""
    folder = Path(tempfile.mkdtemp(prefix="convlens-load-"))
    acts, acts_type = multipart({"file": ("digit.png", digit_png(), "image/png")})
    conv, conv_type = multipart({"sample": "0", "spec": json.dumps({"kernels": [KERNEL_5X5], "padding": "same"})})
    (folder / "activations.bin").write_bytes(acts)
    (folder / "convolve.bin").write_bytes(conv)
    script = folder / "mix.lua"
    script.write_text(
        f"""
local function read(path)
  local f = io.open(path, "rb")
  local data = f:read("*all")
  f:close()
  return data
end
local requests = {{}}
local n = 0
init = function(args)
  requests = {{
    wrk.format("POST", "/api/activations", {{["Content-Type"] = "{acts_type}"}}, read("{folder / "activations.bin"}")),
    wrk.format("POST", "/api/convolve", {{["Content-Type"] = "{conv_type}"}}, read("{folder / "convolve.bin"}")),
    wrk.format("GET", "/api/layers/conv2/weights"),
    wrk.format("GET", "/"),
  }}
end
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end
"""
    )
    return str(script)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def worker_pids(pid: int, workers: int) -> list[int]:
    """The processes that serve requests: the server itself with one worker; with more, uvicorn's
    children that run the app (spawned Python processes), not its supervisor."""
    if workers == 1:
        return [pid]
    children = [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    return [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]


def check(base: str) -> None:
    for path in ("/healthz", "/", "/api/layers/conv2/weights"):
        with urllib.request.urlopen(base + path) as r:
            assert r.status == 200, path


def run(workers: int, seconds: int, connections: int, warmup: int, script: str, rounds: int, env: dict) -> dict:
    with server(workers=workers, env=env) as (base, proc):
        check(base)
        pids = worker_pids(proc.pid, workers)
        assert len(pids) == workers, f"expected {workers} worker processes, found {pids}"
        cold = sum(rss_kib(p) for p in pids)
        warm = wrk(base + "/", connections, warmup, script)
        before = [rss_kib(p) for p in pids]
        result = wrk(base + "/", connections, seconds, script)
        after = [rss_kib(p) for p in pids]
        later = []  # more timed runs on the same server: does the memory level off?
        for _ in range(rounds - 1):
            extra = wrk(base + "/", connections, seconds, script)
            later.append((extra, sum(rss_kib(p) for p in pids)))
        check(base)  # still serving
        supervisor = rss_kib(proc.pid) if workers > 1 else 0
    return {
        "workers": workers,
        "result": result,
        "warmup_errors": warm["non_2xx"] + warm["socket_errors"],
        "cold": cold,
        "before": sum(before),
        "after": sum(after),
        "per_worker": list(zip(before, after, strict=True)),
        "supervisor": supervisor,
        "later": later,
    }


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=1, help="timed runs per server (RSS after each)")
    p.add_argument("--malloc-arena-max", type=int, help="run the server with MALLOC_ARENA_MAX set (glibc)")
    args = p.parse_args()
    script = mix_script()
    load_before = os.getloadavg()[0]
    env = {"MALLOC_ARENA_MAX": str(args.malloc_arena_max)} if args.malloc_arena_max else {}
    runs = [run(w, args.seconds, args.connections, args.warmup, script, args.rounds, env) for w in args.workers]
    print(
        f"`.venv/bin/python bench/load.py --seconds {args.seconds} --connections {args.connections}"
        f" --warmup {args.warmup} --workers {' '.join(map(str, args.workers))} --rounds {args.rounds}"
        + (f" --malloc-arena-max {args.malloc_arena_max}`" if args.malloc_arena_max else "`")
        + f" ({platform.machine()}, {os.cpu_count()} cores; load average {load_before:.2f} before,"
        f" {os.getloadavg()[0]:.2f} after)\n"
    )
    print(
        "| workers | requests | errors (non-2xx + socket) | req/s | p50 ms | p99 ms "
        "| RSS cold MiB | RSS before MiB | RSS after MiB | growth |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        res = r["result"]
        errors = int(res["non_2xx"] + res["socket_errors"])
        growth = (r["after"] - r["before"]) / r["before"]
        print(
            f"| {r['workers']} | {int(res['requests'])} | {errors} | {res['rps']:.0f} | {res['p50_ms']:.1f}"
            f" | {res['p99_ms']:.1f} | {mib(r['cold'])} | {mib(r['before'])} | {mib(r['after'])} | {growth:+.1%} |"
        )
    for r in runs:
        workers = ", ".join(f"{mib(b)} -> {mib(a)}" for b, a in r["per_worker"])
        extra = f"; uvicorn supervisor {mib(r['supervisor'])} MiB (not counted)" if r["supervisor"] else ""
        print(
            f"\n{r['workers']} worker(s): per worker MiB before -> after: {workers}{extra};"
            f" warm-up errors {int(r['warmup_errors'])}"
        )
        for k, (res, rss) in enumerate(r["later"], start=2):
            errors = int(res["non_2xx"] + res["socket_errors"])
            print(
                f"- run {k}: {int(res['requests'])} requests, {errors} errors, {res['rps']:.0f} req/s,"
                f" p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms; RSS after {mib(rss)} MiB"
                f" ({(rss - r['before']) / r['before']:+.1%} vs before)"
            )


if __name__ == "__main__":
    main()
