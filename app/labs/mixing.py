"""The 1x1 convolution: a C_out x C_in matrix mixes the channels of a stack of maps, pixel by pixel.

``out[o, y, x] = bias[o] + sum_c matrix[o, c] * maps[c, y, x]``: no neighbourhood, only channel mixing.
The counts compare it with a k x k convolution of the same width (C_in -> C_out).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from app.nets.graph import ACTIVATION_KINDS
from app.nets.network import Network

MAX_OUT = 32
MAX_VALUE = 1000.0


def _check_number(value: Any, field: str) -> None:
    """ValueError naming ``field`` unless ``value`` is a finite number within +-MAX_VALUE."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if abs(value) > MAX_VALUE:
        raise ValueError(f"{field}: {value} is outside +-{MAX_VALUE:g}")


def as_matrix(raw: Any, channels: int) -> torch.Tensor:
    """A JSON list of rows -> (C_out, C_in) float32; ValueError naming what is wrong."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OUT:
        raise ValueError(f"matrix: expected 1 to {MAX_OUT} rows (a list of lists), one per output map")
    for o, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != channels:
            raise ValueError(f"matrix[{o}]: expected a row of {channels} numbers, one per input channel")
        for c, value in enumerate(row):
            _check_number(value, f"matrix[{o}][{c}]")
    return torch.tensor(raw, dtype=torch.float32)


def as_bias(raw: Any, outputs: int) -> torch.Tensor:
    """None (zeros) or a JSON list of ``outputs`` numbers -> (C_out,) float32."""
    if raw is None:
        return torch.zeros(outputs)
    if not isinstance(raw, list) or len(raw) != outputs:
        raise ValueError(f"bias: expected a list of {outputs} numbers, one per matrix row")
    for o, value in enumerate(raw):
        _check_number(value, f"bias[{o}]")
    return torch.tensor(raw, dtype=torch.float32)


def mix(maps: torch.Tensor, matrix: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``maps`` (C_in, H, W), ``matrix`` (C_out, C_in), ``bias`` (C_out,) -> (C_out, H, W)."""
    return torch.einsum("oc,chw->ohw", matrix, maps) + bias[:, None, None]


def counts(c_in: int, c_out: int, height: int, width: int, kernel: int = 5) -> dict[str, int]:
    """Parameters and multiply-adds of the 1x1 layer and of a ``kernel`` x ``kernel`` layer of the same width
    (same input, "same" padding, so the same H x W output)."""
    positions = height * width
    return {
        "params_1x1": c_out * c_in + c_out,
        "madds_1x1": c_out * c_in * positions,
        "params_kxk": c_out * c_in * kernel * kernel + c_out,
        "madds_kxk": c_out * c_in * kernel * kernel * positions,
        "kernel": kernel,
    }


def default_layer(network: Network) -> str:
    """The maps the demo mixes unless told otherwise: the first activation's (the LeNet's relu1)."""
    maps = [layer for layer in network.spatial if layer.kind != "input"]
    activations = [layer for layer in maps if layer.kind in ACTIVATION_KINDS]
    return (activations or maps)[0].name
