"""Feature maps to pool in the kernel lab: a kernel slid over the image first, or a map of the served
network. Both give (C, H, W) float32 and a sentence saying what they are."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from app.labs.kernels import convolution
from app.serving.inference import ServedModel


def kernel_map(
    image: torch.Tensor,
    kernel: Sequence[Sequence[float]],
    *,
    mode: str = "cross-correlation",
    padding: str | int = "same",
    padding_mode: str = "zeros",
    relu: bool = False,
) -> tuple[torch.Tensor, str]:
    """``image`` (C, H, W) -> (C, H', W'): ``kernel`` slid over every channel (stride 1), then max(0, v)
    when ``relu``."""
    result = convolution.convolve(image, [kernel], mode=mode, padding=padding, padding_mode=padding_mode)
    out = result.outputs[0]  # (C, H', W')
    if relu:
        out = out.clamp(min=0)
    k = len(kernel)
    text = f"the {k}x{k} kernel's output ({mode}, padding {padding!r})" + (", then ReLU" if relu else "")
    return out, text


def layer_map(served: ServedModel, pixels: np.ndarray, layer: str, channel: int) -> tuple[torch.Tensor, str]:
    """Channel ``channel`` of the served network's ``layer`` for the input ``pixels`` -> (1, H, W)."""
    kind = served.model.layer(layer).kind  # KeyError naming the layers for an unknown one
    shape = served.shapes[layer]
    if len(shape) != 3:
        spatial = ", ".join(n for n in served.layer_names if len(served.shapes[n]) == 3 and n != "input")
        raise ValueError(f"layer: {layer!r} ({kind}) has no maps to pool; spatial layers are {spatial}")
    if not 0 <= channel < shape[0]:
        raise ValueError(f"channel: {layer} has {shape[0]} channels (0..{shape[0] - 1}), not {channel}")
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).reshape(1, *served.shapes["input"])
    maps = served.forward(x)[layer]  # (1, C, H, W)
    out = maps[0, channel : channel + 1].clone()  # (1, H, W)
    text = f"channel {channel} of {layer} ({kind}, {'x'.join(map(str, shape))}) of {served.name} for this image"
    return out, text
