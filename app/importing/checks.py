"""What ``convlens import`` checks before it writes anything, and the summary it prints.

A rebuilt network is accepted when, on one image of the stated input shape: it runs on a zero input; its
output is one score per class; all its per-request activations (every layer's output, as the API serves
them, float32) fit in ``max_bytes``; one forward pass takes under ``max_seconds`` (the best of three, on the
server's one thread); and every layer's output, the class scores and the probabilities equal the original's
(the exported program in PyTorch eager, or ONNX Runtime; ``app.importing.reference``) on a zero and two random
inputs within ``REL_TOLERANCE`` of each one's largest magnitude.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from app.importing.emit import ImportFailure
from app.importing.reference import Original, relative_error
from app.nets.network import PROBS, Network
from app.nets.receptive import Field

MAX_BYTES = 64 * 1024 * 1024
MAX_SECONDS = 2.0
REL_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS


def activation_bytes(outputs: dict[str, torch.Tensor]) -> int:
    """One image's activations as the API serves them (float32)."""
    return sum(t[0].numel() * 4 for t in outputs.values())


def check(network: Network, original: Original, limits: Limits) -> dict[str, Any]:
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
            f"one image's activations take {size / 2**20:.1f} MB, over the limit of {limits.max_bytes / 2**20:g} MB"
            f" (the largest layer is {biggest}, {'x'.join(map(str, outputs[biggest].shape[1:]))})"
        )
    seconds = forward_seconds(network, zero)
    if seconds > limits.max_seconds:
        raise ImportFailure(f"one forward pass takes {seconds:.2f} s, over the limit of {limits.max_seconds:g} s")
    errors = fidelity(network, original)
    worst = max(errors, key=lambda k: errors[k])
    if errors[worst] > REL_TOLERANCE:
        raise ImportFailure(
            f"the rebuilt layer {worst} differs from the original by {errors[worst]:.1e} of its largest value"
            f" (more than {REL_TOLERANCE:g}): ConvLens cannot reproduce this model"
        )
    return {
        "activation_bytes": size,
        "forward_seconds": seconds,
        "relative_error": errors[worst],
        "layers_checked": len(errors),
    }


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


def fidelity(network: Network, original: Original) -> dict[str, float]:
    """{layer: its largest difference from the original relative to the original's largest magnitude}, on a
    zero image and two random ones, for every layer reproducing a value of the file, the class scores and the
    probabilities."""
    generator = torch.Generator().manual_seed(0)
    x = torch.cat([torch.zeros(1, *network.input.shape), torch.rand(2, *network.input.shape, generator=generator)])
    with torch.inference_mode():
        ours = network.intermediates(x)
    theirs = original(network.normalize(x))
    errors = {name: relative_error(ours[name], value) for name, value in theirs.items() if name in ours}
    errors[network.output] = relative_error(ours[network.output], theirs[""])
    errors[PROBS] = relative_error(ours[PROBS], torch.softmax(theirs[""].double(), dim=1).float())
    return errors


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
