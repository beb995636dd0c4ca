"""Shift (or rotate) the input a little and measure how much every layer of the network changes.

For each layer a: ``relative_change`` = ||a(x') - a(x)|| / ||a(x)||. A conv layer is shift-equivariant:
its maps move with the input, so they change a lot but only by moving. ``aligned_change`` undoes the move
first, at the layer's own resolution: where the layer's jump (input pixels between neighbouring units, the
product of the strides before it) divides the shift, the maps of x are moved by shift / jump units and
compared with those of x' over the interior units: those whose receptive field lies inside the image both
before and after the move (a field that reaches past the edge sees padding, which does not move with the
image). Near 0 means "the same maps, moved"; where max pooling makes small shifts matter less,
``relative_change`` drops from a layer to the pooling after it.

Only the served model's public API is used: ``forward``, ``layer_names``, ``shapes``, ``model.fields``
(per axis: a layer with different row and column jumps is aligned per axis) and ``model.layer(name).kind``;
the input size comes from ``shapes["input"]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from app.nets.receptive import Axis, Field
from app.serving.inference import ServedModel

MAX_SHIFT = 4  # pixels, each way
MAX_ROTATE = 30.0  # degrees, each way


def parse_shift(text: str) -> tuple[int, int]:
    """``"dy,dx"`` -> (dy, dx), each within +-MAX_SHIFT; ValueError naming ``shift``."""
    parts = text.split(",")
    try:
        dy, dx = (int(p.strip()) for p in parts)
    except ValueError as exc:
        raise ValueError(f"shift: expected two whole numbers dy,dx (pixels down, right), not {text!r}") from exc
    if abs(dy) > MAX_SHIFT or abs(dx) > MAX_SHIFT:
        raise ValueError(f"shift: each of dy, dx must be within +-{MAX_SHIFT} pixels, not {dy},{dx}")
    return dy, dx


def check_rotate(degrees: float) -> float:
    if not math.isfinite(degrees) or abs(degrees) > MAX_ROTATE:
        raise ValueError(f"rotate: must be within +-{MAX_ROTATE:g} degrees, not {degrees}")
    return degrees


def _overlap(size: int, shift: int) -> tuple[slice, slice]:
    """Along one axis: the units of the moved map (``after``) and those of the original they came from."""
    return slice(max(shift, 0), size + min(shift, 0)), slice(max(-shift, 0), size - max(shift, 0))


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """(..., H, W) moved ``dy`` down and ``dx`` right; what comes in is 0 (the background)."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    (ya, yb), (xa, xb) = _overlap(h, dy), _overlap(w, dx)
    out[..., ya, xa] = x[..., yb, xb]
    return out


def rotated(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """(N, C, H, W) turned ``degrees`` anticlockwise about its centre (bilinear); the corners are 0."""
    t = math.radians(degrees)
    cos, sin = math.cos(t), math.sin(t)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype).expand(len(x), 2, 3)  # y points down
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _norm(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t.double()))


def _relative(diff: torch.Tensor, reference: torch.Tensor) -> float | None:
    base = _norm(reference)
    return _norm(diff) / base if base > 0 else None


def interior(field: Axis, units: int, image: int, shift: int) -> tuple[slice, slice]:
    """Along one axis: the units u of the moved maps whose receptive field, and that of unit u - shift / jump
    of the original, lie inside the image (``image`` pixels); and those original units."""
    jump, size, start = field.jump, field.size, field.start
    step = shift // jump
    kept = [
        u
        for u in range(units)
        if 0 <= u - step < units
        and start + u * jump - (size - 1) / 2 >= max(shift, 0)
        and start + u * jump + (size - 1) / 2 <= image - 1 + min(shift, 0)
    ]
    if not kept:
        return slice(0, 0), slice(0, 0)
    return slice(kept[0], kept[-1] + 1), slice(kept[0] - step, kept[-1] + 1 - step)


def aligned(
    before: torch.Tensor, after: torch.Tensor, field: Field, image: list[int], shift: tuple[int, int]
) -> tuple[float | None, list[int]]:
    """``before``/``after`` (C, H, W): ||after - before moved by shift / jump|| / ||before|| over the interior
    units (None when there are none), and how many rows and columns of units that is."""
    h, w = before.shape[-2:]
    (ya, yb), (xa, xb) = interior(field.rows, h, image[0], shift[0]), interior(field.cols, w, image[1], shift[1])
    a, b = after[..., ya, xa], before[..., yb, xb]
    counted = [ya.stop - ya.start, xa.stop - xa.start]
    return (_relative(a - b, b) if a.numel() else None), counted


def _probabilities(served: ServedModel, acts: dict[str, torch.Tensor]) -> torch.Tensor:
    last = served.layer_names[-1]
    values = acts[last][0].double()  # (classes,)
    return values if served.model.layer(last).kind == "softmax" else torch.softmax(values, 0)


def compare(served: ServedModel, image: torch.Tensor, shift: tuple[int, int] | None, rotate: float | None) -> dict:
    """``image`` (H, W) or (C, H, W) in [0, 1] -> per layer the relative and aligned change, and the
    prediction before and after. Exactly one of ``shift`` and ``rotate``."""
    x = image.reshape(1, *served.shapes["input"])  # (1, C, H, W)
    with torch.inference_mode():
        moved = shifted(x, *shift) if shift is not None else rotated(x, check_rotate(float(rotate or 0.0)))
    before, after = served.forward(x), served.forward(moved)
    layers = []
    for name in served.layer_names:
        a, b = before[name][0].double(), after[name][0].double()  # differences in float64
        found = served.model.fields.get(name)
        field = found if isinstance(found, Field) and a.dim() == 3 else None
        jump = field.jump if field is not None and field.square else None
        entry: dict = {
            "name": name,
            "kind": served.model.layer(name).kind,
            "shape": list(a.shape),
            "jump": jump,
            "relative_change": _relative(b - a, a),
            "aligned_change": None,
            "aligned_shift": None,
            "aligned_units": None,
        }
        if field is not None and jump is not None and shift is not None and not (shift[0] % jump or shift[1] % jump):
            change, counted = aligned(a, b, field, served.shapes["input"][-2:], shift)
            entry["aligned_change"] = change
            entry["aligned_shift"] = [shift[0] // jump, shift[1] // jump]
            entry["aligned_units"] = counted
        layers.append(entry)
    p0, p1 = _probabilities(served, before), _probabilities(served, after)
    k0, k1 = int(p0.argmax()), int(p1.argmax())
    return {
        "shift": list(shift) if shift is not None else None,
        "rotate": rotate,
        "layers": layers,
        "prediction": {
            "before": k0,
            "after": k1,
            "probability_before": float(p0[k0]),
            "probability_after": float(p1[k1]),
        },
        "moved_input": moved[0],
    }
