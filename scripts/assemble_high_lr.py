"""Build models/high_lr.json (the BatchNorm page's high-learning-rate pair) from two training cards.

    nice -n 10 .venv/bin/convlens train --data-dir ../shared/data/mnist --out-dir /tmp/highlr --no-timeline \\
        --name lenet_bn_lr1 --lr 1 --epochs 3 --eval-every 50 --threads 1
    nice -n 10 .venv/bin/convlens train --no-bn --data-dir ../shared/data/mnist --out-dir /tmp/highlr --no-timeline \\
        --name lenet_lr1 --lr 1 --epochs 3 --eval-every 50 --threads 1
    .venv/bin/python scripts/assemble_high_lr.py --cards /tmp/highlr lenet_bn_lr1 lenet_lr1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KEYS = ("name", "batchnorm", "test_accuracy", "diverged_at_step", "wall_time_seconds", "curve", "history")


def assemble(cards: Path, names: list[str], lr: float, epochs: int, every: int) -> dict:
    runs = [{k: json.loads((cards / f"{n}.json").read_text()).get(k) for k in KEYS} for n in names]
    common = f"--data-dir ../shared/data/mnist --out-dir {cards}"
    flags = f"--lr {lr:g} --epochs {epochs} --eval-every {every} --threads 1 --no-timeline"
    return {
        "description": (
            "Both networks trained exactly like the served ones (same seed, augmentation, label smoothing, SGD"
            f" with Nesterov momentum, one-cycle schedule) but with a peak learning rate of {lr:g} instead of"
            f" 0.05, for {epochs} epochs, without a timeline; test accuracy every {every} steps."
        ),
        "max_lr": lr,
        "epochs": epochs,
        "eval_every": every,
        "commands": [
            f"nice -n 10 .venv/bin/convlens train {'--no-bn ' if not r['batchnorm'] else ''}{common}"
            f" --name {r['name']} {flags}"
            for r in runs
        ],
        "runs": runs,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs=2, help="the BatchNorm run's name, then the plain run's")
    p.add_argument("--cards", type=Path, default=Path("/tmp/highlr"), help="folder holding <name>.json")
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "models" / "high_lr.json")
    args = p.parse_args()
    experiment = assemble(args.cards, args.names, args.lr, args.epochs, args.eval_every)
    args.out.write_text(json.dumps(experiment, indent=1) + "\n")


if __name__ == "__main__":
    main()
