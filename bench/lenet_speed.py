"""POST /api/activations for lenet_bn: the traced layer table's forward ("after") against the hand-written
forward the LeNet had before ("before", bench/handwritten/sitecustomize.py), two servers side by side in
one run, the same weights, the rounds interleaved so that both see the same machine.

    .venv/bin/python bench/lenet_speed.py [--seconds 10] [--rounds 4]

Prints a markdown table for docs/benchmarks.md. Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.activations import digit_png
from bench.common import lua_post, wrk
from harness.multipart import multipart
from harness.server import server

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"


def answer(base: str, body: bytes, ctype: str) -> bytes:
    req = urllib.request.Request(
        f"{base}/api/activations?model=lenet_bn", data=body, headers={"Content-Type": ctype}, method="POST"
    )
    with urllib.request.urlopen(req) as r:
        return r.read()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    body, ctype = multipart({"file": ("digit.png", digit_png(), "image/png")})
    script = lua_post(body, ctype)
    url = "/api/activations?model=lenet_bn"
    before_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(HANDWRITTEN), os.environ.get("PYTHONPATH")]))}
    with server() as (after, _), server(env=before_env) as (before, _):
        if answer(after, body, ctype) != answer(before, body, ctype):
            raise SystemExit("the two forwards answer differently: the comparison would be meaningless")
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        for base in (before, after):
            wrk(base + url, 8, 3, script)  # warm-up
        for _ in range(args.rounds):
            for connections in (8, 1):
                for name, base in (("before", before), ("after", after)):
                    runs.setdefault((name, connections), []).append(wrk(base + url, connections, args.seconds, script))
    print(
        f"python bench/lenet_speed.py --seconds {args.seconds} --rounds {args.rounds}  "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})\n"
    )
    print("| connections | forward | req/s (median of rounds) | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for connections in (8, 1):
        rps = {}
        for name in ("before", "after"):
            got = runs[(name, connections)]
            rps[name] = statistics.median(r["rps"] for r in got)
            p50 = statistics.median(r["p50_ms"] for r in got)
            p99 = statistics.median(r["p99_ms"] for r in got)
            errors = int(sum(r["non_2xx"] + r["socket_errors"] for r in got))
            label = "hand-written (before)" if name == "before" else "traced table (after)"
            print(f"| {connections} | {label} | {rps[name]:.0f} | {p50:.2f} | {p99:.2f} | {errors} |")
        print(f"| {connections} | **after / before** | **{rps['after'] / rps['before']:.1%}** | | | |")


if __name__ == "__main__":
    main()
