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


def pool(image: torch.Tensor, op: str, size: int, stride: int | None = None, padding: int = 0) -> Pooled:
    """Max or average pooling of every channel of ``image`` (C, H, W) -> (C, H', W'). Average pooling
    counts padding as zeros (PyTorch's ``count_include_pad=True``); max pooling ignores it."""
    check_choice("op", op, POOL_OPS)
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
