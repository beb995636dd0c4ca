"""Checkpoints: a state_dict plus the architecture's name and config, plain types only, loaded with
``weights_only=True``; and a model's folder (``<name>.pt`` with its card ``<name>.json``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from app.nets import architectures
from app.nets.network import InputSpec, Network


def save_checkpoint(module: nn.Module, arch: str, cfg: Any, path: Path) -> None:
    payload = {"arch": arch, "config": cfg.to_dict(), "state_dict": module.state_dict()}
    torch.save(payload, path)


def model_files(model_dir: Path) -> list[Path]:
    """The models' checkpoints in a folder (``<name>.pt``), by name; a model's other files (its training
    timeline ``<name>.timeline.pt``) are not checkpoints."""
    return sorted(p for p in Path(model_dir).glob("*.pt") if "." not in p.stem)


def load_module(path: Path) -> tuple[nn.Module, str, Any]:
    """``(module, arch, config)`` from a checkpoint: eval mode, parameters without gradients."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    arch = payload.get("arch", "lenet")  # the first checkpoints named no architecture: they are LeNets
    cfg = architectures.config(arch, payload["config"])
    module = architectures.build(arch, cfg)
    module.load_state_dict(payload["state_dict"])
    module.eval()
    module.requires_grad_(False)
    return module, arch, cfg


def input_spec(card: dict[str, Any], cfg: Any) -> InputSpec:
    """The input the network expects: the card's ``input``, else (older LeNet cards) its config's."""
    given = card.get("input")
    if given:
        c, h, w = (int(v) for v in given["shape"])
        return InputSpec((c, h, w), tuple(given["mean"]), tuple(given["std"]))
    side, channels = cfg.image_size, cfg.in_channels
    return InputSpec((channels, side, side), (cfg.mean,) * channels, (cfg.std,) * channels)


def class_names(card: dict[str, Any], count: int) -> list[str]:
    return [str(c) for c in card.get("classes") or range(count)]


def read_card(path: Path) -> dict[str, Any]:
    card_path = path.with_suffix(".json")
    return json.loads(card_path.read_text()) if card_path.is_file() else {}


def load_network(path: Path) -> tuple[Network, dict[str, Any]]:
    """The network in ``<name>.pt`` and its card ``<name>.json`` (empty when there is none)."""
    module, _, cfg = load_module(path)
    card = read_card(path)
    return Network(module, input_spec(card, cfg), class_names(card, cfg.classes)), card


def weights_digest(model: Network) -> str:
    """sha256 over every parameter and buffer (name, dtype, shape, bytes): what the files computed from a
    model's weights (``<name>.top.json``, ``<name>.fold.json``) record, so that a stale one is never used."""
    h = hashlib.sha256()
    for name, tensor in model.module.state_dict().items():
        h.update(f"{name}:{tensor.dtype}:{list(tensor.shape)};".encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    return h.hexdigest()
