"""The options and the model loop shared by the commands that write a file beside each model
(``convlens top``, ``convlens fold``): ``--model`` (repeatable), ``--model-dir`` and ``--data-dir``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.config import Settings
from app.nets.checkpoint import load_network, model_files
from app.nets.network import Network


def add_model_arguments(p: argparse.ArgumentParser, default: str) -> None:
    """``--model`` (``default`` says which models without it), ``--model-dir``, ``--data-dir``."""
    settings = Settings.from_env()
    p.add_argument("--model", action="append", help=f"model name (repeatable; default: {default})")
    p.add_argument("--model-dir", type=Path, default=settings.model_dir)
    p.add_argument(
        "--data-dir", type=Path, default=settings.data_dir, help="folder with one folder per test set (mnist ...)"
    )


class MissingModel(Exception):
    """A model asked for has no checkpoint (the command says so and exits 1)."""


def asked_models(args: argparse.Namespace) -> Iterator[tuple[str, Network, dict[str, Any]]]:
    """``(name, network, card)`` of every model asked for (all of ``--model-dir`` without ``--model``);
    MissingModel, with the sentence to print, for a model without a checkpoint."""
    names = args.model or [path.stem for path in model_files(args.model_dir)]
    for name in names:
        checkpoint = args.model_dir / f"{name}.pt"
        if not checkpoint.is_file():
            raise MissingModel(f"no checkpoint {checkpoint}")
        network, card = load_network(checkpoint)
        yield name, network, card
