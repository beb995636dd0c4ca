"""Shared fixtures: the app (with the committed model) and the test set. Helpers are in helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.datasets import mnist
from app.main import create_app
from app.serving.inference import ServedModel
from harness.server import server
from tests.helpers import LiveServer


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def served(client: TestClient) -> ServedModel:
    """The default model exactly as the running app holds it."""
    return client.app.state.convlens.registry.get()


@pytest.fixture(scope="session")
def test_set() -> mnist.Split:
    return mnist.load("test")


@pytest.fixture(scope="session")
def test_set_outputs(served: ServedModel, test_set: mnist.Split) -> dict[str, np.ndarray]:
    """The default model on all 10,000 test images, run once per session for the tests that need all of
    them (the accuracy and card, the top-activating digits, the folding): ``fc2`` the logits (10000, 10),
    ``probs`` (10000, 10), and for every layer with maps each channel's largest value per digit
    (10000, C). Batches of 1000, as ``convlens top`` runs them."""
    x = torch.from_numpy(test_set.images.astype(np.float32) / 255).unsqueeze(1)  # (10000, 1, 28, 28)
    parts: dict[str, list[np.ndarray]] = {}
    with torch.inference_mode():
        for i in range(0, len(x), 1000):
            for name, out in served.model.intermediates(x[i : i + 1000]).items():
                if out.dim() == 4:  # (B, C, H, W) -> (B, C)
                    parts.setdefault(name, []).append(out.amax(dim=(2, 3)).numpy())
                elif name in ("fc2", "probs"):
                    parts.setdefault(name, []).append(out.numpy())
    return {name: np.concatenate(p) for name, p in parts.items()}


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """``convlens serve`` (uvicorn, one worker) on 127.0.0.1 and a free port, one per test session (per
    xdist worker), shared by the browser, CLI and security tests."""
    with server() as (base, process):
        yield LiveServer(base, process)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis gives every operation's test the same id (pytest 9 builds ids from the original name,
    which lacks the operation): put the operation in the id, so that reports (failures, durations) tell
    them apart and tools that key tests by id (pytest-xdist's file scheduling) do not merge them into one."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and getattr(item, "_id", None) is not None and item.id.params is None:
            item._id = item.id.with_params(label)
