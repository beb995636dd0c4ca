"""Shared fixtures: the app (with the committed model) and the test set. Helpers are in helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app import mnist
from app.config import Settings
from app.inference import ServedModel
from app.main import create_app
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
