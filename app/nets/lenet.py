"""The lecture's LeNet (EECS 498-007 Lecture 7, "Example: LeNet-5"), with BatchNorm after each conv and after
fc1. Both convolutions pad 2, so the maps are 20x28x28, 20x14x14, 50x14x14 and 50x7x7, flattened to 2450
numbers, then 500 and 10.

The module names (``conv1``, ``bn1`` ... ``fc2``) are the public names of the layers: they appear unchanged
in the URLs, the JSON and the JavaScript. The layer table itself is not written here: it is traced from
the module (``app.nets.graph``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

from torch import nn


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
    # Training-set pixel statistics (pixels in [0, 1]): the network's input is normalised with them.
    mean: float = 0.1307
    std: float = 0.3081

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)


def lenet(cfg: ModelConfig | None = None) -> nn.Sequential:
    """conv1 -> bn1 -> relu1 -> pool1 -> conv2 -> bn2 -> relu2 -> pool2 -> flatten -> fc1 -> bn3 -> relu3 ->
    fc2 (the logits). Without ``cfg.batchnorm`` the bn layers are absent; without ``cfg.conv_relu`` relu1
    and relu2 are."""
    cfg = cfg or ModelConfig()
    c1, c2, side = cfg.conv1_channels, cfg.conv2_channels, cfg.image_size // 4  # two 2x2 pools halve it twice
    layers: list[tuple[str, nn.Module | None]] = [
        ("conv1", nn.Conv2d(cfg.in_channels, c1, kernel_size=5, stride=1, padding=2)),
        ("bn1", nn.BatchNorm2d(c1) if cfg.batchnorm else None),
        ("relu1", nn.ReLU() if cfg.conv_relu else None),
        ("pool1", nn.MaxPool2d(kernel_size=2, stride=2)),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=5, stride=1, padding=2)),
        ("bn2", nn.BatchNorm2d(c2) if cfg.batchnorm else None),
        ("relu2", nn.ReLU() if cfg.conv_relu else None),
        ("pool2", nn.MaxPool2d(kernel_size=2, stride=2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c2 * side * side, cfg.hidden)),
        ("bn3", nn.BatchNorm1d(cfg.hidden) if cfg.batchnorm else None),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(cfg.hidden, cfg.classes)),
    ]
    return nn.Sequential(OrderedDict((name, module) for name, module in layers if module is not None))
