"""The committed MNIST test set, served as sample digits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from app.datasets import mnist

PER_CLASS = 3
MISTAKES = 8


class SampleStore:
    """The 10,000 test digits; ``gallery`` picks a fixed set of them for the pages."""

    def __init__(self, data_dir: Path) -> None:
        split = mnist.load("test", data_dir)
        self.images = split.images  # (10000, 28, 28) uint8
        self.labels = split.labels  # (10000,) uint8

    def __len__(self) -> int:
        return len(self.labels)

    def check(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise KeyError(f"no sample {index}; samples are test-set indices 0..{len(self) - 1}")
        return index

    def pixels(self, index: int) -> np.ndarray:
        """(28, 28) float32 in [0, 1], ink high: already MNIST's format."""
        return self.images[self.check(index)].astype(np.float32) / 255.0

    def batch(self, indices: list[int]) -> torch.Tensor:
        """(N, 1, 28, 28) float32 in [0, 1]."""
        for i in indices:
            self.check(i)
        return torch.from_numpy(self.images[indices].astype(np.float32) / 255.0).unsqueeze(1)

    def png(self, index: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(self.images[self.check(index)], mode="L").save(buf, format="PNG")
        return buf.getvalue()

    def gallery(self, misclassified: list[int]) -> list[int]:
        """The first ``PER_CLASS`` digits of each class plus the first ``MISTAKES`` the model gets
        wrong (from its model card), in test-set order."""
        picked: list[int] = []
        for digit in range(10):
            picked += [int(i) for i in np.flatnonzero(self.labels == digit)[:PER_CLASS]]
        picked += [int(i) for i in misclassified[:MISTAKES]]
        return sorted(set(picked))
