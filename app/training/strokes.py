"""Stroke-width augmentation: thicken or thin the strokes of each digit in a batch by a random amount.

A step is one grey-scale dilation (thicker) or erosion (thinner) with a 3x3 square, about 2 px of stroke
width at MNIST's scale; fractional amounts blend the two nearest whole steps. Stand-alone: torch only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey-scale dilation of (N, C, H, W) ``x`` with a 3x3 square (the window clipped at the edges)."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def erode(x: torch.Tensor) -> torch.Tensor:
    """Grey-scale erosion of (N, C, H, W) ``x`` with a 3x3 square (the window clipped at the edges)."""
    return -F.max_pool2d(-x, 3, stride=1, padding=1)


def change_stroke_width(x: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """Each image of (N, 1, H, W) ``x`` thickened (``steps`` > 0) or thinned (< 0) by its entry of
    ``steps`` (N,) 3x3 dilations or erosions; a fractional step blends the whole steps on either side."""
    if steps.shape != (x.shape[0],):
        raise ValueError(f"steps must have shape ({x.shape[0]},), not {tuple(steps.shape)}")
    steps = steps.to(x.dtype)
    most = math.ceil(float(steps.abs().max())) if steps.numel() else 0
    if most == 0:
        return x.clone()
    levels = [x]  # levels[most + k]: k steps (k < 0: erosions, k > 0: dilations)
    for _ in range(most):
        levels.insert(0, erode(levels[0]))
        levels.append(dilate(levels[-1]))
    stack = torch.stack(levels)  # (2 * most + 1, N, 1, H, W)
    low = torch.floor(steps).long()  # (N,)
    frac = (steps - low).view(-1, 1, 1, 1)  # (N, 1, 1, 1)
    index = torch.arange(x.shape[0])
    below = stack[low + most, index]  # (N, 1, H, W)
    above = stack[torch.clamp(low + 1, max=most) + most, index]  # (N, 1, H, W)
    return below + frac * (above - below)


def random_stroke_width(
    x: torch.Tensor, gen: torch.Generator, thicker: float = 1.0, thinner: float = 0.5, p: float = 0.5
) -> torch.Tensor:
    """A batch ``x`` (N, 1, 28, 28) in [0, 1] with, per image and with probability ``p``, its strokes
    thickened or thinned by a uniform random amount between ``thinner`` steps thinner and ``thicker``
    steps thicker (see ``change_stroke_width``). Deterministic given ``gen``; ``x`` is not changed."""
    if thicker < 0 or thinner < 0 or not 0 <= p <= 1:
        raise ValueError("thicker and thinner must be >= 0 and p in [0, 1]")
    n = x.shape[0]
    steps = torch.rand(n, generator=gen) * (thicker + thinner) - thinner  # (N,)
    steps = torch.where(torch.rand(n, generator=gen) < p, steps, torch.zeros(n))
    return change_stroke_width(x, steps)
