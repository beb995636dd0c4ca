"""A batch's layers side by side (app.serving.layers.Table): each image's statistics and bytes are what the
layer alone gives."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.serving import encoding
from app.serving.layers import compiled_summary, encode_layers, summary, table_of, tabulate

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
            np.testing.assert_array_equal(row.values(name, half=True).view("<u2"), alone.astype("<f2").view("<u2"))
            assert table.mins[i, c] == alone.min() and table.maxs[i, c] == alone.max()
            assert table.means[i, c] == pytest.approx(alone.astype(np.float64).mean(), rel=1e-12, abs=1e-15)


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


def test_the_compiled_summary_is_the_python_one(acts) -> None:
    parts = [acts[name] for name in SHAPES]
    for got, want in zip(compiled_summary()(parts), summary(parts), strict=True):
        assert got.dtype == want.dtype and torch.equal(got, want)


def test_an_image_gets_the_same_summary_alone_and_in_a_batch(acts) -> None:
    batch = tabulate(acts, list(SHAPES))
    for i in range(5):
        alone = tabulate({name: t[i : i + 1] for name, t in acts.items()}, list(SHAPES))
        for field in ("flat", "half", "mins", "maxs", "means"):
            np.testing.assert_array_equal(getattr(alone, field)[0], getattr(batch, field)[i], err_msg=field)


@pytest.mark.parametrize("names", [list(SHAPES), ["pool", "probs"]])
def test_float16_answers_are_encoded_from_the_tables_float16_row(acts, names) -> None:
    """float16 answers come from the float16 row (nothing converted per answer), float32 ones from the
    float32 row; each with the bytes converting that layer alone gives."""
    table = table_of(list(SHAPES), [tuple(acts[n].shape[1:]) for n in SHAPES], *summary([acts[n] for n in SHAPES]))
    for i in (0, 3):
        for dtype in ("float16", "float32"):
            got = encode_layers(SERVED, table.row(i), names, dtype)  # type: ignore[arg-type]
            assert [g["data"] for g in got] == [encoding.encode(acts[n][i].numpy(), dtype) for n in names]
    full = encode_layers(SERVED, table.row(0), names, "float32")  # type: ignore[arg-type]
    table.half[...] = 0  # proof that float16 answers are read from the float16 row
    zeros = [encoding.encode(np.zeros(acts[n][0].numel(), np.float16), "float16") for n in names]
    assert [g["data"] for g in encode_layers(SERVED, table.row(0), names, "float16")] == zeros  # type: ignore[arg-type]
    assert encode_layers(SERVED, table.row(0), names, "float32") == full  # type: ignore[arg-type]
