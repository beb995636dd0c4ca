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
from PIL import Image, ImageFile

from app import morphology

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")  # Pillow opens camera MPO files as JPEG
SIZE = 28  # MNIST's canvas
BOX = 20  # the digit's longer side inside it
WORK = 256  # the longer side large images are reduced to before the digit-specific steps
INK_THRESHOLD = 0.25  # after contrast stretching, fainter pixels are paper texture or noise
MIN_CONTRAST = 0.12  # ink must differ from the background by this much (of the full range)
STROKE = 3.2  # MNIST's median stroke width at the 20 px scale, estimated as 2 * area / perimeter
THICK = 4.0  # wider strokes (at that scale; 95% of MNIST's test digits' are narrower) are thinned
THIN_BY = 0.5  # by this share of their excess over STROKE
THUMB = 64  # the longer side of the thumbnail the background is estimated on
NARROW = 5  # the first background pass's window on that thumbnail (wider than a pen stroke)
DETAIL = 48  # a digit smaller than this at the WORK scale is looked at again at full resolution
NOISY = 0.02  # pixel noise (standard deviation) above which the image is smoothed first
DENOISE = 1.5  # that smoothing's Gaussian sigma, px at the WORK scale
NOISE_MARGIN = 4.0  # ink must stand this many noise deviations above the background
FAINT_MARGIN = 2.5  # or this many, where it touches ink that stands NOISE_MARGIN above
EVEN_BORDER = 0.15  # a border whose 2-98 percentile range is narrower than this is plain paper
SPECK = 0.05  # separate pieces of ink with less than this share of the largest piece's ink are dropped
MAX_RUNS = 20000  # beyond this many runs of ink (noise) pieces are not looked for
POLARITY_THUMB = 64  # the thumbnail the ink's polarity is judged on when the border is uneven

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


def _flatten_background(ink: np.ndarray, border_level: float, divide: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Subtract an estimate of the background. ``ink``: (H, W), ink high; ``border_level``: the median of
    its border. Small images and even borders have a flat background; others (photos of paper) get a
    smooth estimate of uneven lighting, made on a thumbnail by a grey-scale opening whose window is wider
    than the strokes (so no ink is taken for background, however thick the marker) but no wider than it
    must be (so the estimate follows shadows): see ``_background_window``.

    Returns (ink - background, gain): ``divide`` (dark ink on light paper, where the light multiplies the
    contrast too) makes gain 1 / the paper's brightness (1 - background) per pixel, which evens out the
    contrast between light and shade; otherwise gain is 1.
    """
    h, w = ink.shape
    if min(h, w) < 64 or _border_is_even(ink):
        return ink - border_level, np.ones((1, 1), np.float32)
    scale = THUMB / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    thumb = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BOX))  # (h', w')
    floor = morphology.opening(thumb, _background_window(thumb))
    background = np.asarray(Image.fromarray(floor, mode="F").resize((w, h), Image.Resampling.BICUBIC))  # (H, W)
    gain = 1.0 / np.maximum(1.0 - background, 0.1) if divide else np.ones((1, 1), np.float32)
    return ink - background, gain


def _background_window(thumb: np.ndarray) -> int:
    """The opening window for ``thumb`` (h, w), ink high: about twice its strokes' width, at least NARROW.
    The strokes are measured on what an opening too wide for any of them leaves: wider than a third of
    the thumbnail and than the digit's shorter side (a narrower window keeps the inside of a thick stroke
    or blob as background and measures only its edges). The digit's extent comes from what a NARROW
    opening leaves: it may hollow out thick strokes, but keeps their outline."""
    rough = thumb - morphology.opening(thumb, NARROW)
    peak = float(rough.max())
    if peak <= 0:
        return NARROW
    y0, y1, x0, x1 = _ink_box(np.where(rough > 0.1 * peak, rough, 0.0))
    widest = max(NARROW, min(thumb.shape) // 3, round(1.2 * min(y1 - y0, x1 - x0)) + 2)
    flat = thumb - morphology.opening(thumb, widest)
    peak = float(flat.max())
    if peak <= 0:
        return NARROW
    return int(np.clip(round(2 * morphology.stroke_width(flat > 0.5 * peak)) + 2, NARROW, widest))


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


def _drop_specks(ink: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """(H, W) ink without its small separate pieces (noise, dust, JPEG blotches): every 8-connected piece
    with less than SPECK of the largest piece's ink, or without a ``strong`` (H, W) pixel, is removed."""
    rows, starts, ends = morphology.runs(ink > 0)
    if len(rows) == 0 or len(rows) > MAX_RUNS:
        return np.where(strong, ink, 0.0)
    ids = morphology.run_components(rows, starts, ends)

    def per_piece(values: np.ndarray) -> np.ndarray:  # (H, W) -> its sum over each piece, by piece id
        cum = np.zeros((values.shape[0], values.shape[1] + 1), np.float64)  # (H, W + 1): sums left of each column
        np.cumsum(values, axis=1, out=cum[:, 1:])
        return np.bincount(ids, cum[rows, ends] - cum[rows, starts], minlength=len(rows))

    mass, anchored = per_piece(ink), per_piece(strong)
    small = (mass[ids] < SPECK * mass.max()) | (anchored[ids] == 0)  # (R,) runs to drop
    out = ink.copy()
    for y, x0, x1 in zip(rows[small], starts[small], ends[small], strict=True):
        out[y, x0:x1] = 0.0
    return out


def _heaviest_run(profile: np.ndarray, gap: int) -> tuple[int, int]:
    """(lo, hi), end-exclusive, of the run of ``profile`` (1-D ink mass) with the most mass, runs being
    separated by at least ``gap`` entries holding (almost) no ink."""
    filled = np.flatnonzero(profile > 0.02 * float(profile.max()))
    splits = np.flatnonzero(np.diff(filled) > gap)  # a run ends at each split
    if splits.size == 0:
        return int(filled[0]), int(filled[-1]) + 1
    starts = filled[np.concatenate([[0], splits + 1])]
    ends = filled[np.concatenate([splits, [len(filled) - 1]])] + 1
    cum = np.concatenate([[0.0], np.cumsum(profile)])
    best = int(np.argmax(cum[ends] - cum[starts]))
    return int(starts[best]), int(ends[best])


def _main_part(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink with everything separated from the heaviest part by a wide empty gap (10% of the image)
    along the rows or the columns removed: specks, a shadow's edge, a smudge far from the digit."""
    if not ink.any():
        return ink
    gap = max(2, round(0.1 * max(ink.shape)))
    keep = np.zeros_like(ink, dtype=bool)
    y0, y1, x0, x1 = 0, ink.shape[0], 0, ink.shape[1]
    for _ in range(2):  # rows within the chosen columns, and again: a speck may share rows but not columns
        part = ink[y0:y1, x0:x1]
        dy0, dy1 = _heaviest_run(part.sum(1), gap)
        dx0, dx1 = _heaviest_run(part[dy0:dy1].sum(0), gap)
        y0, y1, x0, x1 = y0 + dy0, y0 + dy1, x0 + dx0, x0 + dx1
    keep[y0:y1, x0:x1] = True
    return np.where(keep, ink, 0.0)


def _normalise_stroke(crop: np.ndarray) -> np.ndarray:
    """Strokes far from MNIST's width are brought to it: thin pen strokes (a photo of a digit on paper)
    are dilated, thick marker strokes eroded (the network reads both worse than MNIST-like ones). The
    result is cut to its ink again."""
    scale = max(crop.shape) / BOX  # crop px per px of MNIST's 20 px box
    target = STROKE * scale
    width = morphology.stroke_width(crop > 0.5)
    if width < 0.7 * target and round(target - width) >= 2:
        size = round(target - width) | 1
        crop = morphology.rank_filter(morphology.zero_pad(crop, size), size, np.max)
    elif width > THICK * scale and round(THIN_BY * (width - target)) >= 2:
        size = min(round(THIN_BY * (width - target)), min(crop.shape) // 2) | 1
        thinner = morphology.rank_filter(morphology.zero_pad(crop, size), size, np.min)
        if thinner.max() < 0.5:
            return crop
        crop = thinner
    else:
        return crop
    rows, cols = np.flatnonzero(crop.any(1)), np.flatnonzero(crop.any(0))
    return crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


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


def _peak(ink: np.ndarray) -> float:
    """The ink's level: the maximum, or on larger images the largest 3x3 mean (a hot pixel is no digit)."""
    return float(ink.max() if ink.size < 1000 else morphology.box_mean3(ink).max())


def _check_contrast(top: float, needed: float = MIN_CONTRAST) -> None:
    if top < needed:
        raise ImageError(
            "no digit found: the image has no ink that stands out from its background"
            f" (contrast {max(top, 0.0):.2f}, needs {MIN_CONTRAST})",
            422,
        )


def _clean_ink(
    gray: np.ndarray, ink_high: bool, border_level: float, needed: float
) -> tuple[np.ndarray, float, np.ndarray]:
    """(H, W) luminance -> (ink in [0, 1] with background, shading and noise removed, its contrast, the
    (H, W) mask of its surely-ink pixels); ImageError when the contrast is below ``needed``. On noisy
    paper, fainter ink is kept too: ``_drop_specks`` keeps it where it touches sure ink (faint strokes
    stay whole, faint blotches go)."""
    ink = gray if ink_high else 1.0 - gray
    if morphology.noise_sigma(ink) > NOISY:
        ink = morphology.gaussian_blur(ink, DENOISE)
    flat, gain = _flatten_background(ink, border_level if ink_high else 1.0 - border_level, divide=not ink_high)
    ink = flat * gain
    top = _peak(ink)
    _check_contrast(top, needed)
    # ink must also stand NOISE_MARGIN robust deviations above what is left of the paper (noise, JPEG
    # blotches, shading the estimate missed), measured where the plain threshold sees paper, and more so
    # where the gain amplified it
    paper = flat[ink < INK_THRESHOLD * top]
    level = morphology.median(paper) if paper.size else 0.0
    spread = 1.4826 * morphology.median(np.abs(paper - level)) if paper.size else 0.0
    sure = np.maximum(INK_THRESHOLD, (level + NOISE_MARGIN * spread) * gain / top)  # (H, W) or (1, 1)
    maybe = np.maximum(INK_THRESHOLD, (level + FAINT_MARGIN * spread) * gain / top)
    ink = np.clip(ink / top, 0.0, 1.0)
    ink[ink < maybe] = 0.0
    return ink, top, ink >= sure


def _border_is_even(gray: np.ndarray) -> bool:
    """Whether the border of (H, W) ``gray`` is plain paper: its 2nd to 98th percentile span is narrow."""
    ring = np.sort(_border(gray))
    return float(ring[int(0.98 * (len(ring) - 1))] - ring[int(0.02 * (len(ring) - 1))]) < EVEN_BORDER


def _ink_is_light(gray: np.ndarray, border_level: float) -> bool:
    """Whether the ink is lighter than the paper in (H, W) ``gray``. An even border (a scan, a screenshot,
    a drawing) is the paper: a dark one means light ink. An uneven one (a photo: shade, noise) is not a
    safe guide, so the image is compared with a local median of itself (on a thumbnail), which follows
    the light but not the strokes: the ink is on the side that departs further from it."""
    if _border_is_even(gray):
        return border_level < 0.5
    h, w = gray.shape
    scale = min(1.0, POLARITY_THUMB / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    thumb = np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX))  # (h', w')
    residual = thumb - morphology.local_median(thumb, max(3, min(thumb.shape) // 4) | 1)  # (h', w')
    spread = 3 * 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    darker = float(np.clip(-residual - spread, 0, None).sum())
    lighter = float(np.clip(residual - spread, 0, None).sum())
    if max(darker, lighter) > 1.5 * min(darker, lighter):
        return lighter > darker
    return border_level < 0.5


def _full_resolution_crop(gray: np.ndarray, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of (H, W) ``gray`` under ``box`` (y0, y1, x0, x1) of its reduction to ``shape``, with paper
    around it (three quarters of the box's longer side on every side)."""
    y0, y1, x0, x1 = box
    fy, fx = gray.shape[0] / shape[0], gray.shape[1] / shape[1]
    pad = 0.75 * max(y1 - y0, x1 - x0) + 2
    rows = slice(max(0, int((y0 - pad) * fy)), min(gray.shape[0], int(np.ceil((y1 + pad) * fy))))
    cols = slice(max(0, int((x0 - pad) * fx)), min(gray.shape[1], int(np.ceil((x1 + pad) * fx))))
    return gray[rows, cols]


def mnistify(gray: np.ndarray, ink_high: bool | None = None, detail: bool = True) -> np.ndarray:
    """(H, W) luminance in [0, 1] -> (28, 28) MNIST-like digit in [0, 1].

    ``ink_high``: True when the ink is already the light part (drawn digits); None decides (see
    ``_ink_is_light``), and dark ink on light paper is inverted. Then: noise smoothed, background and
    uneven lighting removed, faint pixels and small separate specks dropped, the ink cropped, strokes
    brought near MNIST's width, scaled to 20 px and centred by mass. Large images are worked on at most
    WORK px wide; a digit that comes out small there is looked at again at full resolution (``detail``),
    cropped with some paper around it.
    """
    work = _reduce(gray, WORK)
    border_level = morphology.median(_border(work))
    if ink_high is None:
        ink_high = _ink_is_light(work, border_level)
    detail = detail and work.shape != gray.shape
    # reducing a small digit also fades it: judge its contrast at full resolution
    ink, top, sure = _clean_ink(work, ink_high, border_level, MIN_CONTRAST / 2 if detail else MIN_CONTRAST)
    ink = _main_part(_drop_specks(ink, sure))
    if not ink.any():  # every piece of ink was a speck: nothing stands out from the paper's noise
        raise ImageError("no digit found: nothing in the image stands out from the noise of its background", 422)
    y0, y1, x0, x1 = _ink_box(ink)
    if detail and max(y1 - y0, x1 - x0) < DETAIL:
        return mnistify(_full_resolution_crop(gray, work.shape, (y0, y1, x0, x1)), ink_high, detail=False)
    _check_contrast(top)
    crop = _normalise_stroke(ink[y0:y1, x0:x1])
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
    """The pixels per side an upload is decoded at for ``mode``: enough for the digit steps ("mnist": a digit
    a few percent of a photo's side is looked at again at full resolution, so only very large images are
    reduced) or the plain resize ("none")."""
    return 8 * WORK if mode == "mnist" else 4 * SIZE


def from_upload(data: bytes, mode: str = "mnist", limits: Limits = Limits()) -> np.ndarray:
    """Uploaded bytes -> (28, 28) float32 in [0, 1]; ``mode`` is "mnist" or "none"."""
    if mode not in ("mnist", "none"):
        raise ValueError(f"preprocess must be 'mnist' or 'none', not {mode!r}")
    img = decode(data, limits, draft=draft_for(mode))
    gray = to_gray(img)  # (H, W)
    return mnistify(gray) if mode == "mnist" else plain(gray)


def from_pixels(pixels: np.ndarray, mode: str = "mnist") -> np.ndarray:
    """Drawn pixels (28, 28) in [0, 1], ink high -> the network's (28, 28) input."""
    if mode not in ("mnist", "none"):
        raise ValueError(f"preprocess must be 'mnist' or 'none', not {mode!r}")
    if mode == "none" or not pixels.any():
        return pixels.astype(np.float32, copy=False)
    return mnistify(pixels.astype(np.float32, copy=False), ink_high=True)
