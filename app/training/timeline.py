"""Checkpoints recorded while a network trains: how its filters "deform themselves" into feature detectors,
and how the distribution of each layer's output drifts (the "internal covariate shift" BatchNorm fights).

A timeline is a list of checkpoints in training order: step 0 (the initialisation), about ``EARLY`` steps
spread log-uniformly over the first epoch (the filters change fastest there), the end of every epoch. Every
checkpoint stores the conv and BatchNorm tensors (small: the LeNet's conv1 and conv2 are 25,520 numbers);
a handful (``full``) store the whole network: step 0, the early step nearest a tenth of the first epoch and
the end of the first epoch. The last checkpoint is the served weights themselves, so its tensors are not
stored twice. Tensors with at least ``HALF_FROM`` elements (the LeNet's fc1 weight, 1.2 M numbers) are kept
in float16, which keeps a timeline near 10 MB; everything else is float32.

Every checkpoint also records the drift: for every conv and linear layer but the last, the per-channel mean
and standard deviation of its output over a fixed batch of ``DRIFT_IMAGES`` test digits, as training sees
it (BatchNorm normalising with the batch's own statistics), and the same for the BatchNorm that follows
it, if any: what the next layer actually receives. At a full checkpoint it is measured on the network as
stored (float16 tensors and all), so it is exactly what that checkpoint's network gives.

The file (``<name>.timeline.pt``) is a dict of plain types and tensors, read with ``weights_only=True``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from app.nets.network import Network

FORMAT = 1
SUFFIX = ".timeline.pt"
EARLY = 10
HALF_FROM = 65_536
DRIFT_IMAGES = 512


def schedule(steps_per_epoch: int, epochs: int, early: int = EARLY) -> dict[int, bool]:
    """``{step: full}`` for every checkpoint, in training order (see the module docstring)."""
    log_points = np.logspace(0, math.log10(steps_per_epoch), early + 1)[:-1]  # 1 ... < steps_per_epoch
    first_epoch = sorted({round(float(s)) for s in log_points} - {steps_per_epoch})
    steps = sorted({0, *first_epoch, *(e * steps_per_epoch for e in range(1, epochs + 1))})
    full = {0, steps_per_epoch, steps[-1]}
    if first_epoch:
        full.add(min(first_epoch, key=lambda s: abs(s - steps_per_epoch / 10)))
    return {s: s in full for s in steps}


def drift_layers(model: Network) -> dict[str, str | None]:
    """Every conv and linear layer but the one giving the class scores, mapped to the BatchNorm its output
    feeds (or None)."""
    out: dict[str, str | None] = {}
    for layer in model.of_kind("conv", "linear"):
        if layer.name == model.output:
            continue
        users = model.users(layer.name)
        out[layer.name] = users[0].name if len(users) == 1 and users[0].kind == "batchnorm" else None
    return out


def _stored(tensor: torch.Tensor) -> torch.Tensor:
    t = tensor.detach().clone()
    return t.half() if t.is_floating_point() and t.numel() >= HALF_FROM else t


def snapshot(model: nn.Module, full: bool) -> dict[str, torch.Tensor]:
    """What a checkpoint keeps of ``model``: the whole state_dict (``full``) or the conv and BatchNorm
    layers' tensors."""
    if full:
        return {name: _stored(t) for name, t in model.state_dict().items()}
    keep = {}
    for prefix, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.modules.batchnorm._BatchNorm):
            keep.update({f"{prefix}.{name}": _stored(t) for name, t in module.state_dict().items()})
    return keep


def _channel_stats(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) or (N, C) -> (2, C): each channel's mean and (biased) standard deviation."""
    per_channel = t.transpose(0, 1).reshape(t.shape[1], -1)  # (C, N*H*W)
    return torch.stack([per_channel.mean(1), per_channel.std(1, correction=0)])


def drift(model: Network, images: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
    """``{layer: {"output": (2, C), "after": (2, C)}}`` (mean and std per channel) for ``images``
    (N, C, H, W) in [0, 1], BatchNorm in training mode. Runs on a copy: ``model`` is not changed."""
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        acts = probe.intermediates(images)
    stats = {}
    for layer, bn in drift_layers(model).items():
        stats[layer] = {"output": _channel_stats(acts[layer])}
        if bn is not None:
            stats[layer]["after"] = _channel_stats(acts[bn])
    return stats


@dataclass
class Recorder:
    """Collects the checkpoints while ``train`` runs."""

    plan: dict[int, bool]
    drift_images: torch.Tensor  # (DRIFT_IMAGES, 1, H, W)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    def due(self, step: int) -> bool:
        return step in self.plan

    def record(
        self, model: Network, step: int, epoch: float, images_seen: int, train_loss: float | None, acc: float
    ) -> None:
        last, full = step == max(self.plan), self.plan[step]
        state = {} if last else snapshot(model.module, full)
        # a full checkpoint is served as stored (its largest tensors in float16): its drift is that network's
        measured = _network(model, state) if full and not last else model
        self.checkpoints.append(
            {
                "step": step,
                "epoch": round(epoch, 4),
                "images_seen": images_seen,
                "train_loss": train_loss,
                "test_accuracy": acc,
                "full": full,
                "served": last,
                "state": state,
                "drift": drift(measured, self.drift_images),
            }
        )

    def summary(self) -> list[dict[str, Any]]:
        """The checkpoints without tensors (for the model card)."""
        return [{k: v for k, v in c.items() if k not in ("state", "drift")} for c in self.checkpoints]

    def save(self, path: Path, name: str) -> None:
        torch.save({"format": FORMAT, "model": name, "checkpoints": self.checkpoints}, path)


class Timeline:
    """A model's training timeline, read-only once loaded: checkpoint metadata, the stored tensors, the
    network at every full checkpoint (the last one is the served network itself) and the drift."""

    def __init__(self, content: dict[str, Any], served: Network) -> None:
        self.checkpoints = content["checkpoints"]
        self.steps = [int(c["step"]) for c in self.checkpoints]
        self.full_steps = [s for s, c in zip(self.steps, self.checkpoints, strict=True) if c["full"]]
        self.networks: dict[int, Network] = {}
        for step, c in zip(self.steps, self.checkpoints, strict=True):
            if c["served"]:
                self.networks[step] = served
            elif c["full"]:
                self.networks[step] = _network(served, c["state"])

    @classmethod
    def load(cls, path: Path, served: Network) -> Timeline:
        content = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            raise ValueError(f"{path}: not a ConvLens timeline (format {FORMAT})")
        return cls(content, served)

    def summary(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k not in ("state", "drift", "served")} for c in self.checkpoints]

    def _checkpoint(self, step: int) -> dict[str, Any]:
        if step not in self.steps:
            raise KeyError(f"checkpoint: no step {step}; the checkpoints are steps {', '.join(map(str, self.steps))}")
        return self.checkpoints[self.steps.index(step)]

    def network(self, step: int) -> Network:
        """The network as it was at ``step`` (a full checkpoint); KeyError naming the full steps."""
        self._checkpoint(step)
        if step not in self.networks:
            raise KeyError(
                f"checkpoint: step {step} keeps only the conv and BatchNorm layers; the whole network is kept at"
                f" steps {', '.join(map(str, self.full_steps))}"
            )
        return self.networks[step]

    def tensor(self, step: int, key: str) -> torch.Tensor | None:
        """One state_dict entry (``conv1.weight``) at ``step`` as float32, or None when not kept there."""
        c = self._checkpoint(step)
        if c["served"]:
            return self.networks[step].module.state_dict()[key]
        t = c["state"].get(key)
        return None if t is None else t.float()

    def drift(self, layer: str) -> list[dict[str, Any]]:
        """Per checkpoint: the step and the (2, C) mean/std of ``layer``'s output and of its BatchNorm."""
        if layer not in self.checkpoints[0]["drift"]:
            raise KeyError(
                f"layer: no drift recorded for {layer!r}; it is recorded for {', '.join(self.checkpoints[0]['drift'])}"
            )
        return [{"step": step, **c["drift"][layer]} for step, c in zip(self.steps, self.checkpoints, strict=True)]


def _network(served: Network, state: dict[str, torch.Tensor]) -> Network:
    """The served network's architecture with the weights kept at a full checkpoint."""
    module = copy.deepcopy(served.module)
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    module.eval()
    module.requires_grad_(False)
    return Network(module, served.input, served.classes)
