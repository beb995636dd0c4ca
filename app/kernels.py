"""The kernel lab's core: slide small hand-made kernels (or a pooling window) over a whole image.

Plain functions on tensors: no HTTP, no pydantic. Invalid values raise ``ValueError`` whose message
starts with the name of the spec field at fault; a result over the size limit raises ``TooLarge``
(a ``ValueError`` with ``status = 413``).

Conventions (the API documents the same):

- Images are (C, H, W) float32 in [0, 1]: "gray" is one channel (Pillow's "L"), "rgb" three, and every
  channel is filtered on its own with the same kernel.
- mode "cross-correlation" slides the kernel as written, ``out[y, x] = sum_ij pad[y*S + i, x*S + j] * k[i, j]``
  (what deep-learning libraries call convolution); "convolution" first flips the kernel in both axes,
  ``k[K-1-i, K-1-j]``, as mathematics and ``scipy.signal.convolve2d`` do.
- padding "valid" adds nothing; an int P adds P rows/columns on every side; "same" makes the output
  ceil(W / S) pixels long on each axis: the total padding is max((ceil(W/S) - 1) * S + K - W, 0), half of
  it before and the rest after, so an odd total (an even kernel at stride 1) puts the extra row at the
  bottom and the extra column at the right, as PyTorch (``padding="same"``) and TensorFlow ("SAME") do.
  At stride 1 the total is K - 1 and the output has the input's size.
- Output size per axis: floor((W - K + P_before + P_after) / S) + 1, the lecture's (W - K + 2P) / S + 1
  rounded down when it is not a whole number: the last window stops before the end of the padded input
  and the rows/columns past it are never looked at.
"""

from __future__ import annotations

import copy
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

MAX_KERNEL = 15  # largest kernel side
MAX_KERNELS = 8  # kernels per request
MAX_VALUE = 1e6  # largest |kernel value| (keeps every float32 sum finite)
MAX_PADDING = 64  # largest explicit padding, in pixels per side
MAX_STRIDE = 64
MAX_POOL = 32  # largest pooling window side
MAX_OUTPUT_VALUES = 1 << 24  # float32 values in one answer (every output and the combined one): 64 MiB
MODES = ("cross-correlation", "convolution")
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
COMBINES = ("none", "magnitude", "sum")
COLORS = ("gray", "rgb")
POOL_OPS = ("max", "avg")
BAND_LANES = 16  # bands per channel: oneDNN's depthwise conv is fastest with 16 channels


class TooLarge(ValueError):
    """The answer would exceed ``MAX_OUTPUT_VALUES``; ``status`` is the HTTP status to answer with."""

    status = 413


# --- kernels ---------------------------------------------------------------------------------------


def as_kernel(values: object, field: str, max_size: int = MAX_KERNEL) -> np.ndarray:
    """A k x k matrix of finite numbers (1 <= k <= ``max_size``) -> float32 (k, k); ValueError naming
    ``field`` if it is empty, ragged, not square, too large or not finite."""
    if not isinstance(values, Sequence) or isinstance(values, str | bytes):
        raise ValueError(f"{field}: expected a k x k matrix (a list of rows), not {type(values).__name__}")
    rows = len(values)
    if rows == 0:
        raise ValueError(f"{field}: the kernel is empty; give 1 to {max_size} rows")
    for i, row in enumerate(values):
        if not isinstance(row, Sequence) or isinstance(row, str | bytes):
            raise ValueError(f"{field}: row {i} is not a list of numbers")
        if len(row) != rows:
            lengths = ", ".join(str(len(r)) if isinstance(r, Sequence) else "?" for r in values)
            raise ValueError(
                f"{field}: a kernel is a square k x k matrix, but it has {rows} rows of lengths {lengths}"
                + (" (ragged)" if len({len(r) for r in values if isinstance(r, Sequence)}) > 1 else "")
            )
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{field}: value [{i}][{j}] is not a number: {v!r}")
            if not math.isfinite(v) or abs(v) > MAX_VALUE:
                raise ValueError(f"{field}: value [{i}][{j}] must be a finite number within +-{MAX_VALUE:g}, not {v}")
    if rows > max_size:
        raise ValueError(f"{field}: the kernel is {rows}x{rows}; the largest allowed is {max_size}x{max_size}")
    return np.asarray(values, dtype=np.float32)  # (k, k)


def as_kernels(values: object, field: str = "kernels") -> list[np.ndarray]:
    """One to ``MAX_KERNELS`` kernels, all of the same size -> a list of float32 (k, k)."""
    if not isinstance(values, Sequence) or isinstance(values, str | bytes) or not values:
        raise ValueError(f"{field}: give a list of 1 to {MAX_KERNELS} kernels (k x k matrices)")
    if len(values) > MAX_KERNELS:
        raise ValueError(f"{field}: {len(values)} kernels; at most {MAX_KERNELS} per request")
    kernels = [as_kernel(k, f"{field}[{i}]") for i, k in enumerate(values)]
    sizes = sorted({k.shape[0] for k in kernels})
    if len(sizes) > 1:
        raise ValueError(f"{field}: all kernels must have the same size (so their outputs line up), got {sizes}")
    return kernels


def applied(kernel: np.ndarray, mode: str) -> np.ndarray:
    """The weights actually slid over the image: the kernel itself for cross-correlation, the kernel
    flipped in both axes for convolution."""
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, not {mode!r}")
    return kernel[::-1, ::-1].copy() if mode == "convolution" else kernel


# --- output-size arithmetic -----------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """The output-size arithmetic along one axis (height or width)."""

    size: int  # W: input pixels along the axis
    kernel: int  # K
    stride: int  # S
    before: int  # padding before (top or left)
    after: int  # padding after (bottom or right)
    rule: str = ""  # how the padding was chosen, in words

    @property
    def span(self) -> int:
        """W - K + P_before + P_after: how far the window can travel."""
        return self.size + self.before + self.after - self.kernel

    @property
    def output(self) -> int:
        return self.span // self.stride + 1

    @property
    def remainder(self) -> int:
        """Padded rows/columns past the last window (dropped by the floor)."""
        return self.span % self.stride

    def uncovered(self) -> list[tuple[int, int]]:
        """Inclusive ranges of input indices that no window touches: the tail dropped by the floor, and
        the gaps between windows when the stride is larger than the kernel."""
        ranges, free = [], 0  # free: the first input index not yet covered
        starts = range(-self.before, -self.before + self.output * self.stride, self.stride)
        if self.kernel < self.stride:
            for start in starts:
                if start > free and free < self.size:
                    ranges.append((free, min(start, self.size) - 1))
                free = max(free, start + self.kernel)
        else:
            free = max(free, starts[-1] + self.kernel)
        if free < self.size:
            ranges.append((free, self.size - 1))
        return ranges

    def describe(self, name: str) -> dict:
        """The arithmetic with the numbers filled in, as the API returns it."""
        letter, unit, ends = ("H", "row", ("top", "bottom")) if name == "height" else ("W", "column", ("left", "right"))
        symmetric = self.before == self.after
        formula = f"({letter} - K + 2P) / S + 1" if symmetric else f"({letter} - K + P_{ends[0]} + P_{ends[1]}) / S + 1"
        pads = f"2*{self.before}" if symmetric else f"{self.before} + {self.after}"
        inner = f"({self.size} - {self.kernel} + {pads}) / {self.stride}"
        quotient = self.span / self.stride
        whole = self.remainder == 0
        if whole:
            expression = f"{inner} + 1 = {self.span // self.stride} + 1 = {self.output}"
        else:
            expression = f"floor({inner}) + 1 = floor({quotient:g}) + 1 = {self.output}"
        uncovered = self.uncovered()
        return {
            "input": self.size,
            "kernel": self.kernel,
            "stride": self.stride,
            "pad_before": self.before,
            "pad_after": self.after,
            "padding_rule": self.rule,
            "formula": formula,
            "expression": expression,
            "quotient": quotient,
            "whole": whole,
            "output": self.output,
            "remainder": self.remainder,
            "uncovered": [list(r) for r in uncovered],
            "uncovered_count": sum(b - a + 1 for a, b in uncovered),
            "note": self._note(letter, unit, ends, quotient, uncovered),
        }

    def _note(
        self, letter: str, unit: str, ends: tuple[str, str], quotient: float, uncovered: list[tuple[int, int]]
    ) -> str:
        span = f"({letter} - K + 2P) / S = {self.span}/{self.stride} = {quotient:g}"
        if self.remainder == 0:
            text = f"{span} is whole: the last window ends exactly at the end of the padded input."
        else:
            text = (
                f"{span} is not whole, so it is rounded down: {self.output} outputs, and the last"
                f" {self.remainder} padded {unit}(s) at the {ends[1]} are never inside a window."
            )
        if uncovered:
            count = sum(b - a + 1 for a, b in uncovered)
            where = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in uncovered[:8])
            more = ", ..." if len(uncovered) > 8 else ""
            gaps = " (the stride is larger than the kernel, so windows leave gaps)" if self.stride > self.kernel else ""
            text += f" {count} input {unit}(s) never reach the output{gaps}: {where}{more}."
        else:
            text += f" Every input {unit} is inside at least one window."
        return text


@dataclass(frozen=True)
class Geometry:
    height: Axis
    width: Axis

    def shape(self, channels: int) -> list[int]:
        return [channels, self.height.output, self.width.output]

    def pads(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), the order ``F.pad`` wants."""
        return self.width.before, self.width.after, self.height.before, self.height.after

    def describe(self) -> dict:
        return {"height": self.height.describe("height"), "width": self.width.describe("width")}


def resolve_padding(size: int, kernel: int, stride: int, padding: str | int) -> tuple[int, int, str]:
    """(before, after, rule in words) for one axis."""
    if padding == "valid":
        return 0, 0, "valid: no padding"
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        before = total // 2
        rule = (
            f"same: output ceil({size}/{stride}) = {out}; total padding max(({out} - 1)*{stride} + {kernel}"
            f" - {size}, 0) = {total}, split {before} before and {total - before} after"
        )
        if total % 2:
            rule += " (the odd one goes after: bottom/right, as in PyTorch)"
        return before, total - before, rule
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= MAX_PADDING:
        raise ValueError(f'padding: must be "valid", "same" or an integer 0..{MAX_PADDING}, not {padding!r}')
    return padding, padding, f"{padding} on every side"


def _check_stride(stride: object, field: str = "stride") -> int:
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= MAX_STRIDE:
        raise ValueError(f"{field}: must be an integer 1..{MAX_STRIDE}, not {stride!r}")
    return stride


def conv_geometry(
    height: int, width: int, kernel: int, stride: int, padding: str | int, padding_mode: str = "zeros"
) -> Geometry:
    """The output-size arithmetic of a k x k kernel on an H x W image; ValueError if the output would be
    empty or the padding mode cannot pad that much."""
    _check_stride(stride)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: must be one of {', '.join(PADDING_MODES)}, not {padding_mode!r}")
    axes = []
    for size in (height, width):
        before, after, rule = resolve_padding(size, kernel, stride, padding)
        axes.append(Axis(size, kernel, stride, before, after, rule))
    geometry = Geometry(*axes)
    for name, axis in (("height", geometry.height), ("width", geometry.width)):
        if axis.span < 0:
            raise ValueError(
                f"kernels: a {kernel}x{kernel} kernel does not fit the {height}x{width} image with padding"
                f" {padding!r}: along the {name}, {axis.size} + {axis.before + axis.after} padding < {kernel}, so"
                ' the output would be smaller than 1x1; use a smaller kernel, more padding or padding "same"'
            )
        _check_pad_mode(axis, name, padding_mode)
    return geometry


def _check_pad_mode(axis: Axis, name: str, padding_mode: str) -> None:
    pad = max(axis.before, axis.after)
    if padding_mode == "reflect" and pad >= axis.size:
        raise ValueError(
            f"padding_mode: reflect padding of {pad} needs more than {pad} pixels along the {name}, but the"
            f" image has {axis.size}; use less padding or another padding_mode"
        )
    if padding_mode == "circular" and pad > axis.size:
        raise ValueError(
            f"padding_mode: circular padding of {pad} wraps around more than once: the image has only"
            f" {axis.size} pixels along the {name}; use less padding or another padding_mode"
        )


def check_output_size(values: int) -> None:
    """TooLarge when an answer would carry more than ``MAX_OUTPUT_VALUES`` numbers."""
    if values > MAX_OUTPUT_VALUES:
        raise TooLarge(
            f"the result would have {values:,} values; the limit is {MAX_OUTPUT_VALUES:,} per request"
            " (outputs x channels x height x width, the combined output included): use a smaller image,"
            ' fewer kernels, a larger stride or color "gray"'
        )


# --- images ---------------------------------------------------------------------------------------


def image_tensor(img: Image.Image, color: str) -> torch.Tensor:
    """A decoded image -> (C, H, W) float32 in [0, 1]: gray is Pillow's "L" (C = 1), rgb its "RGB"
    (C = 3). Transparent pixels are composited over white first; 16-bit and float images are scaled
    by their full range (65535, or 255 for 8-bit data stored as 32-bit)."""
    if color not in COLORS:
        raise ValueError(f"color: must be one of {', '.join(COLORS)}, not {color!r}")
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = torch.from_numpy(np.clip(arr / top, 0.0, 1.0))  # (H, W)
        return gray.expand(3 if color == "rgb" else 1, *gray.shape).contiguous()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    arr = np.asarray(img.convert("L" if color == "gray" else "RGB"))  # (H, W) or (H, W, 3) uint8
    planes = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W), a view
    out = np.empty(planes.shape, dtype=np.float32)
    for c, plane in enumerate(planes):  # one channel at a time: no full-size temporaries
        np.divide(plane, np.float32(255), out=out[c])
    return torch.from_numpy(out)


def gray_to(pixels: np.ndarray, color: str) -> torch.Tensor:
    """(H, W) float [0, 1] (a sample digit) -> (C, H, W) for ``color``."""
    if color not in COLORS:
        raise ValueError(f"color: must be one of {', '.join(COLORS)}, not {color!r}")
    t = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))  # (H, W)
    return t.expand(3 if color == "rgb" else 1, *t.shape).contiguous()


def pad(image: torch.Tensor, geometry: Geometry, padding_mode: str) -> torch.Tensor:
    """(C, H, W) -> (C, H + pads, W + pads): the image as the kernels see it."""
    pads = geometry.pads()
    if not any(pads):
        return image
    mode = PADDING_MODES[padding_mode]
    return F.pad(image, pads, mode=mode, value=0.0 if mode == "constant" else None)


# --- sliding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bands:
    """One channel of the padded image cut into ``count`` horizontal bands (overlapping by K - S rows),
    stacked as the channels of one image.

    A depthwise conv over 16 such bands in channels-last memory is many times faster on a CPU than a
    conv over one tall single-channel image (oneDNN vectorises across channels), and gives exactly the
    same sums: each output row is computed from one band that holds every input row its window needs.
    One channel at a time keeps the rows a window needs in the L2 cache.
    """

    data: torch.Tensor  # (1, nb, band_h, Wp), channels-last
    count: int  # nb
    rows: int  # output rows per band
    out_h: int


def bands(plane: torch.Tensor, kernel: int, stride: int) -> Bands:
    """``plane`` (Hp, Wp), one padded channel -> its bands."""
    hp = plane.shape[0]
    out_h = (hp - kernel) // stride + 1
    count = max(1, min(out_h, BAND_LANES))
    rows = -(-out_h // count)
    count = -(-out_h // rows)
    band_h = (rows - 1) * stride + kernel
    need = (count - 1) * rows * stride + band_h
    if need > hp:  # the last band reaches past the image: those output rows are dropped afterwards
        plane = F.pad(plane, (0, 0, 0, need - hp))
    stacked = plane[:need].unfold(0, band_h, rows * stride)  # (nb, Wp, band_h), a view
    data = stacked.permute(2, 1, 0).contiguous().permute(2, 0, 1).unsqueeze(0)  # (1, nb, band_h, Wp), channels-last
    return Bands(data, count, rows, out_h)


def slide(b: Bands, weights: torch.Tensor, stride: int, out: torch.Tensor) -> None:
    """Cross-correlate every band with ``weights`` (K, K), writing the result into ``out`` (H', W')."""
    k = weights.shape[0]
    y = F.conv2d(b.data, weights.expand(b.count, 1, k, k), stride=stride, groups=b.count)  # (1, nb, rows, W')
    wo = y.shape[-1]
    full = b.out_h // b.rows  # bands whose rows are all kept
    out[: full * b.rows].view(full, b.rows, wo).copy_(y[0, :full])
    if full < b.count:
        out[full * b.rows :].copy_(y[0, full, : b.out_h - full * b.rows])


@dataclass(frozen=True)
class Convolved:
    geometry: Geometry
    applied: list[np.ndarray]  # the weights slid over the image (flipped for convolution)
    outputs: list[torch.Tensor]  # one (C, H', W') per kernel
    combined: torch.Tensor | None  # (C, H', W')


def output_values(channels: int, geometry: Geometry, n_kernels: int, combine: str) -> int:
    maps = n_kernels + (combine != "none")
    return maps * channels * geometry.height.output * geometry.width.output


def convolve(
    image: torch.Tensor,
    kernels: Sequence[np.ndarray | Sequence[Sequence[float]]],
    *,
    mode: str = "cross-correlation",
    padding: str | int = "valid",
    padding_mode: str = "zeros",
    stride: int = 1,
    combine: str = "none",
) -> Convolved:
    """Every kernel over every channel of ``image`` (C, H, W) -> one (C, H', W') output per kernel (and
    their combination). Checks the geometry and the size limit before doing any work."""
    if combine not in COMBINES:
        raise ValueError(f"combine: must be one of {', '.join(COMBINES)}, not {combine!r}")
    checked = as_kernels([k.tolist() if isinstance(k, np.ndarray) else k for k in kernels])
    weights = [applied(k, mode) for k in checked]
    c, h, w = image.shape
    size = weights[0].shape[0]
    geometry = conv_geometry(h, w, size, stride, padding, padding_mode)
    check_output_size(output_values(c, geometry, len(weights), combine))
    with torch.inference_mode():
        outputs = [torch.empty(geometry.shape(c)) for _ in weights]  # each (C, H', W')
        taps = [torch.from_numpy(wt) for wt in weights]  # each (K, K)
        for ch in range(c):  # one padded channel at a time: a third of the memory for rgb
            b = bands(pad(image[ch : ch + 1], geometry, padding_mode)[0], size, stride)
            for tap, out in zip(taps, outputs, strict=True):
                slide(b, tap, stride, out[ch])
        return Convolved(geometry, weights, outputs, combined(outputs, combine))


def combined(outputs: list[torch.Tensor], how: str) -> torch.Tensor | None:
    """magnitude: sqrt of the sum of squares (e.g. Sobel x and y -> edge strength); sum: the plain sum."""
    if how == "none":
        return None
    if how == "sum":
        return torch.stack(outputs).sum(0)
    if how == "magnitude":
        return torch.stack(outputs).square().sum(0).sqrt()
    raise ValueError(f"combine: must be one of {', '.join(COMBINES)}, not {how!r}")


# --- pooling --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    geometry: Geometry
    output: torch.Tensor  # (C, H', W')


def pool_geometry(height: int, width: int, size: int, stride: int, padding: int) -> Geometry:
    """The output-size arithmetic of a size x size pooling window; ValueError naming the field at fault."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_POOL:
        raise ValueError(f"size: the pooling window must be an integer 1..{MAX_POOL}, not {size!r}")
    _check_stride(stride)
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= size // 2:
        raise ValueError(
            f"padding: must be an integer 0..{size // 2} (at most half the {size}x{size} window, as in"
            f" PyTorch), not {padding!r}"
        )
    rule = f"{padding} on every side" if padding else "no padding"
    geometry = Geometry(
        Axis(height, size, stride, padding, padding, rule), Axis(width, size, stride, padding, padding, rule)
    )
    for name, axis in (("height", geometry.height), ("width", geometry.width)):
        if axis.span < 0:
            raise ValueError(
                f"size: a {size}x{size} window does not fit the {height}x{width} image (along the {name},"
                f" {axis.size} + {2 * padding} padding < {size}): the output would be smaller than 1x1"
            )
    return geometry


def pool(image: torch.Tensor, op: str, size: int, stride: int | None = None, padding: int = 0) -> Pooled:
    """Max or average pooling of every channel of ``image`` (C, H, W) -> (C, H', W'). Average pooling
    counts padding as zeros (PyTorch's ``count_include_pad=True``); max pooling ignores it."""
    if op not in POOL_OPS:
        raise ValueError(f"op: must be max or avg, not {op!r}")
    stride = size if stride is None else stride
    c, h, w = image.shape
    geometry = pool_geometry(h, w, size, stride, padding)
    check_output_size(c * geometry.height.output * geometry.width.output)
    x = image.unsqueeze(0)  # (1, C, H, W)
    with torch.inference_mode():
        if op == "max":
            out = F.max_pool2d(x, size, stride, padding)
        else:
            out = F.avg_pool2d(x, size, stride, padding, count_include_pad=True)
    return Pooled(geometry, out[0].contiguous())


def pool_padded(image: torch.Tensor, op: str, padding: int) -> torch.Tensor:
    """(C, H, W) -> the input as the pooling windows see it: -inf padding for max (it never wins), zeros
    for avg."""
    if not padding:
        return image
    return F.pad(image, (padding,) * 4, value=-math.inf if op == "max" else 0.0)


# --- display --------------------------------------------------------------------------------------


def display_scale(lo: float, hi: float) -> tuple[str, float, float]:
    """How values map to PNG grey levels: ``(mode, low, high)`` with ``low`` -> 0 and ``high`` -> 255,
    linear in between. Signed outputs (min < 0) are "symmetric": +-max|value|, so 0 is mid-grey 127.5;
    others are "minmax": min -> 0, max -> 255."""
    if lo < 0:
        m = max(-lo, hi)
        return "symmetric", -m, m
    return "minmax", lo, hi


def to_pixels(values: torch.Tensor, low: float, high: float) -> np.ndarray:
    """(C, H, W) -> uint8 (H, W) for one channel or (H, W, 3) for three: round((v - low) * 255 / (high -
    low)), clipped to 0..255. A constant output (high == low) is all 0."""
    scale = 255.0 / (high - low) if high > low else 0.0
    planes = values.numpy()
    c, h, w = planes.shape
    out = np.empty((h, w, c), dtype=np.uint8)
    for ch in range(c):  # one channel at a time: no big temporaries, and the interleaving comes free
        level = (planes[ch] - np.float32(low)) * np.float32(scale) + np.float32(0.5)  # (H, W)
        np.clip(level, 0, 255, out=level)
        out[:, :, ch] = level  # truncation of v + 0.5 >= 0: rounding
    return out[:, :, 0] if c == 1 else out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png(pixels: np.ndarray, level: int = 0) -> bytes:
    """uint8 (H, W) grey or (H, W, 3) RGB -> PNG bytes with zlib ``level`` 0..9. Level 0 stores the rows
    uncompressed (a few ms for megapixels, where Pillow's encoder takes tens); higher levels use PNG's
    "Sub" filter, which suits smooth images."""
    if not 0 <= level <= 9:
        raise ValueError(f"png_compression: must be 0..9, not {level}")
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(h, w * channels)
    rows = np.empty((h, w * channels + 1), dtype=np.uint8)
    if level == 0:
        rows[:, 0] = 0  # filter: None
        rows[:, 1:] = flat
    else:
        rows[:, 0] = 1  # filter: Sub (difference to the pixel on the left)
        rows[:, 1 : channels + 1] = flat[:, :channels]
        np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, channels + 1 :])
    header = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.data, level)),
            _chunk(b"IEND", b""),
        )
    )


# --- presets --------------------------------------------------------------------------------------


def _outer(v: list[float], scale: float) -> list[list[float]]:
    return [[a * b / scale for b in v] for a in v]


def _t(k: list[list[float]]) -> list[list[float]]:
    return [list(r) for r in zip(*k, strict=True)]


SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SCHARR_X = [[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]
PREWITT_X = [[-1.0, 0.0, 1.0]] * 3
VERTICAL_EDGE = [[1.0, 0.0, -1.0]] * 3
LAPLACE_8 = [[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]]

PRESETS: list[dict] = [
    {
        "name": "identity",
        "kernel": [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
        "description": "Copies the image unchanged: only the centre pixel counts.",
    },
    {
        "name": "1x1",
        "kernel": [[1.0]],
        "description": "One weight per pixel: scales each value. On one channel it changes nothing; in a"
        " network a 1x1 convolution mixes the channels at each pixel.",
    },
    {
        "name": "box blur 3x3",
        "kernel": [[1 / 9] * 3 for _ in range(3)],
        "description": "Each pixel becomes the plain average of its 3x3 neighbourhood: a soft blur.",
    },
    {
        "name": "box blur 5x5",
        "kernel": [[1 / 25] * 5 for _ in range(5)],
        "description": "The average of the 5x5 neighbourhood: a stronger blur.",
    },
    {
        "name": "gaussian 3x3",
        "kernel": _outer([1.0, 2.0, 1.0], 16.0),
        "description": "A weighted average that counts near pixels more than far ones: a smooth blur"
        " without the boxy look.",
    },
    {
        "name": "gaussian 5x5",
        "kernel": _outer([1.0, 4.0, 6.0, 4.0, 1.0], 256.0),
        "description": "A wider Gaussian-like blur (binomial weights 1 4 6 4 1, summing to 1).",
    },
    {
        "name": "sharpen",
        "kernel": [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]],
        "description": "Adds to each pixel how much it differs from its four neighbours: edges get crisper.",
    },
    {
        "name": "sobel x",
        "kernel": SOBEL_X,
        "description": "Horizontal change: positive where the image gets brighter to the right, so it"
        " finds vertical edges. Smooths a little along the edge (weights 1 2 1).",
    },
    {
        "name": "sobel y",
        "kernel": _t(SOBEL_X),
        "description": "Vertical change: positive where the image gets brighter downwards, so it finds"
        " horizontal edges. Combine with Sobel x (magnitude) for the outline.",
    },
    {
        "name": "scharr x",
        "kernel": SCHARR_X,
        "description": "Like Sobel x with weights 3 10 3: a more rotation-even estimate of horizontal change.",
    },
    {
        "name": "scharr y",
        "kernel": _t(SCHARR_X),
        "description": "Like Sobel y with weights 3 10 3: vertical change, finds horizontal edges.",
    },
    {
        "name": "prewitt x",
        "kernel": PREWITT_X,
        "description": "Horizontal change with equal weights on the three rows: finds vertical edges.",
    },
    {
        "name": "prewitt y",
        "kernel": _t(PREWITT_X),
        "description": "Vertical change with equal weights on the three columns: finds horizontal edges.",
    },
    {
        "name": "laplacian 4-neighbour",
        "kernel": [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
        "description": "The four neighbours minus four times the centre: zero on flat areas and smooth"
        " ramps, strong on thin lines and corners in any direction.",
    },
    {
        "name": "laplacian 8-neighbour",
        "kernel": LAPLACE_8,
        "description": "All eight neighbours minus eight times the centre: like the 4-neighbour Laplacian,"
        " also counting the diagonals.",
    },
    {
        "name": "emboss",
        "kernel": [[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]],
        "description": "Light from the top left: edges facing it get bright, the others dark, like a relief.",
    },
    {
        "name": "outline",
        "kernel": [[-v for v in row] for row in LAPLACE_8],
        "description": "The centre minus its eight neighbours: flat areas go to zero, every edge lights up.",
    },
    {
        "name": "vertical edge",
        "kernel": VERTICAL_EDGE,
        "description": "The lecture's vertical edge template: bright on the left and dark on the right"
        " gives a large positive value, the opposite a large negative one.",
    },
    {
        "name": "horizontal edge",
        "kernel": _t(VERTICAL_EDGE),
        "description": "The lecture's horizontal edge template: bright above and dark below gives a large"
        " positive value.",
    },
]


# --- a hand-made filter inside the network ------------------------------------------------------


CONV1_OVERRIDE_KEYS = ("channel", "kernel", "bias")


def conv1_override(conv1: nn.Conv2d, spec: dict) -> nn.Conv2d:
    """A NEW Conv2d equal to ``conv1`` except that output channel ``spec["channel"]`` uses the k x k
    ``spec["kernel"]`` (and ``spec["bias"]`` if given); ``conv1`` itself is never touched.

    ``spec``: ``{"channel": c, "kernel": k x k, "bias": b (optional)}`` with 0 <= c < out_channels and
    k at most conv1's kernel size K (5), finite values. A smaller kernel is zero-padded to K x K with
    its anchor, row/column (k - 1) // 2, on conv1's centre K // 2: odd sizes sit exactly in the middle;
    for even sizes the extra zero row/column goes on the top/left, so the layer computes exactly what
    the k x k kernel alone computes with "same" padding (the extra padding at the bottom/right, as in
    PyTorch and the kernel lab). The kernel is used for every input channel (conv1 has one).
    Raises ValueError naming the field at fault.
    """
    if not isinstance(spec, dict):
        raise ValueError(f'conv1_override: expected an object {{"channel": c, "kernel": k x k}}, not {spec!r:.60}')
    unknown = sorted(set(spec) - set(CONV1_OVERRIDE_KEYS))
    if unknown:
        raise ValueError(
            f"conv1_override: unknown field(s) {', '.join(map(repr, unknown))}; fields are channel, kernel, bias"
        )
    for key in ("channel", "kernel"):
        if key not in spec:
            raise ValueError(f"conv1_override.{key}: missing")
    channel = spec["channel"]
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < conv1.out_channels:
        raise ValueError(
            f"conv1_override.channel: must be an integer 0..{conv1.out_channels - 1} (conv1 has"
            f" {conv1.out_channels} filters), not {channel!r}"
        )
    size = conv1.kernel_size[0]
    kernel = as_kernel(spec["kernel"], "conv1_override.kernel", max_size=size)  # (k, k)
    bias = spec.get("bias")
    if bias is not None and (
        isinstance(bias, bool) or not isinstance(bias, int | float) or not math.isfinite(bias) or abs(bias) > MAX_VALUE
    ):
        raise ValueError(f"conv1_override.bias: must be a finite number within +-{MAX_VALUE:g}, not {bias!r}")
    if bias is not None and conv1.bias is None:
        raise ValueError("conv1_override.bias: this conv1 has no bias")
    k = kernel.shape[0]
    start = (size - k + 1) // 2  # puts kernel row (k - 1) // 2 on row size // 2
    full = torch.zeros(size, size, dtype=conv1.weight.dtype)  # (K, K)
    full[start : start + k, start : start + k] = torch.from_numpy(kernel)
    new = copy.deepcopy(conv1)
    with torch.no_grad():
        weight = conv1.weight.detach().clone()  # (out, in, K, K)
        weight[channel] = full  # broadcast over the input channels
        new.weight = nn.Parameter(weight, requires_grad=False)
        if bias is not None:
            b = conv1.bias.detach().clone()  # (out,)
            b[channel] = float(bias)
            new.bias = nn.Parameter(b, requires_grad=False)
    return new
