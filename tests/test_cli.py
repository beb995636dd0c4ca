"""The `convlens` command: usage, and `serve` actually serving."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import LiveServer


def test_usage_without_a_command() -> None:
    r = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True)
    assert r.returncode == 2 and "convlens [-h] {serve,train,top,import}" in r.stderr


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
    """The session's live server is ``python -m app serve`` (harness/server.py)."""
    import urllib.request

    with urllib.request.urlopen(live_server.base + "/healthz") as r:
        assert r.read() == b'{"status":"ok"}'
    with urllib.request.urlopen(live_server.base + "/api/model") as r:
        assert b'"conv1"' in r.read()
