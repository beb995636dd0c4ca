"""The served models: loaded once, never modified, run under ``torch.inference_mode()``."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from app.datasets.folder import LabelledSet
from app.datasets.samples import Datasets, SampleStore
from app.nets.checkpoint import load_network, model_files
from app.nets.network import Network
from app.serving import table_pass
from app.serving.batching import BatchThread
from app.serving.layers import Row, compiled_summary, tabulate
from app.serving.prepared import Prepared, prepare
from app.training.timeline import SUFFIX as TIMELINE_SUFFIX
from app.training.timeline import Timeline

T = TypeVar("T")
WEIGHT_TENSORS = {
    "conv": ("weight", "bias"),
    "linear": ("weight", "bias"),
    "batchnorm": ("weight", "bias", "running_mean", "running_var"),
}
# told of every forward pass: (model name, images, seconds); the app's metrics
ForwardObserver = Callable[[str, int, float], None]


@dataclass
class ServedModel:
    """One trained network, its model card and (when it has one) its test set. Read-only after loading;
    what takes work to find (the fold check, the gallery's predictions...) is ``prepared`` when it is made."""

    name: str
    model: Network
    card: dict
    samples: SampleStore | None = None
    timeline: Timeline | None = None
    folder: Path | None = None  # where its files are (its top-activation file, its own test set)
    observe: ForwardObserver | None = field(default=None, repr=False)
    batch_thread: BatchThread = field(init=False, repr=False)
    rows: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = field(init=False, repr=False)
    table_pass: table_pass.Compiled | None = field(init=False, repr=False)
    prepared: Prepared = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rows = self.model.scripted_rows()  # the served network's compiled pass, or None
        self.table_pass = table_pass.compiled(self.model, self.rows)  # the batch thread's, or None
        self.batch_thread = BatchThread(self._table_batch, name=f"{self.name}-forward", join=list)
        compiled_summary()  # compiled once, at load, not by a first request
        self.prepared = prepare(self.name, self.model, self.card, self.shapes, self.samples, self.folder)

    @classmethod
    def load(cls, checkpoint: Path, datasets: Datasets, observe: ForwardObserver | None = None) -> ServedModel:
        network, card = load_network(checkpoint)
        own = card.get("test_set")  # an imported model's test set, beside it
        samples = LabelledSet(checkpoint.parent / own) if own else datasets.get(card.get("dataset"))
        served = cls(checkpoint.stem, network, card, samples, folder=checkpoint.parent, observe=observe)
        timeline = checkpoint.with_name(checkpoint.stem + TIMELINE_SUFFIX)
        if timeline.is_file():
            served.timeline = Timeline.load(timeline, network)
        return served

    @property
    def layer_names(self) -> list[str]:
        return self.model.names

    @property
    def shapes(self) -> dict[str, list[int]]:
        return {layer.name: list(layer.shape) for layer in self.model.layers}

    @functools.cached_property
    def layer_values(self) -> dict[str, int]:
        """Each layer's number of values for one image (its shape's product)."""
        return {layer.name: math.prod(layer.shape) for layer in self.model.layers}

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.model.input.shape

    @property
    def params(self) -> int:
        """Parameters of the whole network."""
        return sum(p.numel() for p in self.model.module.parameters())

    def dataset(self) -> SampleStore:
        """The model's test set; KeyError when it was served without one."""
        if self.samples is None:
            raise KeyError(f"model {self.name!r} has no test set here, so it has no sample images")
        return self.samples

    def top_file(self) -> dict:
        """The ``convlens top`` file, read when the model was loaded; KeyError saying why there is none."""
        if isinstance(self.prepared.top, str):
            raise KeyError(self.prepared.top)
        return self.prepared.top

    def history(self) -> Timeline:
        """The training timeline; KeyError when this model was served without one."""
        if self.timeline is None:
            raise KeyError(f"model {self.name!r} has no training timeline (train it with `convlens train`)")
        return self.timeline

    def at(self, step: int | None) -> Network:
        """The network, or (``step``) the network as it was at that training step (a full checkpoint)."""
        return self.model if step is None else self.history().network(step)

    def weights(self, name: str, step: int | None = None) -> tuple[str, list[tuple[str, np.ndarray]], float | None]:
        """``(kind, [(tensor name, array)], eps)`` of a layer, now or at training ``step``; KeyError for an
        unknown layer, one without weights, or one not kept at that step."""
        layer = self.model.layer(name)  # KeyError for an unknown layer
        if layer.kind not in WEIGHT_TENSORS or layer.module is None:
            raise KeyError(
                f"layer {name!r} ({layer.kind}) has no weights; layers with weights are "
                + ", ".join(w.name for w in self.model.of_kind(*WEIGHT_TENSORS) if w.module)
            )
        module = self.model.submodule(name)
        present = [t for t in WEIGHT_TENSORS[layer.kind] if getattr(module, t, None) is not None]
        if step is None:
            tensors = [(t, getattr(module, t).detach().numpy()) for t in present]
        else:
            timeline = self.history()
            kept = [(t, timeline.tensor(step, f"{layer.module}.{t}")) for t in present]
            if any(v is None for _, v in kept):
                raise KeyError(
                    f"checkpoint: step {step} keeps the conv and BatchNorm layers only; {name} is kept at steps "
                    + ", ".join(map(str, timeline.full_steps))
                )
            tensors = [(t, v.numpy()) for t, v in kept if v is not None]
        return layer.kind, tensors, getattr(module, "eps", None)

    def forward(
        self, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None, step: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Every intermediate for ``x`` (N, C, H, W) in [0, 1], by the network as served or as it was at
        training ``step``; each image's values are bit-for-bit those it gets alone."""
        start = time.perf_counter()
        rows = self.rows if step is None and not overrides else None
        with torch.inference_mode():
            acts = self.at(step).intermediates(x, overrides, per_image_linear=True, rows=rows)
        if self.observe is not None:
            self.observe(self.name, len(x), time.perf_counter() - start)
        return acts

    async def infer_row(self, x: torch.Tensor, finish: Callable[[Row], T] | None = None) -> T:
        """Every layer of one image ``x`` (1, C, H, W) as a row of a ``layers.Table``, for a coroutine, or what
        ``finish`` makes of that row: the forward pass, the table and ``finish`` run in the model's batch
        thread, shared with the other images awaiting one, while the event loop goes on; the values are
        bit-identical to ``forward(x)``'s."""
        result: T = await self.batch_thread.submit(x, finish)
        return result

    def infer_row_blocking(self, x: torch.Tensor) -> Row:
        """``infer_row`` for a route's worker thread: waits for the batch ``x`` (1, C, H, W) joined."""
        row: Row = self.batch_thread.submit_blocking(x)
        return row

    def close(self) -> None:
        """Stop the batch thread (the lifespan's end)."""
        self.batch_thread.close()

    def _table_batch(self, images: list[torch.Tensor]) -> list[Row]:
        """The batch thread's work: a table of every layer of ``images`` (each (1, C, H, W))."""
        if self.table_pass is None:
            table = tabulate(self.forward(torch.cat(images)), self.layer_names)  # every layer, (N, ...) each
        else:  # the same table in one compiled call (app.serving.table_pass)
            start = time.perf_counter()
            table = self.table_pass(images)
            if self.observe is not None:
                self.observe(self.name, len(images), time.perf_counter() - start)
        return [table.row(i) for i in range(len(images))]


class Registry:
    """All models found in some folders (``<name>.pt`` with its ``<name>.json`` card and, when it was trained
    here, its ``<name>.timeline.pt``): the bundled ones and any imported ones. A name in two folders is an
    error, not a choice."""

    def __init__(
        self,
        model_dirs: Path | list[Path],
        default: str,
        datasets: Datasets,
        observe: ForwardObserver | None = None,
    ) -> None:
        self.models: dict[str, ServedModel] = {}
        folders = [model_dirs] if isinstance(model_dirs, Path) else list(model_dirs)
        for folder in folders:
            if not folder.is_dir():
                raise FileNotFoundError(f"the model folder {folder} does not exist")
            for checkpoint in model_files(folder):
                if checkpoint.stem in self.models:
                    raise ValueError(f"two models are named {checkpoint.stem!r}: {checkpoint} and another folder's")
                served = ServedModel.load(checkpoint, datasets, observe)
                self.models[served.name] = served
        if default not in self.models:
            where = ", ".join(str(f) for f in folders)
            raise FileNotFoundError(
                f"model {default!r} not found in {where} (found: {sorted(self.models) or 'none'});"
                " run `convlens train` to create it"
            )
        self.default = default

    def close(self) -> None:
        for served in self.models.values():
            served.close()

    def get(self, name: str | None = None) -> ServedModel:
        name = name or self.default
        if name not in self.models:
            raise KeyError(f"unknown model {name!r}; models are {', '.join(self.models)}")
        return self.models[name]
