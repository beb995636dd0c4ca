"""One replica in its container under a short saturating load: the CPU and memory it uses, from which
deploy/kubernetes/deployment.yaml takes its resource requests and limits.

    ../shared/tools/docker-here build . convlens:local       # the image, once
    .venv/bin/python bench/container.py [--image convlens:local] [--cpus 2] [--threads auto 1]
                                        [--seconds 30] [--warmup 5] [--connections 32]

The container runs as compose.yaml and Kubernetes run it: read-only root file system with a /tmp tmpfs,
no capabilities, ``--cpus`` as its CPU limit, one uvicorn process whose torch threads are the CPUs it may
use (``--threads auto``) or a fixed count (CONVLENS_TORCH_THREADS). It listens on a free port of
127.0.0.1 (docker-here's engine has only the host network). wrk sends bench/load.py's mix (an upload to
/api/activations, a convolution, a layer's weights, the explorer page) over ``--connections``
connections, after a warm-up. Every second the process's CPU time (/proc/PID/stat, the container's only
process) and resident memory are read. Reported: requests, errors, latency; CPUs used on average and in
the busiest second; resident memory after the start, its peak (VmHWM) and after the load; the memory
the container's cgroup charges (docker stats, page cache included). wrk shares the machine's cores.
Needs root (docker-here's engine), wrk and the image.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import wrk
from bench.load import mix_script
from harness.server import free_port

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_kib(pid: int, key: str) -> int:
    line = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith(key + ":"))
    return int(line.split()[1])


class Sampler(threading.Thread):
    """CPUs used per second by ``pid`` while running."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.per_second, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        last_t, last_cpu = time.monotonic(), cpu_seconds(self.pid)
        while not self.stop.wait(1.0):
            t, cpu = time.monotonic(), cpu_seconds(self.pid)
            self.per_second.append((cpu - last_cpu) / (t - last_t))
            last_t, last_cpu = t, cpu


def wait_healthy(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the container did not become healthy") from None
            time.sleep(0.5)


def measure(image: str, cpus: str, threads: str, seconds: int, warmup: int, connections: int, script: str) -> dict:
    port, name = free_port(), f"convlens-bench-{os.getpid()}"
    env = ["-e", f"PORT={port}", "-e", "HOST=127.0.0.1", "-e", "LOG_LEVEL=warning"]
    if threads != "auto":
        env += ["-e", f"CONVLENS_TORCH_THREADS={threads}"]
    locked = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"]
    run = ["docker", "run", "-d", "--name", name, "--network", "host", "--cpus", cpus, *locked, *env, image]
    subprocess.run(run, check=True, capture_output=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        inspect = ["docker", "inspect", "-f", "{{.State.Pid}}", name]
        pid = int(subprocess.run(inspect, capture_output=True, text=True, check=True).stdout)
        with urllib.request.urlopen(base + "/metrics") as r:
            torch_threads = next(ln for ln in r.read().decode().splitlines() if ln.startswith("convlens_torch_threads"))
        cold = status_kib(pid, "VmRSS")
        wrk(base + "/", connections, warmup, script)
        sampler = Sampler(pid)
        cpu_before, t0 = cpu_seconds(pid), time.monotonic()
        sampler.start()
        result = wrk(base + "/", connections, seconds, script)
        sampler.stop.set()
        sampler.join()
        cpu_avg = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - t0)
        stats = subprocess.run(
            ["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", name], capture_output=True, text=True
        ).stdout.strip()
        return {
            "threads": torch_threads.split()[1],
            "result": result,
            "cpu_avg": cpu_avg,
            "cpu_peak": max(sampler.per_second, default=0.0),
            "rss_cold": cold,
            "rss_peak": status_kib(pid, "VmHWM"),
            "rss_after": status_kib(pid, "VmRSS"),
            "cgroup": stats.split(" / ")[0],
        }
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", default="convlens:local")
    p.add_argument("--cpus", default="2", help="the container's CPU limit (docker run --cpus)")
    p.add_argument("--threads", nargs="+", default=["auto"], help="torch threads: auto (the CPU limit) or N")
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--connections", type=int, default=32)
    args = p.parse_args()
    script = mix_script()
    load_before = os.getloadavg()[0]
    runs = [
        measure(args.image, args.cpus, t, args.seconds, args.warmup, args.connections, script) for t in args.threads
    ]
    print(
        f"`.venv/bin/python bench/container.py --cpus {args.cpus} --threads {' '.join(args.threads)}"
        f" --seconds {args.seconds} --warmup {args.warmup} --connections {args.connections}`"
        f" ({platform.machine()}, {os.cpu_count()} cores; load average {load_before:.2f} before,"
        f" {os.getloadavg()[0]:.2f} after)\n"
    )
    print(
        "| torch threads | requests | errors | req/s | p50 ms | p99 ms | CPUs average | CPUs busiest second "
        "| RSS cold MiB | RSS peak MiB | RSS after MiB | cgroup memory |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        res = r["result"]
        print(
            f"| {r['threads']} | {int(res['requests'])} | {int(res['non_2xx'] + res['socket_errors'])}"
            f" | {res['rps']:.0f} | {res['p50_ms']:.1f} | {res['p99_ms']:.1f} | {r['cpu_avg']:.2f}"
            f" | {r['cpu_peak']:.2f} | {r['rss_cold'] / 1024:.0f} | {r['rss_peak'] / 1024:.0f}"
            f" | {r['rss_after'] / 1024:.0f} | {r['cgroup']} |"
        )


if __name__ == "__main__":
    main()
