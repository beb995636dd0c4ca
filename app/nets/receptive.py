"""Receptive fields: what one unit of a spatial layer can see of the input, for any traced network.

Per axis, the theoretical field of a layer is the box ``[lo + i * jump, hi + i * jump]`` of input pixels
that unit ``i`` depends on (``lo`` < 0 reaches into the padding). The input has ``lo = hi = 0`` and
``jump = 1``; a sliding window (kernel k, stride s, padding p, dilation d) maps ``(lo, hi, jump)`` to
``(lo - p * jump, hi + ((k - 1) * d - p) * jump, jump * s)``; a layer acting on each position alone
(BatchNorm, an activation, dropout) keeps its input's field; where branches meet (``add``, ``concat``) the
field is the union over the paths, a box when every path has the same jump. The field's ``size`` is
``hi - lo + 1`` and unit 0 is centred on ``start = (lo + hi) / 2``. A layer whose geometry is unknown, or
branches with different strides, get no field but a reason.

The effective field is ``|d unit / d input|``, computed by autograd on a fresh graph whose only leaf that
requires grad is the input: the network's parameters are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.nets.graph import ACTIVATION_KINDS, Graph, Layer

PER_POSITION = {"batchnorm", "dropout", "identity", "add", "mul", "concat", *ACTIVATION_KINDS}


@dataclass(frozen=True)
class Axis:
    lo: float
    hi: float
    jump: int

    @property
    def size(self) -> int:
        return int(self.hi - self.lo + 1)

    @property
    def start(self) -> float:
        return (self.lo + self.hi) / 2

    def window(self, kernel: int, stride: int, padding: int, dilation: int) -> Axis:
        return Axis(
            self.lo - padding * self.jump, self.hi + ((kernel - 1) * dilation - padding) * self.jump, self.jump * stride
        )


@dataclass(frozen=True)
class Field:
    """The theoretical receptive field of a spatial layer's units, per axis."""

    rows: Axis
    cols: Axis

    @property
    def square(self) -> bool:
        return (self.rows.size, self.rows.jump, self.rows.start) == (self.cols.size, self.cols.jump, self.cols.start)

    # the square case, as the API reports it
    @property
    def size(self) -> int:
        return self.rows.size

    @property
    def jump(self) -> int:
        return self.rows.jump

    @property
    def start(self) -> float:
        return self.rows.start


@dataclass(frozen=True)
class NoField:
    """Why a spatial layer has no receptive field box."""

    reason: str


def fields(graph: Graph) -> dict[str, Field | NoField]:
    """The field (or the reason there is none) of every spatial layer, by name, in execution order."""
    out: dict[str, Field | NoField] = {}
    for layer in graph.layers:
        if layer.spatial:
            out[layer.name] = _field(layer, out)
    return out


def _union(axes: list[Axis]) -> Axis | None:
    if len({a.jump for a in axes}) != 1:
        return None
    return Axis(min(a.lo for a in axes), max(a.hi for a in axes), axes[0].jump)


def _field(layer: Layer, known: dict[str, Field | NoField]) -> Field | NoField:
    if layer.kind == "input":
        return Field(Axis(0, 0, 1), Axis(0, 0, 1))
    parents = [known.get(name) for name in layer.inputs]
    if not parents or any(p is None for p in parents):
        return NoField(f"{layer.name} takes an input that is not a stack of maps")
    blocked = next((p for p in parents if isinstance(p, NoField)), None)
    if blocked is not None:
        return blocked
    found = [p for p in parents if isinstance(p, Field)]
    if layer.window is not None:
        if len(found) != 1:
            return NoField(f"{layer.name} slides a window over more than one input")
        w, f = layer.window, found[0]
        return Field(
            f.rows.window(w.kernel[0], w.stride[0], w.padding[0], w.dilation[0]),
            f.cols.window(w.kernel[1], w.stride[1], w.padding[1], w.dilation[1]),
        )
    if layer.kind in ("maxpool", "avgpool"):
        return NoField(f"{layer.name} pools windows of different sizes (adaptive pooling that does not divide evenly)")
    if layer.kind in PER_POSITION:
        rows, cols = _union([f.rows for f in found]), _union([f.cols for f in found])
        if rows is None or cols is None:
            return NoField(f"the branches that meet at {layer.name} have different strides")
        return Field(rows, cols)
    return NoField(f"{layer.name} is a layer of kind {layer.kind!r}, whose geometry is not known")


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


def unit_box(field: Field, y: int, x: int) -> Box:
    """The unclipped box of input pixels unit (y, x) sees (it may reach into the padding)."""
    r, c = field.rows, field.cols
    return Box(int(r.lo + y * r.jump), int(c.lo + x * c.jump), int(r.hi + y * r.jump), int(c.hi + x * c.jump))


def effective_field(
    capture: Callable[[torch.Tensor], dict[str, torch.Tensor]], x: torch.Tensor, layer: str, unit: tuple[int, int, int]
) -> torch.Tensor:
    """|d unit / d input| (C, H, W) of unit (channel, y, x) of ``layer`` for the input ``x`` (1, C, H, W),
    where ``capture(x)`` returns every layer's output by name."""
    channel, y, col = unit
    with torch.inference_mode(False), torch.enable_grad():
        image = x.detach().clone().requires_grad_(True)  # the graph's only leaf
        value = capture(image)[layer][0, channel, y, col]  # ()
        (grad,) = torch.autograd.grad(value, image)  # (1, C, H, W)
    return grad[0].abs()
