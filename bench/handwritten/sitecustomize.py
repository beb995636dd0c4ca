"""Loaded at start-up by a server whose PYTHONPATH holds this folder (bench/lenet_speed.py's "before"
server): the served networks run the hand-written forward the LeNet had before layer tables were traced
(its children called one after another, each output kept by name; linear layers row by row in a batch),
instead of the traced GraphModule. Nothing else changes, so the two servers differ only in that."""

from __future__ import annotations

import torch
from torch import nn

from app.nets import network
from app.nets.graph import INPUT
from app.nets.network import PROBS, Network


def handwritten(
    self: Network, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None, per_image_linear: bool = False
) -> dict[str, torch.Tensor]:
    """The LeNet's old ``intermediates``: ``x`` (N, 1, 28, 28) through its children by name."""
    out: dict[str, torch.Tensor] = {INPUT: x}
    h = self.normalize(x)
    for name, module in self.module.named_children():
        module = (overrides or {}).get(name, module)
        if isinstance(module, nn.Linear) and per_image_linear and len(h) > 1:
            h = torch.cat([module(row) for row in h.split(1)])  # (N, out), each row as it is alone
        else:
            h = module(h)
        out[name] = h
    out[PROBS] = torch.softmax(h, dim=1)  # (N, classes)
    return out


network.Network.intermediates = handwritten  # type: ignore[method-assign]
