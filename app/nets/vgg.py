"""``fashion_vgg``: a small VGG-style network for 28x28 grey images (Fashion-MNIST), built unlike the LeNet:
3x3 convolutions with padding 1 in conv-BatchNorm-ReLU blocks, max pooling between the stages, and global
average pooling instead of flattening, so the classifier sees one number per channel.

Its layers are module paths inside ``features`` (``features.0`` is the first conv), then ``pool``,
``flatten`` and ``classifier``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn


@dataclass(frozen=True)
class VggConfig:
    """Stages of (conv channels, ...): each conv is 3x3/pad 1 + BatchNorm + ReLU; a 2x2 max pool follows every
    stage but the last."""

    in_channels: int = 1
    stages: tuple[tuple[int, ...], ...] = field(default=((32, 32), (64, 64), (128,)))
    classes: int = 10

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stages": [list(s) for s in self.stages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VggConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        stages = tuple(tuple(int(c) for c in s) for s in data.get("stages", cls().stages))
        return cls(**{**data, "stages": stages})


def fashion_vgg(cfg: VggConfig | None = None) -> nn.Module:
    cfg = cfg or VggConfig()
    layers: list[nn.Module] = []
    channels = cfg.in_channels
    for i, stage in enumerate(cfg.stages):
        for out in stage:
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        if i < len(cfg.stages) - 1:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(*layers))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", nn.Flatten())
    net.add_module("classifier", nn.Linear(channels, cfg.classes))
    return net
