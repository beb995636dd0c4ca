"""A network as the app uses it: an ``nn.Module``, the input it expects (shape and normalisation), its class
names, and its layer table traced from the module.

``Network.intermediates(x)`` returns every layer's output by name for pixels ``x`` in [0, 1]: ``input`` (the
pixels themselves), each traced layer, and ``probs`` (the softmax of the class scores). Overrides (a layer's
module swapped for one call) and row-by-row linear layers (so a batched image gets bit-for-bit what it
gets alone) run on a module that shares every other submodule: the network itself is never changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import fx, nn

from app.nets import graph as tracing
from app.nets.graph import INPUT, Layer
from app.nets.receptive import Field, NoField, fields

PROBS = "probs"
M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class InputSpec:
    """What the network takes: (C, H, W) pixels in [0, 1], normalised per channel with ``mean``/``std``."""

    shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        channels = self.shape[0]
        if len(self.mean) != channels or len(self.std) != channels:
            raise ValueError(f"mean and std need one value per input channel ({channels})")
        if any(s <= 0 for s in self.std):
            raise ValueError("std must be positive")


class RowByRow(nn.Module):
    """A linear layer applied one row at a time: a matrix product over a batch may round differently from the
    one-row product (the library picks other kernels), so batched requests use this to get, bit for bit, what
    they would get alone."""

    def __init__(self, linear: nn.Module) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) == 1:
            return self.linear(x)
        return torch.cat([self.linear(row) for row in x.split(1)])  # (N, out)


class Network:
    """An ``nn.Module`` (kept in eval mode unless ``train()`` is called on a copy) with its traced layers."""

    def __init__(self, module: nn.Module, spec: InputSpec, classes: list[str]) -> None:
        self.module = module.eval()
        self.input = spec
        self.classes = list(classes)
        traced = tracing.trace(module, spec.shape)
        self.capture: fx.GraphModule = traced.capture
        self.output = traced.output
        out_shape = traced.by_name[traced.output].shape
        if out_shape != (len(self.classes),):
            raise ValueError(
                f"the network's output {traced.output} has shape {list(out_shape)}, not one score per class"
                f" ({len(self.classes)} classes)"
            )
        self.layers: list[Layer] = [*traced.layers, Layer(PROBS, "softmax", (traced.output,), out_shape)]
        self.by_name = {layer.name: layer for layer in self.layers}
        self.fields: dict[str, Field | NoField] = fields(traced)
        linears: dict[str, nn.Module] = {
            layer.module: RowByRow(self.submodule(layer.name)) for layer in self.of_kind("linear") if layer.module
        }
        self._row_by_row = tracing.with_modules(self.capture, linears)

    # --- the layer table ---------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def layer(self, name: str) -> Layer:
        """KeyError naming the layers there are."""
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"unknown layer {name!r}; layers are {', '.join(self.names)}") from None

    def of_kind(self, *kinds: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind in kinds]

    @property
    def spatial(self) -> list[Layer]:
        """The layers whose output is a stack of maps, the input first."""
        return [layer for layer in self.layers if layer.spatial]

    def users(self, name: str) -> list[Layer]:
        return [layer for layer in self.layers if name in layer.inputs]

    def submodule(self, name: str) -> nn.Module:
        """The module of a layer; KeyError for a layer that is a function call (``add``, ``input``)."""
        layer = self.layer(name)
        if layer.module is None:
            raise KeyError(f"layer {name!r} ({layer.kind}) is not a module")
        return self.module.get_submodule(layer.module)

    def typed(self, name: str, cls: type[M]) -> M:
        """The module of a layer, which must be a ``cls``; ValueError naming what it is instead."""
        module = self.submodule(name)
        if not isinstance(module, cls):
            raise ValueError(f"layer {name!r} is a {type(module).__name__}, not a {cls.__name__}")
        return module

    def params(self, name: str) -> int:
        return self.layer(name).params

    # --- running it -------------------------------------------------------------------------------------

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels (N, C, H, W) in [0, 1] -> the network's input, with the training set's statistics."""
        mean = torch.tensor(self.input.mean, dtype=x.dtype).reshape(1, -1, 1, 1)
        std = torch.tensor(self.input.std, dtype=x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (N, classes) for pixels ``x`` (N, C, H, W) in [0, 1]."""
        return self.module(self.normalize(x))

    def intermediates(
        self,
        x: torch.Tensor,
        overrides: dict[str, nn.Module] | None = None,
        per_image_linear: bool = False,
        rows: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Every layer's output for pixels ``x`` (N, C, H, W) in [0, 1], in execution order.

        ``overrides`` maps a layer name to a module used instead of the network's own for this call only;
        ``per_image_linear`` runs the linear layers row by row (see ``RowByRow``), by ``rows`` when given
        (``scripted_rows()``'s)."""
        graph = self._row_by_row if per_image_linear else self.capture
        run: Callable[[torch.Tensor], dict[str, torch.Tensor]] = graph
        if overrides:
            swapped = {self.layer(name).module or name: module for name, module in overrides.items()}
            run = tracing.with_modules(graph, swapped)
        elif per_image_linear and rows is not None:
            run = rows
        outputs = run(self.normalize(x))
        result = {INPUT: x, **{k: v for k, v in outputs.items() if k != INPUT}}
        result[PROBS] = torch.softmax(outputs[self.output], dim=1)  # (N, classes)
        return result

    def scripted_rows(self) -> Callable[[torch.Tensor], dict[str, torch.Tensor]] | None:
        """The row-by-row forward pass compiled by TorchScript (sharing this network's parameters), or None
        when it cannot be compiled or does not give bit for bit what the Python one gives on random batches
        of 1, 2, 5 and 8 images.

        A compiled pass runs its operators in C++ and takes the GIL a few times per call instead of a few per
        operator, so a served model's batch thread hardly holds up the event loop (docs/benchmarks.md,
        "Students served"). For the served network only: it is never changed, while a copy that is trained
        or edited would leave this compiled pass behind. TorchScript is deprecated in PyTorch 2; when it
        goes, or for a network it cannot read (most imported ones), the Python pass serves."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's own deprecation and annotation warnings
            try:
                scripted = torch.jit.script(self._row_by_row)
            except Exception:  # anything TorchScript cannot compile: the Python pass serves
                return None
        generator = torch.Generator().manual_seed(0)
        with torch.inference_mode():
            for size in (1, 2, 5, 8) * 2:  # twice: the executor optimises after a first run
                x = self.normalize(torch.rand(size, *self.input.shape, generator=generator))
                want, got = self._row_by_row(x), scripted(x)
                if list(want) != list(got) or not all(torch.equal(want[k], got[k]) for k in want):
                    return None
        return scripted

    def train(self, mode: bool = True) -> Network:
        self.module.train(mode)
        return self

    def eval(self) -> Network:
        return self.train(False)

    @property
    def training(self) -> bool:
        return self.module.training
