"""A hand-made filter inside the network: conv1 with one output channel replaced, for one request."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from app.labs.kernels.geometry import same_padding
from app.labs.kernels.limits import MAX_VALUE, as_kernel

CONV1_OVERRIDE_KEYS = ("channel", "kernel", "bias")


def conv1_override(conv1: nn.Conv2d, spec: dict) -> nn.Conv2d:
    """A NEW Conv2d equal to ``conv1`` except that output channel ``spec["channel"]`` uses the k x k
    ``spec["kernel"]`` (and ``spec["bias"]`` if given); ``conv1`` itself is never touched.

    ``spec``: ``{"channel": c, "kernel": k x k, "bias": b (optional)}`` with 0 <= c < out_channels and
    k at most conv1's kernel size K (5), finite values. A smaller kernel is zero-padded to K x K so that
    the row/column "same" padding centres it on (the padding before it, see ``same_padding``) lands on
    conv1's centre K // 2: the layer then computes exactly what the k x k kernel alone computes with
    "same" padding in the kernel lab. The kernel is used for every input channel (conv1 has one).
    Raises ValueError naming the field at fault.
    """
    if not isinstance(spec, dict):
        raise ValueError(f'conv1_override: expected an object {{"channel": c, "kernel": k x k}}, not {spec!r:.60}')
    unknown = sorted(set(spec) - set(CONV1_OVERRIDE_KEYS))
    if unknown:
        raise ValueError(
            f"conv1_override: unknown field(s) {', '.join(map(repr, unknown))}; fields are channel, kernel, bias"
        )
    for key in ("channel", "kernel"):
        if key not in spec:
            raise ValueError(f"conv1_override.{key}: missing")
    channel = spec["channel"]
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < conv1.out_channels:
        raise ValueError(
            f"conv1_override.channel: must be a whole number from 0 to {conv1.out_channels - 1} (conv1 has"
            f" {conv1.out_channels} filters), not {channel!r}"
        )
    size = conv1.kernel_size[0]
    kernel = as_kernel(spec["kernel"], "conv1_override.kernel", max_size=size)  # (k, k)
    bias = spec.get("bias")
    if bias is not None and (
        isinstance(bias, bool) or not isinstance(bias, int | float) or not math.isfinite(bias) or abs(bias) > MAX_VALUE
    ):
        raise ValueError(f"conv1_override.bias: must be a finite number within +-{MAX_VALUE:g}, not {bias!r}")
    if bias is not None and conv1.bias is None:
        raise ValueError("conv1_override.bias: this conv1 has no bias")
    k = kernel.shape[0]
    anchor, _ = same_padding(k, k, 1)  # the kernel row (and column) "same" padding puts on each output pixel
    start = size // 2 - anchor  # ... goes on conv1's centre row (its padding is size // 2)
    full = torch.zeros(size, size, dtype=conv1.weight.dtype)  # (K, K)
    full[start : start + k, start : start + k] = torch.from_numpy(kernel)
    new = copy.deepcopy(conv1)
    with torch.no_grad():
        weight = conv1.weight.detach().clone()  # (out, in, K, K)
        weight[channel] = full  # broadcast over the input channels
        new.weight = nn.Parameter(weight, requires_grad=False)
        if bias is not None and conv1.bias is not None:  # (a bias for a conv1 without one was refused above)
            b = conv1.bias.detach().clone()  # (out,)
            b[channel] = float(bias)
            new.bias = nn.Parameter(b, requires_grad=False)
    return new
