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
    which lacks the operation): put the operation in the id, so that reports name it and pytest-xdist,
    which schedules by id, runs each of them rather than one."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and item.id.params is None:
            item._id = item.id.with_params(label)


# The test files that drive the live server (``live_server``): with pytest-xdist they all run in one
# worker, so one server and one Chromium serve them and the server computes its caches once.
LIVE_SERVER_FILES = ("tests/browser/", "tests/test_cli.py", "tests/test_security.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n 2 --dist loadfile`` (scripts/test): each test file runs whole in one worker (its module
    fixtures are built once), and the live-server files count as one file. (``--dist loadgroup`` with
    ``xdist_group`` marks would say the same, but pytest-xdist 3.8 cannot apply those marks on pytest 9.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LiveServerTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "live-server" if path.startswith(LIVE_SERVER_FILES) else path

    return LiveServerTogether(config, log)
