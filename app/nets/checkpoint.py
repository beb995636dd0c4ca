"""Checkpoints: a state_dict plus the network's config, plain types only, loaded with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from app.nets.lenet import LeNet, ModelConfig


def save_checkpoint(model: LeNet, path: str, extra: dict[str, Any] | None = None) -> None:
    """A checkpoint is the state_dict plus the config (plain types only, for ``weights_only=True``)."""
    payload = {"config": model.cfg.to_dict(), "state_dict": model.state_dict(), **(extra or {})}
    torch.save(payload, path)


def model_files(model_dir: Path) -> list[Path]:
    """The models' checkpoints in a folder (``<name>.pt``), by name; a model's other files (its training
    timeline ``<name>.timeline.pt``) are not checkpoints."""
    return sorted(p for p in Path(model_dir).glob("*.pt") if "." not in p.stem)


def load_checkpoint(path: str) -> LeNet:
    """Rebuild a network from a checkpoint, in eval mode with gradients off for its parameters."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = LeNet(ModelConfig.from_dict(payload["config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    model.requires_grad_(False)
    return model
