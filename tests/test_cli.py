"""The `convlens` command: usage, and `serve` actually serving."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import LiveServer


def test_usage_without_a_command() -> None:
    r = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True)
    assert r.returncode == 2 and "convlens {serve,train}" in r.stderr


def test_serve_help_lists_its_options() -> None:
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for option in ("--host", "--port", "--workers", "--reload"):
        assert option in r.stdout


def test_serve_answers_over_http(live_server: LiveServer) -> None:
    """The session's live server is ``python -m app serve`` (harness/server.py)."""
    import urllib.request

    with urllib.request.urlopen(live_server.base + "/healthz") as r:
        assert r.read() == b'{"status":"ok"}'
    with urllib.request.urlopen(live_server.base + "/api/model") as r:
        assert b'"conv1"' in r.read()
