"""What ``convlens import`` checks before it writes anything, and the summary it prints.

A rebuilt network is accepted when, on one image of the stated input shape: it runs on a zero input; its
output is one score per class; all its per-request activations (every layer's output, as the API serves
them, float32) fit in ``max_bytes``; one forward pass takes under ``max_seconds`` (the best of three, on the
server's one thread); and its output equals the original's (the exported program, or ONNX Runtime) on a zero
and two random inputs within ``REL_TOLERANCE`` of the output's scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.importing.emit import ImportFailure
from app.nets.network import Network
from app.nets.receptive import Field

MAX_BYTES = 64 * 1024 * 1024
MAX_SECONDS = 2.0
REL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS


def activation_bytes(outputs: dict[str, torch.Tensor]) -> int:
    """One image's activations as the API serves them (float32)."""
    return sum(t[0].numel() * 4 for t in outputs.values())


def check(network: Network, original: Callable[[torch.Tensor], torch.Tensor], limits: Limits) -> dict[str, float]:
    """ImportFailure naming the first check that fails; else the measured numbers."""
    shape = network.input.shape
    zero = torch.zeros(1, *shape)
    with torch.inference_mode():
        outputs = network.intermediates(zero)
    scores = outputs[network.output]
    if tuple(scores.shape) != (1, len(network.classes)):
        raise ImportFailure(
            f"the output {network.output} has shape {list(scores.shape[1:])}, not one score for each of the"
            f" {len(network.classes)} classes"
        )
    size = activation_bytes(outputs)
    if size > limits.max_bytes:
        biggest = max(outputs, key=lambda k: outputs[k].numel())
        raise ImportFailure(
            f"one image's activations take {size / 2**20:.1f} MB, over the limit of {limits.max_bytes / 2**20:.0f} MB"
            f" (the largest layer is {biggest}, {'x'.join(map(str, outputs[biggest].shape[1:]))})"
        )
    seconds = forward_seconds(network, zero)
    if seconds > limits.max_seconds:
        raise ImportFailure(f"one forward pass takes {seconds:.2f} s, over the limit of {limits.max_seconds:g} s")
    error = fidelity(network, original)
    if error > REL_TOLERANCE:
        raise ImportFailure(
            f"the rebuilt network's class scores differ from the original's by {error:.1e} of their scale"
            f" (more than {REL_TOLERANCE:g}): ConvLens cannot reproduce this model"
        )
    return {"activation_bytes": size, "forward_seconds": seconds, "relative_error": error}


def forward_seconds(network: Network, x: torch.Tensor) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = float("inf")
        with torch.inference_mode():
            for _ in range(3):
                start = time.perf_counter()
                network.intermediates(x)
                best = min(best, time.perf_counter() - start)
        return best
    finally:
        torch.set_num_threads(threads)


def fidelity(network: Network, original: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """The largest difference of the class scores from the original's, relative to their largest magnitude,
    on a zero image and two random ones."""
    generator = torch.Generator().manual_seed(0)
    x = torch.cat([torch.zeros(1, *network.input.shape), torch.rand(2, *network.input.shape, generator=generator)])
    with torch.inference_mode():
        ours = network(x)
    theirs = original(network.normalize(x)).to(ours.dtype)
    scale = max(float(theirs.abs().max()), 1e-12)
    return float((ours - theirs).abs().max()) / scale


def macs(network: Network) -> int:
    """Multiply-adds of one forward pass: the convolutions and linear layers."""
    total = 0
    for layer in network.of_kind("conv", "linear"):
        if layer.module is None:
            continue
        module = network.submodule(layer.name)
        if layer.kind == "conv" and isinstance(module, torch.nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += per_output * int(torch.tensor(layer.shape).prod())
        elif isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features
    return total


def summary(network: Network) -> list[str]:
    """The lines ``convlens import`` prints: layers, parameters, multiply-adds, the last spatial layer's field."""
    params = sum(p.numel() for p in network.module.parameters())
    kinds: dict[str, int] = {}
    for layer in network.layers[1:]:
        kinds[layer.kind] = kinds.get(layer.kind, 0) + 1
    lines = [
        f"layers: {len(network.layers) - 1} ({', '.join(f'{n} {k}' for k, n in kinds.items())})",
        f"parameters: {params:,}",
        f"multiply-adds: {macs(network):,}",
    ]
    spatial = [layer for layer in network.spatial if layer.kind != "input"]
    if spatial:
        last = spatial[-1]
        field = network.fields.get(last.name)
        if isinstance(field, Field):
            rf = f"{field.rows.size}x{field.cols.size} pixels, every {field.rows.jump}"
        else:
            rf = f"n/a ({field.reason})" if field is not None else "n/a"
        lines.append(f"receptive field of {last.name} (the last layer with maps): {rf}")
    return lines
