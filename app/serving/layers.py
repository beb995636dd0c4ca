"""Which layers a request asks for, and their activations as the API returns them."""

from __future__ import annotations

import numpy as np
import torch

from app.serving import encoding
from app.serving.inference import ServedModel


def encode_layers(
    served: ServedModel, acts: dict[str, torch.Tensor], names: list[str], dtype: str, index: int = 0
) -> list[dict]:
    """The activations JSON of image ``index`` for the named layers.

    All layers are flattened into one buffer so the statistics and the encoding are a few vectorised
    calls rather than a few per layer.
    """
    parts = [acts[name][index] for name in names]
    flat = torch.cat([p.reshape(-1) for p in parts]).numpy()  # (sum of sizes,)
    sizes = [p.numel() for p in parts]
    offsets = np.cumsum([0, *sizes[:-1]])
    mins, maxs = np.minimum.reduceat(flat, offsets), np.maximum.reduceat(flat, offsets)
    means = np.add.reduceat(flat, offsets, dtype=np.float64) / np.asarray(sizes)
    datas = encoding.encode_segments(flat, sizes, dtype)
    return [
        {
            "name": name,
            "kind": served.model.layer(name).kind,
            "shape": list(part.shape),
            "dtype": dtype,
            "min": float(lo),
            "max": float(hi),
            "mean": float(mean),
            "data": data,
        }
        for name, part, lo, hi, mean, data in zip(names, parts, mins, maxs, means, datas, strict=True)
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
