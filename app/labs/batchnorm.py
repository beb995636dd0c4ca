"""The BatchNorm lab: a batch's statistics against the running ones, and one image classified both ways.

In eval mode (how the server always runs) every BatchNorm layer normalises with its *running* mean and
variance, estimated during training. In train mode it normalises with the statistics of the batch it is
given, so an image's answer depends on the other images in its batch. ``run_lab`` shows both:

- the batch runs through a **deep copy** of the network switched to train mode (PyTorch's own BatchNorm
  code); the copy updates its own running statistics as training would, and is then thrown away. The
  served network is never touched: no mode switch, no buffer update.
- each BatchNorm layer's batch statistics are read from its input in that pass: per channel, the mean and
  the **biased** variance (divided by n, the number of values per channel: N images x H x W). That is
  the variance train mode normalises with; PyTorch folds the *unbiased* one (divided by n - 1) into the
  running variance, which is why the two differ slightly even for a batch drawn from the training data.
- the inspected image is classified in eval mode (the served network, running statistics) and in train
  mode (its row of the batch's train-mode pass: normalised with the batch's statistics).

A batch of one is a real case, not an error. A BatchNorm2d layer (the LeNet's bn1, bn2) still sees H x W
values per channel (the one image's pixels), but a BatchNorm1d (bn3, over fc1's 500 units) sees one value
per unit: its batch mean is that value and its batch variance 0, so (x - mean) / sqrt(var + eps) is exactly 0
and every unit outputs beta whatever the image. PyTorch refuses the case ("Expected more than 1 value per channel when
training"); the lab computes the formula instead (``OneValueSafeBatchNorm``) and says so in ``notes``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from app.nets import fold
from app.nets.network import Network

MAX_BATCH = 256  # images in `files` or `samples` (the inspected `file` comes on top)
DEFAULT_SAMPLES = 64
SAMPLE_SEED = 0  # the test digits of `samples=N` are the first N of one fixed shuffle of the test set


@dataclass(frozen=True)
class LayerStats:
    """One BatchNorm layer: the batch's per-channel statistics next to the running ones."""

    name: str
    values_per_channel: int  # n: N images x H x W (BatchNorm2d) or N (BatchNorm1d)
    batch_mean: np.ndarray  # (C,)
    batch_var: np.ndarray  # (C,) biased: mean of squared deviations (divided by n)
    running_mean: np.ndarray  # (C,) the served network's
    running_var: np.ndarray  # (C,)

    @property
    def zero_variance_channels(self) -> int:
        return int((self.batch_var == 0).sum())


@dataclass(frozen=True)
class LabResult:
    batch_size: int
    inspected: int  # index of the inspected image in the batch
    layers: list[LayerStats]
    eval_probs: np.ndarray  # (classes,) running statistics (the served network)
    train_probs: np.ndarray  # (classes,) the batch's statistics (train mode)
    one_value_layers: list[str] = field(default_factory=list)  # layers PyTorch refuses in train mode
    notes: list[str] = field(default_factory=list)


def sample_ids(count: int, total: int) -> list[int]:
    """The ``count`` test-set indices of ``samples=count``: a prefix of one fixed shuffle (all digits mixed,
    the same on every call, so a larger batch contains the smaller one)."""
    if not 0 <= count <= min(MAX_BATCH, total):
        raise ValueError(f"samples: expected 1..{min(MAX_BATCH, total)} test digits, not {count}")
    order = np.random.default_rng(SAMPLE_SEED).permutation(total)
    return [int(i) for i in order[:count]]


def batchnorm_inputs(model: Network) -> list[tuple[str, str]]:
    """``(batchnorm layer, the layer feeding it)`` in forward order; ValueError for a network without any."""
    pairs = [(layer.name, layer.inputs[0]) for layer in model.of_kind("batchnorm") if layer.module and layer.inputs]
    if not pairs:
        raise ValueError("this network has no BatchNorm layers")
    return pairs


def channel_stats(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of a BatchNorm input ``h`` (N, C, H, W) or (N, C), taken over
    every axis but the channel axis, exactly as train mode does."""
    dims = [0, *range(2, h.dim())]
    return h.mean(dims), h.var(dims, correction=0)  # (C,), (C,)


class OneValueSafeBatchNorm(nn.Module):
    """Train-mode BatchNorm that also accepts one value per channel (bn3 in a batch of one).

    With more values it simply calls the wrapped layer (PyTorch's train mode). With one value the batch
    mean is that value and the variance 0, so the normalised value is 0 / sqrt(eps) = 0 and the output is
    beta: the formula PyTorch refuses to evaluate, computed as written."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.bn = bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() // x.shape[1] > 1:
            return self.bn(x)
        mean, var = channel_stats(x)  # (C,): the value itself, and zeros
        # as written (not F.batch_norm, whose fused arithmetic would leave rounding noise instead of exact 0)
        return (x - mean) / torch.sqrt(var + self.bn.eps) * self.bn.weight + self.bn.bias  # (1, C): beta


def train_mode_pass(model: Network, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate of ``x`` (N, C, H, W) through a deep copy of ``model`` in train mode.

    The copy's running statistics move as in a training step; the copy is discarded afterwards."""
    work = copy.deepcopy(model).train()
    overrides: dict[str, nn.Module] = {
        name: OneValueSafeBatchNorm(work.typed(name, nn.modules.batchnorm._BatchNorm))
        for name, _ in batchnorm_inputs(work)
    }
    with torch.no_grad():
        return work.intermediates(x, overrides)


def one_value_note(layers: list[str], probs: np.ndarray) -> str:
    names = " and ".join(layers)
    betas = ", ".join(f"{name}'s beta" for name in layers)
    label = int(probs.argmax())
    return (
        f"A batch of one: {names} sees a single value per channel, so its batch mean is that value and its batch"
        f" variance 0; (x - mean) / sqrt(var + eps) is exactly 0 and the layer outputs {betas} whatever the"
        f" image. In train mode this network therefore gives every image the same answer: {label}, with"
        f' {probs[label]:.1%} probability. PyTorch refuses the case ("Expected more than 1 value per channel when'
        ' training"); the lab evaluates the formula instead.'
    )


def run_lab(model: Network, batch: torch.Tensor, inspected: int = 0) -> LabResult:
    """Statistics of ``batch`` (N, C, H, W) in [0, 1] against ``model``'s running ones, and image
    ``inspected`` of the batch classified in eval mode and in train mode. ``model`` is only read."""
    if batch.dim() != 4 or len(batch) < 1 or tuple(batch.shape[1:]) != model.input.shape:
        shape = "x".join(map(str, model.input.shape))
        raise ValueError(f"the batch must hold at least one {shape} image, not shape {tuple(batch.shape)}")
    if not 0 <= inspected < len(batch):
        raise ValueError(f"inspect: expected an image index 0..{len(batch) - 1}, not {inspected}")
    pairs = batchnorm_inputs(model)
    acts = train_mode_pass(model, batch)
    layers = []
    for name, source in pairs:
        h = acts[source]  # (N, C, H, W) or (N, C): what the BatchNorm layer received
        mean, var = channel_stats(h)
        bn = model.typed(name, nn.modules.batchnorm._BatchNorm)
        layers.append(
            LayerStats(
                name=name,
                values_per_channel=h.numel() // h.shape[1],
                batch_mean=mean.numpy(),
                batch_var=var.numpy(),
                running_mean=fold.running_stats(bn)[0].detach().numpy().copy(),
                running_var=fold.running_stats(bn)[1].detach().numpy().copy(),
            )
        )
    with torch.inference_mode():
        eval_probs = model.intermediates(batch[inspected : inspected + 1])["probs"][0].numpy()  # (classes,)
    train_probs = acts["probs"][inspected].numpy()  # (classes,)
    one_value = [layer.name for layer in layers if layer.values_per_channel == 1]
    notes = [one_value_note(one_value, train_probs)] if one_value else []
    spatial = [layer for layer in layers if layer.values_per_channel > 1]
    if len(batch) == 1 and spatial:
        names = " and ".join(layer.name for layer in spatial)
        counts = ", ".join(str(layer.values_per_channel) for layer in spatial)
        notes.append(
            f"{names} still see this image's pixels ({counts} values per channel), so they normalise away the"
            " image's own brightness and contrast instead of comparing it with other digits."
        )
    return LabResult(len(batch), inspected, layers, eval_probs, train_probs, one_value, notes)
