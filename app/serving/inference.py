"""The served models: loaded once, never modified, run under ``torch.inference_mode()``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.nets.checkpoint import load_checkpoint, model_files
from app.nets.lenet import LeNet
from app.nets.receptive import FieldGeometry, receptive_fields
from app.serving.batching import MicroBatcher
from app.training.timeline import SUFFIX as TIMELINE_SUFFIX
from app.training.timeline import Timeline

WEIGHT_TENSORS = {
    "conv": ("weight", "bias"),
    "linear": ("weight", "bias"),
    "batchnorm": ("weight", "bias", "running_mean", "running_var"),
}


@dataclass
class ServedModel:
    """One trained network and its model card. Read-only after loading."""

    name: str
    model: LeNet
    card: dict
    receptive_fields: dict[str, FieldGeometry] = field(default_factory=dict)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    timeline: Timeline | None = None
    batcher: MicroBatcher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.batcher = MicroBatcher(self._run_batch)

    @classmethod
    def load(cls, checkpoint: Path) -> ServedModel:
        model = load_checkpoint(str(checkpoint))
        card_path = checkpoint.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        served = cls(checkpoint.stem, model, card, receptive_fields(model.table))
        timeline = checkpoint.with_name(checkpoint.stem + TIMELINE_SUFFIX)
        if timeline.is_file():
            served.timeline = Timeline.load(timeline, model)
        with torch.inference_mode():
            probe = torch.zeros(1, 1, model.cfg.image_size, model.cfg.image_size)
            served.shapes = {k: list(v.shape[1:]) for k, v in model.intermediates(probe).items()}
        return served

    @property
    def layer_names(self) -> list[str]:
        return self.model.layer_names

    @property
    def params(self) -> int:
        """Parameters of the whole network."""
        return sum(p.numel() for p in self.model.parameters())

    def layer_params(self, name: str) -> int:
        module = getattr(self.model, name, None)
        if not isinstance(module, nn.Module):
            return 0
        return sum(p.numel() for p in module.parameters())

    def history(self) -> Timeline:
        """The training timeline; KeyError when this model was served without one."""
        if self.timeline is None:
            raise KeyError(f"model {self.name!r} has no training timeline (train it with `convlens train`)")
        return self.timeline

    def at(self, step: int | None) -> LeNet:
        """The network, or (``step``) the network as it was at that training step (a full checkpoint)."""
        return self.model if step is None else self.history().network(step)

    def weights(self, name: str, step: int | None = None) -> tuple[str, list[tuple[str, np.ndarray]], float | None]:
        """``(kind, [(tensor name, array)], eps)`` of a layer, now or at training ``step``; KeyError for an
        unknown layer, one without weights, or one not kept at that step."""
        spec = self.model.spec(name)  # KeyError for an unknown layer
        if spec.kind not in WEIGHT_TENSORS:
            raise KeyError(
                f"layer {name!r} ({spec.kind}) has no weights; layers with weights are "
                + ", ".join(s.name for s in self.model.table if s.kind in WEIGHT_TENSORS)
            )
        module = getattr(self.model, name)
        if step is None:
            tensors = [(t, getattr(module, t).detach().numpy()) for t in WEIGHT_TENSORS[spec.kind]]
        else:
            timeline = self.history()
            kept = [(t, timeline.tensor(step, f"{name}.{t}")) for t in WEIGHT_TENSORS[spec.kind]]
            if any(v is None for _, v in kept):
                raise KeyError(
                    f"checkpoint: step {step} keeps the conv and BatchNorm layers only; {name} is kept at steps "
                    + ", ".join(map(str, timeline.full_steps))
                )
            tensors = [(t, v.numpy()) for t, v in kept if v is not None]
        return spec.kind, tensors, getattr(module, "eps", None)

    def forward(
        self, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None, step: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Every intermediate for ``x`` (N, 1, 28, 28) in [0, 1], by the network as served or as it was at
        training ``step``; each image's values are bit-for-bit those it gets alone."""
        with torch.inference_mode():
            return self.at(step).intermediates(x, overrides, per_image_linear=True)

    def infer(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate for one image ``x`` (1, 1, 28, 28), sharing a forward pass with concurrent
        requests (micro-batching); the values are bit-identical to ``forward(x)``."""
        return self.batcher.submit(x)

    def _run_batch(self, batch: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        acts = self.forward(batch)  # name -> (N, ...)
        return [{name: t[i : i + 1] for name, t in acts.items()} for i in range(len(batch))]


class Registry:
    """All models found in a folder (``<name>.pt`` with its ``<name>.json`` card and, when it was trained
    here, its ``<name>.timeline.pt``)."""

    def __init__(self, model_dir: Path, default: str) -> None:
        self.models: dict[str, ServedModel] = {}
        for checkpoint in model_files(model_dir):
            served = ServedModel.load(checkpoint)
            self.models[served.name] = served
        if default not in self.models:
            raise FileNotFoundError(
                f"model {default!r} not found in {model_dir} (found: {sorted(self.models) or 'none'});"
                " run `convlens train` to create it"
            )
        self.default = default

    def get(self, name: str | None = None) -> ServedModel:
        name = name or self.default
        if name not in self.models:
            raise KeyError(f"unknown model {name!r}; models are {', '.join(self.models)}")
        return self.models[name]
