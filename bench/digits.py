"""Digit sources for the robustness benchmark, each a set of MNIST-format digits with their labels.

- ``mnist``: the committed MNIST test digits (the first n);
- ``fonts``: digits rendered from the machine's TrueType/OpenType fonts (``fc-list``: DejaVu, Liberation...);
- ``strokes``: hand-drawn strokes simulated as polylines: a template per digit (with common variants: a
  "1" with a flag, a crossed "7", an open "4"...), randomly slanted, stretched, rotated and wobbled, drawn
  with a round pen of random width.

Every digit is put in MNIST's format the way MNIST itself was made: the ink cropped, scaled so its longer
side is 20 px, and centred by its centre of mass in 28x28, ink high, uint8. Everything is seeded.
"""

from __future__ import annotations

import functools
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.datasets import mnist

SOURCES = ("mnist", "fonts", "strokes")
DRAW = 112  # strokes and glyphs are drawn at this size, then reduced (anti-aliasing like a scanner's)


@dataclass(frozen=True)
class Digits:
    images: np.ndarray  # (N, 28, 28) uint8, ink high
    labels: np.ndarray  # (N,) int


def to_mnist_format(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink in [0, 1] (ink high) -> (28, 28) uint8: cropped, longer side 20 px, centred by mass."""
    ys, xs = np.nonzero(ink > 0.05)
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]  # (h, w)
    h, w = crop.shape
    scale = 20 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0.0, 1.0)  # (h', w')
    rows, cols = small.sum(1), small.sum(0)
    cy, cx = rows @ np.arange(len(rows)) / rows.sum(), cols @ np.arange(len(cols)) / cols.sum()
    top = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    out = np.zeros((28, 28), np.float32)
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.round(out * 255).astype(np.uint8)


# ---- fonts ----


@functools.cache
def font_files() -> tuple[Path, ...]:
    """The machine's scalable fonts that have the ten digits, sorted (empty when fontconfig is missing)."""
    try:
        out = subprocess.run(["fc-list", ":charset=30-39", "file"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ()
    paths = {Path(line.split(":")[0].strip()) for line in out.stdout.splitlines() if line.strip()}
    return tuple(sorted(p for p in paths if p.suffix.lower() in (".ttf", ".otf")))


@functools.cache
def font_digit(path: Path, label: int) -> np.ndarray:
    """Digit ``label`` in the font at ``path``, in MNIST's format."""
    font = ImageFont.truetype(str(path), DRAW)
    canvas = Image.new("L", (2 * DRAW, 2 * DRAW), 0)
    ImageDraw.Draw(canvas).text((DRAW // 2, DRAW // 4), str(label), fill=255, font=font)
    return to_mnist_format(np.asarray(canvas, np.float32) / 255)


def fonts(n: int, seed: int) -> Digits:
    files = font_files()
    if not files:
        raise RuntimeError("no fonts with digits found (fc-list); install fontconfig and e.g. fonts-dejavu")
    rng = np.random.default_rng([seed, 1])
    labels = rng.integers(0, 10, n)
    picks = rng.integers(0, len(files), n)
    images = np.stack([font_digit(files[f], int(d)) for f, d in zip(picks, labels, strict=True)])
    return Digits(images, labels)


# ---- polylines ----


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> list[tuple[float, float]]:
    """Points of an elliptical arc from angle ``a0`` to ``a1`` (degrees; 0 = right, 90 = down, y down)."""
    steps = max(4, round(abs(a1 - a0) / 10))
    angles = np.radians(np.linspace(a0, a1, steps + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


Stroke = list[tuple[float, float]]
# Per digit, its variants; each variant is a list of strokes in a unit box (x right, y down).
TEMPLATES: dict[int, list[list[Stroke]]] = {
    0: [[_arc(0.5, 0.5, 0.32, 0.48, -90, 275)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]], [[(0.34, 0.16), (0.52, 0.0), (0.52, 1.0)]]],
    2: [
        [[*_arc(0.5, 0.3, 0.33, 0.28, 190, 380), (0.12, 1.0), (0.9, 1.0)]],
        [[*_arc(0.5, 0.3, 0.33, 0.28, 190, 370), (0.2, 0.95), *_arc(0.3, 0.9, 0.12, 0.1, 0, -200)[1:], (0.9, 1.0)]],
    ],
    3: [[_arc(0.5, 0.26, 0.3, 0.24, 200, 450), _arc(0.5, 0.74, 0.35, 0.26, 270, 520)]],
    4: [
        [[(0.62, 0.0), (0.08, 0.66), (0.92, 0.66)], [(0.66, 0.3), (0.66, 1.0)]],
        [[(0.2, 0.0), (0.14, 0.6), (0.9, 0.6)], [(0.72, 0.0), (0.72, 1.0)]],
    ],
    5: [[[(0.82, 0.02), (0.28, 0.02), (0.22, 0.46), *_arc(0.5, 0.69, 0.35, 0.31, 225, 515)]]],
    6: [[[(0.74, 0.0), (0.45, 0.14), (0.27, 0.36), (0.19, 0.62), *_arc(0.5, 0.71, 0.31, 0.29, 180, 540)]]],
    7: [
        [[(0.08, 0.02), (0.92, 0.02), (0.42, 1.0)]],
        [[(0.08, 0.02), (0.92, 0.02), (0.42, 1.0)], [(0.36, 0.52), (0.86, 0.5)]],
    ],
    8: [[_arc(0.5, 0.25, 0.26, 0.24, 0, 360), _arc(0.5, 0.73, 0.32, 0.27, 0, 360)]],
    9: [
        [[*_arc(0.48, 0.3, 0.3, 0.28, 0, 360), (0.78, 0.6), (0.7, 1.0)]],
        [[*_arc(0.48, 0.3, 0.3, 0.28, 0, 360), *_arc(0.38, 0.3, 0.4, 0.7, 0, 100)]],
    ],
}


def _warp(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(P, 2) unit-box points -> the same shape as a hand might draw it: slanted, stretched, rotated, wobbly."""
    slant, stretch = rng.uniform(-0.3, 0.15), rng.uniform(0.6, 1.15)
    angle = math.radians(rng.uniform(-8, 8))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centred = points - 0.5
    out = np.stack([centred[:, 0] * stretch + slant * centred[:, 1], centred[:, 1]], 1) @ rot.T
    phase, freq = rng.uniform(0, 2 * math.pi, 4), rng.uniform(2, 5, 4)
    wobble = 0.035 * np.stack(
        [np.sin(freq[0] * points[:, 1] + phase[0]) + np.sin(freq[1] * points[:, 0] + phase[1]),
         np.sin(freq[2] * points[:, 0] + phase[2]) + np.sin(freq[3] * points[:, 1] + phase[3])], 1
    )  # fmt: skip
    return out + wobble


def stroke_digit(label: int, rng: np.random.Generator) -> np.ndarray:
    """A simulated hand-drawn ``label`` in MNIST's format."""
    variants = TEMPLATES[label]
    strokes = variants[int(rng.integers(0, len(variants)))]
    lengths = [len(s) for s in strokes]
    warped = _warp(np.array([p for s in strokes for p in s], np.float64), rng)  # (P, 2)
    pen = rng.uniform(0.07, 0.15)  # of the digit's height
    canvas = Image.new("L", (2 * DRAW, 2 * DRAW), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(pen * DRAW))
    start = 0
    for count in lengths:
        xy = [(DRAW + x * DRAW, DRAW + y * DRAW) for x, y in warped[start : start + count]]
        start += count
        draw.line(xy, fill=255, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return to_mnist_format(np.asarray(canvas, np.float32) / 255)


def strokes(n: int, seed: int) -> Digits:
    rng = np.random.default_rng([seed, 2])
    labels = rng.integers(0, 10, n)
    return Digits(np.stack([stroke_digit(int(d), rng) for d in labels]), labels)


def load(source: str, n: int, seed: int) -> Digits:
    """``n`` digits from ``source`` (one of SOURCES)."""
    if source == "mnist":
        split = mnist.load("test")
        return Digits(split.images[:n], split.labels[:n].astype(np.int64))
    if source == "fonts":
        return fonts(n, seed)
    if source == "strokes":
        return strokes(n, seed)
    raise ValueError(f"unknown source {source!r}; sources are {', '.join(SOURCES)}")
