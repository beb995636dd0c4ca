"""``convlens import FILE --name NAME --input C,H,W ...``: a ``torch.export`` program (``.pt2``) or an ONNX
model (``.onnx``) -> a served model in ``--model-dir``: ``<name>.pt`` (the network described as data, with the
file's weights; architecture ``graph``), its card ``<name>.json``, and with ``--dataset`` its test set
``<name>.testset/`` and top-activating images ``<name>.top.json``.

Everything is checked before anything is written (``app.importing.checks``), and the files are written into
a temporary folder beside the destination and moved into place only when all of them are complete.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.config import Settings
from app.datasets import folder
from app.importing import checks, reference
from app.importing.emit import EXAMPLE_BATCH, ImportFailure
from app.labs import top
from app.nets import graphspec
from app.nets.network import InputSpec, Network

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
PREPROCESS = ("digit", "resize")


def add_arguments(p: argparse.ArgumentParser) -> None:
    settings = Settings.from_env()
    p.add_argument("file", type=Path, help="a torch.export program (.pt2) or an ONNX model (.onnx)")
    p.add_argument("--name", required=True, help="the model's name in the app (letters, digits, _ and -)")
    p.add_argument("--input", required=True, help="the input the network takes: C,H,W (1 or 3 channels)")
    classes = p.add_mutually_exclusive_group()
    classes.add_argument("--classes", help="the class names, comma-separated, in the order of the scores")
    classes.add_argument("--classes-file", type=Path, help="a text file with one class name per line")
    p.add_argument("--mean", help="per channel, comma-separated: the network takes (pixels - mean) / std (default 0)")
    p.add_argument("--std", help="per channel, comma-separated (default 1)")
    p.add_argument(
        "--preprocess", choices=PREPROCESS, help="what uploads go through (default: digit for 1x28x28, else resize)"
    )
    p.add_argument("--dataset", type=Path, help="a test set: IDX files like MNIST's, or one folder of images per class")
    p.add_argument("--model-dir", type=Path, default=settings.model_dir, help="where to write (default: models/)")
    p.add_argument("--max-activation-mb", type=float, default=checks.MAX_BYTES / 2**20, help="one image's activations")
    p.add_argument("--max-seconds", type=float, default=checks.MAX_SECONDS, help="one forward pass, on one thread")


def _floats(text: str | None, channels: int, default: float, flag: str) -> tuple[float, ...]:
    if text is None:
        return (default,) * channels
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ImportFailure(f"{flag} {text!r} is not a comma-separated list of numbers") from None
    if len(values) == 1:
        values *= channels
    if len(values) != channels:
        raise ImportFailure(f"{flag} gives {len(values)} values for {channels} input channels")
    return values


def input_spec(args: argparse.Namespace) -> InputSpec:
    try:
        c, h, w = (int(v) for v in args.input.split(","))
    except ValueError:
        raise ImportFailure(f"--input {args.input!r} is not C,H,W (three integers, like 1,28,28)") from None
    if c not in (1, 3) or not (1 <= h <= 1024 and 1 <= w <= 1024):
        raise ImportFailure(f"--input {args.input} must have 1 or 3 channels and sides of 1 to 1024 pixels")
    try:
        return InputSpec((c, h, w), _floats(args.mean, c, 0.0, "--mean"), _floats(args.std, c, 1.0, "--std"))
    except ValueError as exc:
        raise ImportFailure(f"--mean/--std: {exc}") from None


def class_names(args: argparse.Namespace, found: folder.TestSet | None) -> list[str] | None:
    if args.classes:
        names = [c.strip() for c in args.classes.split(",")]
    elif args.classes_file:
        try:
            names = [line.strip() for line in args.classes_file.read_text().splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFailure(f"--classes-file {args.classes_file} cannot be read ({exc})") from None
    else:
        return found.classes if found else None
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ImportFailure("the class names must be given, non-empty and different from each other")
    if found is not None and found.classes is not None and found.classes != names:
        raise ImportFailure(
            f"the class names ({', '.join(names)}) are not the test set's folders in order ({', '.join(found.classes)})"
        )
    return names


def file_format(path: Path) -> str:
    """``pt2`` or ``onnx``, from the suffix (a zip archive is taken for a ``.pt2`` whatever its name)."""
    if not path.is_file():
        raise ImportFailure(f"{path} is not a file")
    if path.suffix == ".pt2" or zipfile.is_zipfile(path):
        return "pt2"
    if path.suffix == ".onnx":
        return "onnx"
    with open(path, "rb") as f:
        head = f.read(2)
    if head[:1] == b"\x80":
        from app.importing.archive import PICKLE_REFUSED

        raise ImportFailure(PICKLE_REFUSED.format(file=path.name))
    raise ImportFailure(f"{path.name}: expected a torch.export program (.pt2) or an ONNX model (.onnx)")


def convert(path: Path, fmt: str, spec: InputSpec) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
    """The description and its state_dict."""
    example = torch.rand(EXAMPLE_BATCH, *spec.shape, generator=torch.Generator().manual_seed(0))
    if fmt == "pt2":
        from app.importing import pt2

        return pt2.convert(path, example, 0)
    from app.importing import onnx_graph

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        needs = "importing an ONNX model needs onnx and onnxruntime: pip install 'convlens[import]'"
        raise ImportFailure(needs) from None
    return onnx_graph.convert(path, example, 0)


def evaluate(network: Network, found: folder.TestSet) -> dict[str, Any]:
    """Test accuracy, per-class accuracy, the confusion matrix and the misclassified images."""
    n = len(network.classes)
    if int(found.labels.max()) >= n:
        raise ImportFailure(f"the test set has label {int(found.labels.max())}, but the network has {n} classes")
    preds = []
    with torch.inference_mode():
        for i in range(0, len(found.labels), 500):
            preds.append(network(folder.as_input(found.images[i : i + 500])).argmax(1).numpy())
    predicted, labels = np.concatenate(preds), found.labels.astype(np.int64)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return {
        "test_accuracy": float((predicted == labels).mean()),
        "test_images": len(labels),
        "per_class_accuracy": [float(matrix[c, c] / max(1, matrix[c].sum())) for c in range(n)],
        "confusion_matrix": matrix.tolist(),
        "misclassified": [
            {"index": int(i), "label": int(labels[i]), "predicted": int(predicted[i])}
            for i in np.flatnonzero(predicted != labels)
        ],
    }


def build(args: argparse.Namespace) -> tuple[dict[str, Any], Network, graphspec.GraphConfig, dict, Any]:
    """Everything to write, checked: (card, network, description, state_dict, test set or None)."""
    check_free(args)
    spec = input_spec(args)
    found = folder.read(args.dataset, spec.shape) if args.dataset else None
    classes = class_names(args, found)
    fmt = file_format(args.file)
    cfg, state = convert(args.file, fmt, spec)
    module = graphspec.build(cfg)
    module.load_state_dict(state)
    module.eval()  # before anything runs it: BatchNorm in training mode would learn from the input
    module.requires_grad_(False)
    out_shape = cfg_output_shape(module, spec)
    if len(out_shape) != 1 or out_shape[0] < 2:
        raise ImportFailure(
            f"the model's output for one image has shape {list(out_shape)}, not a vector of class scores (at least two)"
        )
    classes = classes or [str(i) for i in range(out_shape[0])]
    if len(classes) != out_shape[0]:
        raise ImportFailure(f"the model gives {out_shape[0]} class scores, but {len(classes)} class names are given")
    try:
        network = Network(module, spec, classes)
    except ValueError as exc:
        raise ImportFailure(str(exc)) from None
    cfg = dataclasses.replace(cfg, classes=len(classes))
    original = reference.original(args.file, fmt, reference.layer_origins(cfg))
    measured = checks.check(network, original, checks.Limits(int(args.max_activation_mb * 2**20), args.max_seconds))
    card: dict[str, Any] = {
        "name": args.name,
        "arch": "graph",
        "imported": {
            "file": args.file.name,
            "format": "torch.export" if fmt == "pt2" else "onnx",
            "sha256": hashlib.sha256(args.file.read_bytes()).hexdigest(),
            **{k: (float(f"{v:.3g}") if isinstance(v, float) else v) for k, v in measured.items()},
        },
        "classes": classes,
        "input": {"shape": list(spec.shape), "mean": list(spec.mean), "std": list(spec.std)},
        "preprocess": args.preprocess or ("digit" if spec.shape == (1, 28, 28) else "resize"),
        "batchnorm": bool(network.of_kind("batchnorm")),
        "dataset": None,
    }
    if found is not None:
        card |= {"dataset": args.dataset.name, "test_set": f"{args.name}.testset", **evaluate(network, found)}
    return card, network, cfg, state, found


def cfg_output_shape(module: torch.nn.Module, spec: InputSpec) -> tuple[int, ...]:
    with torch.inference_mode():
        return tuple(module(torch.zeros(1, *spec.shape)).shape[1:])


def file_names(name: str) -> list[str]:
    return [f"{name}.pt", f"{name}.json", f"{name}.testset", f"{name}{top.SUFFIX}"]


def check_free(args: argparse.Namespace) -> None:
    """ImportFailure when the name is taken, here or by a bundled model."""
    if not NAME.match(args.name):
        raise ImportFailure(f"--name {args.name!r} must be 1 to 64 letters, digits, _ or -, starting with one")
    taken = [n for n in file_names(args.name) if (args.model_dir / n).exists()]
    if taken:
        raise ImportFailure(f"{args.model_dir / taken[0]} already exists: choose another --name or remove it")
    if args.name in _bundled_names(args.model_dir):
        raise ImportFailure(f"--name {args.name} is a bundled model's name: choose another")


def write(
    args: argparse.Namespace, card: dict, network: Network, cfg: graphspec.GraphConfig, state: dict, found: Any
) -> list[Path]:
    """All files into a temporary folder in ``--model-dir``, then moved into place."""
    target = args.model_dir
    target.mkdir(parents=True, exist_ok=True)
    names = file_names(args.name)[: 4 if "test_set" in card else 2]
    staging = Path(tempfile.mkdtemp(prefix=f".import-{args.name}-", dir=target))
    try:
        torch.save({"arch": "graph", "config": cfg.to_dict(), "state_dict": state}, staging / f"{args.name}.pt")
        (staging / f"{args.name}.json").write_text(json.dumps(card, indent=1) + "\n")
        if "test_set" in card:
            testset = staging / f"{args.name}.testset"
            folder.write(found, testset)
            top.write(top.compute(network, folder.read_idx(testset)), staging / f"{args.name}{top.SUFFIX}")
        for name in names:
            (staging / name).rename(target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [target / n for n in names]


def run(args: argparse.Namespace) -> int:
    try:
        card, network, cfg, state, found = build(args)
        written = write(args, card, network, cfg, state, found)
    except (ImportFailure, ValueError, OSError) as exc:  # OSError: a file that cannot be read or written
        print(f"convlens import: {exc}", file=sys.stderr)
        return 1
    print(f"imported {args.file.name} as {args.name!r}:")
    for line in checks.summary(network):
        print(f"  {line}")
    if found is not None:
        print(f"  test accuracy: {card['test_accuracy']:.4f} on {card['test_images']} images")
    print("  wrote " + ", ".join(str(p) for p in written))
    return 0


def _bundled_names(model_dir: Path) -> set[str]:
    from app.nets.checkpoint import model_files

    bundled = Settings().bundled_dir
    if Path(model_dir).resolve() == bundled.resolve():
        return set()
    return {p.stem for p in model_files(bundled)}
