"""Light requests keep their latency while expensive ones run.

    .venv/bin/python -m bench.isolation [--seconds 20] [--heavy batchnorm convolve occlusion]

Against one `convlens serve` (one worker, the default budgets), wrk measures two light routes at once,
GET /healthz and POST /api/activations (a 28x28 MNIST digit as a PNG upload), two connections each:
first alone ("idle"), then while other connections loop on an expensive request:

- ``batchnorm``: 8 connections on POST /api/batchnorm with 256 test digits (the probe's request);
- ``convolve``: 8 connections on the most expensive kernel-lab request the default budgets admit, a 15x15
  kernel over a 2048x2048 RGB photo with "same" padding (about 1.5 s of CPU and a 67 MB answer each);
- ``occlusion``: 60 connections on POST /api/explain?method=occlusion&patch=28&stride=1 (0.5 s each).

The expensive clients are wrk's: they ignore Retry-After and send again at once. Goals: while 8 clients
loop, healthz and activations p99 <= 3x their idle p99 and no errors; with 60 on occlusion, activations
p99 < 1 s. Also printed: the expensive requests' answers by status and the server's peak memory (VmHWM).
Needs wrk (apt-get install wrk). Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.datasets import mnist
from bench.common import lua_post, lua_post_counting, statuses, wrk_command, wrk_result
from harness.multipart import multipart
from harness.server import server

LIGHT_CONNECTIONS = 2


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def photo(size: int) -> bytes:
    """A photo-like RGB JPEG: gradients and noise."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    rgb = np.stack(
        [ramp[None, :] + 0 * ramp[:, None], ramp[:, None] + 0 * ramp[None, :], (ramp[None, :] + ramp[:, None]) / 2]
    )
    rgb = np.clip(rgb.transpose(1, 2, 0) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def heavy_requests() -> dict[str, tuple[str, int, str]]:
    """name -> (path with query, connections, wrk script)."""
    bn, bn_type = multipart({"samples": "256"})
    spec = {"kernels": [[[1 / 225] * 15] * 15], "padding": "same", "color": "rgb"}
    conv, conv_type = multipart({"spec": json.dumps(spec), "file": ("photo.jpg", photo(2048), "image/jpeg")})
    occ, occ_type = multipart({"sample": "0"})
    return {
        "batchnorm": ("/api/batchnorm", 8, lua_post_counting(bn, bn_type)),
        "convolve": ("/api/convolve?include=data", 8, lua_post_counting(conv, conv_type)),
        "occlusion": ("/api/explain?method=occlusion&patch=28&stride=1", 60, lua_post_counting(occ, occ_type)),
    }


def peak_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def phase(base: str, pid: int, seconds: int, light_script: str, heavy: tuple[str, int, str] | None) -> dict:
    """The light wrk runs (and the heavy one) at the same time; their results and the peak memory."""
    reset_peak(pid)
    procs = {
        "healthz": subprocess.Popen(
            wrk_command(base + "/healthz", LIGHT_CONNECTIONS, seconds), stdout=subprocess.PIPE, text=True
        ),
        "activations": subprocess.Popen(
            wrk_command(base + "/api/activations", LIGHT_CONNECTIONS, seconds, light_script),
            stdout=subprocess.PIPE,
            text=True,
        ),
    }
    if heavy is not None:
        path, connections, script = heavy
        procs["heavy"] = subprocess.Popen(
            wrk_command(base + path, connections, seconds, script, timeout=30), stdout=subprocess.PIPE, text=True
        )
    out = {name: p.communicate()[0] for name, p in procs.items()}
    result = {name: wrk_result(text) for name, text in out.items()}
    if "heavy" in out:
        result["statuses"] = statuses(out["heavy"])
    result["peak_mib"] = peak_mib(pid)
    return result


def row(name: str, r: dict, idle: dict | None) -> str:
    errors = int(r["non_2xx"] + r["socket_errors"])
    ratio = f"{r['p99_ms'] / idle['p99_ms']:.2f}x" if idle else ""
    return f"| {name} | {int(r['requests'])} | {errors} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--heavy", nargs="+", default=["batchnorm", "convolve", "occlusion"])
    args = p.parse_args()
    body, ctype = multipart({"file": ("digit.png", png(mnist.load("test").images[0]), "image/png")})
    light_script = lua_post(body, ctype)
    requests = heavy_requests()
    load = os.getloadavg()[0]
    results = []
    with server() as (base, proc):
        phase(base, proc.pid, 3, light_script, None)  # warm-up
        for name in args.heavy:
            idle = phase(base, proc.pid, args.seconds, light_script, None)
            busy = phase(base, proc.pid, args.seconds, light_script, requests[name])
            results.append((name, idle, busy))
    print(
        f"`.venv/bin/python -m bench.isolation --seconds {args.seconds} --heavy {' '.join(args.heavy)}`"
        f" ({platform.machine()}, {os.cpu_count()} cores; load average {load:.1f} before,"
        f" {os.getloadavg()[0]:.1f} after)\n"
    )
    for name, idle, busy in results:
        path, connections, _ = requests[name]
        codes = ", ".join(f"{n} x {code}" for code, n in sorted(busy["statuses"].items())) or "none"
        print(
            f"**{connections} connections looping on POST {path}**: answers {codes}; server peak RSS idle"
            f" {idle['peak_mib']:.0f} MiB, loaded {busy['peak_mib']:.0f} MiB\n"
        )
        print("| light route, 2 connections | requests | errors | p50 ms | p99 ms | p99 vs idle |")
        print("|---|---:|---:|---:|---:|---:|")
        for route in ("healthz", "activations"):
            print(row(f"{route}, idle", idle[route], None))
            print(row(f"{route}, loaded", busy[route], idle[route]))
        print()


if __name__ == "__main__":
    main()
