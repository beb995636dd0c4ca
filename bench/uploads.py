"""Turn an MNIST-format digit into the file a user would upload: a scan, a photo, a screenshot.

Each case draws its random choices from the generator it is given, so a seeded generator gives the same
files every run. A digit goes through two stages:

- its shape: the stroke width (as is, a thick marker, a thin pen) and a rotation, giving the ink coverage
  (H, W) in [0, 1] at the size it has on the page, and the same changed digit back in MNIST's 28x28
  format (what the network alone makes of the changed shape, without any page or camera);
- its page: paper and ink colours, lighting, position, blur, noise and the file format.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from bench.digits import to_mnist_format

PAPERS = [(1.0, 0.95, 0.62), (0.72, 0.84, 0.98), (0.98, 0.76, 0.82), (0.74, 0.93, 0.72), (0.8, 0.66, 0.48)]
INKS = [(0.05, 0.05, 0.06), (0.1, 0.15, 0.55), (0.08, 0.3, 0.12), (0.35, 0.08, 0.06)]


@dataclass(frozen=True)
class Upload:
    data: bytes  # the file's bytes
    filename: str
    digit: np.ndarray  # (28, 28) uint8: the digit with the case's shape changes only, in MNIST's format


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # one line for the report
    make: Callable[[np.ndarray, np.random.Generator], Upload]


# ---- shape ----


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """(28, 28) uint8 -> (size, size) ink coverage in [0, 1] (bicubic, like a scanner's interpolation)."""
    img = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(img, np.float32) / 255, 0.0, 1.0)


def thicken(digit: np.ndarray) -> np.ndarray:
    """A marker's stroke: the 28 px digit dilated with a 3x3 max filter (stroke about 1/6 of the height)."""
    return np.asarray(Image.fromarray(digit).filter(ImageFilter.MaxFilter(3)))


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a binary (H, W) mask to 1 px wide lines."""
    m = np.pad(mask, 1).astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            c = m[1:-1, 1:-1]
            p2, p3, p4, p5 = m[:-2, 1:-1], m[:-2, 2:], m[1:-1, 2:], m[2:, 2:]
            p6, p7, p8, p9 = m[2:, 1:-1], m[2:, :-2], m[1:-1, :-2], m[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            count = sum(ring[:8])
            transitions = sum(((a == 0) & (b == 1)).astype(np.uint8) for a, b in itertools.pairwise(ring))
            side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0) if step == 0 else (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (c == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if delete.any():
                c[delete] = 0
                changed = True
    return m[1:-1, 1:-1].astype(bool)


def thin_pen(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit redrawn along its centre line with a pen 1/40 to 1/25 of its size wide (at least 2 px)."""
    lines = skeleton(ink > 0.5)
    width = max(2, round(ink.shape[0] * rng.uniform(1 / 40, 1 / 25)))
    img = Image.fromarray(lines.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(width | 1))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)), np.float32) / 255


def rotate(ink: np.ndarray, degrees: float) -> np.ndarray:
    img = Image.fromarray(ink, mode="F").rotate(degrees, Image.Resampling.BICUBIC, expand=True)
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)


def shape(
    digit: np.ndarray, rng: np.random.Generator, size: int, stroke: str = "as is", degrees: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """-> (ink (H, W) at ``size`` px per 28 px of the digit's canvas, the changed digit in MNIST's format)."""
    if stroke == "thick":
        digit = thicken(digit)
    ink = upscale(digit, size)
    if stroke == "thin":
        ink = thin_pen(ink, rng)
    if degrees:
        ink = rotate(ink, degrees)
    changed = digit if stroke != "thin" and not degrees else to_mnist_format(ink)
    return ink, changed


# ---- page ----


def lighting(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w) multiplicative light: a linear fall-off to 45-70% across the page in a random direction,
    times a soft-edged shadow (55-70% light) over part of it."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a, b = rng.uniform(0, 2 * np.pi, 2)
    ramp = np.cos(a) * xx + np.sin(a) * yy
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - rng.uniform(0.3, 0.55) * ramp
    side = np.cos(b) * (xx - xx.mean()) + np.sin(b) * (yy - yy.mean()) - rng.uniform(-0.3, 0.3)
    softness = rng.uniform(0.02, 0.08)
    shadow = 1.0 - rng.uniform(0.3, 0.45) / (1.0 + np.exp(-side / softness))
    return (light * shadow).astype(np.float32)


def place(ink: np.ndarray, rng: np.random.Generator, margins: tuple[int, int], page=None, corner=False) -> np.ndarray:
    """Put ``ink`` (h, w) on a page: random ``margins`` (lo, hi) on each side, or at a random spot of a page
    of ``page`` (W, H); ``corner`` keeps it in the outer quarter of the free space on both axes."""
    h, w = ink.shape
    if page is None:
        top, bottom, left, right = (int(m) for m in rng.integers(margins[0], margins[1] + 1, 4))
        out = np.zeros((h + top + bottom, w + left + right), np.float32)
    else:
        width, height = page
        out = np.zeros((max(height, h + 2 * margins[0]), max(width, w + 2 * margins[0])), np.float32)

        def spot(free: int) -> int:
            lo, hi = margins[0], free - margins[0]
            if corner:
                quarter = max(1, (hi - lo) // 4)
                return int(rng.integers(lo, lo + quarter) if rng.random() < 0.5 else rng.integers(hi - quarter, hi))
            return int(rng.integers(lo, max(lo + 1, hi)))

        top, left = spot(out.shape[0] - h), spot(out.shape[1] - w)
    out[top : top + h, left : left + w] = ink
    return out


def render(
    ink: np.ndarray,
    rng: np.random.Generator,
    paper=(1.0, 1.0, 1.0),
    ink_rgb=(0.08, 0.08, 0.08),
    lit: bool = False,
    blur: float = 0.0,
    noise: float = 0.0,
    fmt: str = "PNG",
    quality: int = 90,
) -> tuple[bytes, str]:
    """Ink coverage on its page (H, W) -> the encoded photo or scan, and a file name."""
    paper_a, ink_a = np.asarray(paper, np.float32), np.asarray(ink_rgb, np.float32)
    rgb = paper_a * (1 - ink[..., None]) + ink_a * ink[..., None]  # (H, W, 3)
    if lit:
        rgb *= lighting(*ink.shape, rng)[..., None]
    grey = bool(np.ptp(paper_a) == 0 and np.ptp(ink_a) == 0)
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        arr = np.asarray(img, np.float32) / 255
        arr = arr + rng.normal(0, noise, arr.shape[:2])[..., None] + rng.normal(0, noise / 3, arr.shape)
        img = Image.fromarray(np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8), "RGB")
    if grey:
        img = img.convert("L")
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue(), "digit.jpg" if fmt == "JPEG" else "digit.png"


def grey_pair(rng: np.random.Generator, light_ink: bool = False) -> dict:
    paper, ink = rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.25)
    if light_ink:
        paper, ink = 1.0 - paper, 1.0 - ink
    return {"paper": (paper,) * 3, "ink_rgb": (ink,) * 3}


def coloured_pair(rng: np.random.Generator) -> dict:
    paper = np.clip(np.asarray(PAPERS[int(rng.integers(len(PAPERS)))]) + rng.uniform(-0.04, 0.04, 3), 0, 1)
    return {"paper": tuple(paper), "ink_rgb": INKS[int(rng.integers(len(INKS)))]}


def scan(d: np.ndarray, rng: np.random.Generator, stroke: str = "as is", light_ink: bool = False, **page) -> Upload:
    """The plain case: a 56-160 px digit, 4-60 px margins, grey ink on grey paper, PNG; ``page`` overrides."""
    size = page.pop("size", None) or int(rng.integers(56, 161))
    ink, changed = shape(d, rng, size, stroke, page.pop("degrees", 0.0))
    sheet = place(ink, rng, page.pop("margins", (4, 60)), page.pop("page", None), page.pop("corner", False))
    data, name = render(sheet, rng, **{**grey_pair(rng, light_ink), **page})
    return Upload(data, name, changed)


def thick_marker(d, rng) -> Upload:
    fmt = "PNG" if rng.random() < 0.5 else "JPEG"
    return scan(d, rng, "thick", size=int(rng.integers(56, 129)), margins=(4, 40), fmt=fmt)


def tiny(d, rng) -> Upload:
    width = int(rng.integers(900, 1401))
    return scan(d, rng, size=int(rng.integers(28, 45)), page=(width, width * 3 // 4), margins=(20, 20))


def off_centre(d, rng) -> Upload:
    page = (int(rng.integers(360, 641)), int(rng.integers(300, 481)))
    return scan(d, rng, size=int(rng.integers(48, 121)), page=page, margins=(4, 4), corner=True)


def coloured(d, rng) -> Upload:
    return scan(d, rng, **coloured_pair(rng))


def uneven(d, rng) -> Upload:
    return scan(d, rng, size=int(rng.integers(80, 201)), margins=(20, 150), lit=True)


def blurred(d, rng) -> Upload:
    size = int(rng.integers(56, 161))
    return scan(d, rng, size=size, blur=size * rng.uniform(0.02, 0.04))


def photo(d, rng) -> Upload:
    """Everything at once: any stroke, coloured paper, uneven light, rotation, blur, noise, JPEG 30."""
    size = int(rng.integers(80, 201))
    stroke = ("as is", "thick", "thin")[int(rng.integers(3))]
    return scan(
        d,
        rng,
        stroke,
        size=size,
        degrees=rng.uniform(-15, 15),
        margins=(20, 200),
        lit=True,
        blur=size * rng.uniform(0.01, 0.025),
        noise=0.06,
        fmt="JPEG",
        quality=30,
        **coloured_pair(rng),
    )


def transparent(d, rng) -> Upload:
    """RGBA with the ink only in the alpha channel, dark or light ink (as drawing apps export)."""
    size = int(rng.integers(56, 161))
    ink, changed = shape(d, rng, size)
    sheet = place(ink, rng, (4, 60))
    colour = INKS[int(rng.integers(len(INKS)))] if rng.random() < 0.5 else (1.0, 1.0, 1.0)
    rgba = np.dstack([np.broadcast_to(np.asarray(colour) * 255, (*sheet.shape, 3)), sheet * 255])
    buf = io.BytesIO()
    Image.fromarray(np.round(rgba).astype(np.uint8), "RGBA").save(buf, format="PNG")
    return Upload(buf.getvalue(), "digit.png", changed)


CASES = [
    Case("dark on light", "grey ink on white, 56-160 px, margins 4-60 px, PNG", scan),
    Case("light on dark", "light ink on a dark page (chalkboard, screen)", lambda d, r: scan(d, r, light_ink=True)),
    Case("thick marker", "dilated 3x3 at 28 px (stroke ~1/6 of the height), 56-128 px, PNG or JPEG", thick_marker),
    Case("thin pen", "redrawn along its centre line, pen 1/40-1/25 of the size", lambda d, r: scan(d, r, "thin")),
    Case("tiny digit", "28-44 px digit anywhere on a 900-1400 px page", tiny),
    Case("off-centre", "48-120 px near a corner of a 360-640 px page", off_centre),
    Case("coloured paper", "yellow, blue, pink, green or brown paper; black, blue, green or brown ink", coloured),
    Case("uneven lighting", "light falling to 45-70% across the page and a soft shadow", uneven),
    Case("jpeg q30", "JPEG at quality 30", lambda d, r: scan(d, r, fmt="JPEG", quality=30)),
    Case("rotation 15", "rotated by up to +-15 degrees", lambda d, r: scan(d, r, degrees=r.uniform(-15, 15))),
    Case("blur", "Gaussian blur, sigma 2-4% of the size", blurred),
    Case("noise", "Gaussian noise, sigma 0.12", lambda d, r: scan(d, r, noise=0.12)),
    Case("photo-like", "any stroke + coloured paper + lighting + rotation + blur + noise + JPEG 30", photo),
    Case("transparent PNG", "RGBA, ink only in alpha, dark or white ink", transparent),
]
