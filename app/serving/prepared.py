"""What the routes read about one served model that takes work to find: made once, when the model is loaded
(in the app's lifespan, before the server accepts requests), and never changed after.

- ``profile``: the cost model's numbers for one image (app/serving/costs.py), which every admitted route's
  estimate reads;
- ``gallery``: the test images the pages show and the model's prediction for each (GET /api/samples);
- ``fold``: the BatchNorm fold check over the whole test set (GET /api/batchnorm/fold; app/nets/fold_file.py:
  read from ``<name>.fold.json``, measured only when that file is missing or stale), or why there is none;
- ``top``: the ``convlens top`` file (GET /api/layers/{name}/channels/{c}/top, the model card's mistakes),
  or why it cannot be used.

A route that finds one of them missing says why (KeyError, ValueError); it never computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from app.datasets.samples import SampleStore
from app.labs import top
from app.nets import fold_file
from app.nets.fold import Equivalence
from app.nets.network import Network
from app.serving import costs


@dataclass(frozen=True)
class GalleryItem:
    id: int
    label: int
    predicted: int


@dataclass(frozen=True)
class Prepared:
    profile: costs.NetworkProfile
    gallery: tuple[GalleryItem, ...] | None  # None: no test set
    fold: Equivalence | str  # the check, or why there is none
    top: dict | str  # the top-activation file's content, or why there is none


def gallery(model: Network, samples: SampleStore, misclassified: list[int]) -> tuple[GalleryItem, ...]:
    ids = samples.gallery(misclassified)
    with torch.inference_mode():
        # per_image_linear: each image's values as it gets them alone (POST /api/activations)
        predicted = model.intermediates(samples.batch(ids), per_image_linear=True)["probs"].argmax(1)  # (N,)
    return tuple(GalleryItem(i, int(samples.labels[i]), int(p)) for i, p in zip(ids, predicted, strict=True))


def fold_check(name: str, model: Network, samples: SampleStore | None, folder: Path | None) -> Equivalence | str:
    if not model.of_kind("batchnorm"):
        return f"model {name!r} has no BatchNorm layers"
    if samples is None:
        return f"model {name!r} has no test set here, so its folding cannot be checked"
    try:
        return fold_file.equivalence(model, samples, fold_file.path_for(folder, name) if folder else None)
    except ValueError as exc:
        return str(exc)


def top_file(name: str, model: Network, folder: Path | None) -> dict | str:
    if folder is None:
        return f"model {name!r} has no folder, so no top-activation file"
    try:
        return top.load_for(model, folder, name)
    except KeyError as exc:
        return str(exc.args[0])


def prepare(
    name: str,
    model: Network,
    card: dict,
    shapes: dict[str, list[int]],
    samples: SampleStore | None,
    folder: Path | None,
) -> Prepared:
    misclassified = [m["index"] for m in card.get("misclassified", [])]
    return Prepared(
        profile=costs.profile(model.module, shapes),
        gallery=None if samples is None else gallery(model, samples, misclassified),
        fold=fold_check(name, model, samples, folder),
        top=top_file(name, model, folder),
    )
