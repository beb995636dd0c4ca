"""A conv layer as the lecture draws it: filters as deep as the input, a bank of them, a batch of images.

A filter has the input's depth: its Cin x K x K weights times a Cin x K x K patch of the (padded) input,
summed over all three axes, plus its bias, give ONE number; slid over the image it gives one H' x W' map.
Cout filters make the weights a 4-D tensor (Cout x Cin x K x K) and the output of one image 3-D
(Cout x H' x W'); a batch of N images makes input and output 4-D (N x Cin x H x W -> N x Cout x H' x W').

Plain functions on tensors; invalid values raise ValueError whose message starts with the field at fault.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from app.labs.kernels.geometry import Geometry, conv_geometry
from app.labs.kernels.limits import MAX_PADDING, MAX_STRIDE, MAX_VALUE, check_output_size

MAX_FILTERS = 16  # Cout
MAX_KERNEL = 11  # K
MAX_BATCH = 8  # N
DEFAULT_SIZE = 32  # the lecture's 32 x 32 image
MIN_SIZE = 4
MAX_SIZE = 256  # the input's longer side after resizing


def limits() -> dict:
    """The limits of POST /api/conv-layer, for GET /api/conv-layer/options."""
    return {
        "max_filters": MAX_FILTERS,
        "max_kernel": MAX_KERNEL,
        "max_batch": MAX_BATCH,
        "default_size": DEFAULT_SIZE,
        "min_size": MIN_SIZE,
        "max_size": MAX_SIZE,
        "max_padding": MAX_PADDING,
        "max_stride": MAX_STRIDE,
        "max_value": MAX_VALUE,
    }


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: {value!r} is not a number")
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise ValueError(f"{field}: must be a finite number within +-{MAX_VALUE:g}, not {value}")
    return float(value)


def _list(value: object, field: str, length: int | None, what: str) -> Sequence:
    if not isinstance(value, list):
        raise ValueError(f"{field}: expected {what} (a JSON list), not {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ValueError(f"{field}: expected {what}, {length} of them, not {len(value)}")
    return value


def as_weight(raw: object, channels: int) -> np.ndarray:
    """A JSON Cout x Cin x K x K list -> float32 (Cout, Cin, K, K); Cin must be the input's ``channels``."""
    filters = _list(raw, "weight", None, "a list of filters, each Cin x K x K")
    if not 1 <= len(filters) <= MAX_FILTERS:
        raise ValueError(f"weight: 1 to {MAX_FILTERS} filters (Cout), not {len(filters)}")
    first = filters[0]
    k = len(first[0]) if isinstance(first, list) and first and isinstance(first[0], list) else 0
    if not 1 <= k <= MAX_KERNEL:
        raise ValueError(f"weight[0][0]: a filter's kernels are K x K with 1 <= K <= {MAX_KERNEL}, not {k} rows")
    for o, f in enumerate(filters):
        depth = _list(f, f"weight[{o}]", None, "Cin kernels of K x K")
        if len(depth) != channels:
            raise ValueError(
                f"weight[{o}]: a filter has the input's depth: {channels} kernel(s) of {k}x{k} (one per input"
                f" channel), not {len(depth)}"
            )
        for c, kernel in enumerate(depth):
            for i, row in enumerate(_list(kernel, f"weight[{o}][{c}]", k, f"{k} rows")):
                for j, v in enumerate(_list(row, f"weight[{o}][{c}][{i}]", k, f"{k} numbers")):
                    _number(v, f"weight[{o}][{c}][{i}][{j}]")
    return np.asarray(filters, dtype=np.float32)  # (Cout, Cin, K, K)


def as_bias(raw: object, filters: int) -> np.ndarray:
    """None (zeros) or a JSON list of Cout numbers -> float32 (Cout,)."""
    if raw is None:
        return np.zeros(filters, dtype=np.float32)
    values = _list(raw, "bias", filters, "one number per filter")
    return np.asarray([_number(v, f"bias[{o}]") for o, v in enumerate(values)], dtype=np.float32)


def check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size: the input's longer side must be {MIN_SIZE}..{MAX_SIZE} pixels, not {size!r}")
    return size


def resized(img: Image.Image, size: int) -> Image.Image:
    """``img`` scaled (Lanczos) so that its longer side is ``size`` pixels, keeping its proportions."""
    check_size(size)
    w, h = img.size
    scale = size / max(w, h)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img if target == (w, h) else img.resize(target, Image.Resampling.LANCZOS)


def batch(images: list[torch.Tensor]) -> torch.Tensor:
    """Images (C, H, W) of one size -> (N, C, H, W); ValueError when the sizes differ or N is too large."""
    if not 1 <= len(images) <= MAX_BATCH:
        raise ValueError(f"file: a batch holds 1 to {MAX_BATCH} images, not {len(images)}")
    sizes = [tuple(t.shape[1:]) for t in images]
    if len(set(sizes)) > 1:
        listed = ", ".join(f"{w}x{h}" for h, w in sizes)
        raise ValueError(
            f"file: the images of a batch must have one size after resizing, got {listed} (width x height);"
            " use images of the same proportions (square ones, for example)"
        )
    return torch.stack(images)


@dataclass(frozen=True)
class ConvLayer:
    geometry: Geometry
    padded: torch.Tensor  # (N, Cin, Hp, Wp): zeros around the input (and the overhang of rounding ceil)
    output: torch.Tensor  # (N, Cout, H', W')


def conv_layer(
    x: torch.Tensor,
    weight: np.ndarray,
    bias: np.ndarray,
    *,
    padding: str | int = 0,
    stride: int = 1,
    rounding: str = "floor",
) -> ConvLayer:
    """``x`` (N, Cin, H, W), ``weight`` (Cout, Cin, K, K), ``bias`` (Cout,) -> the layer's output, zero
    padding per ``padding`` (an integer, "valid" or "same")."""
    n, c, h, w = x.shape
    cout, cin, k, _ = weight.shape
    if cin != c:
        raise ValueError(f"weight: the filters are {cin} deep but the input has {c} channel(s)")
    geometry = conv_geometry(h, w, k, stride, padding, "zeros", rounding)
    check_output_size(n * cout * geometry.height.output * geometry.width.output)
    left, right, top, bottom = geometry.pads()
    _, over_w, _, over_h = geometry.overhang()
    with torch.inference_mode():
        padded = F.pad(x, (left, right + over_w, top, bottom + over_h))  # (N, Cin, Hp, Wp)
        out = F.conv2d(padded, torch.from_numpy(weight), torch.from_numpy(bias), stride=stride)  # (N, Cout, H', W')
    return ConvLayer(geometry, padded, out)


def parse_unit(text: str, shape: Sequence[int]) -> tuple[int, int, int, int]:
    """``"n,c,y,x"`` -> the four indices, checked against the output ``shape`` (N, Cout, H', W')."""
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError(f"unit: expected four whole numbers n,c,y,x (image, filter, row, column), not {text!r}")
    index = tuple(int(p) for p in parts)
    for name, i, size in zip(("n", "c", "y", "x"), index, shape, strict=True):
        if not 0 <= i < size:
            raise ValueError(f"unit: {name} = {i} is outside 0..{size - 1} (the output is {'x'.join(map(str, shape))})")
    return index[0], index[1], index[2], index[3]


def unit(layer: ConvLayer, weight: np.ndarray, bias: np.ndarray, n: int, c: int, y: int, x: int) -> dict:
    """How output unit (n, c, y, x) is made: the Cin x K x K patch under filter c, the products with its
    weights, their sum per input channel, the total plus the bias."""
    k = weight.shape[-1]
    s = layer.geometry.height.stride
    top, left = y * s, x * s
    patch = layer.padded[n, :, top : top + k, left : left + k].double().numpy()  # (Cin, K, K)
    products = patch * weight[c].astype(np.float64)  # (Cin, K, K)
    sums = products.sum(axis=(1, 2))  # (Cin,)
    total = float(sums.sum())
    return {
        "n": n,
        "c": c,
        "y": y,
        "x": x,
        "top": top - layer.geometry.height.before,
        "left": left - layer.geometry.width.before,
        "patch": patch.tolist(),
        "weights": weight[c].tolist(),
        "products": products.tolist(),
        "channel_sums": sums.tolist(),
        "sum": total,
        "bias": float(bias[c]),
        "value": total + float(bias[c]),
        "output": float(layer.output[n, c, y, x]),
    }


def explain(shapes: dict[str, list[int]]) -> str:
    """The shapes in words, the lecture's way."""
    n, cin, h, w = shapes["input"]
    cout, _, k, _ = shapes["weight"]
    _, _, oh, ow = shapes["output"]
    filters = "filter stacks" if cout == 1 else "filters stack"
    images = "image" if n == 1 else "images"
    return (
        f"Each filter has the input's depth: its {cin}x{k}x{k} weights times a {cin}x{k}x{k} patch, summed, plus"
        f" its bias, give one number; slid over the {h}x{w} image it gives one {oh}x{ow} map. {cout} {filters}"
        f" (weights {cout}x{cin}x{k}x{k}, 4-D) into a {cout}x{oh}x{ow} output per image (3-D); a batch of {n} {images}"
        f" ({n}x{cin}x{h}x{w}, 4-D) gives {n}x{cout}x{oh}x{ow} (4-D)."
    )
