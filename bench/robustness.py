"""How well uploads of real-world digit pictures are read: accuracy per kind of picture.

    .venv/bin/python bench/robustness.py                  # 300 digits per case and source (the report)
    .venv/bin/python bench/robustness.py --n 10           # a quick smoke run (well under a minute)
    .venv/bin/python bench/robustness.py --sources mnist --cases "thick marker,photo-like"

Digits come from three sources (``bench/digits.py``): the committed MNIST test digits (the first n),
digits rendered from the machine's fonts, and hand-drawn strokes simulated as polylines. Each case
(``bench/uploads.py``) makes every digit into the file a user would upload (a thick marker, a thin pen, a
tiny digit on a large page, a shadowed photo...), seeded, and the file goes through POST /api/activations
as a multipart upload, answered by the app in-process (FastAPI's TestClient around ``create_app()``, the
committed model; no network), once with ``preprocess=mnist`` and once with ``preprocess=none``.

Columns: accuracy with each preprocessing; "network alone": the network on the case's changed digit
itself (its stroke width and rotation changed at MNIST's format, no page, no camera: what the network
makes of the shape, whatever the preprocessing does); "ceiling": the network on the unchanged digits.
An upload the app refuses (422, no digit found) counts as wrong and is counted under "refused". "ms":
the median time of ``app.preprocess.from_upload`` (decoding included) on the case's files, in-process.

Then the stroke-width table: the served network on the first 20 n MNIST test digits (all 10,000 from
n = 500) thickened and thinned (``app.training.strokes``), fed directly (what ``preprocess=none`` does
with a 28x28 upload), which shows the headroom for stroke-width augmentation in training; and the first
n of them uploaded with ``preprocess=mnist``.
Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from fastapi.testclient import TestClient
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import preprocess
from app.datasets import mnist
from app.main import create_app
from app.training.strokes import change_stroke_width
from bench.digits import SOURCES, Digits, load
from bench.uploads import CASES, Case

GOAL, GAP = 98.0, 1.5  # each case: at least GOAL % with preprocess=mnist, within GAP points of the ceiling
STROKE_STEPS = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]  # 3x3 erosions (< 0) or dilations (> 0)


def png(digit: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(digit).save(buf, format="PNG")
    return buf.getvalue()


def predict(client: TestClient, data: bytes, filename: str, mode: str) -> int:
    """The app's label for an uploaded file; -1 when it refuses it (no digit found)."""
    ctype = "image/jpeg" if filename.endswith(".jpg") else "image/png"
    r = client.post(
        "/api/activations", params={"preprocess": mode, "layers": "probs"}, files={"file": (filename, data, ctype)}
    )
    if r.status_code == 422:
        return -1
    r.raise_for_status()
    return int(r.json()["prediction"]["label"])


def ceiling(client: TestClient, digits: Digits) -> np.ndarray:
    """The app's labels for the unchanged digits (28x28 PNGs, preprocess=none: the network alone)."""
    return np.array([predict(client, png(d), "digit.png", "none") for d in digits.images])


def run_case(client: TestClient, case: Case, digits: Digits, top: np.ndarray, seed: int) -> dict:
    rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
    labels = {"mnist": [], "none": [], "alone": []}
    took = []  # s, preprocess=mnist of each upload, in-process
    for i, digit in enumerate(digits.images):
        upload = case.make(digit, rng)
        for mode in ("mnist", "none"):
            labels[mode].append(predict(client, upload.data, upload.filename, mode))
        start = time.perf_counter()
        with contextlib.suppress(preprocess.ImageError):
            preprocess.from_upload(upload.data)
        took.append(time.perf_counter() - start)
        same = np.array_equal(upload.digit, digit)
        labels["alone"].append(top[i] if same else predict(client, png(upload.digit), "digit.png", "none"))
    truth = digits.labels
    row = {k: 100 * float(np.mean(np.array(v) == truth)) for k, v in labels.items()}
    row["refused"] = int(np.sum(np.array(labels["mnist"]) == -1))
    row["ms"] = 1000 * float(np.median(took))
    return row


def case_table(source: str, n: int, rows: dict[str, dict], top: float) -> str:
    lines = [
        f"**{source}** ({n} digits per case; ceiling, the network on the unchanged digits: {top:.1f}%)",
        "",
        "| case | preprocess=mnist | preprocess=none | network alone | ceiling - mnist | refused | goal | ms |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, r in rows.items():
        gap = top - r["mnist"]
        met = "met" if r["mnist"] >= GOAL and gap <= GAP else "**missed**"
        lines.append(
            f"| {name} | {r['mnist']:.1f} | {r['none']:.1f} | {r['alone']:.1f} | {gap:+.1f} | {r['refused']} | {met}"
            f" | {r['ms']:.1f} |"
        )
    return "\n".join(lines)


def stroke_table(client: TestClient, n_upload: int) -> str:
    """The network on the first 20 * ``n_upload`` test digits (all 10,000 from n = 500) with changed stroke
    widths, fed directly, and on ``n_upload`` of them through the preprocessing (28x28 PNG uploads)."""
    served = client.app.state.convlens.registry.get()
    test = mnist.load("test")
    count = min(len(test.labels), 20 * n_upload)
    x = torch.from_numpy(test.images[:count].astype(np.float32) / 255).unsqueeze(1)  # (N, 1, 28, 28)
    y = torch.from_numpy(test.labels[:count].astype(np.int64))
    lines = [
        f"| strokes (3x3 steps) | network alone, first {len(y)} | preprocess=mnist, first {n_upload} |",
        "|---|---:|---:|",
    ]
    for step in STROKE_STEPS:
        changed = change_stroke_width(x, torch.full((len(y),), step))  # (N, 1, 28, 28)
        with torch.inference_mode():
            preds = torch.cat([served.forward(b)["probs"].argmax(1) for b in changed.split(1000)])
        alone = 100 * float((preds == y).float().mean())
        digits = np.round(changed[:n_upload, 0].numpy() * 255).astype(np.uint8)
        hits = [predict(client, png(d), "digit.png", "mnist") == t for d, t in zip(digits, test.labels, strict=False)]
        what = "unchanged" if step == 0 else f"{'thicker' if step > 0 else 'thinner'} by {abs(step):g}"
        lines.append(f"| {what} | {alone:.2f} | {100 * float(np.mean(hits)):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=300, help="digits per case and source (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sources", default=",".join(SOURCES), help=f"comma-separated, of {', '.join(SOURCES)}")
    p.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    p.add_argument("--no-strokes", action="store_true", help="skip the stroke-width table")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # as the server runs it
    known = {c.name: c for c in CASES}
    names = [s.strip() for s in args.cases.split(",")] if args.cases else list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        p.error(f"unknown case(s) {unknown}; cases are {list(known)}")
    start = time.perf_counter()
    with TestClient(create_app()) as client:
        for source in args.sources.split(","):
            digits = load(source.strip(), args.n, args.seed)
            top = ceiling(client, digits)
            rows = {}
            for name in names:
                t = time.perf_counter()
                rows[name] = run_case(client, known[name], digits, top, args.seed)
                took = time.perf_counter() - t
                print(f"  {source} / {name}: {rows[name]['mnist']:.1f}% ({took:.0f} s)", file=sys.stderr)
            print(case_table(source, args.n, rows, 100 * float(np.mean(top == digits.labels))) + "\n", flush=True)
        if not args.no_strokes:
            print(stroke_table(client, args.n) + "\n")
    print(f"({time.perf_counter() - start:.0f} s, seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
