"""The kernel lab: a 5x5 kernel on a 1024x1024 RGB image, per request, next to scipy.signal.correlate2d.

    .venv/bin/python bench/convolve.py [--repeat 30] [--no-server]

Measures, in one run and one process (torch on one thread, as the server runs it):

- core: ``app.labs.kernels.convolution.convolve`` on the decoded (3, 1024, 1024) image, "same" padding;
- scipy: ``scipy.signal.correlate2d(channel, kernel, mode="same")`` on the same three channels (float64,
  scipy's own precision; its float32 path is no faster);
- the server-side stages of one request (decode, pixels, convolve, encode, PNG, JSON);
- end to end through the real route handler: in-process with Starlette's TestClient, and against a live
  uvicorn server (``harness.server.server``, one worker) over a kept-alive HTTP connection, for several
  answer configurations (``include``, ``png_compression``, ``dtype``); the live server runs twice, with
  glibc's default malloc settings and with ``MALLOC_ENV`` (large blocks kept in the heap).

"handler ms" is the route's own ``Server-Timing`` total (form and spec parsing, decoding, compute, base64,
PNG, JSON); "request ms" adds the HTTP exchange (the 21 MB answer crossing the loopback and read in full).

Prints a markdown report for docs/benchmarks.md. Times are medians (p90 beside them) over ``--repeat``
requests after a warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import scipy
import scipy.signal
import torch
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import preprocess
from app.labs.kernels import convolution, display, images
from app.routes.kernels import lab_payload
from app.serving.encoding import Blobs
from harness.multipart import multipart
from harness.server import server

SIZE = 1024
TARGET_MS = 50.0
# glibc serves blocks above a (dynamic) threshold with fresh mmap()s and returns them on free, so every
# request page-faults its ~80 MB of buffers in again; these keep them in the heap instead.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(128 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}
CONFIGS = [  # (label, query)
    ("data + png (default: png_compression=0)", "include=data,png"),
    ("data + png, png_compression=1", "include=data,png&png_compression=1"),
    ("data only", "include=data"),
    ("data only, float16", "include=data&dtype=float16"),
    ("png only", "include=png"),
    ("png only, png_compression=1", "include=png&png_compression=1"),
]


def photo() -> Image.Image:
    """A deterministic 1024x1024 RGB 'photo': soft gradients, hard-edged shapes, blur and sensor noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = np.stack([0.3 + 0.5 * xx, 0.2 + 0.6 * yy, 0.5 + 0.3 * np.sin(6 * xx * yy)], axis=-1)
    img = Image.fromarray((base * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.integers(0, SIZE - 100, 2)
        w, h = rng.integers(40, 300, 2)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (int(x0), int(y0), int(x0 + w), int(y0 + h))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(img, dtype=np.int16) + rng.normal(0, 4, (SIZE, SIZE, 3)).astype(np.int16)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> tuple[float, float]:
    """(median, p90) in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.9 * len(times)))]


def stages(upload: bytes, kernel: np.ndarray, repeat: int) -> list[tuple[str, float]]:
    """Median ms of each server-side step of one default request."""
    img = preprocess.decode(upload)
    image = images.image_tensor(img, "rgb")
    result = convolution.convolve(image, [kernel], padding="same")
    out = result.outputs[0]
    lo, hi = float(out.min()), float(out.max())
    _, low, high = display.display_scale(lo, hi)
    pixels = display.to_pixels(out, low, high)

    def build(parts: set[str]) -> Callable[[], object]:
        def run() -> object:
            blobs = Blobs()
            return blobs.json(
                lab_payload(image, result.geometry, lambda: image, [out], None, parts, "float32", 0, blobs)
            )

        return run

    steps = [
        ("decode the upload (Pillow, guarded)", lambda: preprocess.decode(upload)),
        ("to a (3, H, W) float tensor", lambda: images.image_tensor(img, "rgb")),
        ("convolve (pad, bands, depthwise conv)", lambda: convolution.convolve(image, [kernel], padding="same")),
        ("values -> PNG grey levels", lambda: display.to_pixels(out, low, high)),
        ("PNG, level 0", lambda: display.png(pixels, 0)),
        ("PNG, level 1", lambda: display.png(pixels, 1)),
        ("answer: base64 + JSON, data only", build({"data"})),
        ("answer: base64 + JSON, data + png", build({"data", "png"})),
    ]
    return [(name, timed(fn, repeat)[0]) for name, fn in steps]


def handler_ms(header: str) -> dict[str, float]:
    """``Server-Timing: input;dur=1.0, ...`` -> {"input": 1.0, ...}."""
    return {k: float(v) for k, _, v in (part.strip().partition(";dur=") for part in header.split(","))}


Row = tuple[str, float, float, float, int]  # label, median ms, p90 ms, median handler ms, response bytes


def measure(send: Callable[[str], tuple[int, bytes, str]], repeat: int) -> list[Row]:
    rows = []
    for label, query in CONFIGS:
        handler: list[float] = []
        sizes: list[int] = []

        def request(query: str = query, handler: list[float] = handler, sizes: list[int] = sizes) -> None:
            status, data, timing = send(query)
            assert status == 200, data[:200]
            handler.append(handler_ms(timing)["total"])
            sizes.append(len(data))

        p50, p90 = timed(request, repeat)
        rows.append((label, p50, p90, statistics.median(handler[-repeat:]), sizes[-1]))
    return rows


def in_process(body: bytes, ctype: str, repeat: int) -> list[Row]:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app()) as client:

        def send(query: str) -> tuple[int, bytes, str]:
            r = client.post(f"/api/convolve?{query}", content=body, headers={"Content-Type": ctype})
            return r.status_code, r.content, r.headers.get("server-timing", "")

        return measure(send, repeat)


def live(body: bytes, ctype: str, repeat: int, env: dict[str, str] | None = None) -> list[Row]:
    with server(env=env) as (base, _):
        url = urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

        def send(query: str) -> tuple[int, bytes, str]:
            conn.request("POST", f"/api/convolve?{query}", body=body, headers={"Content-Type": ctype})
            r = conn.getresponse()
            return r.status, r.read(), r.getheader("server-timing", "")

        try:
            return measure(send, repeat)
        finally:
            conn.close()


def table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}\n")
    print("| answer | handler ms (Server-Timing) | request ms, median | p90 | handler <= 50 ms | response |")
    print("|---|---|---|---|---|---|")
    for label, p50, p90, handler, size in rows:
        ok = "yes" if handler <= TARGET_MS else "**no**"
        print(f"| {label} | {handler:.1f} | {p50:.1f} | {p90:.1f} | {ok} | {size / 1e6:.1f} MB |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--no-server", action="store_true", help="skip the live uvicorn measurement")
    args = p.parse_args()
    torch.set_num_threads(1)  # as the server runs (CONVLENS_TORCH_THREADS, default 1)

    img = photo()
    kernel = np.random.default_rng(1).uniform(-1, 1, (5, 5)).astype(np.float32)
    spec = json.dumps({"kernels": [kernel.tolist()], "color": "rgb", "padding": "same"})
    jpeg, png = encoded(img, "JPEG"), encoded(img, "PNG")
    image = images.image_tensor(img, "rgb")  # (3, 1024, 1024)
    channels = [c.double().numpy() for c in image]

    core = timed(lambda: convolution.convolve(image, [kernel], padding="same"), args.repeat)
    ref = timed(lambda: [scipy.signal.correlate2d(c, kernel.astype(np.float64), mode="same") for c in channels], 5)
    ours = convolution.convolve(image, [kernel], padding="same").outputs[0].numpy()
    want = np.stack([scipy.signal.correlate2d(c, kernel.astype(np.float64), mode="same") for c in channels])
    diff = float(np.abs(ours - want).max())

    steps = stages(jpeg, kernel, args.repeat)
    uploads = {}
    for name, data, ctype in (("JPEG", jpeg, "image/jpeg"), ("PNG", png, "image/png")):
        uploads[name] = multipart({"file": (f"photo.{name.lower()}", data, ctype), "spec": spec})
    proc_rows = in_process(*uploads["JPEG"], args.repeat)
    png_rows = in_process(*uploads["PNG"], max(5, args.repeat // 3))[:1]
    live_rows = [] if args.no_server else live(*uploads["JPEG"], args.repeat)
    tuned_rows = [] if args.no_server else live(*uploads["JPEG"], args.repeat, MALLOC_ENV)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"`.venv/bin/python bench/convolve.py --repeat {args.repeat}` (torch {torch.__version__}, one thread;"
        f" scipy {scipy.__version__}; {platform.machine()}, {len(os.sched_getaffinity(0))} cores, load average at"
        f" the end {load};"
        f" upload: 1024x1024 RGB JPEG q90 {len(jpeg) / 1e3:.0f} kB, PNG {len(png) / 1e6:.1f} MB;"
        f' spec: one 5x5 kernel, color "rgb", padding "same" -> 3x1024x1024 output)\n'
    )
    print("| computation (3 x 1024 x 1024, 5x5) | median ms |")
    print("|---|---|")
    print(f"| `app.labs.kernels.convolution.convolve` (float32) | {core[0]:.1f} |")
    print(f"| `scipy.signal.correlate2d`, 3 channels (float64) | {ref[0]:.1f} |")
    print(f"| **scipy / ours** | **{ref[0] / core[0]:.1f}x** |")
    print(f"\nmax |ours - scipy| = {diff:.1e}")
    print("\nServer-side stages of one request (JPEG upload):\n")
    print("| stage | median ms |")
    print("|---|---|")
    for name, ms in steps:
        print(f"| {name} | {ms:.1f} |")
    table("End to end, in process (TestClient through the real route handler), JPEG upload:", proc_rows)
    table("End to end, in process, the same image as a PNG upload:", png_rows)
    if live_rows:
        table("End to end against a live uvicorn (one worker, keep-alive, body read in full), JPEG upload:", live_rows)
        print(f"\nscipy.signal.correlate2d alone / default live request: {ref[0] / live_rows[0][1]:.1f}x")
        print(f"scipy.signal.correlate2d alone / default request's handler time: {ref[0] / live_rows[0][3]:.1f}x")
        table(
            "The same live server with glibc malloc keeping large blocks ("
            + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items())
            + "):",
            tuned_rows,
        )


if __name__ == "__main__":
    main()
