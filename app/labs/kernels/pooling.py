"""Max and average pooling of every channel of an image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.labs.kernels.geometry import Geometry, pool_geometry
from app.labs.kernels.limits import POOL_OPS, check_choice, check_output_size


@dataclass(frozen=True)
class Pooled:
    geometry: Geometry
    output: torch.Tensor  # (C, H', W')


def pool(
    image: torch.Tensor,
    op: str,
    size: int,
    stride: int | None = None,
    padding: int = 0,
    rounding: str = "floor",
) -> Pooled:
    """Max or average pooling of every channel of ``image`` (C, H, W) -> (C, H', W'). Average pooling
    counts padding as zeros (PyTorch's ``count_include_pad=True``); max pooling ignores it. Rounding
    "ceil" is PyTorch's ``ceil_mode``: the part of a window past the padded input is left out (of the max,
    and of the mean's count)."""
    check_choice("op", op, POOL_OPS)
    stride = size if stride is None else stride
    c, h, w = image.shape
    geometry = pool_geometry(h, w, size, stride, padding, rounding)
    check_output_size(c * geometry.height.output * geometry.width.output)
    x = image.unsqueeze(0)  # (1, C, H, W)
    ceil = rounding == "ceil"
    with torch.inference_mode():
        if op == "max":
            out = F.max_pool2d(x, size, stride, padding, ceil_mode=ceil)
        else:
            out = F.avg_pool2d(x, size, stride, padding, ceil_mode=ceil, count_include_pad=True)
    return Pooled(geometry, out[0].contiguous())


def pool_padded(image: torch.Tensor, op: str, geometry: Geometry) -> torch.Tensor:
    """(C, H, W) -> the input as the pooling windows see it: -inf padding for max (it never wins), zeros
    for avg; with rounding "ceil", NaN where the last windows overhang the padded input (left out)."""
    padding = geometry.height.before
    if padding:
        image = F.pad(image, (padding,) * 4, value=-math.inf if op == "max" else 0.0)
    overhang = geometry.overhang()
    return F.pad(image, overhang, value=math.nan) if any(overhang) else image
