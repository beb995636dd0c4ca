"""Sliding kernels over an image: every kernel over every channel, cross-correlation or convolution.

mode "cross-correlation" slides the kernel as written, ``out[y, x] = sum_ij pad[y*S + i, x*S + j] * k[i, j]``
(what deep-learning libraries call convolution); "convolution" first flips the kernel in both axes,
``k[K-1-i, K-1-j]``, as mathematics and ``scipy.signal.convolve2d`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.labs.kernels.geometry import Geometry, conv_geometry
from app.labs.kernels.limits import COMBINES, MODES, PADDING_MODES, as_kernels, check_choice, check_output_size

BAND_LANES = 16  # bands per channel: oneDNN's depthwise conv is fastest with 16 channels


def applied(kernel: np.ndarray, mode: str) -> np.ndarray:
    """The weights actually slid over the image: the kernel itself for cross-correlation, the kernel
    flipped in both axes for convolution."""
    check_choice("mode", mode, MODES)
    return kernel[::-1, ::-1].copy() if mode == "convolution" else kernel


def pad(image: torch.Tensor, geometry: Geometry, padding_mode: str) -> torch.Tensor:
    """(C, H, W) -> (C, H + pads, W + pads): the image as the kernels see it. With rounding "ceil" the
    rows/columns the last window overhangs follow as zeros, whatever the padding mode."""
    pads, overhang = geometry.pads(), geometry.overhang()
    if any(pads):
        mode = PADDING_MODES[padding_mode]
        image = F.pad(image, pads, mode=mode, value=0.0 if mode == "constant" else None)
    return F.pad(image, overhang) if any(overhang) else image


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
    rounding: str = "floor",
) -> Convolved:
    """Every kernel over every channel of ``image`` (C, H, W) -> one (C, H', W') output per kernel (and
    their combination). Checks the geometry and the size limit before doing any work."""
    check_choice("combine", combine, COMBINES)
    checked = as_kernels([k.tolist() if isinstance(k, np.ndarray) else k for k in kernels])
    weights = [applied(k, mode) for k in checked]
    c, h, w = image.shape
    size = weights[0].shape[0]
    geometry = conv_geometry(h, w, size, stride, padding, padding_mode, rounding)
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
    check_choice("combine", how, COMBINES)
    if how == "sum":
        return torch.stack(outputs).sum(0)
    if how == "magnitude":
        return torch.stack(outputs).square().sum(0).sqrt()
    return None
