"""Small networks for the import tests, written out here and exported in the tests themselves: a LeNet with
BatchNorm, a residual network, strided/depthwise/dilated/grouped convolutions with average and max pooling
and a global mean, and a colour network (3 x 32 x 32) with a concatenation, ReLU6 and global max pooling."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from app import cli


class LeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.pool1 = nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.MaxPool2d(2)
        self.conv2, self.bn2, self.pool2 = nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.MaxPool2d(2)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1, self.bn3, self.fc2 = nn.Linear(400, 32), nn.BatchNorm1d(32), nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))  # (N, 6, 14, 14)
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))  # (N, 16, 5, 5)
        return self.fc2(self.relu3(self.bn3(self.fc1(self.flatten(x)))))  # (N, 10)


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn, self.relu = nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.layer1 = nn.Sequential(Block(8), Block(8))
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(self.relu(self.bn(self.stem(x))))  # (N, 8, 14, 14)
        return self.fc(torch.flatten(self.pool(x), 1))


class Convs(nn.Module):
    """Strided, depthwise, dilated and grouped convolutions, average and max pooling, a stored scale, a global
    mean."""

    def __init__(self) -> None:
        super().__init__()
        self.strided = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.dilated = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
        self.avg, self.max = nn.AvgPool2d(3, stride=2, padding=1), nn.MaxPool2d(2)
        self.scale = nn.Parameter(torch.rand(1, 16, 1, 1) + 0.5)  # used by a plain multiplication, not a module
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.strided(x))  # (N, 8, 14, 14)
        x = F.relu(self.dilated(self.depthwise(x)))
        x = self.max(self.avg(F.relu(self.grouped(x)))) * self.scale  # (N, 16, 3, 3)
        return self.fc(x.mean((2, 3)))


class Rgb(nn.Module):
    """3 x 32 x 32 in: two branches concatenated, ReLU6, global max pooling, dropout (eval: nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU6(),
        )  # fmt: skip
        self.left, self.right = nn.Conv2d(16, 8, 1), nn.Conv2d(16, 8, 3, padding=1)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 16, 16, 16)
        x = torch.cat([self.left(x), self.right(x)], 1)
        return self.classifier(torch.flatten(self.pool(x), 1))


def build(make: type[nn.Module], seed: int = 0) -> nn.Module:
    """A network of seeded weights whose BatchNorm statistics and affine parameters are away from their
    defaults (so a lost BatchNorm shows), in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = make()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    return module.eval()


@dataclass(frozen=True)
class Case:
    name: str
    make: type[nn.Module]
    shape: tuple[int, int, int]
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()


CASES = [
    Case("lenet", LeNet, (1, 28, 28), (0.13,), (0.31,)),
    Case("resnet", ResNet, (1, 28, 28)),
    Case("convs", Convs, (1, 28, 28), (0.5,), (0.25,)),
    Case("rgb", Rgb, (3, 32, 32), (0.48, 0.46, 0.41), (0.23, 0.22, 0.22)),
]


def export_pt2(module: nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    torch.export.save(torch.export.export(module, (torch.rand(1, *shape),)), path)
    return path


def export_onnx(module: nn.Module, shape: tuple[int, ...], path: Path, external_data: bool = False) -> Path:
    """torch's ONNX exporter (the torch.export-based one, torch's default; ``external_data``: the weights in
    ``<file>.data`` beside it). Its deprecation notices about torch's own internals are not this project's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module, (torch.rand(1, *shape),), path, dynamo=True, verbose=False, external_data=external_data
        )
    return path


def convlens_import(*args: str | Path) -> tuple[int, str, str]:
    """``convlens import ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["import", *map(str, args)])
    return code, out.getvalue(), err.getvalue()
