"""A batch's layers side by side (app.serving.layers.Table): each image's statistics and bytes are what the
layer alone gives."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.serving import encoding
from app.serving.layers import encode_layers, tabulate

SHAPES = {"input": (1, 6, 6), "conv": (4, 6, 6), "pool": (4, 3, 3), "fc": (7,), "probs": (3,)}


@pytest.fixture(scope="module")
def acts() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return {name: torch.randn(5, *shape, generator=gen) * 10 for name, shape in SHAPES.items()}  # (5, ...)


def test_a_tables_rows_hold_each_images_layers(acts) -> None:
    table = tabulate(acts, list(SHAPES))
    for i in range(5):
        row = table.row(i)
        for c, name in enumerate(SHAPES):
            alone = acts[name][i].numpy().reshape(-1)
            np.testing.assert_array_equal(row.values(name), alone)
            assert table.mins[i, c] == alone.min() and table.maxs[i, c] == alone.max()
            # the mean as one image's layer gives it: float64, summed in order
            assert table.means[i, c] == np.add.reduceat(alone, [0], dtype=np.float64)[0] / alone.size


# what encode_layers reads of a served model: each layer's kind
SERVED = SimpleNamespace(model=SimpleNamespace(layer=lambda name: SimpleNamespace(kind=f"kind of {name}")))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("names", [list(SHAPES), ["conv", "fc"], ["probs"]])
def test_encoded_layers_are_each_layers_own_bytes(acts, names, dtype) -> None:
    table = tabulate(acts, list(SHAPES))
    for i in (0, 4):
        got = encode_layers(SERVED, table.row(i), names, dtype)  # type: ignore[arg-type]
        assert [g["name"] for g in got] == names
        for entry in got:
            alone = acts[entry["name"]][i].numpy()
            assert entry["kind"] == f"kind of {entry['name']}"
            assert entry["shape"] == list(alone.shape) and entry["dtype"] == dtype
            assert entry["data"] == encoding.encode(alone, dtype)
            assert (entry["min"], entry["max"]) == (float(alone.min()), float(alone.max()))
