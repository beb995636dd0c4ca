"""The fold check (``fold.measure``: the folded network against the trained one over the whole test set), stored
beside the weights in ``models/<name>.fold.json`` so that no request ever waits for it.

The check takes seconds (about 4 s for a LeNet over 10,000 digits on one core), so it is made when the
model's files are made: ``convlens fold`` (all served models with BatchNorm, or ``--model``) writes the file,
and the bundled models' files are committed. The file records the digest of the weights and of the test set
(its decoded images and labels) it was measured on, and a file that does not match both is not used.

When the server loads a model with BatchNorm and a test set (``equivalence``), it reads the file; when there
is none, or it is stale, the check runs then, at start-up, before the server accepts any request (the result
is kept for the process, per weights and test set: a second app in the same process, as in the tests, does
not measure the same network again). The times in the file are those of the run that measured them, with
the threads it used (``threads``), not the serving machine's.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import threading
from pathlib import Path

import numpy as np

from app.datasets import folder, mnist
from app.datasets.samples import SampleStore
from app.nets import fold
from app.nets.checkpoint import weights_digest
from app.nets.model_args import MissingModel, add_model_arguments, asked_models
from app.nets.network import Network

SUFFIX = ".fold.json"
FORMAT = 1

# (weights digest, test-set digest) -> the check, for this process; filled only while models load
_measured: dict[tuple[str, str], fold.Equivalence] = {}
_lock = threading.Lock()


def path_for(model_dir: Path, name: str) -> Path:
    return Path(model_dir) / f"{name}{SUFFIX}"


def test_set_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of a test set's decoded images (N, H, W[, 3]) uint8 and labels (N,): the same for the same
    images however their files are compressed."""
    h = hashlib.sha256(f"{list(images.shape)};{list(labels.shape)};".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels).tobytes())
    return h.hexdigest()


def content(model: Network, samples: SampleStore) -> dict:
    """The file's content: the check over every image of ``samples``, and what it was measured on."""
    eq = fold.measure(model, samples.batch(list(range(len(samples)))))  # (N, C, H, W)
    return {
        "format": FORMAT,
        "weights_sha256": weights_digest(model),
        "test_set_sha256": test_set_digest(samples.images, samples.labels),
        **dataclasses.asdict(eq),
    }


def write(found: dict, path: Path) -> None:
    path.write_text(json.dumps(found, indent=1) + "\n")


def read(path: Path, weights: str, test_set: str) -> fold.Equivalence | None:
    """The check stored in ``path``; None when there is no file, or it was measured on other weights or
    another test set."""
    if not path.is_file():
        return None
    found = json.loads(path.read_text())
    if found.get("format") != FORMAT or (found.get("weights_sha256"), found.get("test_set_sha256")) != (
        weights,
        test_set,
    ):
        return None
    return fold.Equivalence(**{f.name: found[f.name] for f in dataclasses.fields(fold.Equivalence)})


def equivalence(model: Network, samples: SampleStore, path: Path | None) -> fold.Equivalence:
    """The check of ``model`` over ``samples``: from ``path`` when it is there and current, else measured
    now (once per process for the same weights and test set). ValueError for a network that cannot fold."""
    key = (weights_digest(model), test_set_digest(samples.images, samples.labels))
    with _lock:
        if key not in _measured:
            stored = read(path, *key) if path is not None else None
            _measured[key] = stored or fold.measure(model, samples.batch(list(range(len(samples)))))
        return _measured[key]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convlens fold``."""
    add_model_arguments(p, "every model with BatchNorm")


def run(args: argparse.Namespace) -> int:
    """Measure and write the file of every model asked for; 1 when a model asked for is missing or cannot
    be checked."""
    try:
        for name, network, card in asked_models(args):
            if not network.of_kind("batchnorm"):
                if args.model:
                    print(f"{name}: no BatchNorm layers, nothing to fold", file=sys.stderr)
                    return 1
                continue
            own = card.get("test_set")  # an imported model's own test set, beside it
            samples = folder.LabelledSet(args.model_dir / own) if own else _served_set(args.data_dir, card)
            if samples is None:
                print(f"{name}: its card names no test set here; skipped", file=sys.stderr)
                continue
            try:
                found = content(network, samples)
            except ValueError as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                return 1
            out = path_for(args.model_dir, name)
            write(found, out)
            images, diff = found["images"], found["max_abs_logit_diff"]
            print(f"{name}: {images} images, largest logit difference {diff:.2g} -> {out}")
    except MissingModel as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _served_set(data_dir: Path, card: dict) -> SampleStore | None:
    name = card.get("dataset")
    if not name or not (Path(data_dir) / name / mnist.FILES["test"][0]).is_file():
        return None
    return SampleStore(Path(data_dir) / name)
