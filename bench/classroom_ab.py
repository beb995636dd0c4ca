"""Two servers compared at one class size, in alternating rounds: the same wrk students as bench/classroom.py.

    .venv/bin/python -m bench.classroom_ab DIR_A DIR_B [--env-a K=V ...] [--env-b K=V ...]
        [--students 100] [--seconds 8] [--rounds 3] [--query page] [--query-a float32] [--query-b ...]

Starts a one-process server from each checkout (``git archive <commit> | tar -x -C DIR``; ``.`` is this one)
in turn, warms it for 3 s with 25 students, then loads it for ``--seconds`` with ``--students``; A B A B ...
for ``--rounds`` rounds. The machine's speed drifts from minute to minute by more than most single changes
are worth, so only the two medians of one run are compared. Prints each round (answers/s, p90, the user and
system CPU of the event loop's thread and of all the other threads, and the batch thread's forward passes
from /metrics: images per pass, milliseconds per pass, their share of the round) and the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
import urllib.request
from pathlib import Path

from bench import classroom
from harness.server import server


def thread_cpu(pid: int) -> dict[str, tuple[float, float]]:
    """(user, system) seconds of the process's main thread (the event loop, "loop") and of all its other
    threads together ("others"), from /proc/<pid>/task/*/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {"loop": (0.0, 0.0), "others": (0.0, 0.0)}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        key = "loop" if task.name == str(pid) else "others"
        user, system = out[key]
        out[key] = (user + int(stat[11]) / ticks, system + int(stat[12]) / ticks)
    return out


def forward_passes(base: str, model: str = "lenet_bn") -> tuple[float, float, float]:
    """(passes, seconds, images) of ``model``'s forward passes so far, from the server's /metrics
    (``convlens_inference_seconds``: each batch the batch thread ran, timed around the forward pass, and
    since the table pass around the whole table)."""
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    label = f'{{model="{model}"}}'

    def value(name: str) -> float:
        found = re.search(rf"^{name}{re.escape(label)} (\S+)$", text, re.M)
        return float(found.group(1)) if found else 0.0

    return (
        value("convlens_inference_seconds_count"),
        value("convlens_inference_seconds_sum"),
        value("convlens_inference_images_total"),
    )


def one_round(root: Path, env: dict[str, str], script: str, students: int, seconds: int) -> tuple[float, ...]:
    """answers/s, p90 ms, CPU seconds over the run (the loop's user and system, the other threads'), and
    the batch thread's passes over the run (passes, seconds in them, images)."""
    with server(workers=1, root=root, env=env) as (base, proc):
        classroom.wrk(base, script, 25, 3, 1, None, proc.pid)  # warm-up
        before, passes = thread_cpu(proc.pid), forward_passes(base)
        run = classroom.wrk(base, script, students, seconds, 1, None, proc.pid)
        after, passes_after = thread_cpu(proc.pid), forward_passes(base)
    spent = [after[k][i] - before[k][i] for k in ("loop", "others") for i in (0, 1)]
    return (run.rps, run.p90, *spent, *(b - a for a, b in zip(passes, passes_after, strict=True)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--env-a", nargs="*", default=[])
    p.add_argument("--env-b", nargs="*", default=[])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--query", default="page", help=f"{sorted(classroom.VARIANTS)} or a query string")
    p.add_argument("--query-a", help="what A is sent, if not --query (e.g. float32: its page's request)")
    p.add_argument("--query-b", help="what B is sent, if not --query")
    args = p.parse_args()
    queries = {"A": args.query_a or args.query, "B": args.query_b or args.query}
    scripts = {name: classroom.lua_script(classroom.requests(query), 16) for name, query in queries.items()}
    servers = {
        "A": (args.a.resolve(), dict(kv.split("=", 1) for kv in args.env_a)),
        "B": (args.b.resolve(), dict(kv.split("=", 1) for kv in args.env_b)),
    }
    results: dict[str, list[tuple[float, ...]]] = {"A": [], "B": []}
    print(f"load average {os.getloadavg()[0]:.2f} before; {args.students} students, {args.seconds} s rounds")
    for r in range(args.rounds):
        for name, (root, env) in servers.items():
            rps, p90, loop_user, loop_sys, other_user, other_sys, passes, in_passes, images = one_round(
                root, env, scripts[name], args.students, args.seconds
            )
            results[name].append((rps, p90))
            answers = rps * args.seconds
            print(
                f"round {r + 1} {name} ({root}, {env or 'default'}, {queries[name]}):"
                f" {rps:.0f} answers/s, p90 {p90:.1f} ms;"
                f" CPU s user/system: event loop {loop_user:.2f}/{loop_sys:.2f}, other threads"
                f" {other_user:.2f}/{other_sys:.2f}; event loop {(loop_user + loop_sys) / answers * 1000:.2f}"
                f" ms per answer; forward passes: {images / max(passes, 1):.1f} images and"
                f" {1000 * in_passes / max(passes, 1):.2f} ms each, {in_passes / args.seconds:.0%} of the round",
                flush=True,
            )
            time.sleep(1)
    for name, rows in results.items():
        rps = statistics.median(r[0] for r in rows)
        p90 = statistics.median(r[1] for r in rows)
        print(f"{name}: median {rps:.0f} answers/s, p90 {p90:.1f} ms")


if __name__ == "__main__":
    main()
