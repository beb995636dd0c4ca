"""The attack suite: the requests with which an external probe found the server unbounded, replayed
against a bare server, behind nginx and in the Docker image's 1 GiB container, with today's numbers.

    .venv/bin/python -m bench.attack                          # the bare server
    .venv/bin/python -m bench.attack --container --build      # the container (as root; builds convlens:limits)
    .venv/bin/python -m bench.attack --nginx                  # deploy/nginx/convlens.conf in front of the bare server
    .venv/bin/python -m bench.attack --only webp,json         # some rows (their keys are below)

Each row sends its requests, then reads the serving process: the answers' status codes, its CPU seconds
for the row (user + system, from /proc), its peak resident memory (VmHWM, reset before the row) and, in
the container, the memory cgroup's peak (what the 1 GiB limit counts) and its OOM kills. Goals: the
server never dies or restarts, every answer is a 2xx, a 4xx or a 503, no request costs more than 10 s of
CPU, and the peak memory stays under the budget (1 GiB in the container). Needs wrk. Takes a few minutes;
prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import platform
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import isolation
from bench.common import lua_post
from bench.targets import Target, bare, behind_nginx, container
from harness.multipart import multipart

MIB = 1024 * 1024
# Each row's clients connect from their own loopback address (127.0.0.x), so that nginx's limits per client
# address (deploy/nginx/convlens.conf) see one client per row, and the /healthz probe of the slow-clients row is a
# different client from the attackers; wrk's connections all come from 127.0.0.1.
PROBE_SOURCE = ("127.0.0.250", 0)


def connection(port: int, timeout: float) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=ROW_SOURCE[0])


ROW_SOURCE = [("127.0.0.1", 0)]


def encoded(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def post(target: Target, path: str, body: bytes, ctype: str, timeout: float = 300) -> tuple[int, int]:
    """(status, answer bytes); status 0 when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=timeout, source_address=ROW_SOURCE[0])
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": ctype})
        r = conn.getresponse()
        return r.status, len(r.read())
    except OSError:
        return 0, 0
    finally:
        conn.close()


def together(n: int, call: Callable[[], tuple[int, int]]) -> list[tuple[int, int]]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: call(), range(n)))


def codes(results: list[tuple[int, int]] | list[int]) -> str:
    counted = Counter(r[0] if isinstance(r, tuple) else r for r in results)
    return ", ".join(f"{n} x {code or 'no answer'}" for code, n in sorted(counted.items()))


class Row:
    """One probe: what the external probe measured, and what happens now."""

    def __init__(self, key: str, probe: str, before: str) -> None:
        self.key, self.probe, self.before = key, probe, before
        self.answers, self.measured = "", ""
        self.statuses: list[int] = []
        self.cpu = 0.0
        self.requests = 0  # expensive requests the row's CPU is spread over (0: a load test, not counted)

    def run(self, target: Target, body: Callable[[Row, Target], None]) -> None:
        target.reset_peak()
        cpu = target.cpu()
        body(self, target)
        self.cpu = target.cpu() - cpu
        peak = target.cgroup_peak()
        memory = f"peak RSS {target.peak() / MIB:.0f} MiB" + (f", cgroup {peak / MIB:.0f} MiB" if peak else "")
        self.measured = "; ".join(p for p in (self.measured, f"CPU {self.cpu:.1f} s", memory) if p)

    def answered(self, results: list[tuple[int, int]]) -> None:
        self.statuses += [status for status, _ in results]
        self.answers = codes(results)
        self.requests = len(results)

    @property
    def per_request(self) -> float:
        return self.cpu / self.requests if self.requests else 0.0


# --- the rows ---------------------------------------------------------------------------------------------

WEBP = encoded(Image.new("RGB", (4096, 4096)), "WEBP", lossless=True)


def file_body(data: bytes, fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    return multipart({**(fields or {}), "file": ("upload", data, "application/octet-stream")})


def webp_four(row: Row, t: Target) -> None:
    body, ctype = file_body(WEBP)
    row.answered(together(4, lambda: post(t, "/api/activations", body, ctype)))


def largest_uploads(row: Row, t: Target) -> None:
    big = {
        "WebP": WEBP,
        "GIF": encoded(Image.new("P", (4096, 4096)), "GIF"),
        "PNG": encoded(Image.new("RGB", (4096, 4096)), "PNG"),
    }
    parts, results = [], []
    for name, data in big.items():
        body, ctype = file_body(data)
        t.reset_peak()
        got = together(16, lambda b=body, c=ctype: post(t, "/api/activations", b, c))
        results += got
        parts.append(f"activations {name}: {codes(got)}, peak {t.peak() / MIB:.0f} MiB")
    spec = json.dumps({"kernels": [[[1.0]]], "stride": 2, "color": "rgb"})
    jpeg = encoded(Image.new("RGB", (4096, 4096), (90, 120, 150)), "JPEG")
    for include in ("data,png", "data,png,padded"):
        body, ctype = file_body(jpeg, {"spec": spec})
        t.reset_peak()
        got = together(16, lambda b=body, c=ctype, i=include: post(t, f"/api/convolve?include={i}", b, c))
        results += got
        parts.append(f"convolve rgb include={include}: {codes(got)}, peak {t.peak() / MIB:.0f} MiB")
    row.answered(results)
    row.measured = "; ".join(parts)


def padded(row: Row, t: Target) -> None:
    noise = Image.effect_noise((4096, 4096), 40).convert("RGB")
    jpeg = encoded(noise.resize((512, 512)).resize((4096, 4096)), "JPEG", quality=30)
    spec = json.dumps({"kernels": [[[1.0]]], "stride": 64, "padding": 64, "color": "rgb"})
    conv = post(t, "/api/convolve?include=data,png,padded", *file_body(jpeg, {"spec": spec}))
    pool_spec = json.dumps({"op": "max", "size": 32, "padding": 16, "color": "rgb"})
    pool = post(t, "/api/pool?include=data,png,padded", *file_body(jpeg, {"spec": pool_spec}))
    row.answered([conv, pool])
    row.measured = f"upload {len(jpeg) / 1024:.0f} KB; answers {conv[1] / MIB:.1f} and {pool[1] / MIB:.1f} MiB"


def batchnorm_webps(row: Row, t: Target) -> None:
    files = [("files", ("w.webp", WEBP, "image/webp"))] * 256 + [("file", ("f.webp", WEBP, "image/webp"))]
    body, ctype = multipart_files(files)
    row.answered([post(t, "/api/batchnorm", body, ctype)])
    row.measured = f"body {len(body) / MIB:.2f} MiB"


def multipart_files(files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[bytes, str]:
    boundary = "convlensattack"
    head = '--{b}\r\nContent-Disposition: form-data; name="{n}"; filename="{f}"\r\nContent-Type: {t}\r\n\r\n'
    chunks = [head.format(b=boundary, n=n, f=f, t=c).encode() + d + b"\r\n" for n, (f, d, c) in files]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def scan_bomb() -> bytes:
    """A progressive JPEG whose last scan is repeated 3,000 times (the external probe's 165 KB file)."""
    data = encoded(Image.new("L", (4096, 4096), 128), "JPEG", progressive=True, quality=90)
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * 3000 + data[-2:]


def progressive(row: Row, t: Target) -> None:
    bomb = scan_bomb()
    row.answered([post(t, "/api/activations", *file_body(bomb)), post(t, "/api/convolve", *file_body(bomb, SPEC))])
    row.measured = f"file {len(bomb) / 1024:.0f} KB"


SPEC = {"spec": json.dumps({"kernels": [[[1.0]]]})}


def pool_window(row: Row, t: Target) -> None:
    png = encoded(Image.new("L", (4096, 4096), 200), "PNG")
    spec = json.dumps({"op": "max", "size": 32, "stride": 1})
    row.answered([post(t, "/api/pool", *file_body(png, {"spec": spec}))])


def disconnect(row: Row, t: Target) -> None:
    """A long request whose client leaves after 2 s (and one after 0.5 s): the server's CPU in the 10 s
    after that, next to what the whole request costs when its client waits."""
    digit = Image.new("L", (1024, 1024), 230)
    digit.paste(20, (480, 200, 560, 800))
    png = encoded(digit, "PNG")
    body, ctype = multipart_files([("files", (f"{i}.png", png, "image/png")) for i in range(256)])
    cpu = t.cpu()
    whole = post(t, "/api/batchnorm", body, ctype)
    parts = [f"the whole request: {t.cpu() - cpu:.2f} s (status {whole[0]})"]
    for seconds in (2.0, 0.5):
        sock = connection(t.port, 60)
        head = (
            f"POST /api/batchnorm HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        time.sleep(seconds)
        sock.close()
        left = t.cpu()
        time.sleep(10)
        parts.append(f"left after {seconds:g} s: {t.cpu() - left:.2f} s more")
    row.answered([whole])
    row.requests = 3
    row.measured = "CPU: " + "; ".join(parts)


def occlusion(row: Row, t: Target) -> None:
    requests = isolation.heavy_requests()
    light = lua_post(*multipart({"sample": "0"}))
    result = isolation.phase(t.base, t.pid, 20, light, requests["occlusion"])
    acts = result["activations"]
    row.statuses += [code for code, n in result["statuses"].items() for _ in range(n)]
    row.answers = "occlusion: " + ", ".join(f"{n} x {c}" for c, n in sorted(result["statuses"].items()))
    row.measured = (
        f"plain activations: {int(acts['requests'])} answers in 20 s, {int(acts['non_2xx'] + acts['socket_errors'])}"
        f" errors, p99 {acts['p99_ms']:.0f} ms"
    )


def batchnorm_loop(row: Row, t: Target) -> None:
    requests = isolation.heavy_requests()
    light = lua_post(*multipart({"sample": "0"}))
    idle = isolation.phase(t.base, t.pid, 15, light, None)
    busy = isolation.phase(t.base, t.pid, 15, light, requests["batchnorm"])
    row.statuses += [code for code, n in busy["statuses"].items() for _ in range(n)]
    row.answers = "batchnorm: " + ", ".join(f"{n} x {c}" for c, n in sorted(busy["statuses"].items()))
    parts = []
    for route in ("healthz", "activations"):
        errors = int(busy[route]["non_2xx"] + busy[route]["socket_errors"])
        parts.append(f"{route} p99 {idle[route]['p99_ms']:.1f} -> {busy[route]['p99_ms']:.1f} ms ({errors} errors)")
    row.measured = "; ".join(parts)


def slow_clients(row: Row, t: Target) -> None:
    """500 connections stop in their headers and 500 in their bodies; /healthz is asked every 0.2 s."""
    socks = []
    for i in range(1000):
        try:
            s = connection(t.port, 5)
        except OSError:
            continue
        part = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " if i % 2 else b"POST /api/activations HTTP/1.1\r\nHost: x\r\n"
        if not i % 2:
            part += b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b"
        try:
            s.sendall(part)
            socks.append(s)
        except OSError:
            s.close()
    health, latencies = [], []
    end = time.monotonic() + 20
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=5, source_address=PROBE_SOURCE)
            conn.request("GET", "/healthz")
            health.append(conn.getresponse().status)
            conn.close()
        except OSError:
            health.append(0)
        latencies.append(time.monotonic() - start)
        time.sleep(0.2)
    open_after = {20: _still_open(socks)}
    time.sleep(45)
    open_after[65] = _still_open(socks)
    for s in socks:
        s.close()
    row.statuses += health
    ok = sum(1 for h in health if h == 200)
    row.answers = f"/healthz during the attack: {ok} of {len(health)} answered 200"
    row.measured = (
        f"{len(socks)} connections made; still open after 20 s: {open_after[20]}, after 65 s: {open_after[65]};"
        f" /healthz slowest {max(latencies) * 1000:.0f} ms"
    )


def _still_open(socks: list[socket.socket]) -> int:
    count = 0
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(65536)
            count += 0 if data == b"" or data.startswith(b"HTTP/1.1") else 1
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


def huge_headers(row: Row, t: Target) -> None:
    rss = t.rss()

    def endless() -> int:
        s = connection(t.port, 30)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
        with contextlib.suppress(OSError):
            for _ in range(1024):  # up to 64 MiB
                s.sendall(b"a" * 65536)
        return _status_of(s)

    def many_lines() -> int:
        s = connection(t.port, 30)
        with contextlib.suppress(OSError):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 100_000 + b"\r\n")
        return _status_of(s)

    with ThreadPoolExecutor(9) as pool:
        got = list(pool.map(lambda f: f(), [endless] * 8 + [many_lines]))
    row.statuses += got
    row.answers = f"8 endless headers: {codes(got[:8])}; 100,000 lines: {codes(got[8:])}"
    row.measured = f"RSS {rss / MIB:.0f} -> {t.rss() / MIB:.0f} MiB"


def _status_of(s: socket.socket) -> int:
    data = b""
    with contextlib.suppress(OSError):
        while chunk := s.recv(65536):
            data += chunk
    s.close()
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0


def nested_json(row: Row, t: Target) -> None:
    deep = "[" * 100_000
    got = [
        post(t, "/api/mix", *multipart({"sample": "0", "matrix": deep})),
        post(t, "/api/mix", *multipart({"sample": "0", "matrix": json.dumps([[1.0] * 20]), "bias": deep})),
        post(t, "/api/activations", *multipart({"sample": "0", "conv1_override": deep})),
    ]
    row.answered(got)


MULTIPART_ROUTES = [
    "/api/activations",
    "/api/receptive-field",
    "/api/explain?method=saliency",
    "/api/mix",
    "/api/batchnorm",
    "/api/convolve",
    "/api/pool",
]


def long_boundary(row: Row, t: Target) -> None:
    boundary = "b" * 300
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="sample"\r\n\r\n0\r\n--{boundary}--\r\n'.encode()
    row.answered([post(t, path, body, f"multipart/form-data; boundary={boundary}") for path in MULTIPART_ROUTES])


def head(row: Row, t: Target) -> None:
    got = []
    for path in ("/healthz", "/"):
        conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=10, source_address=ROW_SOURCE[0])
        conn.request("HEAD", path)
        r = conn.getresponse()
        got.append((r.status, len(r.read())))
        conn.close()
    row.answered(got)


def long_name(row: Row, t: Target) -> None:
    status, size = post(
        t, "/api/receptive-field", *multipart({"sample": "0", "layer": "z" * 200_000, "y": "1", "x": "1"})
    )
    row.answered([(status, size)])
    row.measured = f"answer {size} bytes"


ROWS: list[tuple[str, str, str, Callable[[Row, Target], None]]] = [
    ("webp", "4 concurrent 4096x4096 lossless WebP (2 KB) to /api/activations", "container OOM-killed", webp_four),
    (
        "largest",
        "16 concurrent largest uploads (activations WebP/GIF/PNG; convolve rgb, with padded)",
        "4.4 GiB ... 11.2 GiB peak RSS",
        largest_uploads,
    ),
    (
        "padded",
        "include=padded: convolve stride 64 padding 64 rgb, pool rgb padding 16 (4096x4096 JPEG)",
        "272 MiB and 260 MiB answers",
        padded,
    ),
    ("bnwebp", "/api/batchnorm with 257 lossless WebP 4096x4096", "114.6 s CPU", batchnorm_webps),
    ("scans", "a progressive JPEG, last scan repeated 3,000 times", "49.6 s CPU", progressive),
    ("pool", "/api/pool max size 32 stride 1 on 4096x4096", "24.5 s CPU, 105 MiB answer", pool_window),
    ("disconnect", "a client that leaves after 2 s (BatchNorm lab, 256 uploads)", "17.7 s more CPU", disconnect),
    ("occlusion", "60 clients looping on occlusion (patch 28, stride 1)", "activations: 1 success in 40 s", occlusion),
    (
        "bnloop",
        "8 clients looping on the BatchNorm lab (256 digits)",
        "p99 healthz 2.9 -> 36, activations 346 ms",
        batchnorm_loop,
    ),
    (
        "slow",
        "1,000 connections stopping in their headers or bodies",
        "open after 300 s; /healthz failed 30 s",
        slow_clients,
    ),
    ("headers", "8 endless headers (64 MiB each), 100,000 header lines", "+510 MiB, accepted", huge_headers),
    ("json", "'[' * 100000 in matrix, bias, conv1_override", "HTTP 500", nested_json),
    ("boundary", "a 300-character multipart boundary, all 7 multipart routes", "HTTP 500", long_boundary),
    ("head", "HEAD /healthz, HEAD /", "405", head),
    ("name", "a 200 KB layer name", "echoed whole", long_name),
]


def attack(target: Target, only: set[str] | None) -> list[Row]:
    rows = []
    for index, (key, probe, before, body) in enumerate(ROWS):
        if only and key not in only:
            continue
        ROW_SOURCE[0] = (f"127.0.0.{10 + index}", 0)
        row = Row(key, probe, before)
        print(f"... {key}", file=sys.stderr, flush=True)
        row.run(target, body)
        rows.append(row)
        if not target.alive():
            row.measured += "; **the server died**"
            break
    return rows


def report(target: Target, rows: list[Row], started: float) -> None:
    load = f"load average {started:.1f} before, {os.getloadavg()[0]:.1f} after"
    print(f"**{target.name}** ({'; '.join(target.notes)}; {load})\n")
    print("| probe | before | answers now | measured now |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r.probe} | {r.before} | {r.answers} | {r.measured} |")
    statuses = Counter(s for r in rows for s in r.statuses)
    bad = {s: n for s, n in statuses.items() if not (200 <= s < 300 or 400 <= s < 500 or s == 503)}
    kills = target.oom_kills()
    print(
        f"\nStill serving: {target.alive()} (same process {target.pid}); answers by status: "
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        + f"; outside 2xx/4xx/503: {bad or 'none'}; most CPU per request: {max(r.per_request for r in rows):.2f} s"
        + (f"; OOM kills in the container: {kills}" if kills is not None else "")
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--container", action="store_true", help="attack the Docker image in a 1 GiB container")
    p.add_argument("--build", action="store_true", help="build the image first (docker-here build)")
    p.add_argument("--nginx", action="store_true", help="attack deploy/nginx/convlens.conf in front of a bare server")
    p.add_argument("--tag", default="convlens:limits")
    p.add_argument("--only", help="comma-separated row keys: " + ", ".join(key for key, *_ in ROWS))
    args = p.parse_args()
    only = set(args.only.split(",")) if args.only else None
    started = os.getloadavg()[0]
    flags = " --container" if args.container else " --nginx" if args.nginx else ""
    print(f"`.venv/bin/python -m bench.attack{flags}` ({platform.machine()}, {os.cpu_count()} cores)\n")
    place = container(args.tag, args.build) if args.container else behind_nginx() if args.nginx else bare()
    with place as target:
        rows = attack(target, only)
        report(target, rows, started)


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    main()
