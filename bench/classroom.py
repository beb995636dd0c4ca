"""Students served: N simulated students drawing on the explorer's pad at once, against one server.

    .venv/bin/python -m bench.classroom [--students 25 50 100 200] [--workers 1 2] [--seconds 15]
        [--variants page] [--server-cpus 0 --wrk-cpus 1] [--before DIR]

Each student is one wrk connection that does what the explorer's draw pad does (static/js/explorer.js,
api.js): POST /api/activations with the JSON body ``{"pixels": 28 rows of 28 numbers}`` (the pad's
280x280 canvas reduced to 28x28 block means, 4 decimals, as ``DrawPad.toPixels`` writes them), the query
the page builds, one request in flight, and a pause of ``--pause-ms`` (16 ms, a frame) after each answer
before the next drawing goes out. The drawings are strokes of ten digits drawn with the pad's brush, each
stroke sent as it grows: cut at 15 points from 30 to 100% of its length, then the next stroke; 450
different bodies that every connection walks through (from its own starting point), so no two consecutive
requests send the same pixels.

Request variants (``--variants``, see VARIANTS): ``page`` is what the page sends (every layer; float16
maps while a stroke is in progress, float32 for the update after its end: 14 of a stroke's 15 updates
here); ``float32`` is every update in float32 (the page before it asked for float16 while drawing),
``float16`` and ``probs`` what fewer bytes save; or any query string. ``--before DIR`` also runs the sweep
against a server started from DIR (e.g. ``git archive <commit> | tar -x -C DIR``) with ``--before-variant``
(default ``float32``, what the page sent then): the same machine and minutes, the old code.

For every server (1 and 2 uvicorn processes: ``convlens serve --workers N``, the supervisor's children
sharing one socket) and every N: requests, answers/s, p50/p90/p99 latency (wrk's, from the request's
first byte written to the answer's last byte read; the pause is not counted), errors (non-2xx answers
and socket errors: connect, read, write, timeout), the server's CPU per request, and wrk's own CPU (its
user+system seconds over the run, as a share of one core). Then the largest N whose p90 is <= 100 ms.

``--server-cpus`` / ``--wrk-cpus`` pin the server (its processes inherit the affinity, and by default
``CONVLENS_TORCH_THREADS`` follows it) and wrk to CPU sets, so that the generator does not take the
server's core. Needs wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.server import ROOT, server

PAD_PX = 280  # static/js/config.js SIZES.padPx
GRID = 28  # SIZES.padGrid
BRUSHES = (18, 22, 26)  # around SIZES.brush.initial (22)
CUTS = np.linspace(0.3, 1.0, 15)  # how much of a digit is drawn
GOAL_MS = 100.0

# The page's query (api.js `apiUrl`: preprocess, layers, dtype, then model). "page" is what explorer.js
# sends (every layer; API_DEFAULTS.strokeDtype while a stroke is in progress, API_DEFAULTS.dtype for the
# update after its end); the others are one query for every update: float32 maps (the page before it used
# float16 while drawing), float16 maps, and the prediction alone (the route's floor without the maps).
PAGE_QUERY = "preprocess=auto&dtype={dtype}&model=lenet_bn"
VARIANTS = {
    "page": PAGE_QUERY,
    "float32": PAGE_QUERY.format(dtype="float32"),
    "float16": PAGE_QUERY.format(dtype="float16"),
    "probs": PAGE_QUERY.format(dtype="float32") + "&layers=probs",
}
STROKE_DTYPE, END_DTYPE = "float16", "float32"  # static/js/config.js API_DEFAULTS.strokeDtype, .dtype

# Digits as polylines in 28x28 units (MNIST's digits fill the middle 20x20).
DIGITS = {
    "0": [(14 + 6 * math.sin(t), 14 - 9 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 24)],
    "1": [(14, 5), (14, 23)],
    "2": [(8, 9), (10, 6), (14, 5), (18, 6), (19, 9), (17, 13), (12, 18), (8, 23), (20, 23)],
    "3": [(8, 6), (14, 5), (19, 7), (18, 11), (13, 14), (18, 16), (19, 20), (15, 23), (8, 22)],
    "4": [(17, 23), (17, 5), (7, 17), (21, 17)],
    "5": [(19, 5), (10, 5), (9, 13), (14, 12), (19, 15), (18, 21), (13, 23), (8, 21)],
    "6": [(17, 5), (11, 10), (8, 17), (10, 22), (15, 23), (19, 19), (17, 14), (11, 15), (9, 18)],
    "7": [(7, 6), (20, 6), (13, 23)],
    "8": [(18, 8), (14, 5), (10, 7), (11, 11), (17, 16), (18, 21), (14, 23), (10, 21), (11, 16), (17, 11), (18, 8)],
    "9": [(18, 10), (14, 6), (10, 8), (10, 12), (14, 14), (18, 11), (18, 6), (17, 23)],
}


def dense(points: list[tuple[float, float]], step: float = 0.25) -> np.ndarray:
    """The polyline resampled every ``step`` units, (K, 2)."""
    out = [np.asarray(points[0], float)]
    for a, b in itertools.pairwise(points):
        a, b = np.asarray(a, float), np.asarray(b, float)
        n = max(1, int(np.linalg.norm(b - a) / step))
        out += [a + (b - a) * (i / n) for i in range(1, n + 1)]
    return np.stack(out)


def draw(path: np.ndarray, brush: int) -> np.ndarray:
    """The pad's canvas (PAD_PX x PAD_PX, ink 255 on 0) with one round-capped stroke along ``path``."""
    canvas = Image.new("L", (PAD_PX, PAD_PX), 0)
    pen = ImageDraw.Draw(canvas)
    pts = [tuple(p) for p in path * (PAD_PX / GRID)]
    r = brush / 2
    for x, y in (pts[0], pts[-1]):
        pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    if len(pts) > 1:
        pen.line(pts, fill=255, width=brush, joint="curve")
    return np.asarray(canvas, dtype=np.float64)


def to_pixels(canvas: np.ndarray) -> list[list[float]]:
    """``DrawPad.toPixels``: the mean ink of each block, in [0, 1], rounded to 4 decimals like Math.round."""
    block = PAD_PX // GRID
    means = canvas.reshape(GRID, block, GRID, block).mean(axis=(1, 3)) / 255
    return (np.floor(np.minimum(1.0, means) * 1e4 + 0.5) / 1e4).tolist()


def js_number(value: float) -> str:
    """A number as JSON.stringify writes it (1 not 1.0; the shortest round-trip digits otherwise)."""
    return str(int(value)) if value == int(value) else repr(value)


def body(pixels: list[list[float]]) -> str:
    """``JSON.stringify({pixels})``: no spaces."""
    rows = ",".join("[" + ",".join(js_number(v) for v in row) + "]" for row in pixels)
    return '{"pixels":[' + rows + "]}"


def strokes() -> list[tuple[str, bool]]:
    """(body, whether the stroke has ended) of every update of every stroke: each digit with each brush,
    drawn in CUTS steps, the last one the whole stroke."""
    out = []
    for brush in BRUSHES:
        for points in DIGITS.values():
            path = dense(points)
            for cut in CUTS:
                pixels = to_pixels(draw(path[: max(1, int(len(path) * cut))], brush))
                out.append((body(pixels), bool(cut == CUTS[-1])))
    return out


def drawings() -> list[str]:
    """The bodies of ``strokes``."""
    return [text for text, _ in strokes()]


def requests(variant: str) -> list[tuple[str, str]]:
    """(path with query, body) of every update: ``variant`` is a VARIANTS name or a query string; "page"
    gives the stroke's own dtype to each update."""
    query = VARIANTS.get(variant, variant)
    if variant != "page":
        return [(f"/api/activations?{query}", text) for text in drawings()]
    return [
        (f"/api/activations?{query.format(dtype=END_DTYPE if end else STROKE_DTYPE)}", text) for text, end in strokes()
    ]


LUA = """
local requests_file, pause = "{requests}", {pause}
local requests, i = {{}}, 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 97)
end
function init(args)
  local headers = {{["Content-Type"] = "application/json", ["Accept"] = "application/json"}}
  for line in io.lines(requests_file) do
    local path, body = line:match("^([^\t]*)\t(.*)$")
    table.insert(requests, wrk.format("POST", path, headers, body))
  end
  i = offset % #requests
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function delay()
  return pause
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
  for _, p in ipairs({{50, 90, 99}}) do
    io.write(string.format("P%d %d\\n", p, latency:percentile(p)))
  end
end
"""


def lua_script(sent: list[tuple[str, str]], pause_ms: int) -> str:
    """A wrk script whose connections walk through ``sent`` ((path, body) pairs; see ``requests``)."""
    folder = Path(tempfile.mkdtemp(prefix="convlens-classroom-"))
    (folder / "requests.txt").write_text("".join(f"{path}\t{text}\n" for path, text in sent))
    script = folder / "students.lua"
    script.write_text(LUA.format(requests=folder / "requests.txt", pause=pause_ms))
    return str(script)


@dataclass
class Run:
    students: int
    requests: int
    seconds: float
    p50: float
    p90: float
    p99: float
    errors: int
    kib: float  # per answer
    wrk_cpu: float  # seconds
    server_cpu: float  # seconds

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def parse(out: str, students: int, wrk_cpu: float, server_cpu: float) -> Run:
    fields = dict(re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1].splitlines()[0]))
    n = int(fields["requests"])
    pct = {int(p): int(us) / 1000 for p, us in re.findall(r"^P(\d+) (\d+)$", out, re.M)}
    errors = sum(int(fields[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return Run(
        students,
        n,
        int(fields["duration_us"]) / 1e6,
        pct[50],
        pct[90],
        pct[99],
        errors,
        int(fields["bytes"]) / max(n, 1) / 1024,
        wrk_cpu,
        server_cpu,
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """User+system CPU seconds of a process and its children (uvicorn's workers), from /proc."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    pids = [pid, *map(int, found.split())]
    ticks = 0
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, script: str, students: int, seconds: int, threads: int, cpus: str | None, pid: int) -> Run:
    cmd = ["wrk", f"-t{min(threads, students)}", f"-c{students}", f"-d{seconds}s", "--timeout=10s", "-s", script, url]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    own, served = children_cpu(), tree_cpu(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse(out, students, children_cpu() - own, tree_cpu(pid) - served)


@contextlib.contextmanager
def pinned(cpus: str | None) -> Iterator[None]:
    """Processes started inside inherit this CPU set (the server, its workers and their threads)."""
    if not cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def started(workers: int, root: Path, cpus: str | None, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    with pinned(cpus):
        context = server(workers=workers, root=root, env=env)
        base, proc = context.__enter__()
    try:
        yield base, proc.pid
    finally:
        context.__exit__(None, None, None)


def sweep(args: argparse.Namespace, root: Path, workers: int, variant: str) -> list[Run]:
    script = lua_script(requests(variant), args.pause_ms)
    env = dict(item.split("=", 1) for item in args.env)
    with started(workers, root, args.server_cpus, env) as (base, pid):
        wrk(base, script, min(args.students), 3, args.wrk_threads, args.wrk_cpus, pid)  # warm-up
        runs = []
        for n in args.students:
            runs.append(wrk(base, script, n, args.seconds, args.wrk_threads, args.wrk_cpus, pid))
            time.sleep(1)
        return runs


def table(label: str, runs: list[Run]) -> str:
    lines = [
        f"**{label}**",
        "",
        "| students | answers/s | p50 ms | p90 ms | p99 ms | errors | KiB/answer | server CPU ms/answer | wrk CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.students} | {r.rps:,.0f} | {r.p50:.1f} | {r.p90:.1f} | {r.p99:.1f} | {r.errors} | {r.kib:.0f} "
            f"| {1000 * r.server_cpu / max(r.requests, 1):.2f} | {r.wrk_cpu / r.seconds:.0%} |"
        )
    ok = [r.students for r in runs if r.p90 <= GOAL_MS and r.errors == 0]
    lines += ["", f"Largest N with p90 <= {GOAL_MS:.0f} ms (and no errors): {max(ok) if ok else 'none'}", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, nargs="+", default=[25, 50, 100, 200])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--variants", nargs="+", default=["page"], help=f"{sorted(VARIANTS)} or a query string")
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--pause-ms", type=int, default=16)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--server-cpus", help="pin the server to these CPUs, e.g. 0")
    p.add_argument("--wrk-cpus", help="pin wrk to these CPUs, e.g. 1")
    p.add_argument("--env", nargs="*", default=[], help="the server's environment, e.g. CONVLENS_TORCH_THREADS=1")
    p.add_argument("--before", type=Path, help="also serve this checkout (an earlier commit)")
    p.add_argument("--before-variant", default="float32", help="what --before's server is sent (its page's request)")
    args = p.parse_args()
    bodies = drawings()
    print(
        f"`.venv/bin/python -m bench.classroom {' '.join(sys.argv[1:])}`: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} before; {len(bodies)} drawings, "
        f"{np.mean([len(b) for b in bodies]):.0f} bytes per body on average\n",
        flush=True,
    )
    plan = [(ROOT, variant, "") for variant in args.variants]
    if args.before:
        plan.append((args.before.resolve(), args.before_variant, f" (server from {args.before})"))
    for workers in args.workers:
        for root, variant, note in plan:
            runs = sweep(args, root, workers, variant)
            print(table(f"{workers} process{'es' if workers > 1 else ''}, {variant}{note}", runs), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
