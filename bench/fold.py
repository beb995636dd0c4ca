"""The BatchNorm folding benchmark: the folded against the unfolded network on the committed weights and the
model's test set, measured several times (``python -m bench.fold``; results in docs/benchmarks.md)."""

from __future__ import annotations

import argparse

import torch

from app.config import Settings
from app.datasets.samples import SampleStore
from app.nets.checkpoint import load_network
from app.nets.fold import CHUNK, measure


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fold", description="Time a network folded against unfolded.")
    p.add_argument("--model", help="model name (default: the server's default model)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the server uses 1 per worker)")
    p.add_argument("--chunk", type=int, default=CHUNK, help="images per forward pass (1: one image at a time)")
    p.add_argument("--images", type=int, default=10_000)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = Settings.from_env()
    model, card = load_network(settings.model_dir / f"{args.model or settings.default_model}.pt")
    if not card.get("dataset"):
        p.error("the model's card names no test set")
    store = SampleStore(settings.data_dir / card["dataset"])
    images = store.batch(list(range(min(args.images, len(store)))))  # (N, C, H, W)
    ratios = []
    for r in range(args.repeats):
        eq = measure(model, images, args.chunk)
        ratios.append(eq.time_ratio)
        print(
            f"run {r + 1}: {eq.images} images, batches of {eq.chunk}, {eq.threads} thread(s): unfolded"
            f" {eq.unfolded_ms:.0f} ms, folded {eq.folded_ms:.0f} ms, ratio {eq.time_ratio:.3f};"
            f" max |logit diff| {eq.max_abs_logit_diff:.2e}, predictions changed {eq.predictions_changed}"
        )
    ratios.sort()
    print(f"median ratio folded/unfolded {ratios[len(ratios) // 2]:.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
