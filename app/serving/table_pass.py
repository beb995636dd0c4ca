"""The served network's batch pass in one compiled call: forward, softmax and the layer table together.

The draw pad's forward passes run in a batch thread beside the event loop (``ServedModel.infer_row``). That
thread has to take the GIL back after every call that released it, and while the loop is busy each time
costs it up to the switch interval (5 ms): a batch made of a dozen separate torch calls (normalising, the
compiled forward pass, the softmax, the table's statistics, converting to float16 per answer) waited for the
loop about as long as it computed. ``TablePass`` is all of them as one TorchScript module, so the thread
takes the GIL back once per batch (docs/benchmarks.md, "Students served").

It is only used when it gives, bit for bit, what the Python path gives (``compiled``, checked at load).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn

from app.nets.graph import INPUT
from app.nets.network import PROBS, Network
from app.serving.layers import Table, summary, table_of, tabulate

Rows = Callable[[torch.Tensor], dict[str, torch.Tensor]]


class TablePass(nn.Module):
    """Images (each (1, C, H, W), pixels in [0, 1]) -> every layer side by side (N, values) in float32 and
    float16, and each layer's minimum, maximum and mean per image (N, L): what ``tabulate`` makes of
    ``network.intermediates(torch.cat(images), per_image_linear=True)``."""

    def __init__(
        self, rows: torch.jit.ScriptModule, mean: list[float], std: list[float], names: list[str], output: str
    ) -> None:
        super().__init__()
        self.rows = rows
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)  # (1, C, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
        self.names = names
        self.output = output
        self.pixels, self.probs = INPUT, PROBS  # TorchScript reads attributes, not globals

    def forward(
        self, images: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.cat(images)  # (N, C, H, W)
        outputs = self.rows((x - self.mean) / self.std)  # as Network.normalize
        parts: list[torch.Tensor] = []
        for name in self.names:
            if name == self.pixels:
                parts.append(x)  # the pixels, not the normalised input
            elif name == self.probs:
                parts.append(torch.softmax(outputs[self.output], dim=1))  # (N, classes)
            else:
                parts.append(outputs[name])
        return summary(parts)


class Compiled:
    """A ``TablePass`` ready to serve: ``(images) -> Table``, the images each (1, C, H, W)."""

    def __init__(self, module: torch.jit.ScriptModule, network: Network) -> None:
        self.module = module
        self.names = network.names
        self.shapes = tuple(tuple(layer.shape) for layer in network.layers)

    def __call__(self, images: list[torch.Tensor]) -> Table:
        with torch.inference_mode():
            summed = self.module(images)
        return table_of(self.names, self.shapes, *summed)


def compiled(network: Network, rows: Rows | None) -> Compiled | None:
    """``network``'s batch pass compiled (over its compiled row-by-row pass ``rows``), or None when there is no
    compiled pass, TorchScript cannot compile it, or it differs in any bit from the Python path (the table
    ``tabulate`` makes of the Python pass ``network.intermediates``, and numpy's float16 of it) on batches of
    1, 2, 5 and 8."""
    if not isinstance(rows, torch.jit.ScriptModule):  # no compiled pass: the Python one serves
        return None
    module = TablePass(rows, list(network.input.mean), list(network.input.std), network.names, network.output)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation warning
        try:
            scripted = Compiled(torch.jit.script(module.eval()), network)
        except Exception:  # TorchScript gone or unable: the Python path serves
            return None
    generator = torch.Generator().manual_seed(1)
    for size in (1, 2, 5, 8) * 2:  # twice: the executor optimises after a first run
        x = torch.rand(size, *network.input.shape, generator=generator)
        with torch.inference_mode():
            want = tabulate(network.intermediates(x, per_image_linear=True), network.names)  # the Python pass
        if not same(scripted(list(x.split(1))), want):
            return None
    return scripted


def same(got: Table, want: Table) -> bool:
    """Bit for bit the same table, and ``got``'s float16 row is numpy's conversion of ``want``'s values."""
    if (got.names, got.shapes, got.sizes) != (want.names, want.shapes, want.sizes):
        return False
    pairs = [(got.flat, want.flat), (got.mins, want.mins), (got.maxs, want.maxs), (got.means, want.means)]
    pairs.append((got.half, want.flat.astype("<f2")))
    return all(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() for a, b in pairs)
