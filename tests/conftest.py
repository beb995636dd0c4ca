"""Shared fixtures: the app (with the committed model and test set) and helpers to make images."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from app.config import Settings
from app.datasets import mnist
from app.main import create_app
from app.serving.inference import ServedModel

T = TypeVar("T")


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


def png_bytes(array: np.ndarray, mode: str | None = None, **save: object) -> bytes:
    """uint8 (H, W) or (H, W, C) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG", **save)
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def state_checksum(model: torch.nn.Module) -> dict[str, bytes]:
    """Every parameter and buffer, as bytes, plus the training flag of every module."""
    sums = {k: v.detach().numpy().tobytes() for k, v in model.state_dict().items()}
    sums["__modes__"] = bytes(m.training for m in model.modules())
    return sums


def in_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``scenario()`` to the end in a new event loop of its own thread (the browser tests
    keep an event loop running in the main thread, where asyncio.run would refuse)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()
