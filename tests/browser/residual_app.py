"""The app with two more served models, for the browser tests of views that do not apply to every network:
``branchy``, a small residual network defined here (an add, global average pooling, and a slice of a
concatenation whose maps have no receptive-field box), served with the MNIST test set but no timeline, and
``branchy_bare``, the same network served without a test set. Run by ``harness.server.server(factory=
"tests.browser.residual_app:build")`` (uvicorn's --factory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
import torch.nn.functional as F
from fastapi import FastAPI
from torch import nn

from app.main import create_app
from app.nets.network import InputSpec, Network
from app.serving.inference import ServedModel

SPEC = InputSpec((1, 28, 28), (0.1307,), (0.3081,))
CLASSES = [str(c) for c in range(10)]


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)  # 8 x 28 x 28
        self.bn = nn.BatchNorm2d(8)
        self.branch = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.pool = nn.MaxPool2d(2)  # 8 x 14 x 14
        self.head = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = F.relu(x + self.branch(x))  # a residual add: the union of two receptive fields
        x = self.pool(x)
        x = torch.cat([x, x], dim=1)[:, :4]  # a slice: a step whose geometry the receptive fields do not know
        return self.fc(torch.flatten(self.head(x), 1))


def network() -> Network:
    torch.manual_seed(0)
    return Network(Branchy().eval(), SPEC, CLASSES)


def build() -> FastAPI:
    """The app, with ``branchy`` and ``branchy_bare`` added to its registry once the bundled models are loaded."""
    app = create_app()
    bundled = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bundled(app):
            registry = app.state.convlens.registry
            card = {"dataset": "mnist", "preprocess": "digit"}
            registry.models["branchy"] = ServedModel("branchy", network(), card, registry.get().samples)
            registry.models["branchy_bare"] = ServedModel("branchy_bare", network(), card)
            yield

    app.router.lifespan_context = lifespan
    return app
