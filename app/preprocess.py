"""Uploaded images -> what MNIST looks like: a 28x28 float image in [0, 1], light ink on a dark background.

Decoding is guarded (format, pixel count and truncation are checked, the pixel count before any pixel is
decoded); every failure raises ``ImageError`` (a ``ValueError``) carrying the HTTP status to answer with.
Nothing is ever written to disk.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image, ImageFile, ImageFilter

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")  # Pillow opens camera MPO files as JPEG
SIZE = 28  # MNIST's canvas
BOX = 20  # the digit's longer side inside it
WORK = 256  # the longer side large images are reduced to before the digit-specific steps
INK_THRESHOLD = 0.25  # after contrast stretching, fainter pixels are paper texture or noise
MIN_CONTRAST = 0.12  # ink must differ from the background by this much (of the full range)
STROKE = 3.2  # MNIST's median stroke width at the 20 px scale, estimated as 2 * area / perimeter

ImageFile.LOAD_TRUNCATED_IMAGES = False
T = TypeVar("T")


class ImageError(ValueError):
    """An upload that cannot be used; ``status`` is the HTTP status code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    max_scans: int = 64  # JPEG scans (a progressive JPEG has about 10; libjpeg decodes every one)


@dataclass(frozen=True)
class ImageInfo:
    """What an upload's header says, read without decoding a pixel (the cost model's input)."""

    format: str  # Pillow's: PNG, JPEG, MPO, GIF, WEBP, BMP
    mode: str  # Pillow's mode of the decoded image: L, RGB, RGBA, P, I;16, ...
    width: int
    height: int
    scans: int = 1  # JPEG: start-of-scan markers (an upper bound of the scans libjpeg decodes)
    progressive: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


def jpeg_scans(data: bytes) -> int:
    """An upper bound of a JPEG's scans: its start-of-scan markers (FF DA). Entropy-coded data never holds
    one (an FF there is followed by 00 or a restart marker), so every scan has exactly one; metadata may
    add a few (an EXIF thumbnail)."""
    return data.count(b"\xff\xda")


def _checked_open(data: bytes, limits: Limits) -> tuple[Image.Image, ImageInfo]:
    """Open ``data`` (header only) and check it against ``limits``: size, format, pixel count and JPEG
    scans, all before any pixel is decoded. Raises ``ImageError``."""
    if not data:
        raise ImageError("the upload is empty (0 bytes)", 400)
    if len(data) > limits.max_bytes:
        raise ImageError(f"the upload is {len(data)} bytes; the limit is {limits.max_bytes} bytes", 413)
    img = Image.open(io.BytesIO(data), formats=FORMATS)
    width, height = img.size
    if width * height > limits.max_pixels:
        raise ImageError(
            f"the image is {width}x{height} = {width * height} pixels; the limit is"
            f" {limits.max_pixels} pixels (refused before decoding)",
            413,
        )
    if width < 1 or height < 1:
        raise ImageError(f"the image has no pixels ({width}x{height})", 400)
    jpeg = img.format in ("JPEG", "MPO")
    scans = jpeg_scans(data) if jpeg else 1
    if scans > limits.max_scans:
        raise ImageError(
            f"the JPEG has {scans} scans; the limit is {limits.max_scans} (a progressive JPEG has about 10, and"
            " each one is decoded over the whole image; refused before decoding)",
            413,
        )
    progressive = jpeg and bool(img.info.get("progressive") or img.info.get("progression"))
    return img, ImageInfo(img.format or "", img.mode, width, height, scans, progressive)


def _guarded(step: Callable[[], T]) -> T:
    """Run ``step()`` with Pillow's errors turned into ``ImageError``s carrying their HTTP status."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return step()
    except ImageError:
        raise
    except Image.UnidentifiedImageError as exc:
        raise ImageError("the upload is not a supported image (PNG, JPEG, GIF, WebP or BMP)", 415) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"the image looks like a decompression bomb: {exc}", 413) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"the image could not be decoded (truncated or corrupt?): {exc}", 400) from exc


def probe(data: bytes, limits: Limits = Limits()) -> ImageInfo:
    """The upload's format, mode and size, checked against ``limits`` without decoding any pixel."""
    return _guarded(lambda: _checked_open(data, limits)[1])


REDUCIBLE = ("L", "LA", "RGB", "RGBA", "I", "F")  # modes Image.reduce averages correctly


def _shrink(img: Image.Image, longest: int) -> Image.Image:
    """A loaded image reduced by a whole factor (box average, in Pillow's own mode) while its longer side
    stays at least ``longest``; palette and 1-bit images become L (LA with transparency) first."""
    factor = max(img.size) // longest
    if factor < 2:
        return img
    if img.mode not in REDUCIBLE:
        alpha = img.mode in ("PA", "La") or (img.mode == "P" and "transparency" in img.info)
        img = img.convert("I" if img.mode.startswith("I;16") else "LA" if alpha else "L")
    return img.reduce(factor)


def decode(data: bytes, limits: Limits = Limits(), draft: int | None = None) -> Image.Image:
    """Bytes -> a loaded Pillow image (first frame), upright per its EXIF orientation.

    ``draft``: the caller needs no more than about this many pixels on the longer side. JPEGs then decode
    at 1/2, 1/4 or 1/8 scale (libjpeg skips the detail), and every other format is reduced by a whole
    factor right after decoding, before anything else copies it (a digit route then holds one full-size
    image for a moment, never several float copies of it).
    """

    def step() -> Image.Image:
        img, info = _checked_open(data, limits)
        img.seek(0)
        if draft and info.format in ("JPEG", "MPO"):
            img.draft(img.mode, (draft, draft))
        img.load()
        exif = img.getexif()  # read before shrinking: Image.reduce keeps no EXIF block
        if draft:
            img = _shrink(img, draft)
        return _orient(img, exif)

    return _guarded(step)


ORIENTATION = 0x0112  # the EXIF tag


def _orient(img: Image.Image, exif: Image.Exif) -> Image.Image:
    """``img`` turned upright per the orientation tag of ``exif`` (read before it was reduced); ``img``
    itself when it is upright already (no copy)."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(exif.get(ORIENTATION, 1))
    return img if method is None else img.transpose(method)


def to_gray(img: Image.Image) -> np.ndarray:
    """Any mode -> (H, W) float32 luminance in [0, 1]; transparency composited over a contrasting
    background (dark ink on transparency goes on white, light ink on black)."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return np.clip(arr / top, 0.0, 1.0)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    rgba = np.asarray(img.convert("LA"), dtype=np.float32) / 255.0  # (H, W, 2)
    lum, alpha = rgba[..., 0], rgba[..., 1]
    weight = float(alpha.sum())
    ink_is_dark = weight == 0 or float((lum * alpha).sum()) / weight < 0.5
    background = 1.0 if ink_is_dark else 0.0
    return lum * alpha + background * (1.0 - alpha)


def _reduce(gray: np.ndarray, longest: int) -> np.ndarray:
    """Shrink (H, W) so the longer side is at most ``longest`` (area averaging, which also averages
    noise)."""
    h, w = gray.shape
    scale = longest / max(h, w)
    if scale >= 1:
        return gray
    img = Image.fromarray(gray, mode="F")
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(img.resize(size, Image.Resampling.BOX), dtype=np.float32)


def _border(gray: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring (4% of the shorter side, at least 1 px)."""
    r = max(1, round(0.04 * min(gray.shape)))
    return np.concatenate([gray[:r].ravel(), gray[-r:].ravel(), gray[:, :r].ravel(), gray[:, -r:].ravel()])


def _flatten_background(ink: np.ndarray, border_level: float) -> np.ndarray:
    """Subtract an estimate of the background. ``ink``: (H, W), ink high; ``border_level``: the median
    of its border. Small images have a flat background; larger ones (photos of paper) get a smooth
    estimate of uneven lighting: the local minimum over windows wider than a pen stroke, taken on a
    48 px thumbnail (fast) and smoothed back up to full size.
    """
    h, w = ink.shape
    if min(h, w) < 64:
        return ink - border_level
    scale = 48 / max(h, w)
    thumb = Image.fromarray(ink, mode="F").resize(
        (max(8, round(w * scale)), max(8, round(h * scale))), Image.Resampling.BOX
    )
    floor = thumb.filter(ImageFilter.MinFilter(5)).filter(ImageFilter.MaxFilter(3))
    background = floor.resize((w, h), Image.Resampling.BICUBIC)
    return ink - np.asarray(background, dtype=np.float32)


def _ink_box(ink: np.ndarray, trim: float = 0.002) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1), end-exclusive, of the ink mass, ignoring stray specks that hold
    less than ``trim`` of it on either side."""
    rows, cols = ink.sum(1), ink.sum(0)
    total = float(rows.sum())

    def span(profile: np.ndarray) -> tuple[int, int]:
        cum = np.cumsum(profile) / total
        lo = int(np.searchsorted(cum, trim, side="right"))
        hi = int(np.searchsorted(cum, 1.0 - trim, side="left")) + 1
        return lo, max(hi, lo + 1)

    (y0, y1), (x0, x1) = span(rows), span(cols)
    return y0, y1, x0, x1


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask, estimated as 2 * area / boundary length."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    boundary = int((mask & ~inner).sum())
    return 2.0 * float(mask.sum()) / max(boundary, 1)


def _thicken(crop: np.ndarray) -> np.ndarray:
    """Thin pen strokes (a photo of a digit on paper) are dilated to MNIST's stroke width."""
    target = STROKE * max(crop.shape) / BOX
    width = _stroke_width(crop > 0.5)
    grow = round(target - width)
    if width >= 0.7 * target or grow < 2:
        return crop
    size = grow + 1 if grow % 2 == 0 else grow
    img = Image.fromarray(np.pad(crop, size), mode="F").filter(ImageFilter.MaxFilter(size))
    return np.asarray(img, dtype=np.float32)


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Float image resize with antialiasing; ``size`` is (width, height)."""
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(img.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste ``digit`` (at most 20x20) into 28x28 so its centre of mass lands on pixel (14, 14)."""
    h, w = digit.shape
    rows, cols = digit.sum(1), digit.sum(0)  # (h,), (w,)
    mass = float(rows.sum())
    cy, cx = float(rows @ np.arange(h)) / mass, float(cols @ np.arange(w)) / mass
    top = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - h))
    left = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top : top + h, left : left + w] = digit
    return out


def mnistify(gray: np.ndarray, ink_high: bool | None = None) -> np.ndarray:
    """(H, W) luminance in [0, 1] -> (28, 28) MNIST-like digit in [0, 1].

    ``ink_high``: True when the ink is already the light part (drawn digits); None decides from the
    border: a light border means dark ink on a light background, which is inverted.
    """
    border_level = float(np.median(_border(gray)))
    if ink_high is None:
        ink_high = border_level < 0.5
    ink = gray if ink_high else 1.0 - gray
    ink = _flatten_background(ink, border_level if ink_high else 1.0 - border_level)
    top = float(np.percentile(ink, 99.9)) if ink.size >= 1000 else float(ink.max())
    if top < MIN_CONTRAST:
        raise ImageError(
            "no digit found: the image has no ink that stands out from its background"
            f" (contrast {max(top, 0.0):.2f}, needs {MIN_CONTRAST})",
            422,
        )
    ink = np.clip(ink / top, 0.0, 1.0)
    ink[ink < INK_THRESHOLD] = 0.0
    y0, y1, x0, x1 = _ink_box(ink)
    crop = _thicken(ink[y0:y1, x0:x1])
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    digit = np.clip(_resize(crop, size), 0.0, None)
    digit /= max(float(digit.max()), 1e-6)
    return _centre(digit)


def plain(gray: np.ndarray) -> np.ndarray:
    """``preprocess=none``: (H, W) luminance -> (28, 28) by area resizing, nothing else."""
    img = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
    out = img.resize((SIZE, SIZE), Image.Resampling.BOX if max(img.size) > SIZE else Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def draft_for(mode: str) -> int:
    """The pixels per side an upload is decoded at for ``mode``: enough for the digit steps ("mnist") or
    the plain resize ("none")."""
    return 2 * WORK if mode == "mnist" else 4 * SIZE


def from_upload(data: bytes, mode: str = "mnist", limits: Limits = Limits()) -> np.ndarray:
    """Uploaded bytes -> (28, 28) float32 in [0, 1]; ``mode`` is "mnist" or "none"."""
    if mode not in ("mnist", "none"):
        raise ValueError(f"preprocess must be 'mnist' or 'none', not {mode!r}")
    img = decode(data, limits, draft=draft_for(mode))
    gray = to_gray(img)  # (H, W)
    return mnistify(_reduce(gray, WORK)) if mode == "mnist" else plain(gray)


def from_pixels(pixels: np.ndarray, mode: str = "mnist") -> np.ndarray:
    """Drawn pixels (28, 28) in [0, 1], ink high -> the network's (28, 28) input."""
    if mode not in ("mnist", "none"):
        raise ValueError(f"preprocess must be 'mnist' or 'none', not {mode!r}")
    if mode == "none" or not pixels.any():
        return pixels.astype(np.float32, copy=False)
    return mnistify(pixels.astype(np.float32, copy=False), ink_high=True)
