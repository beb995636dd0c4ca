"""One unit's receptive field, for POST /api/receptive-field: the theoretical box from the layer arithmetic
(``app.nets.receptive``), the recurrence that produced it, and the effective field on this image,
|d unit / d input|, which is exactly zero outside the box."""

from __future__ import annotations

from typing import Any

import torch

from app.nets.network import Network
from app.nets.receptive import Field, effective_field, unit_box


def check_unit(network: Network, layer: str, channel: int, y: int, x: int) -> Field:
    """The layer's field; ValueError/KeyError naming what is wrong with ``(layer, channel, y, x)``."""
    found = network.layer(layer)  # KeyError for an unknown layer
    if not found.spatial:
        names = ", ".join(s.name for s in network.spatial)
        raise ValueError(f"layer {layer!r} ({found.kind}) has no spatial maps; spatial layers are {names}")
    c, h, w = found.shape
    for name, value, size in (("channel", channel, c), ("y", y, h), ("x", x, w)):
        if not 0 <= value < size:
            raise ValueError(f"{name}: {value} is out of range for {layer} ({c}x{h}x{w}); use 0..{size - 1}")
    field = network.fields[layer]
    if not isinstance(field, Field):
        raise ValueError(f"layer {layer!r} has no receptive field box: {field.reason}")
    return field


def ancestors(network: Network, layer: str) -> list[str]:
    """The layers ``layer`` depends on, itself included, in execution order."""
    needed, stack = {layer}, [layer]
    while stack:
        for parent in network.layer(stack.pop()).inputs:
            if parent not in needed:
                needed.add(parent)
                stack.append(parent)
    return [name for name in network.names if name in needed]


def steps(network: Network, layer: str) -> list[dict[str, Any]]:
    """The recurrence up to ``layer``, one row per layer it depends on: its kernel/stride/padding (rows) and
    the field after it."""
    rows = []
    for name in ancestors(network, layer):
        found, field = network.layer(name), network.fields[name]
        if not isinstance(field, Field):
            continue
        w = found.window
        rows.append(
            {
                "layer": name,
                "kind": found.kind,
                "kernel": w.kernel[0] if w else 1,
                "stride": w.stride[0] if w else 1,
                "padding": w.padding[0] if w else 0,
                "dilation": w.dilation[0] if w else 1,
                "size": field.size,
                "jump": field.jump,
                "start": field.start,
            }
        )
    return rows


def receptive_field(network: Network, x: torch.Tensor, layer: str, channel: int, y: int, col: int) -> dict:
    """Unit (channel, y, col) of ``layer`` for the pixels ``x`` (1, C, H, W): its theoretical field (clipped and
    unclipped box, the recurrence) and its effective field (H, W), the largest over the input channels."""
    field = check_unit(network, layer, channel, y, col)
    height, width = x.shape[-2:]
    full = unit_box(field, y, col)
    with torch.inference_mode():
        activation = float(network.intermediates(x)[layer][0, channel, y, col])
    grad = effective_field(lambda image: network.capture(network.normalize(image)), x, layer, (channel, y, col))
    return {
        "layer": layer,
        "channel": channel,
        "y": y,
        "x": col,
        "size": field.size,
        "jump": field.jump,
        "start": field.start,
        "center": [field.rows.start + y * field.rows.jump, field.cols.start + col * field.cols.jump],
        "box": full.clip(height, width).as_dict(),
        "unclipped": full.as_dict(),
        "activation": activation,
        "gradient": grad.amax(dim=0),  # (H, W)
        "steps": steps(network, layer),
    }
