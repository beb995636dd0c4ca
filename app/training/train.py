"""Train a network (the lecture's LeNet on MNIST, or fashion_vgg on Fashion-MNIST) and write its checkpoint,
its model card and its training timeline (``convlens train``)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from app.config import PROJECT_ROOT
from app.datasets import mnist
from app.nets import architectures
from app.nets.checkpoint import save_checkpoint
from app.nets.lenet import ModelConfig
from app.nets.network import InputSpec, Network
from app.training import timeline
from app.training.strokes import random_stroke_width

DATA_ROOT = PROJECT_ROOT / "data"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float32 in [0, 1]."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def augment(
    x: torch.Tensor, gen: torch.Generator, degrees: float, scale: float, shift: float, flip: bool = False
) -> torch.Tensor:
    """Random rotation, scaling and shift (and, with ``flip``, mirroring of half the images) of a batch ``x``
    (N, 1, H, W), one affine map per image."""
    if flip:
        mirrored = torch.rand(len(x), generator=gen) < 0.5  # (N,)
        x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
    n, _, h, _ = x.shape
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(degrees)  # (N,)
    zoom = 1 + (torch.rand(n, generator=gen) * 2 - 1) * scale  # (N,)
    offset = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * shift / h)  # (N, 2) in grid units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.inference_mode()
def evaluate(model: Network, x: torch.Tensor, y: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Predicted labels (N,) for ``x`` (N, 1, 28, 28), in eval mode."""
    was_training = model.training
    model.eval()
    preds = torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])
    model.train(was_training)
    return preds


def confusion(preds: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> list[list[int]]:
    """Rows: true label; columns: predicted label."""
    counts = torch.bincount(labels.long() * classes + preds.long(), minlength=classes * classes)
    return counts.view(classes, classes).tolist()


class Progress:
    """A one-line progress bar per epoch on stderr, with running loss and accuracy."""

    def __init__(self, epoch: int, epochs: int, total: int, enabled: bool) -> None:
        self.epoch, self.epochs, self.total, self.enabled = epoch, epochs, total, enabled
        self.start = time.perf_counter()

    def update(self, done: int, loss: float, acc: float) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(
            f"\repoch {self.epoch}/{self.epochs} [{bar}] {done}/{self.total}"
            f" loss {loss:.4f} acc {acc:.4f} {elapsed:5.1f}s"
        )
        sys.stderr.flush()

    def close(self, message: str) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
        print(message, flush=True)


def _at_least_zero(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convlens train", description=__doc__)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convlens train``."""
    p.add_argument("--arch", choices=sorted(architectures.BUILDERS), default="lenet", help="the network to train")
    p.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default=None,
        help="what to train on (default: mnist for lenet, fashion-mnist for fashion_vgg)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with the dataset's IDX .gz files, train and test (default: $MNIST_DIR, else data/<dataset>)",
    )
    p.add_argument("--download", action="store_true", help="fetch missing files from a public mirror")
    p.add_argument("--out-dir", type=Path, default=PROJECT_ROOT / "models")
    p.add_argument(
        "--name", default=None, help="model name (default lenet_bn; lenet with --no-bn; +_norelu with --no-conv-relu)"
    )
    p.add_argument("--no-bn", action="store_true", help="the same network without BatchNorm layers")
    p.add_argument(
        "--no-conv-relu",
        dest="conv_relu",
        action="store_false",
        help="drop relu1 and relu2: max pooling is the conv part's only non-linearity",
    )
    p.add_argument("--no-timeline", dest="timeline", action="store_false", help="do not record checkpoints")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05, help="peak learning rate (one-cycle SGD)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--eval-every", type=int, default=0, help="test accuracy also every N steps (besides every checkpoint)"
    )
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--rotation", type=float, default=10.0, help="augmentation: max rotation, degrees")
    p.add_argument("--scale", type=float, default=0.1, help="augmentation: max relative zoom")
    p.add_argument("--shift", type=float, default=2.0, help="augmentation: max shift, pixels")
    p.add_argument("--flip", action="store_true", help="augmentation: mirror half the images left to right")
    p.add_argument(
        "--strokes",
        action="store_true",
        help="stroke-width augmentation: thicken or thin each digit's strokes by a random amount (3x3 steps)",
    )
    p.add_argument("--strokes-thicker", type=_at_least_zero, default=1.0, help="with --strokes: most 3x3 dilations")
    p.add_argument("--strokes-thinner", type=_at_least_zero, default=0.5, help="with --strokes: most 3x3 erosions")
    p.add_argument("--strokes-p", type=_share, default=0.5, help="with --strokes: share of the digits changed")
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--limit", type=int, default=None, help="train on the first N images (for tests)")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images (for tests)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {"classes": [str(d) for d in range(10)], "preprocess": "digit", "invert": None},
    "fashion-mnist": {
        "classes": [
            *("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"),
            *("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        ],
        # the pages' other languages (GET /api/model's class_names); MNIST's digits are the same in all
        "class_names": {
            "zh-CN": ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"]
        },
        "preprocess": "resize",
        "invert": "auto",  # the items are light on black: a photo on light paper is inverted first
    },
}


def default_name(args: argparse.Namespace) -> str:
    if args.name:
        return args.name
    if args.arch != "lenet":
        return args.arch
    base = "lenet" if args.no_bn else "lenet_bn"
    return base if args.conv_relu else f"{base}_norelu"


def dataset_of(args: argparse.Namespace) -> str:
    return args.dataset or ("fashion-mnist" if args.arch == "fashion_vgg" else "mnist")


def network_config(args: argparse.Namespace, mean: float, std: float) -> Any:
    """The architecture's config for this run (the LeNet's records the pixel statistics as well)."""
    if args.arch == "lenet":
        return ModelConfig(batchnorm=not args.no_bn, conv_relu=args.conv_relu, mean=round(mean, 6), std=round(std, 6))
    return architectures.config(args.arch, {})


@dataclass
class Data:
    x_train: torch.Tensor  # (N, 1, 28, 28) in [0, 1]
    y_train: torch.Tensor  # (N,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    sha256: dict[str, str]


def load_data(args: argparse.Namespace) -> Data:
    data_dir = args.data_dir or (mnist.default_dir() if dataset_of(args) == "mnist" else DATA_ROOT / dataset_of(args))
    train_split = mnist.load("train", data_dir, args.download)
    test_split = mnist.load("test", data_dir, args.download)
    x_train, y_train = to_tensor(train_split.images), torch.from_numpy(train_split.labels.astype(np.int64))
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    x_test, y_test = to_tensor(test_split.images), torch.from_numpy(test_split.labels.astype(np.int64))
    if args.test_limit:
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]
    return Data(x_train, y_train, x_test, y_test, {**train_split.sha256, **test_split.sha256})


def accuracy(model: Network, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((evaluate(model, x, y) == y).float().mean())


def train(args: argparse.Namespace) -> dict:
    """Train, evaluate and write ``<name>.pt``, ``<name>.json`` and (unless ``--no-timeline``) the
    training timeline ``<name>.timeline.pt``; returns the model card."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    data = load_data(args)
    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    mean, std = float(x_train.mean()), float(x_train.std())
    cfg = network_config(args, mean, std)
    name = default_name(args)
    height, width = x_train.shape[-2:]
    spec = InputSpec((1, height, width), (round(mean, 6),), (round(std, 6),))
    model = Network(architectures.build(args.arch, cfg), spec, list(DATASETS[dataset_of(args)]["classes"]))
    model.train()

    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    opt = torch.optim.SGD(
        model.module.parameters(), lr=args.lr, momentum=args.momentum, nesterov=True, weight_decay=args.weight_decay
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    recorder = timeline.Recorder(timeline.schedule(steps_per_epoch, args.epochs), x_test[: timeline.DRIFT_IMAGES])

    history, curve = [], []
    step, images_seen, started, cpu_started = 0, 0, time.perf_counter(), time.process_time()
    since = [0.0, 0]  # training loss summed over the images seen since the last checkpoint, and their count
    diverged_at: int | None = None  # the step whose loss was NaN or infinite; training stops there

    def checkpoint() -> float:
        """Evaluate, and record a checkpoint when one is due; returns the test accuracy."""
        acc = accuracy(model, x_test, y_test)
        curve.append({"step": step, "epoch": round(step / steps_per_epoch, 4), "test_accuracy": acc})
        if args.timeline and recorder.due(step):
            loss = since[0] / since[1] if since[1] else None
            recorder.record(model, step, step / steps_per_epoch, images_seen, loss, acc)
            since[:] = [0.0, 0]
        return acc

    checkpoint()  # step 0: the initialisation
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train), generator=gen)
        progress = Progress(epoch, args.epochs, steps_per_epoch, enabled=not args.quiet and sys.stderr.isatty())
        loss_sum, correct, seen = 0.0, 0, 0
        acc = None
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            xb, yb = x_train[idx], y_train[idx]  # (B, 1, 28, 28), (B,)
            if args.strokes:
                xb = random_stroke_width(xb, gen, args.strokes_thicker, args.strokes_thinner, args.strokes_p)
            if not args.no_augment:
                xb = augment(xb, gen, degrees=args.rotation, scale=args.scale, shift=args.shift, flip=args.flip)
            logits = model(xb)  # (B, 10)
            loss = F.cross_entropy(logits, yb, label_smoothing=args.label_smoothing)
            if not math.isfinite(loss.item()):
                diverged_at = step + 1  # recorded, not raised: the high-learning-rate experiment needs it
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            images_seen += len(yb)
            loss_sum += loss.item() * len(yb)
            since[0] += loss.item() * len(yb)
            since[1] += len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(yb)
            progress.update(i + 1, loss_sum / seen, correct / seen)
            if recorder.due(step) or (args.eval_every and step % args.eval_every == 0):
                acc = checkpoint()
        if acc is None or diverged_at is not None:
            acc = accuracy(model, x_test, y_test)
        train_loss = loss_sum / seen if seen else None
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": correct / seen if seen else None,
                "test_accuracy": acc,
            }
        )
        if diverged_at is not None:
            progress.close(f"epoch {epoch}/{args.epochs}: the loss diverged at step {diverged_at}; training stopped")
            break
        progress.close(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, test accuracy {acc:.4f}")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    model.eval()
    preds = evaluate(model, x_test, y_test)
    card = model_card(args, name, model, cfg, preds, y_test, len(y_train), data.sha256)
    card.update(
        history=history,
        curve=curve,
        steps=step,
        diverged_at_step=diverged_at,
        wall_time_seconds=round(wall, 1),
        cpu_time_seconds=round(cpu, 1),
        timeline=recorder.summary() if args.timeline and diverged_at is None else None,
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model.module, args.arch, cfg, args.out_dir / f"{name}.pt")
    if card["timeline"] is not None:
        recorder.save(args.out_dir / f"{name}{timeline.SUFFIX}", name)
    (args.out_dir / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"{name}: test accuracy {card['test_accuracy']:.4f} in {wall:.0f}s -> {args.out_dir / name}.pt")
    return card


def model_card(
    args: argparse.Namespace,
    name: str,
    model: Network,
    cfg: Any,
    preds: torch.Tensor,
    labels: torch.Tensor,
    training_images: int,
    sha256: dict[str, str],
) -> dict[str, Any]:
    """The card's evaluation and recipe; ``train`` adds the curves and times."""
    matrix = confusion(preds, labels)
    dataset = dataset_of(args)
    return {
        "name": name,
        "arch": args.arch,
        "dataset": dataset,
        "classes": model.classes,
        **({"class_names": DATASETS[dataset]["class_names"]} if "class_names" in DATASETS[dataset] else {}),
        "input": {"shape": list(model.input.shape), "mean": list(model.input.mean), "std": list(model.input.std)},
        "preprocess": DATASETS[dataset]["preprocess"],
        "invert": DATASETS[dataset]["invert"],
        "batchnorm": bool(model.of_kind("batchnorm")),
        "conv_relu": getattr(cfg, "conv_relu", True),
        "test_accuracy": float((preds == labels).float().mean()),
        "test_images": len(labels),
        "per_class_accuracy": [row[c] / sum(row) for c, row in enumerate(matrix)],
        "confusion_matrix": matrix,
        "misclassified": [
            {"index": int(i), "label": int(labels[i]), "predicted": int(preds[i])}
            for i in torch.nonzero(preds != labels).flatten().tolist()
        ],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": {
            "name": "sgd",
            "nesterov": True,
            "momentum": args.momentum,
            "weight_decay": args.weight_decay,
            "schedule": "one-cycle",
            "max_lr": args.lr,
        },
        "augmentation": None
        if args.no_augment
        else {"rotation_degrees": args.rotation, "scale": args.scale, "shift_pixels": args.shift, "flip": args.flip},
        "stroke_width": {"thicker": args.strokes_thicker, "thinner": args.strokes_thinner, "p": args.strokes_p}
        if args.strokes
        else None,
        "label_smoothing": args.label_smoothing,
        "seed": args.seed,
        "threads": args.threads,
        "torch_version": torch.__version__,
        "training_images": training_images,
        "data_sha256": sha256,
        "config": cfg.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Train; 2 (with the reason on stderr) when the data is missing or broken."""
    try:
        train(args)
    except (FileNotFoundError, mnist.MnistError) as exc:
        print(f"convlens train: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
