"""The malloc arena cap that keeps the server's memory flat under load."""

from __future__ import annotations

import sys

import pytest

from app.config import Settings
from app.serving import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_arena_cap_is_applied_on_glibc() -> None:
    assert memory.limit_malloc_arenas(2) is True


def test_no_cap_below_one() -> None:
    assert memory.limit_malloc_arenas(0) is False


def test_cap_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_MALLOC_ARENAS", "4")
    assert Settings.from_env().malloc_arenas == 4
    monkeypatch.setenv("CONVLENS_MALLOC_ARENAS", "lots")
    with pytest.raises(ValueError, match="CONVLENS_MALLOC_ARENAS"):
        Settings.from_env()
