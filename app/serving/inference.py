"""The served models: loaded once, never modified, run under ``torch.inference_mode()``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.nets.checkpoint import load_checkpoint
from app.nets.lenet import LeNet
from app.nets.receptive import FieldGeometry, receptive_fields
from app.serving.batching import MicroBatcher

WEIGHT_TENSORS = {
    "conv": ("weight", "bias"),
    "linear": ("weight", "bias"),
    "batchnorm": ("weight", "bias", "running_mean", "running_var"),
}
# told of every forward pass: (model name, images, seconds); the app's metrics
ForwardObserver = Callable[[str, int, float], None]


@dataclass
class ServedModel:
    """One trained network and its model card. Read-only after loading."""

    name: str
    model: LeNet
    card: dict
    receptive_fields: dict[str, FieldGeometry] = field(default_factory=dict)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    observe: ForwardObserver | None = field(default=None, repr=False)
    batcher: MicroBatcher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.batcher = MicroBatcher(self._run_batch)

    @classmethod
    def load(cls, checkpoint: Path, observe: ForwardObserver | None = None) -> ServedModel:
        model = load_checkpoint(str(checkpoint))
        card_path = checkpoint.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        served = cls(checkpoint.stem, model, card, receptive_fields(model.table), observe=observe)
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

    def weights(self, name: str) -> tuple[str, list[tuple[str, np.ndarray]], float | None]:
        """``(kind, [(tensor name, array)], eps)`` of a layer; KeyError for an unknown layer or one
        without weights."""
        spec = self.model.spec(name)  # KeyError for an unknown layer
        if spec.kind not in WEIGHT_TENSORS:
            raise KeyError(
                f"layer {name!r} ({spec.kind}) has no weights; layers with weights are "
                + ", ".join(s.name for s in self.model.table if s.kind in WEIGHT_TENSORS)
            )
        module = getattr(self.model, name)
        tensors = [(t, getattr(module, t).detach().numpy()) for t in WEIGHT_TENSORS[spec.kind]]
        return spec.kind, tensors, getattr(module, "eps", None)

    def forward(self, x: torch.Tensor, overrides: dict[str, nn.Module] | None = None) -> dict[str, torch.Tensor]:
        """Every intermediate for ``x`` (N, 1, 28, 28) in [0, 1]; each image's values are bit-for-bit
        those it gets alone."""
        start = time.perf_counter()
        with torch.inference_mode():
            acts = self.model.intermediates(x, overrides, per_image_linear=True)
        if self.observe is not None:
            self.observe(self.name, len(x), time.perf_counter() - start)
        return acts

    def infer(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate for one image ``x`` (1, 1, 28, 28), sharing a forward pass with concurrent
        requests (micro-batching); the values are bit-identical to ``forward(x)``."""
        return self.batcher.submit(x)

    def _run_batch(self, batch: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        acts = self.forward(batch)  # name -> (N, ...)
        return [{name: t[i : i + 1] for name, t in acts.items()} for i in range(len(batch))]


class Registry:
    """All models found in a folder (``<name>.pt`` with its ``<name>.json`` card)."""

    def __init__(self, model_dir: Path, default: str, observe: ForwardObserver | None = None) -> None:
        self.models: dict[str, ServedModel] = {}
        for checkpoint in sorted(Path(model_dir).glob("*.pt")):
            served = ServedModel.load(checkpoint, observe)
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
