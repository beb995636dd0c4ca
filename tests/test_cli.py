"""The `convlens` command: usage, and `serve` actually serving."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

import pytest

from app import cli
from app.serving.cpus import available_cpus
from tests.helpers import LiveServer


def test_usage_without_a_command() -> None:
    r = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True)
    assert r.returncode == 2 and "convlens [-h] {serve,train,top,fold,import,i18n}" in r.stderr


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("serve", ("--host", "--port", "--workers", "--reload")),
        ("train", ("--data-dir", "--no-bn", "--epochs", "--limit")),
        ("top", ("--model", "--model-dir", "--per-channel")),
    ],
)
def test_each_command_lists_its_options(command: str, options: tuple[str, ...]) -> None:
    r = subprocess.run([sys.executable, "-m", "app", command, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith(f"usage: convlens {command}")
    for option in options:
        assert option in r.stdout


def test_a_count_below_one_is_refused() -> None:
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--workers", "0"], capture_output=True, text=True)
    assert r.returncode == 2 and "--workers: must be at least 1" in r.stderr


def test_serve_answers_over_http(live_server: LiveServer) -> None:
    """The session's live server is ``python -m app serve`` (harness/server.py), with torch on as many threads
    as this machine (or container) gives the process."""
    with urllib.request.urlopen(live_server.base + "/healthz") as r:
        assert r.read() == b'{"status":"ok"}'
    with urllib.request.urlopen(live_server.base + "/api/model") as r:
        assert b'"conv1"' in r.read()
    with urllib.request.urlopen(live_server.base + "/metrics") as r:
        threads = re.search(rb"^convlens_torch_threads (\S+)$", r.read(), re.MULTILINE)
    expected = int(os.environ.get("CONVLENS_TORCH_THREADS") or available_cpus())
    assert threads is not None and float(threads.group(1)) == expected


@pytest.mark.parametrize(("argv", "workers"), [(["--workers", "3"], "3"), ([], "1"), (["--reload"], "1")])
def test_serve_tells_the_workers_how_many_share_the_cpus(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], workers: str
) -> None:
    """The worker processes read their settings from the environment: $WORKERS is what uvicorn starts."""
    import uvicorn

    seen: list[tuple[str | None, object]] = []
    monkeypatch.setenv("WORKERS", "7")  # restored after the test, whatever serve sets
    monkeypatch.delenv("WORKERS")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.append((os.environ.get("WORKERS"), kw["workers"])))
    assert cli.main(["serve", *argv]) == 0
    assert seen == [(workers, None if "--reload" in argv else int(workers))]
