"""The first request of every GET route on a freshly started server: ``convlens serve`` in its own process on
a free port, waited for until GET /healthz answers (the start-up is timed too), then each GET address once
(harness/routes.py: the API, the pages, the documentation; every route that takes ``?model=`` once per
served model), one after another, each on a new connection.

    .venv/bin/python bench/fresh_gets.py [--runs 3]

Each run starts a new server. Prints a markdown table for docs/benchmarks.md (per address: the slowest of
the runs' first requests) and exits 1 when any took more than the goal (1 s) or failed (5xx). A 404 or 422
is an answer (a model without a timeline, /api/batchnorm/fold of a model without BatchNorm).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.main import create_app
from app.nets.checkpoint import load_network, model_files
from harness.routes import get_addresses
from harness.server import server

GOAL_SECONDS = 1.0


def first_conv(settings: Settings) -> dict[str, str]:
    """Served model -> its first conv layer (the routes that name a layer ask for it), read from the files."""
    found = {}
    for folder in settings.model_dirs:
        for checkpoint in model_files(folder):
            network, _ = load_network(checkpoint)
            found[checkpoint.stem] = network.of_kind("conv")[0].name
    return found


def timed_get(url: str) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def one_run(addresses: list[str]) -> tuple[float, dict[str, tuple[int, float]]]:
    start = time.perf_counter()
    with server() as (base, _):
        ready = time.perf_counter() - start
        return ready, {a: timed_get(base + a) for a in addresses}


def main() -> int:
    p = argparse.ArgumentParser(prog="python bench/fresh_gets.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="fresh servers, one after another")
    args = p.parse_args()
    settings = Settings.from_env()
    addresses = get_addresses(create_app(settings), first_conv(settings), settings.default_model)
    readies, worst = [], {a: (0, 0.0) for a in addresses}
    for _ in range(args.runs):
        ready, results = one_run(addresses)
        readies.append(ready)
        for a, (status, seconds) in results.items():
            worst[a] = (max(status, worst[a][0]), max(seconds, worst[a][1]))
    print(f"start-up to ready (GET /healthz answers): {', '.join(f'{r:.1f} s' for r in readies)}\n")
    print("| first GET after start-up | status | slowest of the runs |")
    print("|---|---|---|")
    for a, (status, seconds) in sorted(worst.items(), key=lambda kv: -kv[1][1]):
        print(f"| `{a}` | {status} | {seconds * 1000:.0f} ms |")
    slow = [a for a, (_, s) in worst.items() if s > GOAL_SECONDS]
    failed = [a for a, (status, _) in worst.items() if status >= 500]
    print(f"\n{len(addresses)} addresses, {args.runs} runs; over {GOAL_SECONDS:g} s: {len(slow)}, 5xx: {len(failed)}")
    return 1 if slow or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
