"""Server CPU per answer for the draw pad's request, two servers compared in one run.

    .venv/bin/python -m bench.request_cost [--before DIR] [--env-a K=V ...] [--env-b K=V ...]
        [--rounds 6] [--seconds 4] [--connections 4] [--query page]

Starts two one-process servers (``convlens serve``): "before" from the checkout DIR (``git archive <commit>
| tar -x -C DIR``; default: this checkout) with ``--env-a``, and "now" from this checkout with ``--env-b``.
Both run at once; wrk then loads them in turn, A B A B ... for ``--rounds`` rounds of ``--seconds`` each, with
``--connections`` connections sending bench/classroom.py's drawings back to back (no pause). For each round
the server's user+system CPU (its /proc/<pid>/stat) is divided by the answers it gave. Alternating short
rounds lets both servers see the same machine (it is shared and noisy); the ratio of the two medians is
the result, the absolute numbers are only as good as the machine's quiet.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path

from bench.classroom import VARIANTS, lua_script, requests, started, wrk
from harness.server import ROOT


def env_of(items: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, default=ROOT, help="checkout served as A (default: this one)")
    p.add_argument("--env-a", nargs="*", default=[], help="A's environment, e.g. CONVLENS_TORCH_THREADS=1")
    p.add_argument("--env-b", nargs="*", default=[], help="B's environment")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--query", default="page", help=f"{sorted(VARIANTS)} or a query string")
    args = p.parse_args()
    script = lua_script(requests(args.query), 0)
    print(
        f"`.venv/bin/python -m bench.request_cost {' '.join(sys.argv[1:])}`: load average"
        f" {os.getloadavg()[0]:.2f} before",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        servers = {
            "A (before)": stack.enter_context(started(1, args.before.resolve(), None, env_of(args.env_a))),
            "B (now)": stack.enter_context(started(1, ROOT, None, env_of(args.env_b))),
        }
        for base, pid in servers.values():  # warm-up
            wrk(base, script, args.connections, 2, 1, None, pid)
        per_answer: dict[str, list[float]] = {name: [] for name in servers}
        rate: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (base, pid) in servers.items():
                run = wrk(base, script, args.connections, args.seconds, 1, None, pid)
                if run.errors:
                    raise SystemExit(f"{name}: {run.errors} errors")
                per_answer[name].append(1000 * run.server_cpu / run.requests)
                rate[name].append(run.rps)
    print("\n| server | server CPU ms/answer, median (min-max) | answers/s, median |")
    print("|---|---:|---:|")
    for name in servers:
        ms, median = per_answer[name], statistics.median(per_answer[name])
        print(f"| {name} | {median:.2f} ({min(ms):.2f}-{max(ms):.2f}) | {statistics.median(rate[name]):.0f} |")
    a, b = (statistics.median(per_answer[name]) for name in servers)
    print(f"\nB / A: {b / a:.2f}; load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
