"""The cost model against measurements: for a grid of requests (every admitted route, every upload format,
small to the largest sizes), the estimate the admission control makes next to the peak memory and CPU
time the request really took.

    .venv/bin/python -m bench.costs [--quick] [--only NAME]

Each request runs through the whole app (its ASGI stack: body, estimate, admission, route, answer) in a
child forked from a warmed-up parent, one at a time: peak memory is the child's VmHWM above its VmRSS when
the request started (both reset after glibc's and Pillow's caches were emptied), CPU is the child's user +
system time. The estimate should be above both (ratio >= 1) without being far above (it would refuse
requests that fit). Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import io
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.main import create_app
from app.serving.admission import Admission, Budgets
from harness.multipart import multipart

MIB = 1024 * 1024
HUGE = 1 << 40  # budgets nothing reaches: every request is admitted and measured


def picture(size: int, mode: str) -> Image.Image:
    """A dark digit-like bar on a light, smoothly shaded background (every pixel differs from zero, so
    every page of the decoded image is touched; it compresses well, so 4096x4096 fits in 5 MB)."""
    ramp = np.linspace(180, 250, size, dtype=np.float32)
    gray = (ramp[None, :] * 0.5 + ramp[:, None] * 0.5).astype(np.uint8)
    gray[size // 5 : 4 * size // 5, 9 * size // 20 : 11 * size // 20] = 30
    img = Image.fromarray(gray, "L")
    if mode == "L":
        return img
    if mode == "P":
        return img.convert("P")
    rgb = Image.merge("RGB", (img, img.point(lambda v: v * 0.9), img))
    if mode == "RGBA":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(255)
        return rgba
    return rgb


def encoded(size: int, mode: str, fmt: str, **save: Any) -> bytes:
    buf = io.BytesIO()
    picture(size, mode).save(buf, fmt, **save)
    return buf.getvalue()


def file_case(path: str, data: bytes, fields: dict[str, str] | None = None, query: str = "") -> dict:
    body, ctype = multipart({**(fields or {}), "file": ("upload", data, "application/octet-stream")})
    return {"path": path, "query": query, "body": body, "ctype": ctype}


def form_case(path: str, fields: dict[str, str], query: str = "") -> dict:
    body, ctype = multipart(fields)
    return {"path": path, "query": query, "body": body, "ctype": ctype}


OCCLUSION = "method=occlusion&patch=28&stride=1"
REFLECT = {"padding_mode": "reflect"}
UNIT = {"layer": "conv2", "y": "3", "x": "3"}
FORMATS = [
    ("PNG L", "L", "PNG", {}),
    ("PNG RGB", "RGB", "PNG", {}),
    ("PNG RGBA", "RGBA", "PNG", {}),
    ("GIF", "P", "GIF", {}),
    ("WebP lossless", "RGB", "WEBP", {"lossless": True}),
    ("WebP lossy", "RGB", "WEBP", {"quality": 80}),
    ("JPEG", "RGB", "JPEG", {"quality": 90}),
    ("JPEG progressive", "RGB", "JPEG", {"quality": 90, "progressive": True}),
]


def cases(quick: bool) -> list[tuple[str, Callable[[], dict]]]:
    sizes = (1024, 4096) if quick else (1024, 2048, 4096)
    out: list[tuple[str, Callable[[], dict]]] = [
        ("activations, sample", lambda: form_case("/api/activations", {"sample": "0"})),
    ]
    for size in sizes:
        for name, mode, fmt, save in FORMATS:
            out.append(
                (
                    f"activations, {name} {size}",
                    lambda s=size, m=mode, f=fmt, kw=save: file_case("/api/activations", encoded(s, m, f, **kw)),
                )
            )
    out.append(("activations, BMP 1280", lambda: file_case("/api/activations", encoded(1280, "RGB", "BMP"))))
    small = encoded(512, "L", "PNG")
    out += [
        ("explain saliency", lambda: form_case("/api/explain", {"sample": "0"}, "method=saliency")),
        (
            "explain occlusion 28/1",
            lambda: form_case("/api/explain", {"sample": "0"}, "method=occlusion&patch=28&stride=1"),
        ),
        (
            "receptive field",
            lambda: form_case("/api/receptive-field", {"sample": "0", "layer": "conv2", "y": "3", "x": "3"}),
        ),
        ("mix", lambda: form_case("/api/mix", {"sample": "0", "matrix": json.dumps([[1.0] * 20] * 32)})),
        ("batchnorm, 256 samples", lambda: form_case("/api/batchnorm", {"samples": "256"})),
        (
            "batchnorm, 64 PNG 512",
            lambda: {
                "path": "/api/batchnorm",
                "query": "",
                **dict(zip(("body", "ctype"), multipart_files([("files", small)] * 64), strict=True)),
            },
        ),
    ]
    spec = {"kernels": [[[1, 2, 1], [2, 4, 2], [1, 2, 1]]], "padding": "same"}
    for size, color in ((1024, "rgb"), (2048, "gray"), (2048, "rgb"), (4096, "gray")):
        for include in ("data,png", "png", "data,png,padded"):
            out.append(
                (
                    f"convolve 3x3 same, {color} {size}, {include}",
                    lambda s=size, c=color, i=include: file_case(
                        "/api/convolve",
                        encoded(s, "RGB", "JPEG"),
                        {"spec": json.dumps({**spec, "color": c})},
                        f"include={i}",
                    ),
                )
            )
    sobel = [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]]
    out.append(
        (
            "convolve 2 kernels magnitude, rgb 1024",
            lambda: file_case(
                "/api/convolve",
                encoded(1024, "RGB", "JPEG"),
                {"spec": json.dumps({"kernels": sobel, "padding": "same", "combine": "magnitude", "color": "rgb"})},
            ),
        )
    )
    out.append(
        (
            "convolve 15x15 stride 2 reflect 64, gray 4096",
            lambda: file_case(
                "/api/convolve",
                encoded(4096, "L", "PNG"),
                {
                    "spec": json.dumps(
                        {"kernels": [[[0.01] * 15] * 15], "stride": 2, "padding": 64, "padding_mode": "reflect"}
                    )
                },
                "include=png",
            ),
        )
    )
    for size, op, window, stride in (
        (1024, "max", 2, 2),
        (2048, "max", 8, 1),
        (2048, "avg", 8, 1),
        (4096, "max", 4, 4),
    ):
        out.append(
            (
                f"pool {op} {window}/{stride}, gray {size}",
                lambda s=size, o=op, w=window, st=stride: file_case(
                    "/api/pool", encoded(s, "L", "PNG"), {"spec": json.dumps({"op": o, "size": w, "stride": st})}
                ),
            )
        )
    out += lab_cases()
    return out


FILTERS = json.dumps([[[[0.01] * 11] * 11] * 3] * 16)  # the conv-layer lab's largest bank: 16 x 3 x 11 x 11


def lab_cases() -> list[tuple[str, Callable[[], dict]]]:
    """The conv-layer lab (a batch of uploads decoded and resized), 1-D convolution, perturbing the input
    and pooling what a kernel or a layer made."""

    def conv_layer(uploads: list[bytes], size: int = 256) -> dict:
        fields = [("weight", FILTERS), ("size", str(size)), ("padding", "same")]
        body, ctype = multipart_fields(fields, [("file", data) for data in uploads])
        return {"path": "/api/conv-layer", "query": "", "body": body, "ctype": ctype}

    longest = json.dumps({"signal": [1.0] * 128, "kernel": [0.5] * 128}).encode()
    kernel_source = {"kind": "kernel", "kernel": [[0.1] * 5] * 5, "relu": True}
    return [
        (
            "conv-layer, photo 32, 1 filter 3x3",
            lambda: form_case("/api/conv-layer", {"photo": "cat", "weight": json.dumps([[[[0.1] * 3] * 3] * 3])}),
        ),
        (
            "conv-layer, photo, 16 filters 11x11",
            lambda: form_case("/api/conv-layer", {"photo": "cat", "weight": FILTERS, "size": "256", "padding": "same"}),
        ),
        ("conv-layer, 1 PNG RGB 4096", lambda: conv_layer([encoded(4096, "RGB", "PNG")])),
        ("conv-layer, 8 PNG RGB 2048", lambda: conv_layer([encoded(2048, "RGB", "PNG")] * 8)),
        ("conv-layer, 8 PNG RGBA 2048", lambda: conv_layer([encoded(2048, "RGBA", "PNG")] * 8)),
        ("conv-layer, 8 WebP lossless 4096", lambda: conv_layer([encoded(4096, "RGB", "WEBP", lossless=True)] * 8)),
        (
            "convolve1d 128 x 128",
            lambda: {"path": "/api/convolve1d", "query": "", "body": longest, "ctype": "application/json"},
        ),
        ("perturb, rotate", lambda: form_case("/api/perturb", {"sample": "0", "rotate": "10"})),
        (
            "pool a layer's map (relu1)",
            lambda: form_case(
                "/api/pool", {"sample": "0", "spec": json.dumps({"source": {"kind": "layer", "layer": "relu1"}})}
            ),
        ),
        (
            "pool a 5x5 kernel's map, gray 4096",
            lambda: file_case(
                "/api/pool", encoded(4096, "L", "PNG"), {"spec": json.dumps({"source": kernel_source, "size": 2})}
            ),
        ),
    ]


def multipart_fields(fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body of text fields and files, several of them under one name."""
    boundary = "convlensbenchboundary"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    chunks += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="f{i}"\r\n\r\n'.encode()
        + data
        + b"\r\n"
        for i, (name, data) in enumerate(files)
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def multipart_files(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "convlensbenchboundary"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="f{i}"\r\n\r\n'.encode()
        + data
        + b"\r\n"
        for i, (name, data) in enumerate(files)
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def call(app: Any, case: dict) -> tuple[int, int]:
    """One request through the ASGI app: (status, answer bytes)."""
    body = case["body"]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": case["path"],
        "raw_path": case["path"].encode(),
        "query_string": case["query"].encode(),
        "root_path": "",
        "headers": [(b"content-type", case["ctype"].encode()), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    given = False

    async def receive() -> dict:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer is sent
        return {"type": "http.disconnect"}

    status, size = 0, 0

    async def send(message: dict) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, size


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


WARM = form_case("/api/activations", {"sample": "0"})
WARM_UP = [
    WARM,
    form_case("/api/explain", {"sample": "0"}, "method=saliency"),
    form_case("/api/explain", {"sample": "0"}, "method=gradcam"),
    form_case("/api/explain", {"sample": "0"}, "method=occlusion"),
    form_case("/api/receptive-field", {"sample": "0", "layer": "conv2", "y": "3", "x": "3"}),
    form_case("/api/mix", {"sample": "0", "matrix": json.dumps([[1.0] * 20])}),
    form_case("/api/batchnorm", {"samples": "8"}),
    form_case("/api/convolve", {"sample": "0", "spec": json.dumps({"kernels": [[[1.0]]], "color": "rgb"})}),
    form_case("/api/pool", {"sample": "0"}),
    form_case("/api/conv-layer", {"photo": "cat", "weight": json.dumps([[[[1.0]]] * 3])}),
    {"path": "/api/convolve1d", "query": "", "body": b'{"signal": [1], "kernel": [1]}', "ctype": "application/json"},
    form_case("/api/perturb", {"sample": "0", "rotate": "5"}),
]


def measure(app: Any, settings: Settings, case: dict) -> dict:
    """Run ``case`` in a forked child: status, answer size, estimate, peak memory and CPU. The child first
    sends a small request down the light and the heavy path (its threads and their allocator arenas are
    new), then empties the caches and resets its peak."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            app.state.admission = Admission(Budgets.from_settings(settings))  # threads do not survive a fork
            asyncio.run(call(app, WARM))
            app.state.admission.budgets = Budgets.from_settings(Settings(light_request_memory=0))
            asyncio.run(call(app, WARM))  # now heavy: its thread starts
            app.state.admission.budgets = Budgets.from_settings(settings)
            gc.collect()
            Image.core.clear_cache()
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # VmHWM := VmRSS
            start, times = status_kib("VmRSS:"), os.times()
            status, size = asyncio.run(call(app, case))
            after = os.times()
            cost = app.state.admission.last
            result = {
                "status": status,
                "answer": size,
                "peak": (status_kib("VmHWM:") - start) * 1024,
                "cpu": after.user + after.system - times.user - times.system,
                "memory": cost.memory if cost else 0,
                "estimate": cost.cpu if cost else 0.0,
            }
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer sizes")
    p.add_argument("--only", help="run the cases whose name contains this")
    args = p.parse_args()
    settings = Settings(
        request_memory=HUGE, request_cpu=1e9, heavy_memory=HUGE, light_memory=HUGE, body_memory=HUGE, deadline=1e9
    )
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())  # the models load once, in the parent
    chosen = [(n, make) for n, make in cases(args.quick) if not args.only or args.only in n]
    for case in WARM_UP:  # every route once: lazy imports, oneDNN kernels, autograd
        loop.run_until_complete(call(app, case))
    print(
        f"`.venv/bin/python -m bench.costs{' --quick' if args.quick else ''}` ({platform.machine()},"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})\n"
    )
    print("| request | status | answer MiB | memory MiB: estimated / peak | ratio | CPU s: estimated / used | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    worst = [float("inf"), float("inf")]
    for name, make in chosen:
        r = measure(app, settings, make())
        mem_ratio = r["memory"] / max(r["peak"], 1)
        cpu_ratio = r["estimate"] / max(r["cpu"], 0.01)
        worst = [min(worst[0], mem_ratio), min(worst[1], cpu_ratio if r["cpu"] >= 0.05 else float("inf"))]
        print(
            f"| {name} | {r['status']} | {r['answer'] / MIB:.1f} | {r['memory'] / MIB:.0f} / {r['peak'] / MIB:.0f}"
            f" | {mem_ratio:.2f} | {r['estimate']:.2f} / {r['cpu']:.2f} | {cpu_ratio:.2f} |",
            flush=True,
        )
    print(f"\nLowest ratios: memory {worst[0]:.2f}, CPU {worst[1]:.2f} (CPU over requests of at least 0.05 s)")
    loop.run_until_complete(lifespan.__aexit__(None, None, None))


if __name__ == "__main__":
    main()
