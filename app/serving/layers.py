"""Which layers a request asks for, and their activations as the API returns them."""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from app.serving import encoding

if TYPE_CHECKING:  # inference.py makes tables in its batch thread
    from app.serving.inference import ServedModel


@dataclass(frozen=True)
class Table:
    """Layers of a batch side by side: each image's values of every layer in one float32 row and in one
    float16 row (what float16 answers are encoded from), and each layer's statistics per image. Made with a
    few vectorised calls for the whole batch (in the model's batch thread, see ``ServedModel.infer_row``), not
    a few per layer and image."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]  # one image's
    sizes: tuple[int, ...]  # one image's values per layer
    offsets: tuple[int, ...]  # where each layer starts in a row
    flat: np.ndarray  # (N, sum of sizes) float32
    half: np.ndarray  # (N, sum of sizes) float16: ``flat`` converted
    mins: np.ndarray  # (N, L)
    maxs: np.ndarray  # (N, L)
    means: np.ndarray  # (N, L) float64

    def row(self, index: int) -> Row:
        return Row(self, index)


@dataclass(frozen=True)
class Row:
    """One image of a ``Table``."""

    table: Table
    index: int

    def values(self, name: str, half: bool = False) -> np.ndarray:
        """The layer's values for this image, flat: a view of the table (of its float16 row with ``half``)."""
        t = self.table
        i = t.names.index(name)
        return (t.half if half else t.flat)[self.index, t.offsets[i] : t.offsets[i] + t.sizes[i]]


def summary(
    parts: list[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Layers (each (N, ...)) -> their values side by side (N, sum of sizes), as float32 and as float16 (one
    conversion for every answer that asks for float16: numpy's bits, encoding.wire_bytes), and each one's
    minimum, maximum and mean per image (N, L); the means summed in float64."""
    n = parts[0].shape[0]
    flat = torch.cat([p.reshape(n, -1) for p in parts], 1)
    mins = torch.stack([p.reshape(n, -1).amin(1) for p in parts], 1)
    maxs = torch.stack([p.reshape(n, -1).amax(1) for p in parts], 1)
    means = torch.stack([p.reshape(n, -1).sum(1, dtype=torch.float64) / p[0].numel() for p in parts], 1)
    return flat, flat.to(torch.float16), mins, maxs, means


@functools.cache
def compiled_summary() -> Callable[[list[torch.Tensor]], tuple[torch.Tensor, ...]]:
    """``summary`` compiled by TorchScript: one call that holds the GIL only to start and to end, where the
    Python one takes it back after each of its few dozen operators (the batch thread would wait for the
    event loop each time); ``summary`` itself if TorchScript is gone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation warning
        try:
            return torch.jit.script(summary)
        except Exception:  # TorchScript removed or changed: the same operators from Python
            return summary


def tabulate(acts: dict[str, torch.Tensor], names: list[str]) -> Table:
    """The named layers of ``acts`` (name -> (N, ...)) as a ``Table``."""
    parts = [acts[name] for name in names]  # each (N, ...)
    return table_of(names, [tuple(p.shape[1:]) for p in parts], *compiled_summary()(parts))


def table_of(
    names: list[str],
    shapes: Sequence[tuple[int, ...]],
    flat: torch.Tensor,
    half: torch.Tensor,
    mins: torch.Tensor,
    maxs: torch.Tensor,
    means: torch.Tensor,
) -> Table:
    """A ``Table`` of ``summary``'s results for layers ``names`` of one image's ``shapes``."""
    sizes = tuple(math.prod(shape) for shape in shapes)
    return Table(
        tuple(names),
        tuple(tuple(shape) for shape in shapes),
        sizes,
        tuple(itertools.accumulate(sizes[:-1], initial=0)),
        flat.numpy(),
        half.numpy(),
        mins.numpy(),
        maxs.numpy(),
        means.numpy(),
    )


def encode_layers(served: ServedModel, row: Row, names: list[str], dtype: str) -> list[dict]:
    """The activations JSON of one image (a table's ``row``) for the named layers; float16 from the table's
    float16 row (nothing left to convert)."""
    t, i = row.table, row.index
    columns = [t.names.index(name) for name in names]
    datas = [encoding.encode(row.values(name, half=dtype == "float16"), dtype) for name in names]
    return [
        {
            "name": name,
            "kind": served.model.layer(name).kind,
            "shape": list(t.shapes[c]),
            "dtype": dtype,
            "min": float(t.mins[i, c]),
            "max": float(t.maxs[i, c]),
            "mean": float(t.means[i, c]),
            "data": data,
        }
        for name, c, data in zip(names, columns, datas, strict=True)
    ]


def select_layers(served: ServedModel, layers: str | None) -> list[str]:
    """``"conv1,pool2"`` -> the names, in forward order; ValueError naming unknown ones."""
    if layers is None or layers.strip() == "":
        return served.layer_names
    wanted = [name.strip() for name in layers.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in served.layer_names]
    if unknown:
        raise ValueError(
            f"layers: unknown layer(s) {', '.join(map(repr, unknown))}; layers are {', '.join(served.layer_names)}"
        )
    return [name for name in served.layer_names if name in wanted]
