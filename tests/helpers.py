"""Helpers for the tests: images made in memory, a fingerprint of a model's state, the live server's
handle, and ways to line threads up without sleeping. Imported by the test modules; fixtures stay in
conftest.py."""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
from PIL import Image

from app.nets.lenet import ModelConfig, lenet
from app.nets.network import InputSpec, Network
from app.serving import batching

T = TypeVar("T")

# Waits on events and conditions only give up after this long: never reached unless the code under test
# deadlocks (then the test fails instead of hanging the run). Nothing is decided by how fast anything is.
HANG_GUARD_SECONDS = 300
# The same for Playwright's waits (navigation, actions, expect): they wait for their condition and only
# fail after this. Playwright's own defaults (5 s for expect, 30 s for the rest) are wall-clock limits
# that a busy machine exceeds.
PATIENCE_MS = 90_000


def png_bytes(array: np.ndarray, mode: str | None = None, **save: object) -> bytes:
    """uint8 (H, W) or (H, W, C) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG", **save)
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def lenet_network(cfg: ModelConfig | None = None) -> Network:
    """A fresh (untrained) LeNet as the app serves networks: normalising with the config's statistics."""
    cfg = cfg or ModelConfig()
    spec = InputSpec((cfg.in_channels, cfg.image_size, cfg.image_size), (cfg.mean,), (cfg.std,))
    return Network(lenet(cfg), spec, [str(c) for c in range(cfg.classes)])


def state_checksum(model: Network | torch.nn.Module) -> dict[str, bytes]:
    """Every parameter and buffer, as bytes, plus the training flag of every module (of a network's module)."""
    model = model.module if isinstance(model, Network) else model
    sums = {k: v.detach().numpy().tobytes() for k, v in model.state_dict().items()}
    sums["__modes__"] = bytes(m.training for m in model.modules())
    return sums


@dataclass(frozen=True)
class LiveServer:
    """The session's ``convlens serve`` (the ``live_server`` fixture)."""

    base: str  # http://127.0.0.1:<port>
    process: subprocess.Popen

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


def wait(event: threading.Event, what: str = "the event") -> None:
    """``event.wait()``, failing (not hanging) if the code under test deadlocks."""
    assert event.wait(HANG_GUARD_SECONDS), f"deadlock: {what} never happened"


class Arrivals:
    """Counts threads that reached a point; ``wait_for(n)`` returns once ``n`` have."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0

    def arrive(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.count >= n, HANG_GUARD_SECONDS), f"{self.count} of {n} arrived"


def watch_queue(monkeypatch: pytest.MonkeyPatch) -> Arrivals:
    """Counts the requests that queue up in any ``BatchThread``: a request arrives here once it is in the
    queue. So with a ``run`` that blocks on an event, ``wait_for(n)`` then releasing it provably puts those n
    in the next batches."""
    arrivals = Arrivals()
    enqueue = batching.BatchThread._enqueue

    def counted(self: batching.BatchThread, item: Any) -> None:
        enqueue(self, item)
        arrivals.arrive()

    monkeypatch.setattr(batching.BatchThread, "_enqueue", counted)
    return arrivals


def patient(context):
    """A Playwright ``BrowserContext`` whose waits give up only after ``PATIENCE_MS``."""
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    return context


def in_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``scenario()`` to the end in a new event loop of its own thread (the browser tests
    keep an event loop running in the main thread, where asyncio.run would refuse)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()
