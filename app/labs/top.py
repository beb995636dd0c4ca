"""The test digits that activate each channel most, precomputed by ``convlens top`` into
``models/<model>.top.json``.

For every channel of every spatial layer (conv1 ... pool2), an image's score is the largest value of that
channel's map, at unit (y, x); the file keeps the ``PER_CHANNEL`` best images (ties: the lower test index
first). It also records a digest of the weights it was computed with, so a stale file is refused, and
the test digits the model gets wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from app.config import at_least_one
from app.datasets import folder, mnist
from app.nets.checkpoint import model_files, weights_digest
from app.nets.model_args import MissingModel, add_model_arguments, asked_models
from app.nets.network import Network
from app.nets.receptive import Field, unit_box

PER_CHANNEL = 9
BATCH = 500
FORMAT = 1
SUFFIX = ".top.json"


def top_layers(model: Network) -> list[str]:
    """The layers with channels of maps: every spatial layer but the input."""
    return [layer.name for layer in model.spatial if layer.kind != "input"]


def channel_maxima(model: Network, images: np.ndarray, batch: int = BATCH) -> tuple[dict, np.ndarray]:
    """For ``images`` (N, H, W) or (N, H, W, 3) uint8: per layer ``(values (N, C), y (N, C), x (N, C))`` of each
    channel's largest unit, and the predictions (N,)."""
    layers = top_layers(model)
    parts: dict[str, list[tuple[torch.Tensor, ...]]] = {name: [] for name in layers}
    predictions = []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            x = folder.as_input(images[i : i + batch])  # (B, C, H, W)
            acts = model.intermediates(x, per_image_linear=True)
            for name in layers:
                maps = acts[name]  # (B, C, H, W)
                values, flat = maps.flatten(2).max(dim=2)  # (B, C): the first maximal unit
                parts[name].append((values, flat // maps.shape[3], flat % maps.shape[3]))
            predictions.append(acts["probs"].argmax(1))
    maxima = {name: tuple(torch.cat(col).numpy() for col in zip(*parts[name], strict=True)) for name in layers}
    return maxima, torch.cat(predictions).numpy()


def rank(values: np.ndarray, k: int = PER_CHANNEL) -> np.ndarray:
    """(N, C) scores -> (C, k) image indices, best first, ties broken by the lower index."""
    order = np.argsort(-values, axis=0, kind="stable")  # (N, C)
    return order[:k].T


def compute(model: Network, split: mnist.Split | folder.TestSet, k: int = PER_CHANNEL) -> dict:
    """The whole file's content for ``model`` over the test ``split``."""
    maxima, predictions = channel_maxima(model, split.images)
    layers = {}
    for name, (values, ys, xs) in maxima.items():
        best = rank(values, k)  # (C, k)
        cols = np.arange(best.shape[0])[:, None]
        layers[name] = {
            "channels": int(best.shape[0]),
            "index": best.tolist(),
            "activation": [[float(f"{v:.7g}") for v in row] for row in values[best, cols]],
            "y": ys[best, cols].tolist(),
            "x": xs[best, cols].tolist(),
        }
    wrong = np.flatnonzero(predictions != split.labels)
    return {
        "format": FORMAT,
        "weights_sha256": weights_digest(model),
        "test_set_sha256": split.sha256,
        "per_channel": k,
        "score": "the largest value of the channel's map for the image; (y, x) is that unit",
        "layers": layers,
        "misclassified": [
            {"index": int(i), "label": int(split.labels[i]), "predicted": int(predictions[i])} for i in wrong
        ],
    }


def path_for(model_dir: Path, name: str) -> Path:
    return Path(model_dir) / f"{name}{SUFFIX}"


def write(content: dict, path: Path) -> None:
    """One layer per line: small, and diffs stay readable."""
    lines = [json.dumps({k: v for k, v in content.items() if k != "layers"}, separators=(",", ":"))[:-1] + ","]
    lines.append('"layers":{')
    names = list(content["layers"])
    for i, name in enumerate(names):
        comma = "," if i < len(names) - 1 else ""
        lines.append(f"{json.dumps(name)}:{json.dumps(content['layers'][name], separators=(',', ':'))}{comma}")
    lines.append("}}")
    path.write_text("\n".join(lines) + "\n")


def load(path: Path) -> dict:
    """The parsed file (read when a model is loaded: the server never reads it on a request). KeyError when
    it is missing."""
    if not path.is_file():
        raise KeyError(f"no top-activation file {path.name}; run `convlens top --model {path.name[: -len(SUFFIX)]}`")
    return json.loads(path.read_text())


def load_for(model: Network, model_dir: Path, name: str) -> dict:
    """The file of model ``name``, refused (KeyError) when it was computed with other weights."""
    content = load(path_for(model_dir, name))
    if content.get("weights_sha256") != weights_digest(model):
        raise KeyError(
            f"{path_for(model_dir, name).name} was computed with other weights than the served {name!r}; run"
            f" `convlens top --model {name}` again"
        )
    return content


def examples(model: Network, content: dict, labels: np.ndarray, layer: str, channel: int) -> list[dict]:
    """The ranked examples of one channel: test index, label, score, the unit (y, x) and its receptive
    field box (inclusive, clipped to the image; none where the layer has no field box)."""
    found = model.layer(layer)  # KeyError for an unknown layer
    if layer not in content["layers"]:
        raise KeyError(
            f"layer {layer!r} ({found.kind}) has no top-activating images; layers with them are "
            + ", ".join(content["layers"])
        )
    entry = content["layers"][layer]
    if not 0 <= channel < entry["channels"]:
        raise KeyError(f"no channel {channel} in {layer}; channels are 0..{entry['channels'] - 1}")
    field = model.fields.get(layer)
    _, height, width = model.input.shape
    return [
        {
            "index": int(i),
            "label": int(labels[i]),
            "activation": float(a),
            "y": int(y),
            "x": int(x),
            "box": unit_box(field, y, x).clip(height, width).as_dict() if isinstance(field, Field) else None,
        }
        for i, a, y, x in zip(
            entry["index"][channel], entry["activation"][channel], entry["y"][channel], entry["x"][channel], strict=True
        )
    ]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convlens top``."""
    add_model_arguments(p, "every <name>.pt in --model-dir")
    p.add_argument("--per-channel", type=at_least_one, default=PER_CHANNEL)


def run(args: argparse.Namespace) -> int:
    """Compute and write the file of every model asked for; 1 when a model is missing."""
    if not args.model and not model_files(args.model_dir):
        print(f"no models (*.pt) in {args.model_dir}", file=sys.stderr)
        return 1
    try:
        for name, network, card in asked_models(args):
            if not card.get("dataset"):
                print(f"{name}: its card names no test set; skipped", file=sys.stderr)
                continue
            own = card.get("test_set")  # an imported model's own test set, beside it
            test = folder.read_idx(args.model_dir / own) if own else mnist.load("test", args.data_dir / card["dataset"])
            content = compute(network, test, args.per_channel)
            out = path_for(args.model_dir, name)
            write(content, out)
            print(f"{name}: {sum(v['channels'] for v in content['layers'].values())} channels -> {out}")
    except MissingModel as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
