"""The lecture's LeNet (EECS 498-007 Lecture 7, "Example: LeNet-5") with BatchNorm, built from an explicit
layer table: conv1 and conv2 both pad 2, so the maps are 20x28x28, 20x14x14, 50x14x14, 50x7x7, flattened
to 2450 numbers.

The attribute names (``conv1``, ``bn1`` ... ``fc2``) are the public names of the layers: they appear
unchanged in the URLs, the JSON and the JavaScript. Every layer carries an explicit ``kind``.

``LeNet.intermediates`` returns every named intermediate in order, so a request never needs hooks and
never shares mutable state with another request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

import torch
from torch import nn

Kind = Literal["input", "conv", "batchnorm", "relu", "maxpool", "flatten", "linear", "softmax"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; stored next to the state_dict in checkpoints."""

    batchnorm: bool = True
    # False drops relu1 and relu2: max pooling is then the only non-linearity of the conv part.
    conv_relu: bool = True
    in_channels: int = 1
    image_size: int = 28
    conv1_channels: int = 20
    conv2_channels: int = 50
    hidden: int = 500
    classes: int = 10
    # Training-set pixel statistics (pixels in [0, 1]); the network's first step normalises with them.
    mean: float = 0.1307
    std: float = 0.3081

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class LayerSpec:
    """One named layer: its kind and, for spatial layers, the sliding-window geometry."""

    name: str
    kind: Kind
    kernel_size: int | None = None
    stride: int | None = None
    padding: int | None = None
    spatial: bool = True
    params: dict[str, int] = field(default_factory=dict)

    def window(self) -> tuple[int, int, int]:
        """``(kernel_size, stride, padding)`` of a conv or pooling layer; ValueError for a layer without them."""
        if self.kernel_size is None or self.stride is None or self.padding is None:
            raise ValueError(f"layer {self.name!r} ({self.kind}) has no kernel_size, stride and padding")
        return self.kernel_size, self.stride, self.padding


def layer_table(cfg: ModelConfig) -> list[LayerSpec]:
    """The architecture, in forward order, including the non-module ``input`` and ``probs`` steps."""
    c1, c2, hidden = cfg.conv1_channels, cfg.conv2_channels, cfg.hidden
    side = cfg.image_size // 4  # two "same" convolutions keep the size, two 2x2 pools halve it twice
    table = [
        LayerSpec("input", "input"),
        LayerSpec("conv1", "conv", 5, 1, 2, params={"in": cfg.in_channels, "out": c1}),
        LayerSpec("bn1", "batchnorm", params={"features": c1}),
        LayerSpec("relu1", "relu"),
        LayerSpec("pool1", "maxpool", 2, 2, 0),
        LayerSpec("conv2", "conv", 5, 1, 2, params={"in": c1, "out": c2}),
        LayerSpec("bn2", "batchnorm", params={"features": c2}),
        LayerSpec("relu2", "relu"),
        LayerSpec("pool2", "maxpool", 2, 2, 0),
        LayerSpec("flatten", "flatten", spatial=False, params={"features": c2 * side * side}),
        LayerSpec("fc1", "linear", spatial=False, params={"in": c2 * side * side, "out": hidden}),
        LayerSpec("bn3", "batchnorm", spatial=False, params={"features": hidden}),
        LayerSpec("relu3", "relu", spatial=False),
        LayerSpec("fc2", "linear", spatial=False, params={"in": hidden, "out": cfg.classes}),
        LayerSpec("probs", "softmax", spatial=False),
    ]
    if not cfg.batchnorm:
        table = [spec for spec in table if spec.kind != "batchnorm"]
    if not cfg.conv_relu:
        table = [spec for spec in table if spec.name not in ("relu1", "relu2")]
    return table


def _make_module(spec: LayerSpec) -> nn.Module | None:
    p = spec.params
    if spec.kind == "conv":
        return nn.Conv2d(p["in"], p["out"], *spec.window())
    if spec.kind == "batchnorm":
        return (nn.BatchNorm2d if spec.spatial else nn.BatchNorm1d)(p["features"])
    if spec.kind == "relu":
        return nn.ReLU()
    if spec.kind == "maxpool":
        return nn.MaxPool2d(*spec.window())
    if spec.kind == "linear":
        return nn.Linear(p["in"], p["out"])
    return None  # input, flatten and softmax are steps of the forward, not modules


class LeNet(nn.Module):
    """input 1x28x28 -> conv1 -> bn1 -> relu1 -> pool1 -> conv2 -> bn2 -> relu2 -> pool2 -> flatten -> fc1
    -> bn3 -> relu3 -> fc2 -> probs. Without BatchNorm (``cfg.batchnorm=False``) the bn layers are absent;
    without ``cfg.conv_relu`` relu1 and relu2 are."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.table = layer_table(self.cfg)
        for spec in self.table:
            module = _make_module(spec)
            if module is not None:
                self.add_module(spec.name, module)

    @property
    def layer_names(self) -> list[str]:
        return [spec.name for spec in self.table]

    def spec(self, name: str) -> LayerSpec:
        for spec in self.table:
            if spec.name == name:
                return spec
        raise KeyError(f"unknown layer {name!r}; layers are {', '.join(self.layer_names)}")

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] -> zero-mean, unit-variance pixels, with the training-set statistics."""
        return (x - self.cfg.mean) / self.cfg.std

    def steps(
        self, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None, per_image_linear: bool = False
    ) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, output)`` for every layer in order. ``x``: (N, 1, 28, 28) in [0, 1].

        ``overrides`` maps a layer name to a module used instead of the model's own for this call only
        (the kernel lab's conv1 override); the model itself is never modified.

        ``per_image_linear`` runs the linear layers one image at a time. A matrix product over a batch
        may round differently from the one-image product (the library picks other kernels), so the
        server, which batches concurrent requests, uses it to give every image bit-for-bit the result
        it would get alone.
        """
        overrides = overrides or {}
        yield "input", x  # (N, 1, 28, 28)
        h = self.normalize(x)
        for spec in self.table[1:]:
            if spec.kind == "softmax":
                h = torch.softmax(h, dim=1)  # (N, classes)
            elif spec.kind == "flatten":
                h = h.flatten(1)  # (N, C*H*W)
            else:
                module = overrides.get(spec.name) or getattr(self, spec.name)
                if per_image_linear and spec.kind == "linear" and len(h) > 1:
                    h = torch.cat([module(row) for row in h.split(1)])  # (N, out), row by row
                else:
                    h = module(h)
            yield spec.name, h

    def intermediates(
        self, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None, per_image_linear: bool = False
    ) -> dict[str, torch.Tensor]:
        """Every named intermediate, in forward order. ``x``: (N, 1, 28, 28) in [0, 1]."""
        return dict(self.steps(x, overrides, per_image_linear))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) for pixels ``x`` (N, 1, 28, 28) in [0, 1]."""
        logits = self.table[-2].name  # the last linear layer
        for name, h in self.steps(x):
            if name == logits:
                return h
        raise AssertionError("the layer table has no logits layer")  # pragma: no cover
