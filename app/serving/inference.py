"""The served models: loaded once, never modified, run under ``torch.inference_mode()``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.nets.checkpoint import load_checkpoint
from app.nets.lenet import LeNet
from app.nets.receptive import receptive_fields
from app.serving import encoding
from app.serving.batching import MicroBatcher

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
    receptive_fields: dict[str, dict[str, float]] = field(default_factory=dict)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    batcher: MicroBatcher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.batcher = MicroBatcher(self._run_batch)

    @classmethod
    def load(cls, checkpoint: Path) -> ServedModel:
        model = load_checkpoint(str(checkpoint))
        card_path = checkpoint.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        served = cls(checkpoint.stem, model, card, receptive_fields(model.table))
        with torch.inference_mode():
            probe = torch.zeros(1, 1, model.cfg.image_size, model.cfg.image_size)
            served.shapes = {k: list(v.shape[1:]) for k, v in model.intermediates(probe).items()}
        return served

    @property
    def layer_names(self) -> list[str]:
        return self.model.layer_names

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
        with torch.inference_mode():
            return self.model.intermediates(x, overrides, per_image_linear=True)

    def infer(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate for one image ``x`` (1, 1, 28, 28), sharing a forward pass with concurrent
        requests (micro-batching); the values are bit-identical to ``forward(x)``."""
        return self.batcher.submit(x)

    def _run_batch(self, batch: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        acts = self.forward(batch)  # name -> (N, ...)
        return [{name: t[i : i + 1] for name, t in acts.items()} for i in range(len(batch))]


class Registry:
    """All models found in a folder (``<name>.pt`` with its ``<name>.json`` card)."""

    def __init__(self, model_dir: Path, default: str) -> None:
        self.models: dict[str, ServedModel] = {}
        for checkpoint in sorted(Path(model_dir).glob("*.pt")):
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


def encode_layers(
    served: ServedModel, acts: dict[str, torch.Tensor], names: list[str], dtype: str, index: int = 0
) -> list[dict]:
    """The activations JSON of image ``index`` for the named layers.

    All layers are flattened into one buffer so the statistics and the encoding are a few vectorised
    calls rather than a few per layer.
    """
    parts = [acts[name][index] for name in names]
    flat = torch.cat([p.reshape(-1) for p in parts]).numpy()  # (sum of sizes,)
    sizes = [p.numel() for p in parts]
    offsets = np.cumsum([0, *sizes[:-1]])
    mins, maxs = np.minimum.reduceat(flat, offsets), np.maximum.reduceat(flat, offsets)
    means = np.add.reduceat(flat, offsets, dtype=np.float64) / np.asarray(sizes)
    datas = encoding.encode_segments(flat, sizes, dtype)
    return [
        {
            "name": name,
            "kind": served.model.spec(name).kind,
            "shape": list(part.shape),
            "dtype": dtype,
            "min": float(lo),
            "max": float(hi),
            "mean": float(mean),
            "data": data,
        }
        for name, part, lo, hi, mean, data in zip(names, parts, mins, maxs, means, datas, strict=True)
    ]


def select_layers(served: ServedModel, layers: str | None) -> list[str]:
    """``"conv1,pool2"`` -> the names, in forward order; ValueError naming unknown ones."""
    if layers is None or layers.strip() == "":
        return served.layer_names
    wanted = [name.strip() for name in layers.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in served.layer_names]
    if unknown:
        raise ValueError(
            f"layers: unknown layer(s) {', '.join(map(repr, unknown))}; layers are {', '.join(served.layer_names)}"
        )
    return [name for name in served.layer_names if name in wanted]
