"""Throughput and latency of POST /api/activations next to GET /healthz on the same server.

    .venv/bin/python bench/activations.py [--seconds 15] [--workers 1]

Prints a markdown table for docs/benchmarks.md. Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import urllib.request
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.datasets import mnist
from bench.common import lua_post, wrk
from harness.multipart import multipart
from harness.server import server


def digit_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mnist.load("test").images[0]).save(buf, format="PNG")
    return buf.getvalue()


def response_bytes(url: str, body: bytes, ctype: str) -> int:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype}, method="POST")
    with urllib.request.urlopen(req) as r:
        return len(r.read())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--connections", type=int, default=8)
    args = p.parse_args()
    body, ctype = multipart({"file": ("digit.png", digit_png(), "image/png")})
    script = lua_post(body, ctype)
    rows = []
    with server(workers=args.workers) as (base, _):
        sizes = {dt: response_bytes(f"{base}/api/activations?dtype={dt}", body, ctype) for dt in ("float32", "float16")}
        wrk(f"{base}/api/activations", args.connections, 3, script)  # warm-up
        for c in (args.connections, 1):
            health = wrk(f"{base}/healthz", c, args.seconds)
            acts = wrk(f"{base}/api/activations", c, args.seconds, script)
            rows.append((c, health, acts))
    print(
        f"python bench/activations.py --seconds {args.seconds} --workers {args.workers} "
        f"--connections {args.connections}  ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})\n"
    )
    print("| concurrency | route | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for c, health, acts in rows:
        for name, r in (("GET /healthz", health), ("POST /api/activations", acts)):
            errors = int(r["non_2xx"] + r["socket_errors"])
            print(f"| {c} | {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {errors} |")
        print(f"| {c} | **activations / healthz** | **{acts['rps'] / health['rps']:.1%}** | | | |")
    print(f"\nresponse size: float32 {sizes['float32'] / 1024:.0f} KiB, float16 {sizes['float16'] / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
