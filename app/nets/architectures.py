"""The networks this app can build from a config, by architecture name (the ``arch`` of a checkpoint)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from app.nets import graphspec
from app.nets.lenet import ModelConfig, lenet
from app.nets.vgg import VggConfig, fashion_vgg

BUILDERS: dict[str, tuple[Any, Callable[[Any], nn.Module]]] = {
    "lenet": (ModelConfig, lenet),
    "fashion_vgg": (VggConfig, fashion_vgg),
    "graph": (graphspec.GraphConfig, graphspec.build),  # an imported network, described as data (convlens import)
}


def config(arch: str, data: dict[str, Any]) -> Any:
    """The architecture's config dataclass from plain data; KeyError/ValueError naming what is wrong."""
    if arch not in BUILDERS:
        raise KeyError(f"unknown architecture {arch!r}; architectures are {', '.join(BUILDERS)}")
    return BUILDERS[arch][0].from_dict(data)


def build(arch: str, cfg: Any) -> nn.Module:
    return BUILDERS[arch][1](cfg)
