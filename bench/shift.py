"""How much small shifts change each layer of the served network, over many test digits: the numbers behind
the model page's shift panel (``python -m bench.shift``; results in docs/benchmarks.md).

For every digit and every shift of 1 and 2 pixels (up, down, left, right; zeros come in) it measures each
layer's relative change ||a(x') - a(x)|| / ||a(x)|| with the same code as POST /api/perturb, and how often
the prediction changes. A measurement, not a timing: it runs in a few seconds.
"""

from __future__ import annotations

import argparse

import torch

from app.config import Settings
from app.datasets.samples import Datasets
from app.labs.perturb import shifted
from app.serving.inference import Registry

SHIFTS = {1: [(-1, 0), (1, 0), (0, -1), (0, 1)], 2: [(-2, 0), (2, 0), (0, -2), (0, 2)]}


def relative(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image: ||b - a|| / ||a|| over everything but the batch axis."""
    a, b = a.double().flatten(1), b.double().flatten(1)
    return (b - a).norm(dim=1) / a.norm(dim=1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.shift", description="Layer changes under small shifts.")
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--model", default=None, help="a served model's name (default: the default model)")
    args = p.parse_args(argv)
    settings = Settings.from_env()
    served = Registry(settings.model_dirs, settings.default_model, Datasets(settings.data_dir)).get(args.model)
    store = served.dataset()
    x = store.batch(list(range(min(args.images, len(store)))))  # (N, 1, 28, 28)
    before = served.forward(x)
    last = served.layer_names[-1]
    print(f"{served.name}, {len(x)} test digits; mean relative change per layer (median in brackets)")
    for pixels, moves in SHIFTS.items():
        changes = {name: [] for name in served.layer_names}
        flipped = 0
        for dy, dx in moves:
            after = served.forward(shifted(x, dy, dx))
            for name in served.layer_names:
                changes[name].append(relative(before[name], after[name]))
            flipped += int((after[last].argmax(1) != before[last].argmax(1)).sum())
        print(f"shift of {pixels} pixel(s), 4 directions:")
        for name, parts in changes.items():
            v = torch.cat(parts)
            print(f"  {name:6s} {float(v.mean()):.3f} ({float(v.median()):.3f})")
        print(
            f"  predictions changed: {flipped} of {len(x) * len(moves)} ({100 * flipped / (len(x) * len(moves)):.2f}%)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
