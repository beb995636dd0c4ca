"""The committed test sets (MNIST's digits, Fashion-MNIST's clothes), served as sample images: one folder of
IDX files per dataset, named like the dataset (``data/mnist``, ``data/fashion-mnist``)."""

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
    """One test set (10,000 images); ``gallery`` picks a fixed set of them for the pages."""

    def __init__(self, data_dir: Path) -> None:
        split = mnist.load("test", data_dir)
        self.name = Path(data_dir).name
        self.images = split.images  # (10000, 28, 28) uint8
        self.labels = split.labels  # (10000,) uint8
        self.sha256 = split.sha256

    def __len__(self) -> int:
        return len(self.labels)

    def check(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise KeyError(f"no sample {index}; samples are test-set indices 0..{len(self) - 1}")
        return index

    def pixels(self, index: int) -> np.ndarray:
        """(28, 28) float32 in [0, 1]: already the network's format."""
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
        for label in np.unique(self.labels):
            picked += [int(i) for i in np.flatnonzero(self.labels == label)[:PER_CLASS]]
        picked += [int(i) for i in misclassified[:MISTAKES]]
        return sorted(set(picked))


class Datasets:
    """The test sets under one folder, each read once, the first time a model asks for it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._stores: dict[str, SampleStore] = {}

    def get(self, name: str | None) -> SampleStore | None:
        """The test set ``name`` (a folder under the root), or None when there is none."""
        if not name:
            return None
        if name not in self._stores:
            folder = self.root / name
            if not (folder / mnist.FILES["test"][0]).is_file():
                return None
            self._stores[name] = SampleStore(folder)
        return self._stores[name]
