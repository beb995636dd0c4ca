"""Folding BatchNorm into the layer before it, and proof that nothing changes.

In eval mode a BatchNorm layer is a fixed per-channel affine map, y = s * (x - mean) + beta with
s = gamma / sqrt(var + eps), so it merges into the conv or linear layer that feeds it:

    W' = s * W          (each output channel's weights scaled by its s)
    b' = s * (b - mean) + beta

Every conv or linear layer whose output feeds only a BatchNorm layer folds this way (in the LeNet conv1+bn1,
conv2+bn2 and fc1+bn3), and the folded network is the same network with those BatchNorm layers turned into
identities: one layer fewer to run per pair, the same logits up to float rounding. ``measure`` checks that
on the model's test images (the 10,000 committed ones) and times both networks in the same run; it takes
seconds, so it is stored beside the weights (app/nets/fold_file.py) and never run on a request.

``python -m bench.fold`` prints the measurement several times (the benchmark in docs/benchmarks.md).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch import nn

from app.nets.network import Network

CHUNK = 250  # images per forward pass in ``measure`` (the im2col buffer of conv2 at 14x14 grows with it)


def fold_pairs(network: Network) -> list[tuple[str, str]]:
    """``(layer, batchnorm)`` for every conv or linear layer whose output feeds only a BatchNorm layer."""
    pairs = []
    for layer in network.of_kind("conv", "linear"):
        users = network.users(layer.name)
        if len(users) == 1 and users[0].kind == "batchnorm" and users[0].inputs == (layer.name,):
            pairs.append((layer.name, users[0].name))
    return pairs


def running_stats(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """``(running_mean, running_var)``, each (C,); ValueError for a BatchNorm that keeps none
    (``track_running_stats=False`` normalises with every batch's own statistics, even in eval mode, so
    it is no fixed affine map and cannot be folded)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("this BatchNorm layer keeps no running statistics, so it cannot be folded")
    return bn.running_mean, bn.running_var


def scales(bn: nn.modules.batchnorm._BatchNorm) -> torch.Tensor:
    """s = gamma / sqrt(var + eps) per channel (C,)."""
    _, var = running_stats(bn)
    with torch.no_grad():
        return bn.weight / torch.sqrt(var + bn.eps)


def fold(layer: nn.Conv2d | nn.Linear, bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W', b')`` of ``layer`` followed by ``bn`` in eval mode: W' (C, ...) like W, b' (C,). A layer
    without a bias folds as if its bias were 0."""
    mean, _ = running_stats(bn)
    with torch.no_grad():
        scale = scales(bn)  # (C,)
        weight = layer.weight * scale.reshape(-1, *([1] * (layer.weight.dim() - 1)))  # (C, in, k, k) or (C, in)
        own = layer.bias if layer.bias is not None else torch.zeros_like(mean)  # (C,)
        bias = scale * (own - mean) + bn.bias  # (C,)
    return weight, bias


def folded_network(network: Network) -> Network:
    """A new network, the same but for the folded pairs: each conv/linear carries the folded weights and its
    BatchNorm becomes an identity (eval mode, no gradients). ``network`` is only read."""
    pairs = fold_pairs(network)
    if not network.of_kind("batchnorm"):
        raise ValueError("this network has no BatchNorm layers to fold")
    if not pairs:
        raise ValueError("this network has no conv or linear layer followed by a BatchNorm layer to fold")
    module = copy.deepcopy(network.module)
    for layer_name, bn_name in pairs:
        layer, bn = network.submodule(layer_name), network.submodule(bn_name)
        if not isinstance(layer, nn.Conv2d | nn.Linear) or not isinstance(bn, nn.modules.batchnorm._BatchNorm):
            raise ValueError(f"{layer_name} + {bn_name} are not a conv/linear layer and a BatchNorm")
        weight, bias = fold(layer, bn)
        target = module.get_submodule(network.layer(layer_name).module or layer_name)
        target.weight = nn.Parameter(weight, requires_grad=False)
        target.bias = nn.Parameter(bias, requires_grad=False)
        module.set_submodule(network.layer(bn_name).module or bn_name, nn.Identity())
    module.eval()
    module.requires_grad_(False)
    return Network(module, network.input, network.classes)


@dataclass(frozen=True)
class Equivalence:
    """Folded against unfolded network over one set of images, measured in one run."""

    images: int
    max_abs_logit_diff: float
    predictions_changed: int  # images whose predicted digit differs
    unfolded_ms: float  # summed forward time over all images, batches of ``chunk``
    folded_ms: float
    chunk: int
    threads: int

    @property
    def time_ratio(self) -> float:
        return self.folded_ms / self.unfolded_ms


def _timed(model: Network, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    logits = model(x)  # (n, classes)
    return logits, (time.perf_counter() - start) * 1000


def measure(model: Network, images: torch.Tensor, chunk: int = CHUNK) -> Equivalence:
    """Run ``images`` (N, C, H, W) in [0, 1] through the network and its folded twin, ``chunk`` at a time,
    alternating which goes first, after one untimed warm-up chunk each."""
    folded = folded_network(model)
    max_diff, changed, times = 0.0, 0, [0.0, 0.0]
    with torch.inference_mode():
        model(images[:chunk]), folded(images[:chunk])  # warm-up: allocator and kernel selection
        for k, start in enumerate(range(0, len(images), chunk)):
            x = images[start : start + chunk]  # (chunk, C, H, W)
            order = [(0, model), (1, folded)] if k % 2 == 0 else [(1, folded), (0, model)]
            out = {}
            for slot, net in order:
                out[slot], ms = _timed(net, x)
                times[slot] += ms
            max_diff = max(max_diff, float((out[0] - out[1]).abs().max()))
            changed += int((out[0].argmax(1) != out[1].argmax(1)).sum())
    return Equivalence(len(images), max_diff, changed, times[0], times[1], chunk, torch.get_num_threads())
