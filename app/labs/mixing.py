"""The 1x1 convolution: a C_out x C_in matrix mixes the channels of a stack of maps, pixel by pixel.

``out[o, y, x] = bias[o] + sum_c matrix[o, c] * maps[c, y, x]``: no neighbourhood, only channel mixing.
The counts compare it with a k x k convolution of the same width (C_in -> C_out), and ``bottleneck`` the
lecture's use of it: 256 channels squeezed to 64 by a 1x1 layer before a 3x3 conv, against the 3x3 conv on
all 256 directly.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from app.nets.graph import ACTIVATION_KINDS
from app.nets.network import Network

MAX_OUT = 64  # output maps (C_out) of POST /api/mix: enough for the lecture's 256 -> 64
MAX_VALUE = 1000.0
MAX_CHANNELS = 4096  # of the bottleneck arithmetic (no tensors: only counts)
MAX_SIDE = 1024
MAX_KERNEL = 15


def _check_number(value: Any, field: str) -> None:
    """ValueError naming ``field`` unless ``value`` is a finite number within +-MAX_VALUE."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if abs(value) > MAX_VALUE:
        raise ValueError(f"{field}: {value} is outside +-{MAX_VALUE:g}")


def as_matrix(raw: Any, channels: int) -> torch.Tensor:
    """A JSON list of rows -> (C_out, C_in) float32; ValueError naming what is wrong."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OUT:
        count = f", not {len(raw)}" if isinstance(raw, list) else ""
        raise ValueError(f"matrix: expected 1 to {MAX_OUT} rows (a list of lists), one per output map{count}")
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


def conv_counts(c_in: int, c_out: int, kernel: int, height: int, width: int) -> dict[str, int]:
    """One k x k conv layer, "same" padding (an H x W output): weights, biases, parameters, multiply-adds."""
    weights = c_out * c_in * kernel * kernel
    return {
        "c_in": c_in,
        "c_out": c_out,
        "kernel": kernel,
        "weights": weights,
        "biases": c_out,
        "params": weights + c_out,
        "madds": weights * height * width,
    }


def _check_int(value: int, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field}: must be a whole number {low}..{high}, not {value!r}")
    return value


def bottleneck(c_in: int, c_mid: int, c_out: int, kernel: int, height: int, width: int) -> dict:
    """A 1x1 layer C_in -> C_mid then a k x k layer C_mid -> C_out, against the k x k layer C_in -> C_out
    directly; both keep H x W ("same" padding)."""
    for field, value, high in (
        ("c_in", c_in, MAX_CHANNELS),
        ("c_mid", c_mid, MAX_CHANNELS),
        ("c_out", c_out, MAX_CHANNELS),
    ):
        _check_int(value, field, 1, high)
    _check_int(kernel, "kernel", 1, MAX_KERNEL)
    _check_int(height, "height", 1, MAX_SIDE)
    _check_int(width, "width", 1, MAX_SIDE)
    reduce = conv_counts(c_in, c_mid, 1, height, width)
    conv = conv_counts(c_mid, c_out, kernel, height, width)
    direct = conv_counts(c_in, c_out, kernel, height, width)
    params, madds = reduce["params"] + conv["params"], reduce["madds"] + conv["madds"]
    return {
        "height": height,
        "width": width,
        "bottleneck": {"layers": [reduce, conv], "params": params, "madds": madds},
        "direct": direct,
        "params_ratio": direct["params"] / params,
        "madds_ratio": direct["madds"] / madds,
    }


def limits() -> dict:
    return {
        "max_outputs": MAX_OUT,
        "max_value": MAX_VALUE,
        "max_channels": MAX_CHANNELS,
        "max_side": MAX_SIDE,
        "max_kernel": MAX_KERNEL,
    }
