"""Receptive fields: what one unit of a spatial layer can see of the input.

The theoretical field comes from the layer arithmetic (``receptive_fields``): unit (y, x) of a
layer with field ``size``, ``jump`` and ``start`` is centred on input pixel ``start + y * jump`` and sees
``size`` pixels around it. The effective field is ``|d unit / d input|``, computed by autograd on a fresh
graph whose only leaf that requires grad is the input: the served model's parameters are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import torch

from app.nets.lenet import LayerSpec, LeNet


class FieldGeometry(TypedDict):
    """The receptive field of a layer's units, in input pixels."""

    size: int  # side of the square one unit sees
    jump: int  # input pixels between neighbouring units
    start: float  # centre of unit (0, 0)


def receptive_fields(table: list[LayerSpec]) -> dict[str, FieldGeometry]:
    """Receptive field ``size``, ``jump`` and ``start`` of every spatial layer, in input pixels.

    Computed from each layer's kernel/stride/padding (layers without a kernel - batchnorm, relu - act
    per pixel: kernel 1, stride 1). ``start`` is the centre of unit (0, 0) in input coordinates.
    """
    size, jump, start = 1.0, 1.0, 0.0
    fields: dict[str, FieldGeometry] = {}
    for spec in table:
        if not spec.spatial:
            break
        k, s, p = spec.kernel_size or 1, spec.stride or 1, spec.padding or 0
        size = size + (k - 1) * jump
        start = start + ((k - 1) / 2 - p) * jump
        jump = jump * s
        fields[spec.name] = FieldGeometry(size=int(size), jump=int(jump), start=start)
    return fields


@dataclass(frozen=True)
class Box:
    """Inclusive input-pixel bounds."""

    y0: int
    x0: int
    y1: int
    x1: int

    def clip(self, height: int, width: int) -> Box:
        return Box(max(self.y0, 0), max(self.x0, 0), min(self.y1, height - 1), min(self.x1, width - 1))

    def as_dict(self) -> dict[str, int]:
        return {"y0": self.y0, "x0": self.x0, "y1": self.y1, "x1": self.x1}


def spatial_specs(model: LeNet) -> list[LayerSpec]:
    """The layers whose output is a stack of maps (the input included), in forward order."""
    return [spec for spec in model.table if spec.spatial]


def check_unit(model: LeNet, shapes: dict[str, list[int]], layer: str, channel: int, y: int, x: int) -> None:
    """ValueError/KeyError naming what is wrong with ``(layer, channel, y, x)``."""
    spec = model.spec(layer)  # KeyError for an unknown layer
    if not spec.spatial:
        names = ", ".join(s.name for s in spatial_specs(model))
        raise ValueError(f"layer {layer!r} ({spec.kind}) has no spatial maps; spatial layers are {names}")
    c, h, w = shapes[layer]
    for name, value, size in (("channel", channel, c), ("y", y, h), ("x", x, w)):
        if not 0 <= value < size:
            raise ValueError(f"{name}: {value} is out of range for {layer} ({c}x{h}x{w}); use 0..{size - 1}")


def unit_box(field: FieldGeometry, y: int, x: int) -> Box:
    """The unclipped square of input pixels unit (y, x) sees (may reach into the padding)."""
    half = (int(field["size"]) - 1) / 2
    cy, cx = field["start"] + y * field["jump"], field["start"] + x * field["jump"]
    return Box(round(cy - half), round(cx - half), round(cy + half), round(cx + half))


def steps(model: LeNet, fields: dict[str, FieldGeometry], layer: str) -> list[dict]:
    """The recurrence up to ``layer``, one row per layer: its kernel/stride/padding and the field after it."""
    rows = []
    for spec in spatial_specs(model):
        f = fields[spec.name]
        rows.append(
            {
                "layer": spec.name,
                "kind": spec.kind,
                "kernel": spec.kernel_size or 1,
                "stride": spec.stride or 1,
                "padding": spec.padding or 0,
                "size": int(f["size"]),
                "jump": int(f["jump"]),
                "start": float(f["start"]),
            }
        )
        if spec.name == layer:
            break
    return rows


def effective_field(
    model: LeNet, pixels: np.ndarray, layer: str, channel: int, y: int, x: int
) -> tuple[float, torch.Tensor]:
    """``(activation, |d unit / d input|)`` of unit (channel, y, x) of ``layer`` for ``pixels`` (H, W).

    A fresh input tensor that requires grad is the only leaf autograd differentiates; the forward stops at
    ``layer``. Gradients stay off the model's parameters (``autograd.grad`` never writes ``.grad``)."""
    with torch.inference_mode(False), torch.enable_grad():
        image = torch.tensor(pixels, dtype=torch.float32).reshape(1, 1, *pixels.shape)  # (1, 1, H, W)
        image.requires_grad_(True)
        out = next(h for name, h in model.steps(image) if name == layer)  # (1, C, h, w)
        unit = out[0, channel, y, x]  # ()
        (grad,) = torch.autograd.grad(unit, image)  # (1, 1, H, W)
    return float(unit.detach()), grad[0, 0].abs()  # (H, W)


def receptive_field(
    model: LeNet,
    fields: dict[str, FieldGeometry],
    shapes: dict[str, list[int]],
    pixels: np.ndarray,
    layer: str,
    channel: int,
    y: int,
    x: int,
) -> dict:
    """The theoretical field of one unit (clipped box and unclipped box, the recurrence) and its
    effective field on this image."""
    check_unit(model, shapes, layer, channel, y, x)
    field = fields[layer]
    height, width = pixels.shape
    full = unit_box(field, y, x)
    activation, grad = effective_field(model, pixels, layer, channel, y, x)
    return {
        "layer": layer,
        "channel": channel,
        "y": y,
        "x": x,
        "size": int(field["size"]),
        "jump": int(field["jump"]),
        "start": float(field["start"]),
        "center": [field["start"] + y * field["jump"], field["start"] + x * field["jump"]],
        "box": full.clip(height, width).as_dict(),
        "unclipped": full.as_dict(),
        "activation": activation,
        "gradient": grad,
        "steps": steps(model, fields, layer),
    }
